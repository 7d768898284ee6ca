package attack_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/logster/logster/internal/attack"
	"github.com/logster/logster/internal/ingest/ingesttest"
	"github.com/logster/logster/internal/schema"
)

// lateralDir holds the OTRF lateral-movement recordings (MIT licence). A
// fresh clone does not have them; the test skips then.
var lateralDir = filepath.Join("..", "..", "..", "shared", "datasets", "otrf-security-datasets", "windows", "lateral_movement")

var normalizeRecording = ingesttest.NormalizeRecording

// expectation: on host, these techniques and (optionally) a strong link of
// kind/direction with the given peer (IP or stated host name).
type expectation struct {
	host       string
	techniques []string
	linkKind   string
	linkDir    string
	peer       string
}

// The attacker's actions per recording, from each recording's metadata
// (metadata/SDWIN-*.yaml, adversary_view): WORKSTATION5 (172.18.39.5)
// attacks WORKSTATION6 unless noted.
var lateralExpectations = map[string][]expectation{
	"covenant_com_wsman_automation.zip": {
		{"workstation6", []string{"T1047"}, schema.LinkRemoteWMI, "inbound", "172.18.39.5"},
		{"workstation5", []string{"T1021.006"}, schema.LinkWinRM, "outbound", "172.18.39.6"},
	},
	"covenant_dcom_executeexcel4macro_allowed.zip": {
		{"workstation6", []string{"T1021.003"}, schema.LinkDCOM, "inbound", "172.18.39.5"},
	},
	"covenant_dcom_iertutil_dll_hijack.zip": {
		{"workstation6", []string{"T1021.002", "T1570"}, schema.LinkAdminShare, "inbound", "172.18.39.5"},
	},
	"covenant_psremoting_grunt.zip": { // IT001 (172.18.39.105) -> HR001 (172.18.39.106)
		{"hr001", []string{"T1021.006"}, schema.LinkWinRM, "inbound", "172.18.39.105"},
		{"it001", []string{"T1021.006"}, schema.LinkWinRM, "outbound", "172.18.39.106"},
	},
	"covenant_sc_query_dcerpc_smb_svcctl.zip": { // against the domain controller
		{"mordordc", []string{"T1021.002"}, schema.LinkAdminShare, "inbound", "172.18.39.5"},
	},
	"covenant_sharpsc_create_dcerpc_smb_svcctl.zip": {
		{"workstation6", []string{"T1021.002", "T1543.003", "T1569.002"}, schema.LinkRemoteService, "inbound", "172.18.39.5"},
	},
	"covenant_sharpsc_query_dcerpc_smb_svcctl.zip": {
		{"workstation6", []string{"T1021.002"}, schema.LinkAdminShare, "inbound", "172.18.39.5"},
	},
	"covenant_sharpsc_start_dcerpc_smb_svcctl.zip": {
		{"workstation6", []string{"T1021.002", "T1569.002"}, schema.LinkAdminShare, "inbound", "172.18.39.5"},
	},
	"covenant_sharpsc_stop_dcerpc_smb_svcctl.zip": {
		{"workstation6", []string{"T1021.002", "T1569.002"}, schema.LinkAdminShare, "inbound", "172.18.39.5"},
	},
	"covenant_wmi_remote_event_subscription_ActiveScriptEventConsumers.zip": {
		{"workstation6", []string{"T1546.003"}, schema.LinkRemoteLogon, "inbound", "172.18.39.5"},
	},
	"covenant_wmi_wbemcomn_dll_hijack.zip": {
		{"workstation6", []string{"T1021.002", "T1570"}, schema.LinkAdminShare, "inbound", "172.18.39.5"},
		{"workstation5", []string{"T1047"}, schema.LinkRemoteWMI, "outbound", "workstation6"},
	},
	"empire_msbuild_dcerpc_wmi_smb.zip": {
		{"workstation6", []string{"T1021.002", "T1047", "T1127.001", "T1570"}, schema.LinkRemoteWMI, "inbound", "172.18.39.5"},
	},
	"empire_psexec_dcerpc_tcp_svcctl.zip": {
		{"workstation6", []string{"T1059.001", "T1543.003", "T1569.002"}, schema.LinkRemoteService, "inbound", "172.18.39.5"},
	},
	"empire_psremoting_stager.zip": {
		{"workstation6", []string{"T1021.006", "T1059.001"}, schema.LinkWinRM, "inbound", "172.18.39.5"},
		{"workstation5", []string{"T1021.006"}, schema.LinkWinRM, "outbound", "172.18.39.6"},
	},
	"empire_shell_dcerpc_smb_service_dll_hijack.zip": {
		{"workstation6", []string{"T1021.002", "T1570"}, schema.LinkAdminShare, "inbound", "172.18.39.5"},
		{"workstation5", []string{"T1569.002"}, schema.LinkRemoteService, "outbound", "workstation6"},
	},
	"empire_wmic_add_user_backdoor.zip": {
		{"workstation6", []string{"T1047", "T1136.001"}, schema.LinkRemoteWMI, "inbound", "172.18.39.5"},
		{"workstation5", []string{"T1047"}, schema.LinkRemoteWMI, "outbound", "workstation6"},
	},
	"purplesharp_ad_playbook_I.zip": {
		{"workstation6", []string{"T1021.006"}, schema.LinkWinRM, "inbound", "172.18.39.5"},
		{"workstation7", []string{"T1021.006"}, schema.LinkWinRM, "inbound", "172.18.39.5"},
		{"mordordc", []string{"T1021.006"}, schema.LinkWinRM, "inbound", "172.18.39.5"},
	},
	"schtask_create.zip": {
		{"workstation6", []string{"T1053.005"}, schema.LinkRemoteTask, "inbound", "172.18.39.5"},
		{"workstation5", []string{"T1053.005"}, schema.LinkRemoteTask, "outbound", "workstation6"},
	},
}

// Hosts that only provide background in a recording: no lateral-movement
// technique and no strong inbound link may be reported for them.
var quietHosts = map[string][]string{
	"empire_psexec_dcerpc_tcp_svcctl.zip":                                {"mordordc", "workstation5"},
	"empire_psremoting_stager.zip":                                       {"mordordc"},
	"covenant_sharpsc_create_dcerpc_smb_svcctl.zip":                      {"mordordc"},
	"covenant_dcom_executeexcel4macro_allowed.zip":                       {"mordordc", "workstation5"},
	"empire_wmic_add_user_backdoor.zip":                                  {"mordordc"},
	"schtask_create.zip":                                                 {},
	"mimikatz_CVE-2020-1472_Unauthenticated_NetrServerAuthenticate2.zip": {"workstation6"},
}

func TestExtractOnLateralMovementRecordings(t *testing.T) {
	if _, err := os.Stat(lateralDir); err != nil {
		t.Skipf("datasets not present (%v)", err)
	}
	if testing.Short() {
		t.Skip("reads ~500k events")
	}
	names := map[string]bool{}
	for n := range lateralExpectations {
		names[n] = true
	}
	for n := range quietHosts {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		t.Run(strings.TrimSuffix(name, ".zip"), func(t *testing.T) {
			byHost := normalizeRecording(t, filepath.Join(lateralDir, name))
			evidence := map[string]*schema.Evidence{}
			for h, evs := range byHost {
				evidence[h] = attack.Extract(evs)
			}
			for _, want := range lateralExpectations[name] {
				ev := evidence[want.host]
				if ev == nil {
					t.Fatalf("no events for host %s (hosts: %v)", want.host, keys(byHost))
				}
				got := map[string]bool{}
				for _, th := range ev.Techniques {
					got[th.ID] = true
				}
				for _, id := range want.techniques {
					if !got[id] {
						t.Errorf("%s: technique %s not found; got %v", want.host, id, ev.Techniques)
					}
				}
				found := false
				for _, l := range ev.Links {
					found = found || (l.Kind == want.linkKind && l.Direction == want.linkDir && (l.PeerIP == want.peer || l.PeerHost == want.peer))
				}
				if !found {
					t.Errorf("%s: no %s %s link with peer %s; links %+v", want.host, want.linkDir, want.linkKind, want.peer, ev.Links)
				}
				if len(ev.LocalAddresses) != 1 {
					t.Errorf("%s: local addresses %v, want exactly one", want.host, ev.LocalAddresses)
				}
			}
			for _, h := range quietHosts[name] {
				ev := evidence[h]
				if ev == nil {
					continue
				}
				for _, th := range ev.Techniques {
					if attack.IsLateralMovement(th.ID) {
						t.Errorf("background host %s reports %s", h, th.ID)
					}
				}
				for _, l := range ev.Links {
					if l.Direction == attack.DirInbound && attack.IsStrongLink(l.Kind) {
						t.Errorf("background host %s has inbound %s link %+v", h, l.Kind, l)
					}
				}
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package alerting_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/logster/logster/internal/alerting"
	"github.com/logster/logster/internal/attack"
	"github.com/logster/logster/internal/ingest/ingesttest"
	"github.com/logster/logster/internal/schema"
)

var lateralDir = filepath.Join("..", "..", "..", "shared", "datasets", "otrf-security-datasets", "windows", "lateral_movement")

var normalizeRecording = ingesttest.NormalizeRecording

// Each recording's attacker hop(s), from the recordings' metadata.
var recordedHops = map[string][]string{
	"covenant_com_wsman_automation.zip":                                     {"workstation5>workstation6"},
	"covenant_dcom_executeexcel4macro_allowed.zip":                          {"workstation5>workstation6"},
	"covenant_dcom_iertutil_dll_hijack.zip":                                 {"workstation5>workstation6"},
	"covenant_psremoting_grunt.zip":                                         {"it001>hr001"},
	"covenant_sc_query_dcerpc_smb_svcctl.zip":                               {"workstation5>mordordc"},
	"covenant_sharpsc_create_dcerpc_smb_svcctl.zip":                         {"workstation5>workstation6"},
	"covenant_wmi_remote_event_subscription_ActiveScriptEventConsumers.zip": {"workstation5>workstation6"},
	"covenant_wmi_wbemcomn_dll_hijack.zip":                                  {"workstation5>workstation6"},
	"empire_msbuild_dcerpc_wmi_smb.zip":                                     {"workstation5>workstation6"},
	"empire_psexec_dcerpc_tcp_svcctl.zip":                                   {"workstation5>workstation6"},
	"empire_psremoting_stager.zip":                                          {"workstation5>workstation6"},
	"empire_shell_dcerpc_smb_service_dll_hijack.zip":                        {"workstation5>workstation6"},
	"empire_wmic_add_user_backdoor.zip":                                     {"workstation5>workstation6"},
	"purplesharp_ad_playbook_I.zip":                                         {"workstation5>workstation6", "workstation5>workstation7", "workstation5>mordordc"},
	"schtask_create.zip":                                                    {"workstation5>workstation6"},
}

// scoring says which of a hop's ends the model flagged.
type scoring struct{ source, target bool }

func (s scoring) String() string {
	return fmt.Sprintf("source positive=%v target positive=%v", s.source, s.target)
}

// One inference result per host over the whole recording (recordings are
// about one window long). Hosts outside the recorded hops are scored
// benign; the hops' ends as sc says.
func resultsFor(byHost map[string][]*schema.NormalizedEvent, hops []string, sc scoring) []*schema.InferenceResult {
	targets, sources := map[string]bool{}, map[string]bool{}
	for _, h := range hops {
		s, tg, _ := strings.Cut(h, ">")
		sources[s], targets[tg] = true, true
	}
	var hosts []string
	for h := range byHost {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var out []*schema.InferenceResult
	for _, h := range hosts {
		evs := byHost[h]
		start, end := evs[0].Timestamp, evs[0].Timestamp
		for _, e := range evs {
			start, end = min(start, e.Timestamp), max(end, e.Timestamp)
		}
		pred, prob := schema.PredictionBenign, 0.1
		if (targets[h] && sc.target) || (sources[h] && sc.source) {
			pred, prob = schema.PredictionAttack, 0.9
		}
		conf := prob
		if pred == schema.PredictionBenign {
			conf = 1 - prob
		}
		out = append(out, &schema.InferenceResult{
			SchemaVersion: schema.Version, InferenceID: schema.InferenceID("default", h, start, end, "test"),
			TenantID: "default", EndpointID: h, Hostname: h, Platform: schema.PlatformWindows,
			WindowStart: start, WindowEnd: end, Prediction: pred, AttackProb: prob, Confidence: conf,
			Threshold: 0.5, ModelVersion: "test", Evidence: attack.Extract(evs),
		})
	}
	return out
}

// Recording-level check: is each recorded source -> target hop linked, and
// nothing else?
func TestLateralMovementOnRecordings(t *testing.T) {
	if _, err := os.Stat(lateralDir); err != nil {
		t.Skipf("datasets not present (%v)", err)
	}
	if testing.Short() {
		t.Skip("reads the lateral-movement recordings")
	}
	var names []string
	for n := range recordedHops {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".zip"), func(t *testing.T) {
			byHost := normalizeRecording(t, filepath.Join(lateralDir, name))
			// Both flagged; only the target (the source's side looked like
			// administration); only the source (the payload looked
			// ordinary on the target).
			for _, sc := range []scoring{{true, true}, {false, true}, {true, false}} {
				e, err := alerting.NewEngine(alerting.Config{Threshold: 0.5, DedupWindow: time.Hour, CorrelationWindow: 30 * time.Minute},
					alerting.NewMemoryState(nil), nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				latest := map[string]*schema.Alert{}
				for _, r := range resultsFor(byHost, recordedHops[name], sc) {
					out, err := e.Process(context.Background(), r)
					if err != nil {
						t.Fatal(err)
					}
					for _, a := range out {
						latest[a.AlertID] = a
					}
				}
				got := map[string]bool{}
				incidents := 0
				for _, a := range latest {
					if a.Kind != schema.AlertKindLateralMovement {
						continue
					}
					incidents++
					for _, h := range a.Chain {
						got[h.SourceEndpoint+">"+h.TargetEndpoint] = true
					}
				}
				for _, want := range recordedHops[name] {
					if !got[want] {
						t.Errorf("%v: hop %s not linked; hops %v", sc, want, got)
					}
				}
				if len(got) != len(recordedHops[name]) || incidents != 1 {
					t.Errorf("%v: %d incidents with hops %v, want one incident with %v", sc, incidents, got, recordedHops[name])
				}
			}
		})
	}
}

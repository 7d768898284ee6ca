package attack

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/logster/logster/internal/schema"
)

func linkSet(ls []schema.EvidenceLink) []string {
	var out []string
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s/%s/%s/%s/%s/%d", l.Kind, l.Direction, l.PeerIP, l.PeerHost, l.Account, l.Port))
	}
	return out
}

func techIDs(ts []schema.TechniqueHit) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return strings.Join(out, ",")
}

// The target of Empire's Invoke-PsExec (WORKSTATION6 in the recording).
func psexecTarget6() []*schema.NormalizedEvent {
	return []*schema.NormalizedEvent{
		at(netEv("workstation6", "inbound", "172.18.39.5", 56607, "172.18.39.6", 135, svchost, ntNet), t0, "e01"),
		at(logonEv("workstation6", 3, "pgustavo", "THESHIRE.LOCAL", "172.18.39.5", "0x2990d17", "Kerberos"), t0+0.1, "e02"),
		at(netEv("workstation6", "inbound", "172.18.39.5", 56608, "172.18.39.6", 49726, `C:\Windows\System32\services.exe`, ntSys), t0+0.2, "e03"),
		at(svcEv("workstation6", "Updater", `%COMSPEC% /C start /b C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBmACgAJABQAFMAVgBFAHIAUwBpAE8AbgBUAGEAYgBsAEUA`, "pgustavo", "0x2990d17"), t0+0.3, "e04"),
		at(procEv("workstation6", cmdExe, `C:\windows\system32\cmd.exe /C start /b C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBmACgAJABQAFMAVgBFAHIAUwBpAE8AbgBUAGEAYgBsAEUA`, ntSys, `C:\Windows\System32\services.exe`, ""), t0+0.4, "e05"),
		at(netEv("workstation6", "outbound", "172.18.39.6", 123, "172.18.38.5", 123, svchost, `NT AUTHORITY\LOCAL SERVICE`), t0+1, "e06"),
		// Background that must not become evidence.
		at(netEv("workstation6", "outbound", "172.18.39.6", 63000, "172.18.38.5", 445, "System", ntSys), t0+2, "e07"),
		at(logonEv("workstation6", 5, "SYSTEM", "NT AUTHORITY", "-", "0x3e7", "Advapi"), t0+3, "e08"),
		at(accessEv("workstation6", svchost, "0x1000"), t0+4, "e09"),
	}
}

func TestExtractPsexecTarget(t *testing.T) {
	t.Parallel()
	evd := Extract(psexecTarget6())
	if got, want := evd.LocalAddresses, []string{"172.18.39.6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("local addresses = %v, want %v", got, want)
	}
	if got, want := evd.Accounts, []string{`theshire\pgustavo`}; !reflect.DeepEqual(got, want) {
		t.Errorf("accounts = %v, want %v", got, want)
	}
	want := []string{
		"inbound_connect/inbound/172.18.39.5///135",
		"remote_logon/inbound/172.18.39.5//theshire\\pgustavo/0",
		"inbound_connect/inbound/172.18.39.5///49726", // dynamic RPC port with its 135 companion
		"remote_service/inbound/172.18.39.5//theshire\\pgustavo/0",
		"outbound_connect/outbound/172.18.38.5//",
	}
	got := linkSet(evd.Links)
	if len(got) != 5 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] || !strings.HasPrefix(got[4], want[4]) {
		t.Errorf("links =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := techIDs(evd.Techniques); got != "T1059.001,T1543.003,T1569.002" {
		t.Errorf("techniques = %s", got)
	}
	for _, th := range evd.Techniques {
		if th.ID == "T1569.002" && (th.Count != 2 || th.FirstSeen != t0+0.3 || !reflect.DeepEqual(th.EventIDs, []string{"e04", "e05"})) {
			t.Errorf("T1569.002 hit = %+v", th)
		}
	}
	for _, l := range evd.Links {
		if l.Kind == schema.LinkRemoteService && (l.EventID != "e04" || l.Detail != "Updater" || l.Technique != "T1569.002") {
			t.Errorf("remote_service link = %+v", l)
		}
	}
}

func TestExtractPsexecSource(t *testing.T) {
	t.Parallel()
	evs := []*schema.NormalizedEvent{
		at(netEv("workstation5", "outbound", "172.18.39.5", 56607, "172.18.39.6", 135, ps, userPG), t0, "s1"),
		at(netEv("workstation5", "outbound", "172.18.39.5", 56608, "172.18.39.6", 49726, ps, userPG), t0+0.1, "s2"),
		at(procEv("workstation5", `C:\windows\system32\sc.exe`, `"C:\windows\system32\sc.exe" \\WORKSTATION6.theshire.local start IKEEXT`, userPG, ps, ""), t0+0.2, "s3"),
		at(procEv("workstation5", `C:\windows\system32\sc.exe`, `sc.exe \\workstation5 stop spooler`, userPG, ps, ""), t0+0.3, "s4"), // itself
		at(procEv("workstation5", `C:\windows\System32\Wbem\WMIC.exe`, `wmic /node:172.18.39.7 process call create "cmd /c calc"`, userPG, ps, ""), t0+0.4, "s5"),
		at(ev("workstation5", schema.EventExplicitLogon, t0+0.5, "s6", schema.EventData{Logon: &schema.Logon{TargetUser: "pgustavo", TargetDomain: "THESHIRE", TargetServer: "WORKSTATION6.theshire.local"}, Process: &schema.Process{Image: ps}}), t0+0.5, "s6"),
		at(ev("workstation5", schema.EventExplicitLogon, t0+0.6, "s7", schema.EventData{Logon: &schema.Logon{TargetUser: "WORKSTATION5$", TargetServer: "localhost"}}), t0+0.6, "s7"),
	}
	evd := Extract(evs)
	got := strings.Join(linkSet(evd.Links), "\n")
	for _, want := range []string{
		"outbound_connect/outbound/172.18.39.6//theshire\\pgustavo/135",
		"outbound_connect/outbound/172.18.39.6//theshire\\pgustavo/49726",
		"remote_service/outbound//workstation6/theshire\\pgustavo/0",
		"remote_wmi/outbound/172.18.39.7//theshire\\pgustavo/0",
		"explicit_logon/outbound//workstation6/theshire\\pgustavo/0",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing link %s in\n%s", want, got)
		}
	}
	if strings.Contains(got, "workstation5") || strings.Contains(got, "localhost") {
		t.Errorf("links name the host itself:\n%s", got)
	}
	if len(evd.Links) != 5 {
		t.Errorf("want 5 links, got\n%s", got)
	}
}

func TestExtractWinRMAndDCOMAndWMITargets(t *testing.T) {
	t.Parallel()
	evs := []*schema.NormalizedEvent{
		// WinRM: only the inbound 5985 connection names the peer.
		at(netEv("ws6", "inbound", "172.18.39.5", 50001, "172.18.39.6", 5985, "System", ntSys), t0, "w1"),
		at(procEv("ws6", `C:\windows\system32\wsmprovhost.exe`, `C:\windows\system32\wsmprovhost.exe -Embedding`, `THESHIRE\sbeavers`, svchost, dcom), t0+1, "w2"),
		// DCOM: Excel launched for pgustavo, who logged on from .7.
		at(logonEv("ws6", 3, "pgustavo", "THESHIRE", "172.18.39.7", "0xaaa", "NTLM"), t0+2, "d1"),
		at(procEv("ws6", `C:\Program Files (x86)\Microsoft Office\Root\Office16\EXCEL.EXE`, `"EXCEL.EXE" /automation -Embedding`, userPG, svchost, dcom), t0+3, "d2"),
		// WMI: net.exe started by wmiprvse in logon session 0xbbb from .8.
		at(logonEv("ws6", 3, "admin2", "THESHIRE", "172.18.39.8", "0xbbb", "Kerberos"), t0+4, "m1"),
		at(withLogonID(procEv("ws6", `C:\Windows\System32\net.exe`, `net user /add backdoor paw0rd1`, `THESHIRE\admin2`, `C:\windows\system32\wbem\wmiprvse.exe`, ""), "0xBBB"), t0+5, "m2"),
		// WMI child as NETWORK SERVICE: no user, no remote link.
		at(procEv("ws6", `C:\Windows\System32\notepad.exe`, `notepad.exe`, ntNet, `C:\windows\system32\wbem\wmiprvse.exe`, ""), t0+6, "m3"),
		// Admin share write carrying the client address.
		at(shareEv("ws6", "C$", `Windows\Tasks\pshell.xml`, "pgustavo", "172.18.39.5", "0x2"), t0+7, "a1"),
	}
	evd := Extract(evs)
	got := strings.Join(linkSet(evd.Links), "\n")
	for _, want := range []string{
		"winrm/inbound/172.18.39.5//theshire\\sbeavers/5985",
		"dcom/inbound/172.18.39.7//theshire\\pgustavo/135",
		"remote_wmi/inbound/172.18.39.8//theshire\\admin2/0",
		"admin_share/inbound/172.18.39.5//theshire\\pgustavo/445",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing link %s in\n%s", want, got)
		}
	}
	if strings.Count(got, "remote_wmi") != 1 {
		t.Errorf("want one remote_wmi link:\n%s", got)
	}
	for _, id := range []string{"T1021.002", "T1021.003", "T1021.006", "T1047", "T1136.001", "T1570"} {
		if !strings.Contains(techIDs(evd.Techniques), id) {
			t.Errorf("missing technique %s in %s", id, techIDs(evd.Techniques))
		}
	}
}

// Link-local, loopback and self traffic never become peers or addresses.
func TestExtractIgnoresSelfTraffic(t *testing.T) {
	t.Parallel()
	evs := []*schema.NormalizedEvent{
		at(netEv("dc", "inbound", "fe80:0:0:0:797c:af4c:4407:b0cc", 50000, "fe80:0:0:0:797c:af4c:4407:b0cc", 445, "System", ntSys), t0, "x1"),
		at(netEv("dc", "outbound", "0:0:0:0:0:0:0:1", 50001, "0:0:0:0:0:0:0:1", 135, `C:\Windows\ADWS\Microsoft.ActiveDirectory.WebServices.exe`, ntSys), t0, "x2"),
		at(logonEv("dc", 3, "pgustavo", "THESHIRE", "::1", "0x1", "Kerberos"), t0, "x3"),
		at(logonEv("dc", 3, "pgustavo", "THESHIRE", "::ffff:172.18.38.5", "0x2", "Kerberos"), t0, "x4"),
		at(netEv("dc", "outbound", "172.18.38.5", 50002, "172.18.38.6", 5985, "System", ntSys), t0, "x5"),
	}
	evd := Extract(evs)
	for _, l := range evd.Links {
		if l.PeerIP != "172.18.38.6" {
			t.Errorf("unexpected link %+v", l)
		}
	}
	if !reflect.DeepEqual(evd.LocalAddresses, []string{"172.18.38.5"}) {
		t.Errorf("local addresses = %v", evd.LocalAddresses)
	}
}

// The output depends on the set of events, not their order.
func TestExtractDeterministic(t *testing.T) {
	t.Parallel()
	evs := psexecTarget6()
	want := Extract(evs)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		shuffled := append([]*schema.NormalizedEvent(nil), evs...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := Extract(shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("order changed the evidence:\n%+v\n%+v", got, want)
		}
	}
}

func TestExtractBounded(t *testing.T) {
	t.Parallel()
	var evs []*schema.NormalizedEvent
	for i := 0; i < 300; i++ {
		ip := fmt.Sprintf("10.1.%d.%d", i/200, i%200+1)
		evs = append(evs,
			at(netEv("fs1", "inbound", ip, 50000, "10.0.0.1", 445, "System", ntSys), t0+float64(i), fmt.Sprintf("c%03d", i)),
			at(logonEv("fs1", 3, fmt.Sprintf("user%03d", i), "CORP", ip, fmt.Sprintf("0x%x", i+1), "Kerberos"), t0+float64(i)+0.5, fmt.Sprintf("l%03d", i)),
		)
	}
	for i := 0; i < 20; i++ {
		evs = append(evs, at(procEv("fs1", cmdExe, "cmd /c "+fmt.Sprint(i), `CORP\user000`, `C:\Windows\System32\services.exe`, ""), t0+float64(i), fmt.Sprintf("p%02d", i)))
	}
	evd := Extract(evs)
	if len(evd.Links) != MaxLinks || len(evd.Accounts) != MaxAccounts {
		t.Fatalf("links %d accounts %d", len(evd.Links), len(evd.Accounts))
	}
	for _, l := range evd.Links {
		if l.Kind != schema.LinkRemoteLogon {
			t.Fatalf("strong links must be kept before connections, got %+v", l)
		}
	}
	if !contains(evd.Accounts, `corp\user000`) {
		t.Errorf("most active account dropped: %v", evd.Accounts)
	}
	for _, th := range evd.Techniques {
		if len(th.EventIDs) > MaxSampleEventIDs {
			t.Errorf("technique %s has %d sample ids", th.ID, len(th.EventIDs))
		}
		if th.ID == "T1569.002" && th.Count != 20 {
			t.Errorf("count = %d", th.Count)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestExtractEmpty(t *testing.T) {
	t.Parallel()
	evd := Extract(nil)
	if evd == nil || len(evd.Links) != 0 || len(evd.Techniques) != 0 {
		t.Fatalf("empty window = %+v", evd)
	}
	if evd := Extract([]*schema.NormalizedEvent{nil}); evd == nil {
		t.Fatal("nil events must be skipped")
	}
}

func TestCanonAccount(t *testing.T) {
	t.Parallel()
	cases := map[[2]string]string{
		{"pgustavo", "THESHIRE.LOCAL"}:        `theshire\pgustavo`,
		{"pgustavo", "THESHIRE"}:              `theshire\pgustavo`,
		{`THESHIRE\pgustavo`, ""}:             `theshire\pgustavo`,
		{"pgustavo@THESHIRE.LOCAL", ""}:       `theshire\pgustavo`,
		{"wardog", ""}:                        "wardog",
		{"SYSTEM", "NT AUTHORITY"}:            "",
		{"LOCAL SERVICE", "NT AUTHORITY"}:     "",
		{"NETWORK SERVICE", "NT AUTHORITY"}:   "",
		{"ANONYMOUS LOGON", "NT AUTHORITY"}:   "",
		{"WORKSTATION6$", "THESHIRE"}:         "",
		{"DWM-1", "Window Manager"}:           "",
		{"UMFD-0", "Font Driver Host"}:        "",
		{"-", "-"}:                            "",
		{"LocalSystem", ""}:                   "",
		{"MSSQLSERVER", "NT SERVICE"}:         "",
		{"DefaultAppPool", "IIS APPPOOL"}:     "",
		{"Administrator", "WORKSTATION5"}:     `workstation5\administrator`,
		{`WORKSTATION5\wardog`, ""}:           `workstation5\wardog`,
		{"svc_sql", "corp.example.com"}:       `corp\svc_sql`,
		{"UMFD-x", "THESHIRE"}:                "",
		{"pedro", "-"}:                        "pedro",
		{"", "THESHIRE"}:                      "",
		{"guest", "WORKSTATION5"}:             `workstation5\guest`,
		{"dwmuser", "THESHIRE"}:               `theshire\dwmuser`,
		{"ANONYMOUS LOGON", "THESHIRE.LOCAL"}: "",
	}
	for in, want := range cases {
		if got := canonAccount(in[0], in[1]); got != want {
			t.Errorf("canonAccount(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

func TestHostName(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`\\WORKSTATION6.theshire.local`: "workstation6",
		"WORKSTATION6":                  "workstation6",
		`\\172.18.39.6\C$`:              "172.18.39.6",
		"localhost":                     "",
		"127.0.0.1":                     "",
		"-":                             "",
		".":                             "",
		"":                              "",
		"::ffff:172.18.39.5":            "172.18.39.5",
	}
	for in, want := range cases {
		if got := hostName(in); got != want {
			t.Errorf("hostName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add("172.18.39.5", "pgustavo", `sc \\ws6 create x binpath= y`, 3, 135)
	f.Add("::1", "", "", 10, 0)
	f.Fuzz(func(t *testing.T, ip, user, cmd string, logonType, port int) {
		evs := []*schema.NormalizedEvent{
			logonEv("h", logonType, user, "D", ip, "0x1", "NTLM"),
			netEv("h", "inbound", ip, 1, "10.0.0.1", port, "x.exe", user),
			procEv("h", `C:\x\sc.exe`, cmd, user, "services.exe", cmd),
			scriptEv("h", cmd),
			shareEv("h", "C$", cmd, user, ip, cmd),
		}
		evd := Extract(evs)
		if len(evd.Links) > MaxLinks || len(evd.Accounts) > MaxAccounts {
			t.Fatalf("unbounded evidence")
		}
	})
}

// BenchmarkExtract measures one busy window: 10k events of the kinds a
// workstation produces (process starts, connections, logons, registry).
func BenchmarkExtract(b *testing.B) {
	var evs []*schema.NormalizedEvent
	for i := 0; i < 2500; i++ {
		ts := t0 + float64(i)*0.05
		evs = append(evs,
			at(procEv("ws6", ps, "powershell.exe -nop -c Get-Process", userPG, cmdExe, ""), ts, fmt.Sprintf("p%d", i)),
			at(netEv("ws6", "inbound", fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), 50000, "10.0.0.1", 445, "System", ntSys), ts, fmt.Sprintf("n%d", i)),
			at(logonEv("ws6", 3, fmt.Sprintf("u%d", i%40), "CORP", fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), fmt.Sprintf("0x%x", i), "Kerberos"), ts, fmt.Sprintf("l%d", i)),
			at(regEv("ws6", schema.EventRegistrySet, `HKLM\System\CurrentControlSet\Services\W32Time\SecureTimeLimits\RunTime\SecureTimeTickCount`, `C:\Windows\System32\lsass.exe`), ts, fmt.Sprintf("r%d", i)),
		)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Extract(evs)
	}
}

// NXLog's 7045 names the installing user without a domain and without a
// logon id: the peer is found through that user's remote logon.
func TestExtractServiceInstallByBareAccount(t *testing.T) {
	t.Parallel()
	svc := ev("workstation6", schema.EventServiceInstall, t0+1, "svc", schema.EventData{
		NativeID: 7045, Service: &schema.Service{Name: "Updater", ImagePath: `%COMSPEC% /C start powershell`, Account: "pgustavo"}})
	evd := Extract([]*schema.NormalizedEvent{
		at(logonEv("workstation6", 3, "pgustavo", "THESHIRE.LOCAL", "172.18.39.5", "0x1", "Kerberos"), t0, "l"),
		svc,
	})
	got := strings.Join(linkSet(evd.Links), "\n")
	if !strings.Contains(got, "remote_service/inbound/172.18.39.5//theshire\\pgustavo/0") {
		t.Fatalf("links:\n%s", got)
	}
}

// A permanent WMI subscription made by a user logged on over the network is
// attributed to that user's peers; one made at the console, or by System,
// is not (as in covenant_wmi_remote_event_subscription).
func TestExtractRemoteWMISubscription(t *testing.T) {
	t.Parallel()
	sub := func(host, user, domain, id string, ts float64) *schema.NormalizedEvent {
		return at(ev(host, schema.EventWMISubscription, ts, id, schema.EventData{NativeID: 20,
			User: &schema.User{Name: user, Domain: domain},
			WMI:  &schema.WMI{Operation: "Created", Consumer: `"WSUS_QQTJ7"`}}), ts, id)
	}
	remote := Extract([]*schema.NormalizedEvent{
		at(logonEv("ws6", 3, "pgustavo", "THESHIRE", "172.18.39.5", "0x7f1", "Kerberos"), t0, "l1"),
		sub("ws6", "pgustavo", "THESHIRE", "s1", t0+2),
	})
	got := strings.Join(linkSet(remote.Links), "\n")
	if !strings.Contains(got, "remote_wmi/inbound/172.18.39.5//theshire\\pgustavo/0") {
		t.Fatalf("remote subscription not linked:\n%s", got)
	}
	for name, evs := range map[string][]*schema.NormalizedEvent{
		"console user": {sub("ws6", "pgustavo", "THESHIRE", "s2", t0)},
		"several peers": {
			at(logonEv("ws6", 10, "pgustavo", "THESHIRE", "172.18.39.20", "0x7f2", "Negotiate"), t0, "l3"),
			at(logonEv("ws6", 3, "pgustavo", "THESHIRE", "172.18.39.5", "0x7f1", "Kerberos"), t0, "l4"),
			sub("ws6", "pgustavo", "THESHIRE", "s4", t0+2),
		},
		"system": {at(logonEv("ws6", 3, "pgustavo", "THESHIRE", "172.18.39.5", "0x7f1", "Kerberos"), t0, "l2"), sub("ws6", "SYSTEM", "NT AUTHORITY", "s3", t0+1)},
	} {
		if l := Extract(evs).Links; strings.Contains(strings.Join(linkSet(l), "\n"), "remote_wmi") {
			t.Errorf("%s: unexpected remote_wmi link %v", name, linkSet(l))
		}
	}
}

package labels

import (
	"sort"
	"strings"
	"testing"

	"github.com/logster/logster/internal/schema"
)

// --- builders for hand-made recordings ---

func proc(guid string, pid int64, image, cl string) *schema.Process {
	return &schema.Process{GUID: guid, PID: pid, Image: image, CommandLine: cl}
}

func mk(id, host string, t float64, typ schema.EventType, d schema.EventData) schema.NormalizedEvent {
	return schema.NormalizedEvent{EventID: id, Hostname: host, EndpointID: host, TenantID: "default",
		Platform: schema.PlatformWindows, EventType: typ, Timestamp: t, Data: d}
}

func create(id, host string, t float64, child, parent *schema.Process) schema.NormalizedEvent {
	return mk(id, host, t, schema.EventProcessCreate, schema.EventData{NativeID: 1, Process: child, Parent: parent})
}

// sec4688 is a Security process creation (no Sysmon GUID; the normalizer
// derives one).
func sec4688(id, host string, t float64, child, parent *schema.Process) schema.NormalizedEvent {
	return mk(id, host, t, schema.EventProcessCreate, schema.EventData{NativeID: 4688, Process: child, Parent: parent})
}

func seedFile(seeds ...Seed) *SeedFile {
	return &SeedFile{
		Recording: "windows/test/x.zip", Metadata: "SDWIN-TEST", Title: "test", Lab: "test",
		Hosts: []Host{{Name: "ws5", Role: RoleWorkstation}, {Name: "ws6", Role: RoleWorkstation}, {Name: "dc", Role: RoleDomainController}},
		Seeds: seeds,
	}
}

const (
	svcExe = `C:\Windows\System32\services.exe`
	svcHst = `C:\Windows\System32\svchost.exe`
	wmiPrv = `C:\Windows\System32\wbem\WmiPrvSE.exe`
	psExe  = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	cmdExe = `C:\Windows\System32\cmd.exe`
)

func TestPropagation(t *testing.T) {
	t.Parallel()
	agent := proc("{A}", 100, psExe, "")
	tests := []struct {
		name   string
		seeds  []Seed
		events []schema.NormalizedEvent
		attack []string // event ids that must be attack
		benign []string // event ids that must not
	}{
		{
			name:  "process tree descendants of a seeded agent",
			seeds: []Seed{{Host: "ws5", PID: 100, Image: "powershell.exe", Why: "agent pid 100"}},
			events: []schema.NormalizedEvent{
				// The agent's own record carries no PID (NXLog drops it):
				// the PID is learned from its child's parent fields.
				mk("agent-load", "ws5", 1, schema.EventImageLoad, schema.EventData{Process: proc("{A}", 0, psExe, ""), File: &schema.File{Path: `C:\x.dll`}}),
				create("child", "ws5", 2, proc("{C}", 0, cmdExe, "cmd /c whoami"), agent),
				create("grandchild", "ws5", 3, proc("{W}", 0, `C:\Windows\System32\whoami.exe`, "whoami"), proc("{C}", 0, cmdExe, "")),
				mk("grandchild-file", "ws5", 4, schema.EventFileCreate, schema.EventData{Process: proc("{W}", 0, "whoami.exe", ""), File: &schema.File{Path: `C:\out.txt`}}),
				create("unrelated", "ws5", 5, proc("{N}", 0, `C:\Windows\notepad.exe`, "notepad"), proc("{E}", 50, `C:\Windows\explorer.exe`, "")),
				mk("other-host-same-guid", "ws6", 6, schema.EventImageLoad, schema.EventData{Process: proc("{A}", 100, psExe, ""), File: &schema.File{Path: `C:\y.dll`}}),
			},
			attack: []string{"agent-load", "child", "grandchild", "grandchild-file"},
			benign: []string{"unrelated", "other-host-same-guid"},
		},
		{
			name: "shared system processes do not propagate",
			seeds: []Seed{
				{Host: "ws6", CommandLine: []string{"evil.exe"}, Why: "the payload"},
				{Host: "ws6", Logon: &LogonSeed{Types: []int{3}, SourceIP: "10.0.0.5", Account: "bob"}, Why: "remote logon"},
			},
			events: []schema.NormalizedEvent{
				create("svc-evil", "ws6", 1, proc("{EV}", 10, `C:\evil.exe`, `C:\evil.exe`), proc("{S}", 600, svcExe, "")),
				create("svc-other", "ws6", 2, proc("{O}", 11, svcHst, "svchost.exe -k netsvcs"), proc("{S}", 600, svcExe, "")),
				mk("svc-registry", "ws6", 3, schema.EventRegistrySet, schema.EventData{Process: proc("{S}", 600, svcExe, ""), Registry: &schema.Registry{Key: `HKLM\SOFTWARE\x`}}),
				create("evil-child", "ws6", 4, proc("{EC}", 12, cmdExe, "cmd"), proc("{EV}", 10, `C:\evil.exe`, "")),
				mk("logon", "ws6", 5, schema.EventLogon, schema.EventData{Logon: &schema.Logon{Type: 3, TargetUser: "bob", TargetLogonID: "0xabc", SourceIP: "10.0.0.5"}}),
				// WmiPrvSE (shared) spawns a process in the attacker's
				// session: the child is the attacker's, WmiPrvSE is not.
				create("wmi-child", "ws6", 6, &schema.Process{GUID: "{WC}", PID: 13, Image: cmdExe, CommandLine: "cmd /c net user", LogonID: "0xabc"}, proc("{WP}", 700, wmiPrv, "")),
				create("wmi-child-child", "ws6", 7, proc("{NU}", 14, `C:\Windows\System32\net.exe`, "net user"), proc("{WC}", 13, cmdExe, "")),
				mk("wmiprvse-act", "ws6", 8, schema.EventRegistrySet, schema.EventData{Process: proc("{WP}", 700, wmiPrv, ""), Registry: &schema.Registry{Key: `HKLM\y`}}),
				create("wmi-other-child", "ws6", 9, &schema.Process{GUID: "{WO}", PID: 15, Image: cmdExe, LogonID: "0x3e7"}, proc("{WP}", 700, wmiPrv, "")),
				// A shared image started inside the session is labelled but
				// does not carry the label further.
				create("session-explorer", "ws6", 10, &schema.Process{GUID: "{X}", PID: 16, Image: `C:\Windows\explorer.exe`, LogonID: "0xabc"}, proc("{U}", 17, `C:\Windows\System32\userinit.exe`, "")),
				create("explorer-child", "ws6", 11, &schema.Process{GUID: "{XC}", PID: 18, Image: `C:\Windows\notepad.exe`, LogonID: "0x999"}, proc("{X}", 16, `C:\Windows\explorer.exe`, "")),
			},
			attack: []string{"svc-evil", "evil-child", "logon", "wmi-child", "wmi-child-child", "session-explorer"},
			benign: []string{"svc-other", "svc-registry", "wmiprvse-act", "wmi-other-child", "explorer-child"},
		},
		{
			name:  "cross-host through connection, remote logon and service",
			seeds: []Seed{{Host: "ws5", PID: 200, Why: "agent pid 200"}},
			events: []schema.NormalizedEvent{
				mk("src-conn", "ws5", 10, schema.EventNetworkConnect, schema.EventData{NativeID: 5156, Process: proc("", 200, `\device\harddiskvolume2\windows\system32\windowspowershell\v1.0\powershell.exe`, ""),
					Network: &schema.Network{Direction: "outbound", SrcIP: "10.0.0.5", SrcPort: 50000, DstIP: "10.0.0.6", DstPort: 445}}),
				mk("dst-logon", "ws6", 11, schema.EventLogon, schema.EventData{Logon: &schema.Logon{Type: 3, TargetUser: "bob", TargetLogonID: "0xabc", SourceIP: "10.0.0.5", SourcePort: 50000}}),
				mk("dst-share", "ws6", 11, schema.EventShareAccess, schema.EventData{User: &schema.User{Name: "bob", LogonID: "0xabc"}, Share: &schema.Share{Name: `\\*\ADMIN$`}}),
				mk("dst-svc", "ws6", 12, schema.EventServiceInstall, schema.EventData{User: &schema.User{Name: "bob", LogonID: "0xabc"},
					Service: &schema.Service{Name: "Upd", ImagePath: `%COMSPEC% /c start /b evil.exe -x`}}),
				create("dst-svc-proc", "ws6", 13, proc("{SP}", 300, cmdExe, `C:\Windows\system32\cmd.exe /c start /b evil.exe -x`), proc("{S}", 600, svcExe, "")),
				create("dst-svc-proc-child", "ws6", 14, proc("{SPC}", 301, `C:\evil.exe`, "evil.exe -x"), proc("{SP}", 300, cmdExe, "")),
				create("dst-other-svc", "ws6", 15, proc("{OS}", 302, `C:\Windows\System32\spoolsv.exe`, "spoolsv.exe"), proc("{S}", 600, svcExe, "")),
				mk("dst-other-logon", "ws6", 16, schema.EventLogon, schema.EventData{Logon: &schema.Logon{Type: 3, TargetUser: "bob", TargetLogonID: "0xdef", SourceIP: "10.0.0.5", SourcePort: 50001}}),
				mk("dc-unrelated", "dc", 17, schema.EventLogon, schema.EventData{Logon: &schema.Logon{Type: 3, TargetUser: "bob", TargetLogonID: "0x123", SourceIP: "10.0.0.5", SourcePort: 50002}}),
			},
			attack: []string{"src-conn", "dst-logon", "dst-share", "dst-svc", "dst-svc-proc", "dst-svc-proc-child"},
			benign: []string{"dst-other-svc", "dst-other-logon", "dc-unrelated"},
		},
		{
			name:  "PID reuse after the labelled process exits",
			seeds: []Seed{{Host: "ws5", CommandLine: []string{"mimikatz"}, Why: "mimikatz run"}},
			events: []schema.NormalizedEvent{
				create("mk", "ws5", 10, proc("{M}", 300, `C:\m\mimikatz.exe`, "mimikatz.exe exit"), proc("{E}", 50, `C:\Windows\explorer.exe`, "")),
				// Security 4688 names the parent by PID only.
				create("mk-child-sec", "ws5", 15, proc("{D1}", 301, cmdExe, "cmd"), proc("", 300, `C:\m\mimikatz.exe`, "")),
				mk("mk-exit", "ws5", 20, schema.EventProcessTerminate, schema.EventData{Process: proc("{M}", 300, `C:\m\mimikatz.exe`, "")}),
				create("reuse-child", "ws5", 100, proc("{D2}", 302, cmdExe, "cmd"), proc("", 300, `C:\m\mimikatz.exe`, "")),
			},
			attack: []string{"mk", "mk-child-sec", "mk-exit"},
			benign: []string{"reuse-child"},
		},
		{
			name:  "Sysmon and Security records of one process label each other",
			seeds: []Seed{{Host: "ws5", CommandLine: []string{"rubeus.exe asktgt"}, Why: "Rubeus"}},
			events: []schema.NormalizedEvent{
				create("sysmon-create", "ws5", 10.4, proc("{SYS}", 0, `C:\r\Rubeus.exe`, "Rubeus.exe asktgt /ptt"), proc("{P}", 0, psExe, "")),
				sec4688("sec-create", "ws5", 10, proc("{DER}", 400, `C:\r\Rubeus.exe`, "Rubeus.exe  asktgt /ptt"), proc("{PD}", 90, psExe, "")),
				mk("sec-conn", "ws5", 11, schema.EventNetworkConnect, schema.EventData{NativeID: 5156, Process: proc("", 400, `\device\harddiskvolume2\r\rubeus.exe`, ""),
					Network: &schema.Network{Direction: "outbound", SrcIP: "10.0.0.5", SrcPort: 51000, DstIP: "10.0.0.1", DstPort: 88}}),
				mk("sysmon-conn", "ws5", 11.5, schema.EventNetworkConnect, schema.EventData{NativeID: 3, Process: proc("{SYS}", 0, `C:\r\Rubeus.exe`, ""),
					Network: &schema.Network{Direction: "outbound", SrcIP: "10.0.0.5", SrcPort: 51000, DstIP: "10.0.0.1", DstPort: 88}}),
				mk("sec-exit", "ws5", 12, schema.EventProcessTerminate, schema.EventData{NativeID: 4689, Process: proc("{DER}", 400, `C:\r\Rubeus.exe`, "")}),
				mk("other-pid-conn", "ws5", 11, schema.EventNetworkConnect, schema.EventData{NativeID: 5156, Process: proc("", 401, `\device\x\chrome.exe`, ""),
					Network: &schema.Network{Direction: "outbound", SrcIP: "10.0.0.5", SrcPort: 51001, DstIP: "1.1.1.1", DstPort: 443}}),
			},
			attack: []string{"sysmon-create", "sec-create", "sec-conn", "sysmon-conn", "sec-exit"},
			benign: []string{"other-pid-conn"},
		},
		{
			name:  "PowerShell records through an unambiguous host application",
			seeds: []Seed{{Host: "ws5", PID: 500, Why: "agent pid 500"}},
			events: []schema.NormalizedEvent{
				create("agent-child", "ws5", 1, proc("{K}", 501, cmdExe, "cmd"), proc("{AG}", 500, psExe, "powershell -noP -enc QQBB")),
				mk("ps-agent", "ws5", 2, schema.EventPowerShellInvoke, schema.EventData{NativeID: 4103, Script: &schema.Script{Text: "Start-Sleep", HostApp: "powershell  -noP -enc QQBB"}}),
				create("user-ps-1", "ws5", 3, proc("{U1}", 600, psExe, "powershell.exe"), proc("{E}", 50, `C:\Windows\explorer.exe`, "")),
				create("agent-ps-plain", "ws5", 4, proc("{U2}", 601, psExe, "powershell.exe"), proc("{AG}", 500, psExe, "")),
				// Two processes run "powershell.exe", one of them the
				// attacker's: the record cannot be attributed.
				mk("ps-ambiguous", "ws5", 5, schema.EventPowerShellInvoke, schema.EventData{NativeID: 4103, Script: &schema.Script{Text: "Get-Date", HostApp: "powershell.exe"}}),
				mk("block-1", "ws5", 6, schema.EventScriptBlock, schema.EventData{NativeID: 4104, Script: &schema.Script{BlockID: "B1", Text: "Invoke-Evil part 1", MessageNumber: 1, MessageTotal: 2}}),
				mk("block-2", "ws5", 6, schema.EventScriptBlock, schema.EventData{NativeID: 4104, Script: &schema.Script{BlockID: "b1", Text: "part 2", MessageNumber: 2, MessageTotal: 2}}),
				mk("block-other", "ws5", 6, schema.EventScriptBlock, schema.EventData{NativeID: 4104, Script: &schema.Script{BlockID: "B2", Text: "Get-Help"}}),
			},
			attack: []string{"agent-child", "ps-agent", "agent-ps-plain"},
			benign: []string{"user-ps-1", "ps-ambiguous", "block-other"},
		},
		{
			name: "script block parts follow a seeded part",
			seeds: []Seed{
				{Host: "ws5", Script: []string{"Invoke-Evil"}, Why: "module name"},
			},
			events: []schema.NormalizedEvent{
				mk("block-1", "ws5", 6, schema.EventScriptBlock, schema.EventData{NativeID: 4104, Script: &schema.Script{BlockID: "B1", Text: "function Invoke-Evil {", MessageNumber: 1, MessageTotal: 2}}),
				mk("block-2", "ws5", 6, schema.EventScriptBlock, schema.EventData{NativeID: 4104, Script: &schema.Script{BlockID: "b1", Text: "}", MessageNumber: 2, MessageTotal: 2}}),
				mk("block-other", "ws5", 6, schema.EventScriptBlock, schema.EventData{NativeID: 4104, Script: &schema.Script{BlockID: "B2", Text: "Get-Help"}}),
			},
			attack: []string{"block-1", "block-2"},
			benign: []string{"block-other"},
		},
		{
			name:  "dropped files: executed and loaded",
			seeds: []Seed{{Host: "ws5", Image: "dropper.exe", Why: "dropper"}},
			events: []schema.NormalizedEvent{
				mk("drop-exe", "ws5", 101, schema.EventFileCreate, schema.EventData{Process: proc("{D}", 70, `C:\t\dropper.exe`, ""), File: &schema.File{Path: `C:\t\payload.exe`}}),
				mk("drop-dll", "ws5", 102, schema.EventFileCreate, schema.EventData{Process: proc("{D}", 70, `C:\t\dropper.exe`, ""), File: &schema.File{Path: `C:\t\hijack.dll`}}),
				create("run-payload", "ws5", 103, proc("{PL}", 71, `C:\T\Payload.exe`, "payload"), proc("{E}", 50, `C:\Windows\explorer.exe`, "")),
				mk("svchost-loads", "ws5", 104, schema.EventImageLoad, schema.EventData{Process: proc("{SV}", 72, svcHst, ""), File: &schema.File{Path: `C:\t\hijack.dll`}}),
				mk("svchost-other", "ws5", 105, schema.EventRegistrySet, schema.EventData{Process: proc("{SV}", 72, svcHst, ""), Registry: &schema.Registry{Key: `HKLM\z`}}),
				mk("app-loads", "ws5", 106, schema.EventImageLoad, schema.EventData{Process: proc("{AP}", 73, `C:\app.exe`, ""), File: &schema.File{Path: `C:\t\hijack.dll`}}),
				mk("app-other", "ws5", 107, schema.EventRegistrySet, schema.EventData{Process: proc("{AP}", 73, `C:\app.exe`, ""), Registry: &schema.Registry{Key: `HKLM\w`}}),
				mk("loaded-before-drop", "ws5", 10, schema.EventImageLoad, schema.EventData{Process: proc("{AQ}", 74, `C:\app2.exe`, ""), File: &schema.File{Path: `C:\t\hijack.dll`}}),
			},
			attack: []string{"drop-exe", "drop-dll", "run-payload", "svchost-loads", "app-loads", "app-other"},
			benign: []string{"svchost-other", "loaded-before-drop"},
		},
		{
			name:  "scheduled task created remotely and run",
			seeds: []Seed{{Host: "ws6", Task: `\Microsoft\Windows\Evil`, Why: "schtasks /create /tn Evil /S ws6"}},
			events: []schema.NormalizedEvent{
				mk("task", "ws6", 1, schema.EventTaskCreate, schema.EventData{Task: &schema.Task{Name: `\Microsoft\Windows\Evil`, Command: `C:\Windows\system32\cmd.exe /c C:\evil.bat`}}),
				mk("task-file", "ws6", 1, schema.EventFileCreate, schema.EventData{Process: proc("{SV}", 72, svcHst, ""), File: &schema.File{Path: `C:\Windows\System32\Tasks\Microsoft\Windows\Evil`}}),
				create("task-run", "ws6", 60, proc("{TR}", 80, cmdExe, `C:\Windows\system32\cmd.exe /c C:\evil.bat`), proc("{SV}", 72, svcHst, "")),
				create("other-task-run", "ws6", 61, proc("{OT}", 81, `C:\Windows\System32\defrag.exe`, "defrag.exe -c"), proc("{SV}", 72, svcHst, "")),
			},
			attack: []string{"task", "task-file", "task-run"},
			benign: []string{"other-task-run"},
		},
		{
			name:  "WMI subscription and its consumer's process",
			seeds: []Seed{{Host: "ws6", WMI: "ActiveScriptEventConsumer", Why: "remote WMI subscription"}},
			events: []schema.NormalizedEvent{
				mk("filter", "ws6", 1, schema.EventWMISubscription, schema.EventData{NativeID: 19, WMI: &schema.WMI{Operation: "Created", Filter: ` "EvilFilter"`, Query: `select * from Win32_LogonSession`}}),
				mk("binding", "ws6", 2, schema.EventWMISubscription, schema.EventData{NativeID: 21, WMI: &schema.WMI{Consumer: ` "ActiveScriptEventConsumer.Name=\"EvilConsumer\""`, Filter: ` "__EventFilter.Name=\"EvilFilter\""`}}),
				mk("permanent", "ws6", 2, schema.EventWMIActivity, schema.EventData{NativeID: 5861, WMI: &schema.WMI{Consumer: `ActiveScriptEventConsumer="EvilConsumer"`, Filter: "EvilFilter (refer to its activate eventid:5859)"}}),
				mk("other-filter", "ws6", 3, schema.EventWMISubscription, schema.EventData{NativeID: 19, WMI: &schema.WMI{Operation: "Created", Filter: ` "SCM Event Log Filter"`}}),
			},
			attack: []string{"filter", "binding", "permanent"},
			benign: []string{"other-filter"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := Apply(seedFile(tc.seeds...), tc.events)
			for _, id := range tc.attack {
				if !l.IsAttack(id) {
					t.Errorf("%s: not labelled attack; attack events: %v", id, l.AttackEvents())
				}
			}
			for _, id := range tc.benign {
				if l.IsAttack(id) {
					r, _ := l.Reason(id)
					t.Errorf("%s: labelled attack (%s: %s)", id, r.Rule, r.Detail)
				}
			}
		})
	}
}

func TestChainEndsAtSeed(t *testing.T) {
	t.Parallel()
	evs := []schema.NormalizedEvent{
		create("a", "ws5", 1, proc("{C}", 2, cmdExe, "cmd"), proc("{A}", 1, psExe, "")),
		create("b", "ws5", 2, proc("{W}", 3, "whoami.exe", "whoami"), proc("{C}", 2, cmdExe, "")),
	}
	l := Apply(seedFile(Seed{Host: "ws5", PID: 1, Why: "agent"}), evs)
	chain := l.Chain("b")
	var rules []string
	for _, r := range chain {
		rules = append(rules, r.Rule)
	}
	if got := strings.Join(rules, "<"); got != "child<seed" {
		t.Fatalf("chain of b = %s, want child<seed", got)
	}
	if l.Chain("nope") != nil {
		t.Fatal("chain of an unknown event is not empty")
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		` "__EventFilter.Name=\"WSUS_QQTJ7\""`:            "WSUS_QQTJ7",
		`ActiveScriptEventConsumer="WSUS_RP5ZB"`:          "WSUS_RP5ZB",
		`WSUS_QQTJ7 (refer to its activate eventid:5859)`: "WSUS_QQTJ7",
		` "WSUS_QQTJ7"`: "WSUS_QQTJ7",
		"":              "",
	} {
		if got := wmiName(in); got != want {
			t.Errorf("wmiName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`%%COMSPEC%% /C start /b C:\x.exe`:  `/C start /b C:\x.exe`,
		`%SystemRoot%\System32\svchost.exe`: `c:\windows\System32\svchost.exe`,
		`C:\plain.exe -a`:                   `C:\plain.exe -a`,
		`50% off`:                           `50% off`,
	} {
		if got := expandEnv(in); got != want {
			t.Errorf("expandEnv(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`\device\harddiskvolume2\windows\system32\cmd.exe`: `\windows\system32\cmd.exe`,
		`C:\Windows\System32\CMD.EXE`:                      `\windows\system32\cmd.exe`,
		`"C:\a b\c.exe"`:                                   `\a b\c.exe`,
	} {
		if got := normPath(in); got != want {
			t.Errorf("normPath(%q) = %q, want %q", in, got, want)
		}
	}
	name, val, ok := serviceKey(`HKLM\System\CurrentControlSet\Services\Updater\ImagePath`)
	if !ok || name != "Updater" || val != "ImagePath" {
		t.Errorf("serviceKey = %q %q %v", name, val, ok)
	}
	if _, _, ok := serviceKey(`HKLM\SOFTWARE\Services\x`); ok {
		t.Error("serviceKey accepted a key outside a control set")
	}
	if !serviceImageMatches(normCL(`c:\windows\system32\grunthttp2.exe`), "", normPath(`C:\Windows\System32\GruntHTTP2.exe`)) {
		t.Error("service image path without arguments does not match its process image")
	}
	if serviceImageMatches(normCL(`C:\Windows\system32\svchost.exe -k netsvcs`), normCL(`C:\Windows\system32\svchost.exe -k netsvcs -p -s IKEEXT`), "") {
		t.Error("a shared svchost group matched a service image path")
	}
	if got := sortedKeys(map[string]int{"b": 1, "a": 2}); !sort.StringsAreSorted(got) || len(got) != 2 {
		t.Errorf("sortedKeys = %v", got)
	}
}

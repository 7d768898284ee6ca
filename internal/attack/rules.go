package attack

import (
	"regexp"
	"slices"
	"strings"

	"github.com/logster/logster/internal/schema"
)

// Rule is one row of the technique table: an event pattern and the ATT&CK
// techniques it evidences.
type Rule struct {
	// ID names the rule in hits, logs and docs/attack-mapping.md; stable.
	ID         string
	Techniques []string
	// EventTypes are the normalized event types the rule looks at.
	EventTypes []schema.EventType
	// Pattern says what the rule matches (for analysts and the docs).
	Pattern string
	// Quiet says what keeps the rule from firing on benign background.
	Quiet string

	match func(ev *event) bool
}

// Matches reports whether the rule fires on ev.
func (r *Rule) Matches(ev *schema.NormalizedEvent) bool {
	if ev == nil {
		return false
	}
	return r.matches(newEvent(ev))
}

func (r *Rule) matches(ev *event) bool {
	if r.match == nil {
		return false
	}
	ok := false
	for _, t := range r.EventTypes {
		if ev.EventType == t {
			ok = true
			break
		}
	}
	return ok && r.match(ev)
}

var (
	procCreate = []schema.EventType{schema.EventProcessCreate}
	// cmdEvents are the events whose commandText a tool-usage rule reads.
	cmdEvents = []schema.EventType{schema.EventProcessCreate, schema.EventScriptBlock, schema.EventPowerShellInvoke}
	regEvents = []schema.EventType{schema.EventRegistrySet, schema.EventRegistryCreate}
)

// shells are interpreters and proxies an attacker's payload typically starts
// as when a service, WMI or DCOM is used to execute it.
var shells = []string{"cmd.exe", "powershell.exe", "pwsh.exe", "mshta.exe", "rundll32.exe",
	"regsvr32.exe", "wscript.exe", "cscript.exe", "msbuild.exe"}

var (
	// -enc / -EncodedCommand and every prefix PowerShell accepts for it,
	// followed by a base64 blob.
	reEncoded = regexp.MustCompile(`(?:^|\s)[-/](?:e|ec|en|enc|enco|encod|encode|encoded|encodedc[a-z]*)\s+["']?[a-z0-9+/=]{16,}`)
	// \\host\ADMIN$ or \\host\C$ in a command.
	reAdminShareUNC = regexp.MustCompile(`\\\\([a-z0-9_.-]+)\\(admin\$|[a-z]\$)`)
	// \\host as the first argument of sc.exe / schtasks /s host / wmic /node:host.
	reUNCHost  = regexp.MustCompile(`\\\\([a-z0-9_.-]+)`)
	reNode     = regexp.MustCompile(`/node:\s*"?([a-z0-9_.-]+)`)
	reSchtaskS = regexp.MustCompile(`\s/s\s+"?([a-z0-9_.-]+)`)
	reCompName = regexp.MustCompile(`-(?:computername|cn)\s+['"]?([a-z0-9_.-]+)`)
	reWinrsR   = regexp.MustCompile(`-r(?:emote)?:\s*"?(?:https?://)?([a-z0-9_.-]+)`)
	reProgID   = regexp.MustCompile(`gettypefrom(?:progid|clsid)\(\s*["']?[^"',)]+["']?\s*,\s*["']?([a-z0-9_.-]+)`)
)

// lsassReaders are processes that legitimately open LSASS with memory-read
// rights: the session manager and Windows' own WMI/defender components, and
// the cloud guest agents found in the lab background.
var lsassReaders = []string{"csrss.exe", "wininit.exe", "lsass.exe", "wmiprvse.exe", "msmpeng.exe",
	"mssense.exe", "sensecncproxy.exe", "vmtoolsd.exe", "vboxservice.exe", "collectguestlogs.exe",
	"windowsazureguestagent.exe", "waappagent.exe"}

// privilegedGroups are groups whose new members gain remote access or
// administrative control.
var privilegedGroups = []string{"administrators", "remote desktop users", "remote management users",
	"backup operators", "account operators", "server operators", "print operators", "domain admins",
	"enterprise admins", "schema admins", "dnsadmins", "group policy creator owners",
	"hyper-v administrators", "distributed com users"}

// vendorTasks are scheduled tasks ordinary software registers per user.
var vendorTasks = []string{`\onedrive standalone update task`, `\onedrive reporting task`,
	`\googleupdatetask`, `\microsoftedgeupdatetask`, `\adobe acrobat update task`, `\mozilla\`}

// Rules is the technique table, in documentation order.
var Rules = []Rule{
	// --- Services: remote creation and execution ------------------------------
	{
		ID: "service-installed", Techniques: []string{"T1543.003", "T1569.002"},
		EventTypes: []schema.EventType{schema.EventServiceInstall},
		Pattern:    "A user-mode service was installed (System 7045, Security 4697).",
		Quiet:      "Kernel and file-system drivers are left out: Defender installs an MpKsl*.sys driver with every definition update and hardware brings its own (malicious drivers are a different technique). User-mode installs are rare on a settled fleet.",
		match:      func(ev *event) bool { return !isDriverService(ev.Data.Service) },
	},
	{
		ID: "sc-create-config", Techniques: []string{"T1543.003"}, EventTypes: procCreate,
		Pattern: "sc.exe create, or sc.exe config with binPath= (local or \\\\host).",
		Quiet:   "Only create/config with a binary path; sc query/qc/start of existing services do not match.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return ev.img() == "sc.exe" &&
				(strings.Contains(c, " create ") || (strings.Contains(c, " config ") && strings.Contains(c, "binpath")))
		},
	},
	{
		ID: "sc-remote-control", Techniques: []string{"T1569.002"}, EventTypes: procCreate,
		Pattern: "sc.exe \\\\host start|stop|create|config|delete: services driven on another host.",
		Quiet:   "Requires a \\\\host argument; local sc start and remote sc query are left out.",
		match: func(ev *event) bool {
			_, ok := scRemoteTarget(ev)
			return ok
		},
	},
	{
		ID: "services-child-shell", Techniques: []string{"T1569.002"}, EventTypes: procCreate,
		Pattern: "services.exe started a shell or script host (cmd, powershell, mshta, rundll32, ...): a service whose binary is a command.",
		Quiet:   "services.exe normally starts service binaries (svchost.exe, vendor agents), not interpreters.",
		match: func(ev *event) bool {
			return ev.pimg() == "services.exe" && inSet(ev.img(), shells...)
		},
	},
	{
		ID: "psexec-service", Techniques: []string{"T1021.002", "T1569.002"},
		EventTypes: []schema.EventType{schema.EventServiceInstall, schema.EventProcessCreate,
			schema.EventPipeCreate, schema.EventPipeConnect, schema.EventFileCreate},
		Pattern: "PsExec-style remote execution on the target: PSEXESVC/RemCom/PAExec/CSExec service, binary, or named pipe.",
		Quiet:   "Names specific to remote-execution tools.",
		match:   isPsexecArtifact,
	},
	{
		ID: "psexec-client", Techniques: []string{"T1021.002", "T1569.002"}, EventTypes: procCreate,
		Pattern: "psexec.exe / paexec.exe run against \\\\host.",
		Quiet:   "Requires the tool image and a \\\\host argument.",
		match: func(ev *event) bool {
			img := ev.img()
			return (strings.HasPrefix(img, "psexec") || strings.HasPrefix(img, "paexec")) &&
				reUNCHost.MatchString(ev.cmd())
		},
	},
	// --- SMB / admin shares -----------------------------------------------------
	{
		ID: "admin-share-access", Techniques: []string{"T1021.002"},
		EventTypes: []schema.EventType{schema.EventShareAccess},
		Pattern:    "ADMIN$ or a drive share (C$, D$, ...) accessed over the network (Security 5140/5145) by a user account.",
		Quiet:      "Machine accounts ($), SYSVOL/NETLOGON and plain IPC$ sessions (Group Policy, domain logons) are excluded.",
		match: func(ev *event) bool {
			return isAdminShare(shareName(ev)) && byUser(ev)
		},
	},
	{
		ID: "ipc-svcctl", Techniques: []string{"T1021.002", "T1569.002"},
		EventTypes: []schema.EventType{schema.EventShareAccess},
		Pattern:    "IPC$ named pipe svcctl opened by a user (Security 5145): remote Service Control Manager.",
		Quiet:      "Only the svcctl pipe; the lsarpc/samr/srvsvc traffic of ordinary domain members is ignored.",
		match: func(ev *event) bool {
			return shareName(ev) == "IPC$" && shareRelative(ev) == "svcctl" && byUser(ev)
		},
	},
	{
		ID: "ipc-atsvc", Techniques: []string{"T1021.002", "T1053.005"},
		EventTypes: []schema.EventType{schema.EventShareAccess},
		Pattern:    "IPC$ named pipe atsvc opened by a user (Security 5145): remote Task Scheduler.",
		Quiet:      "Only the atsvc pipe, only user accounts.",
		match: func(ev *event) bool {
			return shareName(ev) == "IPC$" && shareRelative(ev) == "atsvc" && byUser(ev)
		},
	},
	{
		ID: "admin-share-tool-write", Techniques: []string{"T1570"},
		EventTypes: []schema.EventType{schema.EventShareAccess},
		Pattern:    "An executable, DLL or script written through ADMIN$/C$ (Security 5145 with write access).",
		Quiet:      "Requires an executable/script extension and, when the record has an access mask, a write right.",
		match:      isAdminShareToolWrite,
	},
	{
		ID: "admin-share-command", Techniques: []string{"T1021.002"}, EventTypes: cmdEvents,
		Pattern: "A command or script naming \\\\host\\ADMIN$ or \\\\host\\C$ (net use, copy, Copy-Item, ...).",
		Quiet:   "Requires an administrative share in a UNC path.",
		match: func(ev *event) bool {
			return reAdminShareUNC.MatchString(ev.text())
		},
	},
	// --- WMI ------------------------------------------------------------------------
	{
		ID: "wmiprvse-child", Techniques: []string{"T1047"}, EventTypes: procCreate,
		Pattern: "A process started by wmiprvse.exe (Win32_Process.Create, local or remote).",
		Quiet:   "wmiprvse.exe itself, WerFault and the WMI maintenance tools are excluded; DcomLaunch starting wmiprvse.exe is not this rule.",
		match: func(ev *event) bool {
			return ev.pimg() == "wmiprvse.exe" &&
				!inSet(ev.img(), "wmiprvse.exe", "werfault.exe", "wermgr.exe", "mofcomp.exe", "wmiadap.exe", "")
		},
	},
	{
		ID: "wmic-remote", Techniques: []string{"T1047"}, EventTypes: procCreate,
		Pattern: "wmic.exe /node:<host> (remote WMI).",
		Quiet:   "Requires /node: naming a host other than localhost/./127.0.0.1.",
		match: func(ev *event) bool {
			_, ok := wmicRemoteTarget(ev)
			return ok
		},
	},
	{
		ID: "wmi-process-create", Techniques: []string{"T1047"}, EventTypes: cmdEvents,
		Pattern: "wmic process call create, or Invoke-WmiMethod/Invoke-CimMethod on Win32_Process.",
		Quiet:   "Requires process creation through WMI, not WMI queries.",
		match: func(ev *event) bool {
			t := ev.text()
			return strings.Contains(t, "process call create") ||
				(containsAny(t, "invoke-wmimethod", "invoke-cimmethod") && strings.Contains(t, "win32_process"))
		},
	},
	{
		ID: "wmi-event-subscription", Techniques: []string{"T1546.003"},
		EventTypes: []schema.EventType{schema.EventWMISubscription, schema.EventProcessCreate},
		Pattern:    "A permanent WMI event subscription: Sysmon 19/20/21 (filter, consumer, binding), or scrcons.exe (ActiveScriptEventConsumer host) starting.",
		Quiet:      "WMI-Activity 5857/5858/5860 (provider loads, errors, temporary queries) are not subscriptions.",
		match: func(ev *event) bool {
			if ev.EventType == schema.EventWMISubscription {
				return true
			}
			return ev.img() == "scrcons.exe"
		},
	},
	{
		ID: "wmi-consumer-bound", Techniques: []string{"T1546.003", "T1047"},
		EventTypes: []schema.EventType{schema.EventWMIActivity},
		Pattern:    "WMI-Activity 5861: an event consumer was bound to a filter (often from a remote client).",
		Quiet:      "Only event 5861; the provider-load and query events of the channel are ignored.",
		match: func(ev *event) bool {
			return ev.Data.NativeID == 5861
		},
	},
	{
		ID: "wmic-xsl", Techniques: []string{"T1220"}, EventTypes: procCreate,
		Pattern: "wmic.exe /format: loading a remote or .xsl stylesheet.",
		Quiet:   "Built-in formats (/format:list, csv, table) do not match.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return ev.img() == "wmic.exe" && strings.Contains(c, "/format:") &&
				containsAny(c, "http:", "https:", ".xsl")
		},
	},
	// --- WinRM ----------------------------------------------------------------------
	{
		ID: "winrm-host-process", Techniques: []string{"T1021.006"}, EventTypes: procCreate,
		Pattern: "wsmprovhost.exe (the WinRM plug-in host of a PowerShell remoting session) started, or started a child.",
		Quiet:   "wsmprovhost.exe only runs for inbound remoting sessions.",
		match: func(ev *event) bool {
			return ev.img() == "wsmprovhost.exe" || ev.pimg() == "wsmprovhost.exe"
		},
	},
	{
		ID: "winrm-client-connection", Techniques: []string{"T1021.006"},
		EventTypes: []schema.EventType{schema.EventNetworkConnect},
		Pattern:    "Outbound connection to TCP 5985/5986 of another host by a process other than svchost.exe.",
		Quiet:      "svchost.exe is excluded: Windows Event Forwarding subscriptions reach their collector over WinRM from svchost.",
		match: func(ev *event) bool {
			n := ev.Data.Network
			if n == nil || direction(ev.NormalizedEvent) != DirOutbound || (n.DstPort != 5985 && n.DstPort != 5986) {
				return false
			}
			a, ok := canonIP(n.DstIP)
			return ok && routable(a) && !inSet(ev.img(), "svchost.exe", "system")
		},
	},
	{
		ID: "powershell-remoting-command", Techniques: []string{"T1021.006"}, EventTypes: cmdEvents,
		Pattern: "Invoke-Command/Enter-PSSession/New-PSSession -ComputerName <host>, or winrs -r:<host>.",
		Quiet:   "Requires a remote computer argument; local Invoke-Command does not match.",
		match: func(ev *event) bool {
			_, ok := remotingTarget(ev)
			return ok
		},
	},
	// --- DCOM -----------------------------------------------------------------------
	{
		ID: "dcom-application-launch", Techniques: []string{"T1021.003"}, EventTypes: procCreate,
		Pattern: "mmc.exe, Excel, Word, PowerPoint, Outlook or Visio started by svchost.exe -k DcomLaunch with -Embedding or /automation (MMC20.Application, Excel.Application DCOM activation).",
		Quiet:   "DcomLaunch also starts RuntimeBroker, dllhost, backgroundTaskHost, wmiprvse ... those are not in the list; a user opening Office is started by explorer.exe, not DcomLaunch.",
		match: func(ev *event) bool {
			if ev.pimg() != "svchost.exe" || !strings.Contains(ev.pcmd(), "dcomlaunch") {
				return false
			}
			c := ev.cmd()
			return inSet(ev.img(), "mmc.exe", "excel.exe", "winword.exe", "powerpnt.exe", "outlook.exe", "visio.exe") &&
				containsAny(c, "-embedding", "/automation")
		},
	},
	{
		ID: "mmc-child-shell", Techniques: []string{"T1021.003"}, EventTypes: procCreate,
		Pattern: "mmc.exe started a shell or script host (MMC20.Application ExecuteShellCommand).",
		Quiet:   "An administrator's snap-ins do not start interpreters.",
		match: func(ev *event) bool {
			return ev.pimg() == "mmc.exe" && inSet(ev.img(), shells...)
		},
	},
	{
		ID: "dcom-script", Techniques: []string{"T1021.003"}, EventTypes: cmdEvents,
		Pattern: "A script activating a lateral-movement DCOM object (MMC20.Application, ShellWindows, ShellBrowserWindow, Excel.Application) or calling ExecuteShellCommand/ExecuteExcel4Macro/DDEInitiate.",
		Quiet:   "Requires both the activation call and one of the known abused objects or methods.",
		match: func(ev *event) bool {
			t := ev.text()
			if containsAny(t, "executeshellcommand", "executeexcel4macro", "ddeinitiate", "registerxll") {
				return true
			}
			return containsAny(t, "gettypefromprogid", "gettypefromclsid") &&
				containsAny(t, "mmc20.application", "shellwindows", "shellbrowserwindow", "excel.application",
					"9ba05972-f6a8-11cf-a442-00a0c90a8f39", "c08afd90-f2a1-11d1-8455-00a0c91f3880", "49b2791a-b1ae-4c90-9b8e-e860ba07f889")
		},
	},
	// --- RDP ------------------------------------------------------------------------
	{
		ID: "rdp-logon", Techniques: []string{"T1021.001"},
		EventTypes: []schema.EventType{schema.EventLogon},
		Pattern:    "Remote interactive logon (Security 4624, logon type 10).",
		Quiet:      "Only logon type 10; machine and service accounts excluded.",
		match: func(ev *event) bool {
			l := ev.Data.Logon
			return l != nil && l.Type == 10 && canonAccount(l.TargetUser, l.TargetDomain) != ""
		},
	},
	// --- Credential access ---------------------------------------------------------
	{
		ID: "lsass-memory-access", Techniques: []string{"T1003.001"},
		EventTypes: []schema.EventType{schema.EventProcessAccess},
		Pattern:    "A process opened lsass.exe with PROCESS_VM_READ (Sysmon 10 GrantedAccess with bit 0x10, e.g. 0x1010, 0x1410, 0x1438, 0x1fffff).",
		Quiet:      "0x1000/0x1400/0x3000 (query-only handles from svchost, VBoxService, WMI) lack VM_READ; csrss, wininit, Defender, WMI and cloud guest agents are allowed readers.",
		match:      isLsassRead,
	},
	{
		ID: "lsass-dump-tool", Techniques: []string{"T1003.001"},
		EventTypes: []schema.EventType{schema.EventProcessCreate, schema.EventScriptBlock, schema.EventPowerShellInvoke, schema.EventFileCreate},
		Pattern:    "LSASS dump tooling: comsvcs.dll MiniDump, procdump on lsass, sekurlsa::, Out-Minidump, a dump file named lsass*.dmp.",
		Quiet:      "Requires tool-specific strings.",
		match: func(ev *event) bool {
			if ev.EventType == schema.EventFileCreate {
				f := ev.Data.File
				b := ""
				if f != nil {
					b = baseName(f.Path)
				}
				return strings.HasPrefix(b, "lsass") && strings.HasSuffix(b, ".dmp")
			}
			t := ev.text()
			return (strings.Contains(t, "comsvcs") && strings.Contains(t, "minidump")) ||
				(strings.Contains(t, "procdump") && strings.Contains(t, "lsass")) ||
				containsAny(t, "sekurlsa::", "out-minidump", "dumpert")
		},
	},
	{
		ID: "mimikatz-loaded", Techniques: []string{"T1003"},
		EventTypes: []schema.EventType{schema.EventScriptBlock, schema.EventPowerShellInvoke, schema.EventProcessCreate},
		Pattern:    "Invoke-Mimikatz or a mimikatz binary.",
		Quiet:      "Tool-specific name.",
		match: func(ev *event) bool {
			return strings.Contains(ev.text(), "invoke-mimikatz") || ev.img() == "mimikatz.exe"
		},
	},
	{
		ID: "dcsync", Techniques: []string{"T1003.006"}, EventTypes: cmdEvents,
		Pattern: "DCSync tooling: lsadump::dcsync, Invoke-DCSync.",
		Quiet:   "Tool-specific strings.",
		match: func(ev *event) bool {
			return strings.Contains(ev.text(), "dcsync")
		},
	},
	{
		ID: "dcsync-replication-rights", Techniques: []string{"T1003.006"},
		EventTypes: []schema.EventType{schema.EventObjectAccess},
		Pattern:    "Directory replication rights (DS-Replication-Get-Changes, -Get-Changes-All, -Get-Changes-In-Filtered-Set) used on a directory object by a user account (Security 4662): a replication request from something that is not a domain controller.",
		Quiet:      "Domain controllers replicate as their machine accounts (DC$), which are excluded, as are other directory operations.",
		match: func(ev *event) bool {
			o := ev.Data.Object
			return o != nil && strings.EqualFold(o.Server, "DS") && byUser(ev) &&
				slices.ContainsFunc(o.Properties, func(g string) bool { return replicationRights[g] })
		},
	},
	{
		ID: "dpapi-backupkey-read", Techniques: []string{"T1003.004"},
		EventTypes: []schema.EventType{schema.EventObjectAccess},
		Pattern:    "The domain's DPAPI backup key secret (LSA secret BCKUPKEY) read by a user account (Security 4662), as lsadump::backupkeys does.",
		Quiet:      "Only the BCKUPKEY secrets, and only by user accounts (domain controllers read them as themselves).",
		match: func(ev *event) bool {
			o := ev.Data.Object
			return o != nil && strings.EqualFold(o.Server, "LSA") && byUser(ev) &&
				strings.Contains(strings.ToUpper(o.Name), "BCKUPKEY")
		},
	},
	{
		ID: "sam-hive-dump", Techniques: []string{"T1003.002"}, EventTypes: cmdEvents,
		Pattern: "reg save of HKLM\\SAM or SYSTEM; lsadump::sam.",
		Quiet:   "reg save of other hives and reg export/query do not match.",
		match: func(ev *event) bool {
			t := ev.text()
			return strings.Contains(t, "lsadump::sam") || isHiveSave(t, "sam", "system")
		},
	},
	{
		ID: "lsa-secrets-dump", Techniques: []string{"T1003.004"}, EventTypes: cmdEvents,
		Pattern: "reg save of HKLM\\SECURITY (LSA secrets, cached credentials); lsadump::secrets, lsadump::cache, lsadump::lsa.",
		Quiet:   "As above.",
		match: func(ev *event) bool {
			t := ev.text()
			return containsAny(t, "lsadump::secrets", "lsadump::cache", "lsadump::lsa") || isHiveSave(t, "security")
		},
	},
	{
		ID: "ntds-dump", Techniques: []string{"T1003.003"}, EventTypes: cmdEvents,
		Pattern: "ntdsutil ifm / activate instance ntds, a volume shadow copy created with vssadmin, or ntds.dit copied.",
		Quiet:   "Backup software uses VSS through its API, not vssadmin create shadow.",
		match: func(ev *event) bool {
			t := ev.text()
			return (strings.Contains(t, "ntdsutil") && containsAny(t, "ifm", "ac i ntds", "activate instance ntds")) ||
				(strings.Contains(t, "vssadmin") && strings.Contains(t, "create shadow")) ||
				(strings.Contains(t, "ntds.dit") && containsAny(t, "copy", "esentutl", "invoke-ninjacopy"))
		},
	},
	{
		ID: "kerberoasting", Techniques: []string{"T1558.003"}, EventTypes: cmdEvents,
		Pattern: "Kerberoasting tooling: Invoke-Kerberoast, Rubeus kerberoast, KerberosRequestorSecurityToken.",
		Quiet:   "Tool-specific strings.",
		match: func(ev *event) bool {
			return containsAny(ev.text(), "kerberoast", "kerberosrequestorsecuritytoken")
		},
	},
	{
		ID: "kerberoast-rc4-ticket", Techniques: []string{"T1558.003"},
		EventTypes: []schema.EventType{schema.EventKerberosService},
		Pattern:    "A service ticket issued with RC4 encryption (4769, ticket encryption 0x17/0x18) to a user account for a user-run service: what Kerberoasting tools request so the ticket can be cracked offline.",
		Quiet:      "Tickets for computer accounts (name$) and krbtgt, failed requests and AES tickets do not match; domains that still run services on RC4 will see this rule fire on their normal traffic.",
		match: func(ev *event) bool {
			l := ev.Data.Logon
			if l == nil || ev.Data.Outcome == "failure" || (l.TicketEncryption != "0x17" && l.TicketEncryption != "0x18") {
				return false
			}
			svc := strings.ToLower(l.ServiceName)
			user, _, _ := strings.Cut(l.TargetUser, "@")
			return svc != "" && !strings.HasSuffix(svc, "$") && svc != "krbtgt" && !strings.HasPrefix(svc, "krbtgt/") &&
				user != "" && !strings.HasSuffix(user, "$")
		},
	},
	{
		ID: "pass-the-hash-logon", Techniques: []string{"T1550.002"},
		EventTypes: []schema.EventType{schema.EventLogon, schema.EventProcessCreate, schema.EventScriptBlock, schema.EventPowerShellInvoke},
		Pattern:    "Logon type 9 (NewCredentials) through seclogo — what sekurlsa::pth and runas /netonly produce — or sekurlsa::pth in a command.",
		Quiet:      "Ordinary logons are type 2/3/5/7/10; type 9 is rare outside of credential injection.",
		match: func(ev *event) bool {
			if ev.EventType == schema.EventLogon {
				l := ev.Data.Logon
				return l != nil && l.Type == 9 && strings.EqualFold(strings.TrimSpace(l.LogonProcess), "seclogo")
			}
			return strings.Contains(ev.text(), "sekurlsa::pth")
		},
	},
	{
		ID: "pass-the-ticket", Techniques: []string{"T1550.003"}, EventTypes: cmdEvents,
		Pattern: "kerberos::ptt, Rubeus asktgt/ptt.",
		Quiet:   "Tool-specific strings.",
		match: func(ev *event) bool {
			t := ev.text()
			return strings.Contains(t, "kerberos::ptt") || (strings.Contains(t, "asktgt") && strings.Contains(t, "/ptt")) ||
				(strings.Contains(t, "rubeus") && strings.Contains(t, " ptt"))
		},
	},
	// --- Scheduled tasks ------------------------------------------------------------
	{
		ID: "scheduled-task-created", Techniques: []string{"T1053.005"},
		EventTypes: []schema.EventType{schema.EventTaskCreate},
		Pattern:    "A scheduled task was registered (Security 4698) by a user account.",
		Quiet:      "Tasks registered by the machine account (Windows maintenance) and per-user updater tasks (OneDrive, Google, Edge, Adobe) are excluded; 4702 updates are not matched.",
		match: func(ev *event) bool {
			if u := ev.Data.User; u != nil && isSystemAccount(u.Name, u.Domain) {
				return false
			}
			if t := ev.Data.Task; t != nil {
				n := strings.ToLower(t.Name)
				for _, v := range vendorTasks {
					if strings.HasPrefix(n, v) {
						return false
					}
				}
			}
			return true
		},
	},
	{
		ID: "schtasks-create", Techniques: []string{"T1053.005"}, EventTypes: cmdEvents,
		Pattern: "schtasks /create, at.exe, or Register-ScheduledTask.",
		Quiet:   "schtasks /query and /run do not match.",
		match: func(ev *event) bool {
			img := ev.img()
			t := ev.text()
			if ev.EventType == schema.EventProcessCreate {
				return (img == "schtasks.exe" && strings.Contains(t, "/create")) || img == "at.exe"
			}
			return strings.Contains(t, "register-scheduledtask")
		},
	},
	// --- PowerShell -----------------------------------------------------------------
	{
		ID: "powershell-encoded-command", Techniques: []string{"T1059.001"}, EventTypes: procCreate,
		Pattern: "PowerShell started with -EncodedCommand (-enc, -e, ...) and a base64 payload.",
		Quiet:   "Requires the encoded-command switch followed by base64, in a command line that runs PowerShell.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return containsAny(c, "powershell", "pwsh") && reEncoded.MatchString(c)
		},
	},
	{
		ID: "powershell-hidden-noprofile", Techniques: []string{"T1059.001"}, EventTypes: procCreate,
		Pattern: "powershell.exe with a hidden window and -NoProfile (stager launch pattern).",
		Quiet:   "Requires both switches on powershell.exe itself.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return inSet(ev.img(), "powershell.exe", "pwsh.exe") &&
				containsAny(c, "-w hidden", "-window hidden", "-windowstyle hidden", "-w 1 ") &&
				containsAny(c, "-nop", "-noprofile")
		},
	},
	{
		ID: "powershell-suspicious-script", Techniques: []string{"T1059.001"},
		EventTypes: []schema.EventType{schema.EventScriptBlock, schema.EventPowerShellInvoke},
		Pattern:    "Script block (4104) with offensive-tooling markers: in-memory assembly loading, AMSI tampering, shellcode APIs, base64 decoded into IEX, known offensive cmdlets.",
		Quiet:      "Ordinary module and profile script blocks (Set-StrictMode, cmdletization, CIM aliases) carry none of the markers.",
		match: func(ev *event) bool {
			return isSuspiciousScript(ev.text())
		},
	},
	{
		ID: "download-cradle", Techniques: []string{"T1105", "T1059.001"}, EventTypes: cmdEvents,
		Pattern: "PowerShell downloading a payload: Net.WebClient DownloadString/DownloadFile/DownloadData, or Invoke-WebRequest/iwr piped to IEX or -OutFile.",
		Quiet:   "Requires an http(s) URL next to the download call.",
		match: func(ev *event) bool {
			t := ev.text()
			if !containsAny(t, "http://", "https://") {
				return false
			}
			return containsAny(t, "downloadstring(", "downloadfile(", "downloaddata(") ||
				(containsAny(t, "invoke-webrequest", "iwr ", "invoke-restmethod", "irm ") &&
					containsAny(t, "iex", "invoke-expression", "-outfile"))
		},
	},
	// --- Ingress tool transfer / LOLBins --------------------------------------------
	{
		ID: "certutil-download", Techniques: []string{"T1105"}, EventTypes: procCreate,
		Pattern: "certutil.exe -urlcache / -verifyctl, or with an http(s) URL.",
		Quiet:   "certutil -store / -viewstore / -dump (certificate housekeeping) do not match.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return ev.img() == "certutil.exe" &&
				(containsAny(c, "urlcache", "verifyctl") || containsAny(c, "http://", "https://"))
		},
	},
	{
		ID: "bits-transfer", Techniques: []string{"T1197", "T1105"}, EventTypes: cmdEvents,
		Pattern: "bitsadmin /transfer|/addfile|/download, or Start-BitsTransfer.",
		Quiet:   "bitsadmin /list and /info do not match.",
		match: func(ev *event) bool {
			t := ev.text()
			if ev.EventType == schema.EventProcessCreate && ev.img() == "bitsadmin.exe" {
				return containsAny(t, "/transfer", "/addfile", "/download")
			}
			return strings.Contains(t, "start-bitstransfer")
		},
	},
	{
		ID: "mshta-execution", Techniques: []string{"T1218.005"}, EventTypes: procCreate,
		Pattern: "mshta.exe running a URL, javascript:/vbscript: or an .hta file.",
		Quiet:   "mshta.exe is not used by current Windows components.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return ev.img() == "mshta.exe" && containsAny(c, "http:", "https:", "javascript:", "vbscript:", ".hta")
		},
	},
	{
		ID: "regsvr32-scriptlet", Techniques: []string{"T1218.010"}, EventTypes: procCreate,
		Pattern: "regsvr32.exe /i:<url or .sct> or scrobj.dll (Squiblydoo).",
		Quiet:   "Plain DLL registration (regsvr32 /s x.dll) does not match.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return ev.img() == "regsvr32.exe" &&
				(strings.Contains(c, "scrobj.dll") || (strings.Contains(c, "/i:") && containsAny(c, "http", ".sct")))
		},
	},
	{
		ID: "rundll32-script", Techniques: []string{"T1218.011"}, EventTypes: procCreate,
		Pattern: "rundll32.exe running javascript:, RunHTMLApplication, a URL or a DLL from a UNC path.",
		Quiet:   "rundll32 of shell32/AppX DLLs with -Embedding, Control_RunDLL of system applets do not match.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return ev.img() == "rundll32.exe" &&
				containsAny(c, "javascript:", "runhtmlapplication", "http://", "https://", ` \\`, `"\\`)
		},
	},
	{
		ID: "msbuild-inline-task", Techniques: []string{"T1127.001"}, EventTypes: procCreate,
		Pattern: "MSBuild.exe building an .xml project or a project under Windows\\Tasks, Temp, Users\\Public or ProgramData, or started by wmiprvse/services/Office.",
		Quiet:   "Developer builds of .sln/.csproj from Visual Studio or dotnet do not match.",
		match: func(ev *event) bool {
			if ev.img() != "msbuild.exe" {
				return false
			}
			c := ev.cmd()
			return containsAny(c, ".xml", `\windows\tasks\`, `\temp\`, `\users\public\`, `\programdata\`) ||
				inSet(ev.pimg(), "wmiprvse.exe", "services.exe", "mshta.exe", "excel.exe", "winword.exe", "wscript.exe", "cscript.exe")
		},
	},
	{
		ID: "installutil-uninstall", Techniques: []string{"T1218.004"}, EventTypes: procCreate,
		Pattern: "InstallUtil.exe /U or with console logging switched off (proxying an attacker assembly).",
		Quiet:   "Requires the uninstall switch or /LogToConsole=false.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return ev.img() == "installutil.exe" && containsAny(c, " /u ", "/logtoconsole=false")
		},
	},
	{
		ID: "cmstp-inf", Techniques: []string{"T1218.003"}, EventTypes: procCreate,
		Pattern: "cmstp.exe /s or /au with an .inf file.",
		Quiet:   "Connection Manager profiles are installed interactively, not silently from ProgramData.",
		match: func(ev *event) bool {
			c := ev.cmd()
			return ev.img() == "cmstp.exe" && strings.Contains(c, ".inf") && containsAny(c, "/s", "/au")
		},
	},
	{
		ID: "remote-thread", Techniques: []string{"T1055"},
		EventTypes: []schema.EventType{schema.EventCreateRemoteThread},
		Pattern:    "A thread created in another process (Sysmon 8).",
		Quiet:      "csrss.exe, dwm.exe, wininit.exe, smss.exe, services.exe and Defender create remote threads as part of Windows itself.",
		match: func(ev *event) bool {
			return !inSet(ev.img(), "csrss.exe", "dwm.exe", "wininit.exe", "smss.exe", "services.exe", "msmpeng.exe", "")
		},
	},
	// --- Registry -------------------------------------------------------------------
	{
		ID: "registry-run-key", Techniques: []string{"T1547.001"}, EventTypes: regEvents,
		Pattern: "A value written under ...\\CurrentVersion\\Run, RunOnce, RunServices or Winlogon Userinit/Shell.",
		Quiet:   "Explorer\\StartupApproved (Task Manager's enable/disable list) and OneDrive's self-registration are excluded.",
		match: func(ev *event) bool {
			k := regKey(ev)
			if strings.Contains(k, `\startupapproved\`) || strings.HasSuffix(k, `\startupapproved`) ||
				inSet(ev.img(), "onedrive.exe", "onedrivesetup.exe", "onedrivestandaloneupdater.exe") {
				return false
			}
			return containsAny(k, `\currentversion\run\`, `\currentversion\runonce\`, `\currentversion\runservices\`,
				`\winlogon\userinit`, `\winlogon\shell`) ||
				strings.HasSuffix(k, `\currentversion\run`) || strings.HasSuffix(k, `\currentversion\runonce`)
		},
	},
	{
		ID: "registry-logon-script", Techniques: []string{"T1037.001"}, EventTypes: append(append([]schema.EventType{}, regEvents...), schema.EventProcessCreate),
		Pattern: "HKCU\\Environment\\UserInitMprLogonScript set (registry event or reg add).",
		Quiet:   "The value is not used by Windows itself.",
		match: func(ev *event) bool {
			if ev.EventType == schema.EventProcessCreate {
				return strings.Contains(ev.cmd(), "userinitmprlogonscript")
			}
			return strings.Contains(regKey(ev), "userinitmprlogonscript")
		},
	},
	{
		ID: "registry-ifeo-debugger", Techniques: []string{"T1546.012"}, EventTypes: regEvents,
		Pattern: "Image File Execution Options <exe>\\Debugger or GlobalFlag, SilentProcessExit MonitorProcess.",
		Quiet:   "Other IFEO values (mitigation options written by Windows Update) do not match.",
		match: func(ev *event) bool {
			k := regKey(ev)
			return (strings.Contains(k, `\image file execution options\`) && (strings.HasSuffix(k, `\debugger`) || strings.HasSuffix(k, `\globalflag`))) ||
				(strings.Contains(k, `\silentprocessexit\`) && strings.HasSuffix(k, `\monitorprocess`))
		},
	},
	{
		ID: "registry-disable-logging", Techniques: []string{"T1562.002", "T1112"},
		EventTypes: append(append([]schema.EventType{}, regEvents...), schema.EventProcessCreate),
		Pattern:    "EventLog service start type changed, Control\\MiniNt created (stops event logging), by registry event or reg add.",
		Quiet:      "The EventLog service's own State/RunHistory keys and WMI Autologger settings written by svchost.exe do not match.",
		match: func(ev *event) bool {
			if ev.EventType == schema.EventProcessCreate {
				c := ev.cmd()
				return ev.img() == "reg.exe" && strings.Contains(c, " add ") &&
					((strings.Contains(c, `\services\eventlog`) && strings.Contains(c, "start")) || strings.Contains(c, `\control\minint`))
			}
			k := regKey(ev)
			return strings.HasSuffix(k, `\services\eventlog\start`) || strings.Contains(k, `\control\minint`)
		},
	},
	{
		ID: "registry-defense-tamper", Techniques: []string{"T1112"},
		EventTypes: append(append([]schema.EventType{}, regEvents...), schema.EventProcessCreate),
		Pattern:    "Security-relevant values changed: WDigest UseLogonCredential, LSA protection/NTLM settings, command-line auditing, UAC remote token filtering, Defender switches, RDP deny, a service's ImagePath/ServiceDll changed by anything but the service manager.",
		Quiet:      "services.exe, msiexec, TrustedInstaller/TiWorker and Defender writing their own keys are excluded.",
		match:      isDefenseTamper,
	},
	// --- Defense evasion -------------------------------------------------------------
	{
		ID: "event-log-cleared", Techniques: []string{"T1070.001"},
		EventTypes: []schema.EventType{schema.EventLogCleared, schema.EventProcessCreate, schema.EventScriptBlock, schema.EventPowerShellInvoke},
		Pattern:    "An event log was cleared (Security 1102, System 104), wevtutil cl, Clear-EventLog, Remove-EventLog.",
		Quiet:      "wevtutil epl/al/qe (export, archive, query) do not match.",
		match: func(ev *event) bool {
			if ev.EventType == schema.EventLogCleared {
				return true
			}
			t := ev.text()
			return (strings.Contains(t, "wevtutil") && containsAny(t, " cl ", " clear-log ")) ||
				containsAny(t, "clear-eventlog", "remove-eventlog", ".clearlog(")
		},
	},
	{
		ID: "event-logging-disabled", Techniques: []string{"T1562.002"}, EventTypes: cmdEvents,
		Pattern: "Audit policy cleared/disabled (auditpol /clear, /remove, /set .../success:disable), wevtutil sl ... /e:false or a new log file path, EventLog service stopped or disabled.",
		Quiet:   "auditpol /get and wevtutil get-log do not match.",
		match: func(ev *event) bool {
			t := ev.text()
			if strings.Contains(t, "auditpol") && (containsAny(t, "/clear", "/remove") || (strings.Contains(t, "/set") && strings.Contains(t, "disable"))) {
				return true
			}
			if strings.Contains(t, "wevtutil") && containsAny(t, " sl ", " set-log ") && containsAny(t, "/e:false", "/enabled:false", "/lfn", "/logfilename") {
				return true
			}
			return strings.Contains(t, "eventlog") && containsAny(t, "start= disabled", "stop-service", "-startuptype disabled", "net stop eventlog")
		},
	},
	{
		ID: "firewall-opened", Techniques: []string{"T1562.004"}, EventTypes: cmdEvents,
		Pattern: "Firewall disabled or opened inbound: netsh ... state off / opmode disable, netsh advfirewall firewall add rule dir=in action=allow, add portopening/allowedprogram, Set-NetFirewallProfile -Enabled False.",
		Quiet:   "netsh show/trace commands (inventory scripts) do not match.",
		match: func(ev *event) bool {
			t := ev.text()
			if strings.Contains(t, "set-netfirewallprofile") && strings.Contains(t, "false") {
				return true
			}
			if !strings.Contains(t, "netsh") || !strings.Contains(t, "firewall") {
				return false
			}
			return containsAny(t, "state off", "opmode disable", "opmode mode=disable", "add portopening", "add allowedprogram") ||
				(strings.Contains(t, "add rule") && strings.Contains(t, "dir=in") && strings.Contains(t, "action=allow"))
		},
	},
	// --- Accounts ---------------------------------------------------------------------
	{
		ID: "local-account-created", Techniques: []string{"T1136.001"},
		EventTypes: []schema.EventType{schema.EventUserCreate, schema.EventProcessCreate},
		Pattern:    "A local account was created (Security 4720 in the machine's own domain) or net user <name> /add without /domain.",
		Quiet:      "Account creation is an administrative act worth surfacing inside a positive window.",
		match: func(ev *event) bool {
			if ev.EventType == schema.EventProcessCreate {
				return isNetUserAdd(ev) && !strings.Contains(ev.cmd(), "/domain")
			}
			return accountCreatedLocally(ev)
		},
	},
	{
		ID: "domain-account-created", Techniques: []string{"T1136.002"},
		EventTypes: []schema.EventType{schema.EventUserCreate, schema.EventProcessCreate},
		Pattern:    "A domain account was created (Security 4720 outside the machine's own domain) or net user <name> /add /domain.",
		Quiet:      "As above.",
		match: func(ev *event) bool {
			if ev.EventType == schema.EventProcessCreate {
				return isNetUserAdd(ev) && strings.Contains(ev.cmd(), "/domain")
			}
			return !accountCreatedLocally(ev)
		},
	},
	{
		ID: "privileged-group-add", Techniques: []string{"T1098"},
		EventTypes: []schema.EventType{schema.EventGroupMemberAdd, schema.EventProcessCreate, schema.EventScriptBlock, schema.EventPowerShellInvoke},
		Pattern:    "A member added to a privileged group (Administrators, Remote Desktop Users, Domain Admins, ...) by 4732/4728/4756, net localgroup/group ... /add, Add-LocalGroupMember, Add-ADGroupMember.",
		Quiet:      "Additions to ordinary groups (e.g. the local None group every new account joins) do not match.",
		match:      isPrivilegedGroupAdd,
	},
}

// ruleByID indexes Rules.
var ruleByID = func() map[string]*Rule {
	m := make(map[string]*Rule, len(Rules))
	for i := range Rules {
		m[Rules[i].ID] = &Rules[i]
	}
	return m
}()

// --- helpers used by the table ---------------------------------------------------

// Link and connection directions (schema.EvidenceLink.Direction).
const (
	DirInbound  = "inbound"
	DirOutbound = "outbound"
)

// direction returns the normalized direction of a network event. Sysmon 3
// records both directions as network_connect; the normalizer sets Direction
// from Initiated. Without it an accept is inbound and a connect outbound.
func direction(ev *schema.NormalizedEvent) string {
	if n := ev.Data.Network; n != nil {
		switch strings.ToLower(n.Direction) {
		case DirInbound, "in", "ingress", "incoming":
			return DirInbound
		case DirOutbound, "out", "egress", "outgoing":
			return DirOutbound
		}
	}
	if ev.EventType == schema.EventNetworkAccept {
		return DirInbound
	}
	return DirOutbound
}

// shareName returns the share of a share_access event, upper-case and
// without the \\*\ prefix ("ADMIN$").
func shareName(ev *event) string {
	s := ev.Data.Share
	if s == nil {
		return ""
	}
	n := s.Name
	if i := strings.LastIndexByte(n, '\\'); i >= 0 {
		n = n[i+1:]
	}
	return strings.ToUpper(strings.TrimSpace(n))
}

func shareRelative(ev *event) string {
	if s := ev.Data.Share; s != nil {
		return strings.ToLower(strings.Trim(strings.TrimSpace(s.RelativeName), `\`))
	}
	return ""
}

// shareByUser reports whether a share access was made by a user account
// (not a machine account refreshing Group Policy).
// replicationRights are the extended rights a DCSync requests.
var replicationRights = map[string]bool{
	"1131f6aa-9c07-11d1-f79f-00c04fc2dcd2": true, // DS-Replication-Get-Changes
	"1131f6ad-9c07-11d1-f79f-00c04fc2dcd2": true, // DS-Replication-Get-Changes-All
	"89e95b76-444d-4c62-991a-0facbeda640c": true, // DS-Replication-Get-Changes-In-Filtered-Set
}

// byUser reports whether the event's subject is a user account (not a
// machine account, System or a service).
func byUser(ev *event) bool {
	u := ev.Data.User
	return u != nil && canonAccount(u.Name, u.Domain) != ""
}

func isAdminShare(name string) bool {
	if name == "ADMIN$" {
		return true
	}
	return len(name) == 2 && name[1] == '$' && name[0] >= 'A' && name[0] <= 'Z'
}

var toolExtensions = []string{".exe", ".dll", ".sys", ".ps1", ".psm1", ".bat", ".cmd", ".vbs", ".vbe",
	".js", ".jse", ".hta", ".scr", ".msi", ".sct", ".xml", ".aspx"}

func isAdminShareToolWrite(ev *event) bool {
	if !isAdminShare(shareName(ev)) || !byUser(ev) {
		return false
	}
	rel := shareRelative(ev)
	ext := false
	for _, e := range toolExtensions {
		if strings.HasSuffix(rel, e) {
			ext = true
			break
		}
	}
	if !ext {
		return false
	}
	if m, ok := parseMask(ev.Data.Share.AccessMask); ok {
		// WriteData (0x2) or AppendData (0x4): a read of a DLL is not a drop.
		return m&0x6 != 0
	}
	return true
}

// isDriverService reports whether a service install is a kernel or
// file-system driver (ServiceType as rendered text or the numeric code, or
// a .sys image).
func isDriverService(s *schema.Service) bool {
	if s == nil {
		return false
	}
	t := strings.ToLower(strings.TrimSpace(s.ServiceType))
	if strings.Contains(t, "driver") || t == "0x1" || t == "0x2" || t == "1" || t == "2" {
		return true
	}
	return strings.HasSuffix(strings.ToLower(strings.Trim(strings.TrimSpace(s.ImagePath), `"`)), ".sys")
}

func isPsexecArtifact(ev *event) bool {
	has := func(s string) bool {
		s = strings.ToLower(s)
		return containsAny(s, "psexesvc", "remcom_", "remcomsvc", "paexec", "csexecsvc")
	}
	d := &ev.Data
	switch ev.EventType {
	case schema.EventServiceInstall:
		return d.Service != nil && (has(d.Service.Name) || has(d.Service.ImagePath))
	case schema.EventProcessCreate:
		return has(image(d.Process))
	case schema.EventPipeCreate, schema.EventPipeConnect, schema.EventFileCreate:
		return d.File != nil && has(baseName(d.File.Path))
	}
	return false
}

func isLsassRead(ev *event) bool {
	t := ev.Data.Target
	if t == nil || baseName(t.Image) != "lsass.exe" {
		return false
	}
	if inSet(ev.img(), lsassReaders...) {
		return false
	}
	access := t.GrantedAccess
	if access == "" && ev.Data.Process != nil {
		access = ev.Data.Process.GrantedAccess
	}
	m, ok := parseMask(access)
	return ok && m&0x10 != 0 // PROCESS_VM_READ
}

var suspiciousScriptMarkers = []string{
	"invoke-mimikatz", "invoke-shellcode", "invoke-reflectivepeinjection", "invoke-dcsync",
	"invoke-kerberoast", "invoke-tokenmanipulation", "invoke-psinject", "invoke-empire",
	"invoke-smbexec", "invoke-wmiexec", "invoke-thehash", "invoke-bloodhound", "powersploit",
	"amsiutils", "amsiinitfailed", "amsiscanbuffer", "getdelegateforfunctionpointer", "virtualalloc",
	"sekurlsa::", "lsadump::", "kerberos::", "system.reflection.assembly]::load(",
	"reflection.assembly]::load(",
}

func isSuspiciousScript(t string) bool {
	if t == "" {
		return false
	}
	if containsAny(t, suspiciousScriptMarkers...) {
		return true
	}
	if strings.Contains(t, "frombase64string") &&
		containsAny(t, "iex", "invoke-expression", "io.compression", "deflatestream", "gzipstream", "-bxor") {
		return true
	}
	return strings.Contains(t, "net.webclient") && containsAny(t, ".downloadstring(", ".downloaddata(", ".downloadfile(")
}

func regKey(ev *event) string {
	if r := ev.Data.Registry; r != nil {
		return strings.ToLower(r.Key)
	}
	return ""
}

var tamperKeys = []string{
	`\wdigest\uselogoncredential`, `\control\lsa\disablerestrictedadmin`, `\control\lsa\runasppl`,
	`\control\lsa\lmcompatibilitylevel`, `\control\lsa\nolmhash`, `\control\lsa\disabledomaincreds`,
	`\policies\system\audit\processcreationincludecmdline_enabled`, `\policies\system\enablelua`,
	`\policies\system\localaccounttokenfilterpolicy`, `\windows defender\disableantispyware`,
	`\windows defender\disableantivirus`, `\real-time protection\disablerealtimemonitoring`,
	`\terminal server\fdenytsconnections`, `\control\securityproviders\wdigest`,
}

func isDefenseTamper(ev *event) bool {
	if ev.EventType == schema.EventProcessCreate {
		c := ev.cmd()
		if ev.img() != "reg.exe" || !strings.Contains(c, " add ") {
			return false
		}
		for _, k := range tamperKeys {
			// reg add KEY /v VALUE: the value name is a separate argument.
			dir, val := k[:strings.LastIndexByte(k, '\\')], k[strings.LastIndexByte(k, '\\')+1:]
			if strings.Contains(c, dir) && strings.Contains(c, val) {
				return true
			}
		}
		return false
	}
	if inSet(ev.img(), "services.exe", "msiexec.exe", "trustedinstaller.exe", "tiworker.exe", "msmpeng.exe") {
		return false
	}
	k := regKey(ev)
	for _, t := range tamperKeys {
		if strings.HasSuffix(k, t) {
			return true
		}
	}
	return strings.Contains(k, `\currentcontrolset\services\`) &&
		(strings.HasSuffix(k, `\imagepath`) || strings.HasSuffix(k, `\parameters\servicedll`))
}

// isHiveSave reports whether command text t saves one of the HKLM hives
// (reg save HKLM\SAM out.hiv; the value may be spelt HKEY_LOCAL_MACHINE).
func isHiveSave(t string, hives ...string) bool {
	if !strings.Contains(t, "reg") || !strings.Contains(t, " save ") {
		return false
	}
	for _, h := range hives {
		for _, root := range []string{`hklm\`, `hkey_local_machine\`} {
			i := strings.Index(t, root+h)
			if i < 0 {
				continue
			}
			// Whole key name: "hklm\system" but not "hklm\systemfoo".
			end := i + len(root) + len(h)
			if end == len(t) || !isKeyChar(t[end]) {
				return true
			}
		}
	}
	return false
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

func isNetUserAdd(ev *event) bool {
	c := ev.cmd()
	return inSet(ev.img(), "net.exe", "net1.exe") && strings.Contains(c, " user ") && strings.Contains(c, "/add")
}

// accountCreatedLocally reports whether a 4720 created an account in the
// machine's own SAM: the target domain is the computer's name.
func accountCreatedLocally(ev *event) bool {
	dom := ""
	if l := ev.Data.Logon; l != nil {
		dom = l.TargetDomain
	}
	if dom == "" && ev.Data.Group != nil {
		dom = ev.Data.Group.Domain
	}
	dom = strings.ToLower(strings.TrimSpace(dom))
	host := strings.ToLower(ev.Hostname)
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	return dom == "" || dom == host || dom == strings.ToLower(ev.EndpointID) || dom == "builtin"
}

func isPrivilegedGroupAdd(ev *event) bool {
	if ev.EventType == schema.EventGroupMemberAdd {
		g := ev.Data.Group
		return g != nil && inSet(strings.ToLower(strings.TrimSpace(g.Name)), privilegedGroups...)
	}
	t := ev.text()
	if ev.EventType == schema.EventProcessCreate {
		if !inSet(ev.img(), "net.exe", "net1.exe") || !containsAny(t, " localgroup ", " group ") || !strings.Contains(t, "/add") {
			return false
		}
	} else if !containsAny(t, "add-localgroupmember", "add-adgroupmember") {
		return false
	}
	for _, g := range privilegedGroups {
		if strings.Contains(t, g) {
			return true
		}
	}
	return false
}

// --- remote-target extraction (shared with the link extraction) ------------------

// scRemoteTarget returns the host of "sc.exe \\host <verb>" for verbs that
// change or run a service.
func scRemoteTarget(ev *event) (string, bool) {
	if ev.img() != "sc.exe" {
		return "", false
	}
	c := ev.cmd()
	m := reUNCHost.FindStringSubmatch(c)
	if m == nil || !containsAny(c, " create ", " config ", " start ", " stop ", " delete ") {
		return "", false
	}
	h := hostName(m[1])
	return h, h != ""
}

func wmicRemoteTarget(ev *event) (string, bool) {
	if ev.img() != "wmic.exe" {
		return "", false
	}
	m := reNode.FindStringSubmatch(ev.cmd())
	if m == nil {
		return "", false
	}
	h := hostName(m[1])
	return h, h != ""
}

func schtasksRemoteTarget(ev *event) (string, bool) {
	if ev.img() != "schtasks.exe" {
		return "", false
	}
	c := ev.cmd()
	if !strings.Contains(c, "/create") && !strings.Contains(c, "/run") {
		return "", false
	}
	m := reSchtaskS.FindStringSubmatch(c)
	if m == nil {
		return "", false
	}
	h := hostName(m[1])
	return h, h != ""
}

func remotingTarget(ev *event) (string, bool) {
	t := ev.text()
	if ev.EventType == schema.EventProcessCreate && ev.img() == "winrs.exe" {
		if m := reWinrsR.FindStringSubmatch(t); m != nil {
			h := hostName(m[1])
			return h, h != ""
		}
		return "", false
	}
	if !containsAny(t, "invoke-command", "enter-pssession", "new-pssession") {
		return "", false
	}
	m := reCompName.FindStringSubmatch(t)
	if m == nil {
		return "", false
	}
	h := hostName(m[1])
	return h, h != ""
}

func dcomTarget(ev *event) (string, bool) {
	m := reProgID.FindStringSubmatch(ev.text())
	if m == nil {
		return "", false
	}
	h := hostName(m[1])
	return h, h != ""
}

func adminShareTarget(ev *event) (string, bool) {
	m := reAdminShareUNC.FindStringSubmatch(ev.text())
	if m == nil {
		return "", false
	}
	h := hostName(m[1])
	return h, h != ""
}

func psexecTarget(ev *event) (string, bool) {
	img := ev.img()
	if !strings.HasPrefix(img, "psexec") && !strings.HasPrefix(img, "paexec") {
		return "", false
	}
	m := reUNCHost.FindStringSubmatch(ev.cmd())
	if m == nil {
		return "", false
	}
	h := hostName(m[1])
	return h, h != ""
}

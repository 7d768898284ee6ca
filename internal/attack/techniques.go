package attack

import "sort"

// Technique is one MITRE ATT&CK (Enterprise) technique or sub-technique.
type Technique struct {
	ID     string // T1021.002
	Name   string // Remote Services: SMB/Windows Admin Shares
	Tactic string // primary tactic, e.g. lateral-movement
}

// Tactics used in the table, in kill-chain order.
const (
	TacticExecution        = "execution"
	TacticPersistence      = "persistence"
	TacticPrivilegeEsc     = "privilege-escalation"
	TacticDefenseEvasion   = "defense-evasion"
	TacticCredentialAccess = "credential-access"
	TacticLateralMovement  = "lateral-movement"
	TacticCommandAndCtrl   = "command-and-control"
)

// techniques is the catalogue of every technique a rule can report.
var techniques = map[string]Technique{
	"T1003":     {"T1003", "OS Credential Dumping", TacticCredentialAccess},
	"T1003.001": {"T1003.001", "OS Credential Dumping: LSASS Memory", TacticCredentialAccess},
	"T1003.002": {"T1003.002", "OS Credential Dumping: Security Account Manager", TacticCredentialAccess},
	"T1003.003": {"T1003.003", "OS Credential Dumping: NTDS", TacticCredentialAccess},
	"T1003.004": {"T1003.004", "OS Credential Dumping: LSA Secrets", TacticCredentialAccess},
	"T1003.006": {"T1003.006", "OS Credential Dumping: DCSync", TacticCredentialAccess},
	"T1021.001": {"T1021.001", "Remote Services: Remote Desktop Protocol", TacticLateralMovement},
	"T1021.002": {"T1021.002", "Remote Services: SMB/Windows Admin Shares", TacticLateralMovement},
	"T1021.003": {"T1021.003", "Remote Services: Distributed Component Object Model", TacticLateralMovement},
	"T1021.006": {"T1021.006", "Remote Services: Windows Remote Management", TacticLateralMovement},
	"T1037.001": {"T1037.001", "Boot or Logon Initialization Scripts: Logon Script (Windows)", TacticPersistence},
	"T1047":     {"T1047", "Windows Management Instrumentation", TacticExecution},
	"T1053.005": {"T1053.005", "Scheduled Task/Job: Scheduled Task", TacticExecution},
	"T1055":     {"T1055", "Process Injection", TacticDefenseEvasion},
	"T1059.001": {"T1059.001", "Command and Scripting Interpreter: PowerShell", TacticExecution},
	"T1070.001": {"T1070.001", "Indicator Removal: Clear Windows Event Logs", TacticDefenseEvasion},
	"T1098":     {"T1098", "Account Manipulation", TacticPersistence},
	"T1105":     {"T1105", "Ingress Tool Transfer", TacticCommandAndCtrl},
	"T1112":     {"T1112", "Modify Registry", TacticDefenseEvasion},
	"T1127.001": {"T1127.001", "Trusted Developer Utilities Proxy Execution: MSBuild", TacticDefenseEvasion},
	"T1136.001": {"T1136.001", "Create Account: Local Account", TacticPersistence},
	"T1136.002": {"T1136.002", "Create Account: Domain Account", TacticPersistence},
	"T1197":     {"T1197", "BITS Jobs", TacticDefenseEvasion},
	"T1218.003": {"T1218.003", "System Binary Proxy Execution: CMSTP", TacticDefenseEvasion},
	"T1218.004": {"T1218.004", "System Binary Proxy Execution: InstallUtil", TacticDefenseEvasion},
	"T1218.005": {"T1218.005", "System Binary Proxy Execution: Mshta", TacticDefenseEvasion},
	"T1218.010": {"T1218.010", "System Binary Proxy Execution: Regsvr32", TacticDefenseEvasion},
	"T1218.011": {"T1218.011", "System Binary Proxy Execution: Rundll32", TacticDefenseEvasion},
	"T1220":     {"T1220", "XSL Script Processing", TacticDefenseEvasion},
	"T1543.003": {"T1543.003", "Create or Modify System Process: Windows Service", TacticPersistence},
	"T1546.003": {"T1546.003", "Event Triggered Execution: Windows Management Instrumentation Event Subscription", TacticPersistence},
	"T1546.012": {"T1546.012", "Event Triggered Execution: Image File Execution Options Injection", TacticPersistence},
	"T1547.001": {"T1547.001", "Boot or Logon Autostart Execution: Registry Run Keys / Startup Folder", TacticPersistence},
	"T1550.002": {"T1550.002", "Use Alternate Authentication Material: Pass the Hash", TacticLateralMovement},
	"T1550.003": {"T1550.003", "Use Alternate Authentication Material: Pass the Ticket", TacticLateralMovement},
	"T1558.003": {"T1558.003", "Steal or Forge Kerberos Tickets: Kerberoasting", TacticCredentialAccess},
	"T1562.002": {"T1562.002", "Impair Defenses: Disable Windows Event Logging", TacticDefenseEvasion},
	"T1562.004": {"T1562.004", "Impair Defenses: Disable or Modify System Firewall", TacticDefenseEvasion},
	"T1569.002": {"T1569.002", "System Services: Service Execution", TacticExecution},
	"T1570":     {"T1570", "Lateral Tool Transfer", TacticLateralMovement},
}

// Lookup returns the catalogue entry of a technique id.
func Lookup(id string) (Technique, bool) {
	t, ok := techniques[id]
	return t, ok
}

// Techniques lists the catalogue sorted by id.
func Techniques() []Technique {
	out := make([]Technique, 0, len(techniques))
	for _, t := range techniques {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// IsCredentialAccess reports whether id belongs to credential theft or use of
// stolen credentials (the alerts service raises severity for these).
func IsCredentialAccess(id string) bool {
	t, ok := techniques[id]
	if !ok {
		return false
	}
	return t.Tactic == TacticCredentialAccess || id == "T1550.002" || id == "T1550.003"
}

// IsLateralMovement reports whether id is a lateral-movement technique.
func IsLateralMovement(id string) bool {
	t, ok := techniques[id]
	return ok && t.Tactic == TacticLateralMovement
}

// IsDefenseImpairment reports whether id removes the defenders' visibility
// (log clearing, disabled logging or firewall).
func IsDefenseImpairment(id string) bool {
	switch id {
	case "T1070.001", "T1562.002", "T1562.004":
		return true
	}
	return false
}

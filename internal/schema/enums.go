package schema

import "fmt"

// Platform is the operating-system family an event came from.
type Platform string

const (
	PlatformWindows Platform = "windows"
	PlatformLinux   Platform = "linux"
)

// Valid reports whether p is one of the known platforms.
func (p Platform) Valid() bool { return p == PlatformWindows || p == PlatformLinux }

// EventType is the normalized kind of an endpoint event. The set is shared by
// the normalizer (which produces it), the graph builder (which maps it onto
// node and edge types) and the ATT&CK mapping.
type EventType string

const (
	// Processes.
	EventProcessCreate      EventType = "process_create"       // Sysmon 1, Security 4688, execve
	EventProcessTerminate   EventType = "process_terminate"    // Sysmon 5, Security 4689, exit
	EventProcessAccess      EventType = "process_access"       // Sysmon 10 (e.g. LSASS reads)
	EventCreateRemoteThread EventType = "create_remote_thread" // Sysmon 8
	EventProcessTamper      EventType = "process_tamper"       // Sysmon 25
	EventImageLoad          EventType = "image_load"           // Sysmon 7
	EventDriverLoad         EventType = "driver_load"          // Sysmon 6
	// Files.
	EventFileCreate     EventType = "file_create"      // Sysmon 11
	EventFileWrite      EventType = "file_write"       // eBPF/auditd writes, Sysmon 15 streams
	EventFileRead       EventType = "file_read"        // auditd/eBPF opens for read
	EventFileDelete     EventType = "file_delete"      // Sysmon 23/26, unlink
	EventFileTimestomp  EventType = "file_time_change" // Sysmon 2
	EventRawAccessRead  EventType = "raw_access_read"  // Sysmon 9
	EventPipeCreate     EventType = "pipe_create"      // Sysmon 17
	EventPipeConnect    EventType = "pipe_connect"     // Sysmon 18
	EventRegistryCreate EventType = "registry_create"  // Sysmon 12 create/delete key
	EventRegistryDelete EventType = "registry_delete"  // Sysmon 12 delete
	EventRegistrySet    EventType = "registry_set"     // Sysmon 13
	EventRegistryRename EventType = "registry_rename"  // Sysmon 14
	// Network.
	EventNetworkConnect EventType = "network_connect" // Sysmon 3, Security 5156, connect()
	EventNetworkAccept  EventType = "network_accept"  // accept(), inbound
	EventDNSQuery       EventType = "dns_query"       // Sysmon 22
	// Identity.
	EventLogon           EventType = "logon"            // 4624
	EventLogonFailed     EventType = "logon_failed"     // 4625
	EventLogoff          EventType = "logoff"           // 4634
	EventExplicitLogon   EventType = "explicit_logon"   // 4648
	EventSpecialPrivs    EventType = "privileged_logon" // 4672
	EventKerberosTGT     EventType = "kerberos_tgt"     // 4768
	EventKerberosService EventType = "kerberos_service" // 4769
	EventNTLMAuth        EventType = "ntlm_auth"        // 4776
	EventUserCreate      EventType = "user_create"      // 4720
	EventGroupMemberAdd  EventType = "group_member_add" // 4732
	// Persistence / remote execution.
	EventServiceInstall   EventType = "service_install"   // 7045, 4697
	EventTaskCreate       EventType = "task_create"       // 4698
	EventTaskUpdate       EventType = "task_update"       // 4702
	EventShareAccess      EventType = "share_access"      // 5140, 5145
	EventObjectAccess     EventType = "object_access"     // 4662 (directory, LSA, WMI objects)
	EventWMIActivity      EventType = "wmi_activity"      // WMI-Activity 5861
	EventWMISubscription  EventType = "wmi_subscription"  // Sysmon 19/20/21
	EventScriptBlock      EventType = "script_block"      // PowerShell 4104
	EventPowerShellInvoke EventType = "powershell_invoke" // PowerShell 4103
	// Linux kernel level.
	EventSyscall EventType = "syscall" // auditd/eBPF syscalls not mapped to anything above
	// Logging infrastructure tampering.
	EventLogCleared EventType = "log_cleared" // 1102, 104
)

// AllEventTypes lists every EventType; used for validation and for feature
// schemas that one-hot encode the type.
var AllEventTypes = []EventType{
	EventProcessCreate, EventProcessTerminate, EventProcessAccess, EventCreateRemoteThread,
	EventProcessTamper, EventImageLoad, EventDriverLoad,
	EventFileCreate, EventFileWrite, EventFileRead, EventFileDelete, EventFileTimestomp,
	EventRawAccessRead, EventPipeCreate, EventPipeConnect,
	EventRegistryCreate, EventRegistryDelete, EventRegistrySet, EventRegistryRename,
	EventNetworkConnect, EventNetworkAccept, EventDNSQuery,
	EventLogon, EventLogonFailed, EventLogoff, EventExplicitLogon, EventSpecialPrivs,
	EventKerberosTGT, EventKerberosService, EventNTLMAuth, EventUserCreate, EventGroupMemberAdd,
	EventServiceInstall, EventTaskCreate, EventTaskUpdate, EventShareAccess,
	EventWMIActivity, EventWMISubscription, EventScriptBlock, EventPowerShellInvoke,
	EventSyscall, EventLogCleared, EventObjectAccess,
}

var eventTypeSet = func() map[EventType]struct{} {
	m := make(map[EventType]struct{}, len(AllEventTypes))
	for _, t := range AllEventTypes {
		m[t] = struct{}{}
	}
	return m
}()

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { _, ok := eventTypeSet[t]; return ok }

// Prediction is the outcome of one model run.
type Prediction string

const (
	PredictionAttack Prediction = "attack"
	PredictionBenign Prediction = "benign"
	// PredictionError marks a run that could not be scored (e.g. a graph with
	// fewer than three nodes); InferenceResult.Error says why.
	PredictionError Prediction = "error"
)

// Valid reports whether p is a known prediction.
func (p Prediction) Valid() bool {
	return p == PredictionAttack || p == PredictionBenign || p == PredictionError
}

// AlertStatus is the triage state of an alert. Values are lower-case on the wire.
type AlertStatus string

const (
	StatusOpen          AlertStatus = "open"
	StatusAcknowledged  AlertStatus = "acknowledged"
	StatusInvestigating AlertStatus = "investigating"
	StatusResolved      AlertStatus = "resolved"
	StatusFalsePositive AlertStatus = "false_positive"
)

// AllStatuses lists the alert statuses in triage order.
var AllStatuses = []AlertStatus{StatusOpen, StatusAcknowledged, StatusInvestigating, StatusResolved, StatusFalsePositive}

// ParseStatus validates s as an alert status.
func ParseStatus(s string) (AlertStatus, error) {
	for _, v := range AllStatuses {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("invalid status %q: want one of open, acknowledged, investigating, resolved, false_positive", s)
}

// Closed reports whether an alert in this status is finished: a new positive
// for the endpoint opens a new alert instead of merging into it.
func (s AlertStatus) Closed() bool { return s == StatusResolved || s == StatusFalsePositive }

// Severity ranks alerts for triage.
type Severity string

const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// AllSeverities lists severities from least to most severe.
var AllSeverities = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Rank orders severities (low=1 .. critical=4, unknown=0).
func (s Severity) Rank() int {
	for i, v := range AllSeverities {
		if v == s {
			return i + 1
		}
	}
	return 0
}

// ParseSeverity validates s as a severity.
func ParseSeverity(s string) (Severity, error) {
	if Severity(s).Rank() == 0 {
		return "", fmt.Errorf("invalid severity %q: want one of low, medium, high, critical", s)
	}
	return Severity(s), nil
}

// AlertKind distinguishes per-endpoint alerts from cross-host incidents.
type AlertKind string

const (
	AlertKindEndpoint        AlertKind = "endpoint"
	AlertKindLateralMovement AlertKind = "lateral_movement"
)

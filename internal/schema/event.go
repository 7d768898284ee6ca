package schema

import "encoding/json"

// DefaultTenant is used when neither the record nor the tenant mapping names one.
const DefaultTenant = "default"

// NormalizedEvent is one endpoint event after parsing (topic
// normalized-endpoint-events, ES index logster-events).
type NormalizedEvent struct {
	SchemaVersion int       `json:"schema_version"`
	EventID       string    `json:"event_id"`
	TenantID      string    `json:"tenant_id"`
	EndpointID    string    `json:"endpoint_id"`
	Hostname      string    `json:"hostname"`
	Platform      Platform  `json:"platform"`
	Source        string    `json:"source"`
	EventType     EventType `json:"event_type"`
	// Timestamp is the event's own time (not ingestion time) in Unix epoch
	// seconds, UTC, with sub-second precision.
	Timestamp float64   `json:"timestamp"`
	Data      EventData `json:"data"`
	// RawEvent holds, as a JSON object, the fields of the raw record that the
	// parser did not map into Data; kept for forensics, never interpreted.
	RawEvent json.RawMessage `json:"raw_event,omitempty"`
}

// Key is the Kafka record key of every processed topic: tenant_id:endpoint_id.
func (e *NormalizedEvent) Key() string { return EndpointKey(e.TenantID, e.EndpointID) }

// EndpointKey joins a tenant and an endpoint into the partitioning key.
func EndpointKey(tenant, endpoint string) string { return tenant + ":" + endpoint }

// EventData holds the typed fields a parser understood. Only the groups that
// apply to the event are present.
type EventData struct {
	// Origin of the record inside its source format.
	Channel   string `json:"channel,omitempty"`   // Windows channel / auditd record type
	Provider  string `json:"provider,omitempty"`  // Windows provider name
	NativeID  int    `json:"native_id,omitempty"` // Windows EventID, Sysmon-for-Linux EventID
	RecordID  uint64 `json:"record_id,omitempty"` // Windows EventRecordID / audit serial
	FQDN      string `json:"fqdn,omitempty"`      // host name as the record spelled it, when longer than the endpoint id
	RuleName  string `json:"rule_name,omitempty"` // Sysmon RuleName when set
	Outcome   string `json:"outcome,omitempty"`   // success | failure where the source says
	Technique string `json:"technique,omitempty"` // ATT&CK id when the shipper already tagged one

	Process  *Process  `json:"process,omitempty"`
	Parent   *Process  `json:"parent,omitempty"`
	Target   *Process  `json:"target,omitempty"` // accessed / injected-into process
	File     *File     `json:"file,omitempty"`
	Network  *Network  `json:"network,omitempty"`
	DNS      *DNS      `json:"dns,omitempty"`
	Registry *Registry `json:"registry,omitempty"`
	User     *User     `json:"user,omitempty"` // subject: who did it
	Logon    *Logon    `json:"logon,omitempty"`
	Script   *Script   `json:"script,omitempty"`
	Syscall  *Syscall  `json:"syscall,omitempty"`
	Service  *Service  `json:"service,omitempty"`
	Task     *Task     `json:"task,omitempty"`
	Share    *Share    `json:"share,omitempty"`
	WMI      *WMI      `json:"wmi,omitempty"`
	Group    *Group    `json:"group,omitempty"`
	Object   *Object   `json:"object,omitempty"`
}

// Process identifies a process. GUID is the stable identity: Sysmon's
// ProcessGuid where present; otherwise a GUID derived by the normalizer from
// (host, pid, start time or logon id) so Security 4688 / Linux processes get
// one too.
type Process struct {
	GUID             string  `json:"guid,omitempty"`
	PID              int64   `json:"pid,omitempty"`
	Image            string  `json:"image,omitempty"`
	CommandLine      string  `json:"command_line,omitempty"`
	CurrentDirectory string  `json:"current_directory,omitempty"`
	User             string  `json:"user,omitempty"` // DOMAIN\name or uid name
	UID              string  `json:"uid,omitempty"`
	IntegrityLevel   string  `json:"integrity_level,omitempty"`
	Hashes           string  `json:"hashes,omitempty"`
	LogonID          string  `json:"logon_id,omitempty"`
	StartTime        float64 `json:"start_time,omitempty"`
	ExitCode         *int64  `json:"exit_code,omitempty"`
	GrantedAccess    string  `json:"granted_access,omitempty"` // on Target for process_access
}

// File is a file system object (also named pipes and loaded images).
type File struct {
	Path         string `json:"path,omitempty"`
	PreviousPath string `json:"previous_path,omitempty"` // renames
	Hashes       string `json:"hashes,omitempty"`
	Signed       *bool  `json:"signed,omitempty"`
	Signature    string `json:"signature,omitempty"`
	Mode         string `json:"mode,omitempty"`  // Linux permission bits / open flags
	Owner        string `json:"owner,omitempty"` // uid or account
}

// Network is one connection as seen on the endpoint.
type Network struct {
	Protocol    string `json:"protocol,omitempty"`  // tcp | udp | ...
	Direction   string `json:"direction,omitempty"` // outbound | inbound
	SrcIP       string `json:"src_ip,omitempty"`
	SrcPort     int    `json:"src_port,omitempty"`
	SrcHostname string `json:"src_hostname,omitempty"`
	DstIP       string `json:"dst_ip,omitempty"`
	DstPort     int    `json:"dst_port,omitempty"`
	DstHostname string `json:"dst_hostname,omitempty"`
}

// DNS is a name resolution.
type DNS struct {
	Query   string `json:"query,omitempty"`
	Results string `json:"results,omitempty"`
	Status  string `json:"status,omitempty"`
}

// Registry is a Windows registry operation.
type Registry struct {
	Key       string `json:"key,omitempty"`
	Value     string `json:"value,omitempty"` // data written (Sysmon Details)
	NewName   string `json:"new_name,omitempty"`
	Operation string `json:"operation,omitempty"` // CreateKey, DeleteKey, SetValue, ...
}

// User is the subject account that performed the action.
type User struct {
	Name    string `json:"name,omitempty"`
	Domain  string `json:"domain,omitempty"`
	SID     string `json:"sid,omitempty"`
	LogonID string `json:"logon_id,omitempty"`
}

// Logon describes an authentication event (4624/4625/4634/4648/4672/47xx).
// TargetUser is the account logged on; Source* is where it came from.
type Logon struct {
	Type             int    `json:"type,omitempty"` // 2 interactive, 3 network, 10 remote interactive, ...
	TargetUser       string `json:"target_user,omitempty"`
	TargetDomain     string `json:"target_domain,omitempty"`
	TargetSID        string `json:"target_sid,omitempty"`
	TargetLogonID    string `json:"target_logon_id,omitempty"`
	TargetServer     string `json:"target_server,omitempty"` // 4648: server the explicit credentials were used against
	SourceIP         string `json:"source_ip,omitempty"`
	SourcePort       int    `json:"source_port,omitempty"`
	SourceHost       string `json:"source_host,omitempty"` // WorkstationName
	LogonProcess     string `json:"logon_process,omitempty"`
	AuthPackage      string `json:"auth_package,omitempty"`
	Status           string `json:"status,omitempty"`            // failure status / sub-status
	ServiceName      string `json:"service_name,omitempty"`      // Kerberos service ticket
	TicketEncryption string `json:"ticket_encryption,omitempty"` // Kerberos ticket encryption type, e.g. 0x17 (RC4), 0x12 (AES256)
	ElevatedToken    bool   `json:"elevated_token,omitempty"`
	RestrictedAdmin  bool   `json:"restricted_admin,omitempty"`
}

// Script is a PowerShell script block or pipeline invocation.
type Script struct {
	BlockID       string `json:"block_id,omitempty"`
	Text          string `json:"text,omitempty"`
	Path          string `json:"path,omitempty"`
	MessageNumber int    `json:"message_number,omitempty"`
	MessageTotal  int    `json:"message_total,omitempty"`
	HostApp       string `json:"host_application,omitempty"`
}

// Syscall is a Linux system call as recorded by auditd or an eBPF agent.
type Syscall struct {
	Name    string   `json:"name,omitempty"`
	Number  int      `json:"number,omitempty"`
	Arch    string   `json:"arch,omitempty"`
	Success *bool    `json:"success,omitempty"`
	Exit    *int64   `json:"exit,omitempty"`
	Args    []string `json:"args,omitempty"`
	AUID    string   `json:"auid,omitempty"`
	Key     string   `json:"key,omitempty"` // audit rule key
	Comm    string   `json:"comm,omitempty"`
}

// Service is a Windows service installation (7045, 4697).
type Service struct {
	Name        string `json:"name,omitempty"`
	ImagePath   string `json:"image_path,omitempty"`
	StartType   string `json:"start_type,omitempty"`
	ServiceType string `json:"service_type,omitempty"`
	Account     string `json:"account,omitempty"`
}

// Task is a Windows scheduled task (4698, 4702).
type Task struct {
	Name    string `json:"name,omitempty"`
	Command string `json:"command,omitempty"` // Exec/Command[+Arguments] extracted from TaskContent
	Content string `json:"content,omitempty"` // TaskContent XML, truncated by the normalizer
}

// Share is an SMB share access (5140, 5145).
type Share struct {
	Name         string `json:"name,omitempty"` // \\*\ADMIN$
	Path         string `json:"path,omitempty"` // local path of the share
	RelativeName string `json:"relative_target,omitempty"`
	AccessMask   string `json:"access_mask,omitempty"`
}

// Object is an operation on a securable object that Security 4662 audits:
// an Active Directory object (Server "DS"), an LSA secret or policy object,
// a WMI namespace.
type Object struct {
	Server     string `json:"server,omitempty"` // DS, LSA, WMI
	Type       string `json:"type,omitempty"`   // class, e.g. the domainDNS schema GUID for DS
	Name       string `json:"name,omitempty"`
	Operation  string `json:"operation,omitempty"`
	AccessMask string `json:"access_mask,omitempty"`
	// Properties are the property sets, properties and extended rights the
	// operation used, as lower-case GUIDs without braces (DS).
	Properties []string `json:"properties,omitempty"`
}

// WMI is a WMI operation or permanent event subscription.
type WMI struct {
	Operation     string `json:"operation,omitempty"`
	Namespace     string `json:"namespace,omitempty"`
	Consumer      string `json:"consumer,omitempty"`
	Filter        string `json:"filter,omitempty"`
	Query         string `json:"query,omitempty"`
	ClientMachine string `json:"client_machine,omitempty"`
	ClientPID     int64  `json:"client_pid,omitempty"`
}

// Group is a security group change (4732 and similar).
type Group struct {
	Name      string `json:"name,omitempty"`
	Domain    string `json:"domain,omitempty"`
	MemberSID string `json:"member_sid,omitempty"`
	Member    string `json:"member,omitempty"`
}

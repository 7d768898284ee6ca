package schema

// InferenceResult is the outcome of one model run over one endpoint window
// (topic logster-inference-results, ES index logster-inferences).
type InferenceResult struct {
	SchemaVersion int      `json:"schema_version"`
	InferenceID   string   `json:"inference_id"`
	TenantID      string   `json:"tenant_id"`
	EndpointID    string   `json:"endpoint_id"`
	Hostname      string   `json:"hostname"`
	Platform      Platform `json:"platform"`
	// WindowStart/WindowEnd bound the window in event time (epoch seconds).
	WindowStart float64    `json:"window_start"`
	WindowEnd   float64    `json:"window_end"`
	Prediction  Prediction `json:"prediction"`
	AttackProb  float64    `json:"attack_prob"`
	// Confidence is the probability of the predicted class (max of the softmax).
	Confidence      float64 `json:"confidence"`
	Threshold       float64 `json:"threshold"`
	ModelVersion    string  `json:"model_version"`
	NumNodes        int     `json:"num_nodes"`
	NumEdges        int     `json:"num_edges"`
	NumEvents       int     `json:"num_events"`
	DroppedEvents   int     `json:"dropped_events,omitempty"` // over the per-window cap
	InferenceTimeMs float64 `json:"inference_time_ms"`
	// ContributingEventIDs are the events of the window that the explanation
	// ranks highest (bounded list; the window itself may hold more).
	ContributingEventIDs []string     `json:"contributing_event_ids"`
	Explanation          *Explanation `json:"explanation,omitempty"`
	// Evidence carries the facts the alerts service needs (cross-host links,
	// accounts, ATT&CK technique hits) so it never has to read the window.
	Evidence *Evidence `json:"evidence,omitempty"`
	// Error explains a PredictionError.
	Error     string  `json:"error,omitempty"`
	CreatedAt float64 `json:"created_at"` // wall clock of the run
}

// Key is the Kafka record key: tenant_id:endpoint_id.
func (r *InferenceResult) Key() string { return EndpointKey(r.TenantID, r.EndpointID) }

// Explanation lists the graph elements that drove the score.
type Explanation struct {
	Method   string          `json:"method"` // e.g. "attention" (attention mass of the last layer)
	TopNodes []ExplainedNode `json:"top_nodes"`
	TopEdges []ExplainedEdge `json:"top_edges,omitempty"`
}

// ExplainedNode is one graph node with its share of the explanation score and
// the events it was built from.
type ExplainedNode struct {
	Node     int      `json:"node"`
	Type     string   `json:"type"`  // process, file, script, network, syscall
	Label    string   `json:"label"` // image path, file path, destination, ...
	Score    float64  `json:"score"`
	EventIDs []string `json:"event_ids"`
}

// ExplainedEdge is one graph edge with its attention weight.
type ExplainedEdge struct {
	Src       int     `json:"src"`
	Dst       int     `json:"dst"`
	Relation  string  `json:"relation"` // spawned, wrote, executed, connected_to, performed
	Score     float64 `json:"score"`
	Timestamp float64 `json:"timestamp"`
	EventID   string  `json:"event_id,omitempty"`
}

// Evidence summarises what a window shows about links to other hosts and
// about ATT&CK techniques. It is derived from the events, never from host
// names, so the alerts service can correlate endpoints on facts.
type Evidence struct {
	// LocalAddresses are IP addresses this endpoint used (source of its
	// outbound connections, destination of its inbound ones).
	LocalAddresses []string `json:"local_addresses,omitempty"`
	// Accounts are the non-system accounts active in the window, as
	// lower-case "domain\user" (or "user").
	Accounts []string `json:"accounts,omitempty"`
	// Links are facts that connect this endpoint to a peer host.
	Links []EvidenceLink `json:"links,omitempty"`
	// Techniques are the ATT&CK technique hits in the window.
	Techniques []TechniqueHit `json:"techniques,omitempty"`
}

// Link kinds.
const (
	LinkRemoteLogon     = "remote_logon"     // 4624 type 3/10 from a peer
	LinkExplicitLogon   = "explicit_logon"   // 4648 towards a peer
	LinkOutboundConnect = "outbound_connect" // connection to a peer
	LinkInboundConnect  = "inbound_connect"  // connection from a peer
	LinkRemoteService   = "remote_service"   // service installed/started remotely
	LinkRemoteTask      = "remote_task"      // scheduled task created remotely
	LinkRemoteWMI       = "remote_wmi"       // WMI from a remote client
	LinkWinRM           = "winrm"            // WinRM / PowerShell remoting
	LinkDCOM            = "dcom"             // DCOM activation
	LinkAdminShare      = "admin_share"      // ADMIN$/C$/IPC$ access, PsExec pipes
)

// EvidenceLink is one fact tying this endpoint to a peer. Direction is
// "inbound" when the peer acted on this endpoint, "outbound" when this
// endpoint acted on the peer.
type EvidenceLink struct {
	Kind      string  `json:"kind"`
	Direction string  `json:"direction"`
	PeerIP    string  `json:"peer_ip,omitempty"`
	PeerHost  string  `json:"peer_host,omitempty"`
	Account   string  `json:"account,omitempty"`
	Port      int     `json:"port,omitempty"`
	Timestamp float64 `json:"timestamp"`
	EventID   string  `json:"event_id,omitempty"`
	Technique string  `json:"technique,omitempty"`
	Detail    string  `json:"detail,omitempty"`
}

// TechniqueHit is an ATT&CK technique observed in the window.
type TechniqueHit struct {
	ID        string   `json:"id"`   // e.g. T1021.002
	Name      string   `json:"name"` // e.g. SMB/Windows Admin Shares
	Count     int      `json:"count"`
	FirstSeen float64  `json:"first_seen"`
	EventIDs  []string `json:"event_ids,omitempty"` // bounded sample
}

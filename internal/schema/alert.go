package schema

import "slices"

// Alert is the analyst-facing record (topic logster-alerts, the API's
// AlertResponse). Detection fields are owned by the alerts service; triage
// fields (Status, Notes, Assignee, History) are owned by the API.
type Alert struct {
	SchemaVersion int         `json:"schema_version"`
	AlertID       string      `json:"alert_id"`
	TenantID      string      `json:"tenant_id"`
	Kind          AlertKind   `json:"alert_type"`
	EndpointID    string      `json:"endpoint_id"`
	Hostname      string      `json:"hostname"`
	Platform      Platform    `json:"platform,omitempty"`
	Status        AlertStatus `json:"status"`
	Severity      Severity    `json:"severity"`
	Title         string      `json:"title"`
	AttackProb    float64     `json:"attack_prob"` // highest seen
	Confidence    float64     `json:"confidence"`
	FirstSeen     float64     `json:"first_seen"`
	LastSeen      float64     `json:"last_seen"`
	// OccurrenceCount is the number of positive inferences merged into the alert.
	OccurrenceCount int      `json:"occurrence_count"`
	InferenceIDs    []string `json:"inference_ids"`
	TTPTechniques   []string `json:"ttp_techniques"`
	ModelVersion    string   `json:"model_version,omitempty"`
	// Lateral movement: the endpoints and endpoint alerts this alert links.
	LinkedEndpoints []string     `json:"linked_endpoints,omitempty"`
	LinkedAlerts    []string     `json:"linked_alerts,omitempty"`
	Chain           []LateralHop `json:"lateral_chain,omitempty"`
	// PreviousAlertID points at the closed alert of the same endpoint that
	// this one follows (a positive after resolution opens a new alert).
	PreviousAlertID string `json:"previous_alert_id,omitempty"`
	// Revision increases with every detection-side update; consumers apply an
	// update only if its revision is newer than what they hold, so redelivery
	// and reordering change nothing.
	Revision int64 `json:"revision"`

	// Triage fields.
	Notes    string         `json:"notes"`
	Assignee string         `json:"assignee,omitempty"`
	History  []StatusChange `json:"history,omitempty"`

	CreatedAt float64 `json:"created_at"`
	UpdatedAt float64 `json:"updated_at"`
}

// Key is the Kafka record key: tenant_id:endpoint_id.
func (a *Alert) Key() string { return EndpointKey(a.TenantID, a.EndpointID) }

// Clone deep-copies the alert, so a copy handed to a publisher or a store
// never aliases the owner's slices.
func (a *Alert) Clone() *Alert {
	c := *a
	c.InferenceIDs = slices.Clone(a.InferenceIDs)
	c.TTPTechniques = slices.Clone(a.TTPTechniques)
	c.LinkedEndpoints = slices.Clone(a.LinkedEndpoints)
	c.LinkedAlerts = slices.Clone(a.LinkedAlerts)
	c.History = slices.Clone(a.History)
	if a.Chain != nil {
		c.Chain = make([]LateralHop, len(a.Chain))
		for i, h := range a.Chain {
			h.Accounts = slices.Clone(h.Accounts)
			h.Kinds = slices.Clone(h.Kinds)
			h.Techniques = slices.Clone(h.Techniques)
			c.Chain[i] = h
		}
	}
	return &c
}

// LateralHop is one step of a lateral-movement chain.
type LateralHop struct {
	SourceEndpoint string   `json:"source_endpoint"`
	TargetEndpoint string   `json:"target_endpoint"`
	SourceAlertID  string   `json:"source_alert_id,omitempty"`
	TargetAlertID  string   `json:"target_alert_id,omitempty"`
	Accounts       []string `json:"accounts,omitempty"`
	Kinds          []string `json:"evidence,omitempty"` // link kinds that connected them
	Techniques     []string `json:"techniques,omitempty"`
	FirstSeen      float64  `json:"first_seen"`
	LastSeen       float64  `json:"last_seen"`
}

// StatusChange is one audited analyst change of an alert.
type StatusChange struct {
	At      float64 `json:"at"`
	Actor   string  `json:"actor"`
	Field   string  `json:"field"` // status, notes, assignee, feedback
	From    string  `json:"from"`
	To      string  `json:"to"`
	Comment string  `json:"comment,omitempty"`
}

// Feedback is an analyst's verdict on an alert, stored for retraining.
type Feedback struct {
	AlertID        string  `json:"alert_id"`
	IsTruePositive bool    `json:"is_true_positive"`
	Note           string  `json:"note,omitempty"`
	Actor          string  `json:"actor,omitempty"`
	At             float64 `json:"at"`
}

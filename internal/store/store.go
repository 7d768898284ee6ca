// Package store keeps alerts, their audit history, analyst feedback and API
// tokens. One interface, three implementations: memory (tests), SQLite
// (embedded default, durable file) and PostgreSQL (shared by API replicas).
// All of them pass the contract suite in storetest.
//
// The merge and triage rules live here as pure functions (Merge, ApplyPatch)
// that every implementation calls inside its own transaction, so the three
// cannot drift apart:
//
//   - Detection fields (severity, scores, times, counts, inference ids,
//     techniques, lateral links, title, ...) belong to the alerts service and
//     are replaced only by a record with a newer Revision.
//   - Triage fields (status, notes, assignee, history) belong to the API; a
//     detection record sets them only when it creates the alert.
//
// Together these make ingest idempotent: redelivery, reordering, a second
// API replica consuming the same record, or the API's own echo of a triage
// change all leave the stored alert as it was.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/schema"
)

// Errors returned by every Store. Callers test them with errors.Is.
var (
	// ErrNotFound: no such alert (or not visible in the caller's scope —
	// deliberately indistinguishable) or no such token.
	ErrNotFound = errors.New("not found")
	// ErrTransition: the requested status change is not in the transition
	// table (see Transitions).
	ErrTransition = errors.New("illegal status transition")
	// ErrInvalid: a value the store refuses (e.g. an alert whose tenant
	// differs from the stored alert with the same id).
	ErrInvalid = errors.New("invalid")
	// ErrExists: a token id that is already taken.
	ErrExists = errors.New("already exists")
)

// errTokenNotFound matches both ErrNotFound and auth.ErrNotFound so the
// authenticator and the store's own callers can each test for it.
var errTokenNotFound = fmt.Errorf("token %w (%w)", ErrNotFound, auth.ErrNotFound)

// Store is the alert store.
type Store interface {
	// IngestAlert applies a record from logster-alerts following the merge
	// rules (see Merge). It is idempotent.
	IngestAlert(ctx context.Context, a *schema.Alert) (IngestResult, error)
	// GetAlert returns one alert with its full history, or ErrNotFound if it
	// does not exist or its tenant is outside scope.
	GetAlert(ctx context.Context, scope auth.Scope, id string) (*schema.Alert, error)
	// ListAlerts returns one page of alerts (without history), newest
	// last_seen first, and the total number matching.
	ListAlerts(ctx context.Context, q AlertQuery) (AlertPage, error)
	// PatchAlert applies an analyst's triage change atomically and returns
	// the updated alert (with history) and the audit entries written (none
	// when the patch changed nothing).
	PatchAlert(ctx context.Context, scope auth.Scope, id string, p Patch, actor string, at time.Time) (*schema.Alert, []schema.StatusChange, error)
	// DrainTriage publishes queued triage changes: PatchAlert queues the
	// alert in the same transaction as the change (a transactional outbox),
	// so a change can never be stored without being published eventually.
	// DrainTriage hands the alerts of about max queued entries (the oldest;
	// a store may take all of one alert's entries together) to publish,
	// each alert once, with its current state (history
	// included, read consistently: no change can commit between the two),
	// and forgets the entries whose publish returned nil; the rest stay
	// queued for the next call. Order across different alerts is not
	// guaranteed. It returns how many were published and how many entries
	// remain queued (the whole outbox, shared by replicas; -1 when the
	// store could not tell). Replicas
	// sharing a database never hand the same entry to two callers at once.
	DrainTriage(ctx context.Context, max int, publish func(context.Context, *schema.Alert) error) (published, pending int, err error)
	// CountAlerts counts the alerts in scope.
	CountAlerts(ctx context.Context, scope auth.Scope) (int, error)
	// ListEndpoints summarizes alerts per endpoint.
	ListEndpoints(ctx context.Context, q EndpointQuery) (EndpointPage, error)
	// AddFeedback records an analyst verdict on an alert in scope and writes
	// an audit entry for it.
	AddFeedback(ctx context.Context, scope auth.Scope, fb schema.Feedback) (FeedbackRecord, error)
	// ListFeedback exports feedback for retraining, oldest first.
	ListFeedback(ctx context.Context, q FeedbackQuery) (FeedbackPage, error)

	// CreateToken stores a new token (ErrExists if the id is taken).
	CreateToken(ctx context.Context, t auth.Token) error
	// TokenByID returns a token, revoked or not; ErrNotFound if absent.
	TokenByID(ctx context.Context, id string) (*auth.Token, error)
	// ListTokens returns every token, oldest first.
	ListTokens(ctx context.Context) ([]auth.Token, error)
	// RevokeToken marks a token revoked (idempotent); ErrNotFound if absent.
	RevokeToken(ctx context.Context, id string, at time.Time) error

	// Ping checks the backend is reachable.
	Ping(ctx context.Context) error
	// Close releases the backend.
	Close() error
}

// IngestResult says what IngestAlert did.
type IngestResult int

const (
	// Unchanged: the record was a redelivery, an older revision or an echo.
	Unchanged IngestResult = iota
	// Created: the alert did not exist.
	Created
	// Updated: the record carried a newer detection revision.
	Updated
)

func (r IngestResult) String() string {
	switch r {
	case Created:
		return "created"
	case Updated:
		return "updated"
	}
	return "unchanged"
}

// AlertQuery selects alerts. Zero values mean "no filter".
type AlertQuery struct {
	Scope      auth.Scope
	TenantID   string
	Statuses   []schema.AlertStatus
	Severities []schema.Severity
	Kinds      []schema.AlertKind
	EndpointID string
	Hostname   string // exact, lower-case
	// Since and Until bound last_seen (epoch seconds, inclusive); 0 = open.
	Since, Until float64
	// Text is a case-insensitive substring searched in hostname, endpoint
	// id, title, notes and ATT&CK technique ids.
	Text   string
	Limit  int
	Offset int
}

// AlertPage is one page of ListAlerts.
type AlertPage struct {
	Alerts []schema.Alert
	Total  int
}

// DefaultLimit is the page size when a query names none.
const DefaultLimit = 100

func normLimit(n int) int {
	if n <= 0 {
		return DefaultLimit
	}
	return n
}

// EndpointQuery selects endpoint summaries.
type EndpointQuery struct {
	Scope    auth.Scope
	TenantID string
	// Text is a case-insensitive substring of hostname or endpoint id.
	Text   string
	Limit  int
	Offset int
}

// EndpointSummary aggregates one endpoint's alerts.
type EndpointSummary struct {
	TenantID       string         `json:"tenant_id"`
	EndpointID     string         `json:"endpoint_id"`
	Hostname       string         `json:"hostname"`
	Platform       string         `json:"platform"`
	AlertCount     int            `json:"alert_count"`
	AlertsByStatus map[string]int `json:"alerts_by_status"`
	LastSeen       float64        `json:"last_seen"`
	MaxAttackProb  float64        `json:"max_attack_prob"`
	MaxSeverity    string         `json:"max_severity"`
}

// EndpointPage is one page of ListEndpoints, most recently active first.
type EndpointPage struct {
	Endpoints []EndpointSummary
	Total     int
}

// FeedbackQuery selects feedback for export.
type FeedbackQuery struct {
	Scope    auth.Scope
	TenantID string
	// Since and Until bound the feedback time (epoch seconds); 0 = open.
	Since, Until float64
	Limit        int
	Offset       int
}

// FeedbackRecord is stored feedback plus a snapshot of what the model said,
// which is what retraining needs.
type FeedbackRecord struct {
	ID int64 `json:"id"`
	schema.Feedback
	TenantID      string   `json:"tenant_id"`
	EndpointID    string   `json:"endpoint_id"`
	AlertType     string   `json:"alert_type"`
	AttackProb    float64  `json:"attack_prob"`
	ModelVersion  string   `json:"model_version,omitempty"`
	InferenceIDs  []string `json:"inference_ids"`
	TTPTechniques []string `json:"ttp_techniques"`
}

// FeedbackPage is one page of ListFeedback.
type FeedbackPage struct {
	Feedback []FeedbackRecord
	Total    int
}

func newFeedbackRecord(a *schema.Alert, fb schema.Feedback) FeedbackRecord {
	return FeedbackRecord{
		Feedback:      fb,
		TenantID:      a.TenantID,
		EndpointID:    a.EndpointID,
		AlertType:     string(a.Kind),
		AttackProb:    a.AttackProb,
		ModelVersion:  a.ModelVersion,
		InferenceIDs:  nonNil(a.InferenceIDs),
		TTPTechniques: nonNil(a.TTPTechniques),
	}
}

// feedbackChange is the audit entry written for a verdict.
func feedbackChange(fb schema.Feedback) schema.StatusChange {
	verdict := "false_positive"
	if fb.IsTruePositive {
		verdict = "true_positive"
	}
	return schema.StatusChange{At: fb.At, Actor: fb.Actor, Field: "feedback", To: verdict, Comment: fb.Note}
}

// Patch is an analyst's triage change. Nil fields are left alone.
type Patch struct {
	Status   *schema.AlertStatus
	Notes    *string
	Assignee *string
	// Comment is attached to every audit entry the patch writes.
	Comment string
}

// Transitions is the triage state machine: Transitions[from] lists the
// statuses an analyst may move an alert to. Setting the current status again
// is always allowed and changes nothing. Closed alerts (resolved,
// false_positive) must be reopened (-> open) before anything else.
var Transitions = map[schema.AlertStatus][]schema.AlertStatus{
	schema.StatusOpen:          {schema.StatusAcknowledged, schema.StatusInvestigating, schema.StatusResolved, schema.StatusFalsePositive},
	schema.StatusAcknowledged:  {schema.StatusOpen, schema.StatusInvestigating, schema.StatusResolved, schema.StatusFalsePositive},
	schema.StatusInvestigating: {schema.StatusOpen, schema.StatusAcknowledged, schema.StatusResolved, schema.StatusFalsePositive},
	schema.StatusResolved:      {schema.StatusOpen},
	schema.StatusFalsePositive: {schema.StatusOpen},
}

// TransitionError is the error of a refused status change; it matches
// ErrTransition.
type TransitionError struct {
	From, To schema.AlertStatus
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("illegal status transition %s -> %s (allowed from %s: %s)", e.From, e.To, e.From, joinStatuses(Transitions[e.From]))
}

// Is makes errors.Is(err, ErrTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrTransition }

// Allowed lists the statuses reachable from e.From.
func (e *TransitionError) Allowed() []schema.AlertStatus { return slices.Clone(Transitions[e.From]) }

// CanTransition reports whether from -> to is allowed.
func CanTransition(from, to schema.AlertStatus) bool {
	return from == to || slices.Contains(Transitions[from], to)
}

// ApplyPatch applies p to a in place and returns the audit entries for the
// fields that actually changed. On an illegal transition it returns a
// *TransitionError (matching ErrTransition) and leaves a untouched.
func ApplyPatch(a *schema.Alert, p Patch, actor string, at float64) ([]schema.StatusChange, error) {
	if p.Status != nil && !CanTransition(a.Status, *p.Status) {
		return nil, &TransitionError{From: a.Status, To: *p.Status}
	}
	var changes []schema.StatusChange
	add := func(field, from, to string) {
		changes = append(changes, schema.StatusChange{At: at, Actor: actor, Field: field, From: from, To: to, Comment: p.Comment})
	}
	if p.Status != nil && *p.Status != a.Status {
		add("status", string(a.Status), string(*p.Status))
		a.Status = *p.Status
	}
	if p.Assignee != nil && *p.Assignee != a.Assignee {
		add("assignee", a.Assignee, *p.Assignee)
		a.Assignee = *p.Assignee
	}
	if p.Notes != nil && *p.Notes != a.Notes {
		add("notes", a.Notes, *p.Notes)
		a.Notes = *p.Notes
	}
	if len(changes) > 0 {
		a.UpdatedAt = at
	}
	return changes, nil
}

func joinStatuses(ss []schema.AlertStatus) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, ", ")
}

// Merge computes the stored alert after applying the detection record in.
// existing is nil when the alert is new. It never modifies its arguments.
func Merge(existing, in *schema.Alert) (*schema.Alert, IngestResult, error) {
	if existing == nil {
		out := in.Clone()
		if out.Status == "" {
			out.Status = schema.StatusOpen
		}
		if out.CreatedAt == 0 {
			out.CreatedAt = out.FirstSeen
		}
		return out, Created, nil
	}
	if existing.TenantID != in.TenantID {
		return nil, Unchanged, fmt.Errorf("%w: alert %s belongs to tenant %q, record says %q", ErrInvalid, in.AlertID, existing.TenantID, in.TenantID)
	}
	if in.Revision <= existing.Revision {
		return existing, Unchanged, nil
	}
	out := in.Clone()
	// Identity and triage stay as stored.
	out.AlertID = existing.AlertID
	out.TenantID = existing.TenantID
	out.CreatedAt = existing.CreatedAt
	out.Status = existing.Status
	out.Notes = existing.Notes
	out.Assignee = existing.Assignee
	out.History = existing.History
	out.UpdatedAt = max(existing.UpdatedAt, in.UpdatedAt)
	return out, Updated, nil
}

// searchText is what AlertQuery.Text matches against.
func searchText(a *schema.Alert) string {
	parts := []string{a.Hostname, a.EndpointID, a.Title, a.Notes}
	parts = append(parts, a.TTPTechniques...)
	return strings.ToLower(strings.Join(parts, "\n"))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func epoch(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// Token times are kept as Unix milliseconds: exact in every backend.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// normToken truncates a token's times to what the backends keep.
func normToken(t auth.Token) auth.Token {
	t.CreatedAt = fromMillis(millis(t.CreatedAt))
	t.ExpiresAt = fromMillis(millis(t.ExpiresAt))
	t.RevokedAt = fromMillis(millis(t.RevokedAt))
	t.Tenants = slices.Clone(t.Tenants)
	return t
}

package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/schema"
)

// Memory is the in-process store used by tests. It loses everything on exit.
type Memory struct {
	mu       sync.RWMutex
	alerts   map[string]*schema.Alert // with History
	feedback []FeedbackRecord
	tokens   map[string]auth.Token
	// outbox holds the ids of alerts whose triage change awaits
	// publication, oldest first; draining marks them in flight.
	outbox []outboxEntry
	outSeq uint64
	closed bool
}

type outboxEntry struct {
	seq      uint64
	alertID  string
	inFlight bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{alerts: map[string]*schema.Alert{}, tokens: map[string]auth.Token{}}
}

func (m *Memory) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.closed {
		return fmt.Errorf("memory store: closed")
	}
	return nil
}

// IngestAlert implements Store.
func (m *Memory) IngestAlert(ctx context.Context, a *schema.Alert) (IngestResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return Unchanged, err
	}
	out, res, err := Merge(m.alerts[a.AlertID], a)
	if err != nil || res == Unchanged {
		return res, err
	}
	m.alerts[a.AlertID] = out
	return res, nil
}

// GetAlert implements Store.
func (m *Memory) GetAlert(ctx context.Context, scope auth.Scope, id string) (*schema.Alert, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	a, ok := m.alerts[id]
	if !ok || !scope.Allows(a.TenantID) {
		return nil, fmt.Errorf("alert %s: %w", id, ErrNotFound)
	}
	return a.Clone(), nil
}

func matchAlert(a *schema.Alert, q *AlertQuery) bool {
	switch {
	case !q.Scope.Allows(a.TenantID),
		q.TenantID != "" && a.TenantID != q.TenantID,
		len(q.Statuses) > 0 && !slices.Contains(q.Statuses, a.Status),
		len(q.Severities) > 0 && !slices.Contains(q.Severities, a.Severity),
		len(q.Kinds) > 0 && !slices.Contains(q.Kinds, a.Kind),
		q.EndpointID != "" && a.EndpointID != q.EndpointID,
		q.Hostname != "" && a.Hostname != q.Hostname,
		q.Since != 0 && a.LastSeen < q.Since,
		q.Until != 0 && a.LastSeen > q.Until,
		q.Text != "" && !strings.Contains(searchText(a), strings.ToLower(q.Text)):
		return false
	}
	return true
}

// alertOrder is the list order of every backend: newest last_seen first,
// alert id as the tie-break so pages are stable.
func alertOrder(a, b *schema.Alert) int {
	if c := cmp.Compare(b.LastSeen, a.LastSeen); c != 0 {
		return c
	}
	return strings.Compare(a.AlertID, b.AlertID)
}

func page[T any](all []T, limit, offset int) []T {
	if offset >= len(all) {
		return []T{}
	}
	end := min(len(all), offset+normLimit(limit))
	return all[offset:end]
}

// ListAlerts implements Store.
func (m *Memory) ListAlerts(ctx context.Context, q AlertQuery) (AlertPage, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return AlertPage{}, err
	}
	var hits []*schema.Alert
	for _, a := range m.alerts {
		if matchAlert(a, &q) {
			hits = append(hits, a)
		}
	}
	slices.SortFunc(hits, alertOrder)
	pg := page(hits, q.Limit, q.Offset)
	out := make([]schema.Alert, len(pg))
	for i, a := range pg {
		c := a.Clone()
		c.History = nil
		out[i] = *c
	}
	return AlertPage{Alerts: out, Total: len(hits)}, nil
}

// PatchAlert implements Store.
func (m *Memory) PatchAlert(ctx context.Context, scope auth.Scope, id string, p Patch, actor string, at time.Time) (*schema.Alert, []schema.StatusChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, nil, err
	}
	a, ok := m.alerts[id]
	if !ok || !scope.Allows(a.TenantID) {
		return nil, nil, fmt.Errorf("alert %s: %w", id, ErrNotFound)
	}
	c := a.Clone()
	changes, err := ApplyPatch(c, p, actor, epoch(at))
	if err != nil {
		return nil, nil, err
	}
	if len(changes) > 0 {
		c.History = append(c.History, changes...)
		m.alerts[id] = c
		m.outSeq++
		m.outbox = append(m.outbox, outboxEntry{seq: m.outSeq, alertID: id})
	}
	return c.Clone(), changes, nil
}

// DrainTriage implements Store. Entries are claimed under the lock and
// published without it, so a slow broker does not block readers.
func (m *Memory) DrainTriage(ctx context.Context, max int, publish func(context.Context, *schema.Alert) error) (int, int, error) {
	m.mu.Lock()
	if err := m.check(ctx); err != nil {
		m.mu.Unlock()
		return 0, -1, err
	}
	type claim struct {
		seqs []uint64
		a    *schema.Alert
	}
	var claims []claim
	byID := map[string]int{}
	taken := 0
	for i := range m.outbox {
		e := &m.outbox[i]
		if e.inFlight {
			continue
		}
		if taken == max {
			break
		}
		taken++
		e.inFlight = true
		if j, ok := byID[e.alertID]; ok {
			claims[j-1].seqs = append(claims[j-1].seqs, e.seq)
			continue
		}
		var a *schema.Alert
		if cur, ok := m.alerts[e.alertID]; ok {
			a = cur.Clone()
		}
		claims = append(claims, claim{seqs: []uint64{e.seq}, a: a})
		byID[e.alertID] = len(claims)
	}
	m.mu.Unlock()

	done := map[uint64]bool{} // published (or moot): forget
	var err error
	published := 0
	for _, c := range claims {
		if err == nil && c.a != nil {
			if err = publish(ctx, c.a); err == nil {
				published++
			}
		}
		// An alert that vanished has nothing left to publish.
		if err == nil || c.a == nil {
			for _, s := range c.seqs {
				done[s] = true
			}
		}
	}

	claimed := map[uint64]bool{}
	for _, c := range claims {
		for _, s := range c.seqs {
			claimed[s] = true
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.outbox[:0]
	for _, e := range m.outbox {
		if done[e.seq] {
			continue
		}
		if claimed[e.seq] {
			e.inFlight = false // not published: the next call retries it
		}
		kept = append(kept, e)
	}
	m.outbox = kept
	return published, len(m.outbox), err
}

// CountAlerts implements Store.
func (m *Memory) CountAlerts(ctx context.Context, scope auth.Scope) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return 0, err
	}
	n := 0
	for _, a := range m.alerts {
		if scope.Allows(a.TenantID) {
			n++
		}
	}
	return n, nil
}

// ListEndpoints implements Store.
func (m *Memory) ListEndpoints(ctx context.Context, q EndpointQuery) (EndpointPage, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return EndpointPage{}, err
	}
	type key struct{ tenant, endpoint string }
	byKey := map[key]*EndpointSummary{}
	text := strings.ToLower(q.Text)
	for _, a := range m.alerts {
		if a.EndpointID == "" || !q.Scope.Allows(a.TenantID) || (q.TenantID != "" && a.TenantID != q.TenantID) {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(a.Hostname), text) && !strings.Contains(strings.ToLower(a.EndpointID), text) {
			continue
		}
		k := key{a.TenantID, a.EndpointID}
		s := byKey[k]
		if s == nil {
			s = newSummary(a.TenantID, a.EndpointID)
			byKey[k] = s
		}
		s.Hostname = max(s.Hostname, a.Hostname)
		s.Platform = max(s.Platform, string(a.Platform))
		s.AlertCount++
		s.AlertsByStatus[string(a.Status)]++
		s.LastSeen = max(s.LastSeen, a.LastSeen)
		s.MaxAttackProb = max(s.MaxAttackProb, a.AttackProb)
		if a.Severity.Rank() > schema.Severity(s.MaxSeverity).Rank() {
			s.MaxSeverity = string(a.Severity)
		}
	}
	all := make([]EndpointSummary, 0, len(byKey))
	for _, s := range byKey {
		all = append(all, *s)
	}
	slices.SortFunc(all, endpointOrder)
	return EndpointPage{Endpoints: page(all, q.Limit, q.Offset), Total: len(all)}, nil
}

func newSummary(tenant, endpoint string) *EndpointSummary {
	s := &EndpointSummary{TenantID: tenant, EndpointID: endpoint, AlertsByStatus: map[string]int{}}
	for _, st := range schema.AllStatuses {
		s.AlertsByStatus[string(st)] = 0
	}
	return s
}

func endpointOrder(a, b EndpointSummary) int {
	if c := cmp.Compare(b.LastSeen, a.LastSeen); c != 0 {
		return c
	}
	if c := strings.Compare(a.TenantID, b.TenantID); c != 0 {
		return c
	}
	return strings.Compare(a.EndpointID, b.EndpointID)
}

// AddFeedback implements Store.
func (m *Memory) AddFeedback(ctx context.Context, scope auth.Scope, fb schema.Feedback) (FeedbackRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return FeedbackRecord{}, err
	}
	a, ok := m.alerts[fb.AlertID]
	if !ok || !scope.Allows(a.TenantID) {
		return FeedbackRecord{}, fmt.Errorf("alert %s: %w", fb.AlertID, ErrNotFound)
	}
	rec := newFeedbackRecord(a, fb)
	rec.ID = int64(len(m.feedback) + 1)
	m.feedback = append(m.feedback, rec)
	c := a.Clone()
	c.History = append(c.History, feedbackChange(fb))
	m.alerts[a.AlertID] = c
	return rec, nil
}

// ListFeedback implements Store.
func (m *Memory) ListFeedback(ctx context.Context, q FeedbackQuery) (FeedbackPage, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return FeedbackPage{}, err
	}
	var hits []FeedbackRecord
	for _, f := range m.feedback {
		switch {
		case !q.Scope.Allows(f.TenantID),
			q.TenantID != "" && f.TenantID != q.TenantID,
			q.Since != 0 && f.At < q.Since,
			q.Until != 0 && f.At > q.Until:
			continue
		}
		hits = append(hits, f)
	}
	return FeedbackPage{Feedback: slices.Clone(page(hits, q.Limit, q.Offset)), Total: len(hits)}, nil
}

// CreateToken implements Store.
func (m *Memory) CreateToken(ctx context.Context, t auth.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	if _, dup := m.tokens[t.ID]; dup {
		return fmt.Errorf("token %s: %w", t.ID, ErrExists)
	}
	m.tokens[t.ID] = normToken(t)
	return nil
}

// TokenByID implements Store.
func (m *Memory) TokenByID(ctx context.Context, id string) (*auth.Token, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	t, ok := m.tokens[id]
	if !ok {
		return nil, errTokenNotFound
	}
	t = normToken(t)
	return &t, nil
}

// ListTokens implements Store.
func (m *Memory) ListTokens(ctx context.Context) ([]auth.Token, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	out := make([]auth.Token, 0, len(m.tokens))
	for _, t := range m.tokens {
		out = append(out, normToken(t))
	}
	slices.SortFunc(out, func(a, b auth.Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// RevokeToken implements Store.
func (m *Memory) RevokeToken(ctx context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	t, ok := m.tokens[id]
	if !ok {
		return errTokenNotFound
	}
	if t.RevokedAt.IsZero() {
		t.RevokedAt = fromMillis(millis(at))
		m.tokens[id] = t
	}
	return nil
}

// Ping implements Store.
func (m *Memory) Ping(ctx context.Context) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.check(ctx)
}

// Close implements Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

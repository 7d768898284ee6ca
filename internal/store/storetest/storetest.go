// Package storetest is the contract every store.Store implementation must
// pass. Each backend's test calls Run with a function that opens a fresh,
// empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

// Opener returns a fresh, empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs the contract suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"IngestCreateAndGet", testIngestCreateAndGet},
		{"IngestMergeRules", testIngestMergeRules},
		{"IngestTenantMismatch", testIngestTenantMismatch},
		{"IngestConcurrentReplicas", testIngestConcurrent},
		{"TenantIsolation", testTenantIsolation},
		{"ListFilters", testListFilters},
		{"ListPaging", testListPaging},
		{"PatchTransitions", testPatchTransitions},
		{"PatchFieldsAndHistory", testPatchFieldsAndHistory},
		{"PatchConcurrent", testPatchConcurrent},
		{"DetectionAfterClose", testDetectionAfterClose},
		{"TriageOutbox", testTriageOutbox},
		{"TriageOutboxConcurrentDrains", testTriageOutboxConcurrent},
		{"TriageOutboxConsistentState", testTriageOutboxConsistent},
		{"Endpoints", testEndpoints},
		{"Feedback", testFeedback},
		{"Tokens", testTokens},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// Alert returns a valid endpoint alert for tests.
func Alert(tenant, endpoint string, rev int64, lastSeen float64) *schema.Alert {
	return &schema.Alert{
		SchemaVersion:   schema.Version,
		AlertID:         schema.AlertID(tenant, endpoint, fmt.Sprint(lastSeen)),
		TenantID:        tenant,
		Kind:            schema.AlertKindEndpoint,
		EndpointID:      endpoint,
		Hostname:        "host-" + endpoint,
		Platform:        schema.PlatformWindows,
		Status:          schema.StatusOpen,
		Severity:        schema.SeverityHigh,
		Title:           "Suspicious activity on host-" + endpoint,
		AttackProb:      0.9,
		Confidence:      0.8,
		FirstSeen:       lastSeen - 60,
		LastSeen:        lastSeen,
		OccurrenceCount: 1,
		InferenceIDs:    []string{"inf-1"},
		TTPTechniques:   []string{"T1059.001"},
		ModelVersion:    "win-1",
		Revision:        rev,
		CreatedAt:       lastSeen - 60,
		UpdatedAt:       lastSeen,
	}
}

var ctx = context.Background()

// must is called as must(f(...))(t) so multi-value calls fit in one line.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ingest(t *testing.T, s store.Store, a *schema.Alert, want store.IngestResult) {
	t.Helper()
	got, err := s.IngestAlert(ctx, a)
	if err != nil {
		t.Fatalf("ingest %s rev %d: %v", a.AlertID, a.Revision, err)
	}
	if got != want {
		t.Fatalf("ingest %s rev %d = %v, want %v", a.AlertID, a.Revision, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func testIngestCreateAndGet(t *testing.T, s store.Store) {
	a := Alert("acme", "ep1", 1, 1000)
	a.Chain = []schema.LateralHop{{SourceEndpoint: "ep1", TargetEndpoint: "ep2", Accounts: []string{"bob"}, FirstSeen: 1, LastSeen: 2}}
	a.LinkedEndpoints = []string{"ep2"}
	ingest(t, s, a, store.Created)
	got := must(s.GetAlert(ctx, auth.Everything, a.AlertID))(t)
	if !equalAlerts(got, a) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, a)
	}
	// Mutating the caller's copy must not reach the store.
	a.InferenceIDs[0] = "mutated"
	got = must(s.GetAlert(ctx, auth.Everything, a.AlertID))(t)
	if got.InferenceIDs[0] != "inf-1" {
		t.Fatal("store aliases the ingested alert")
	}
	if _, err := s.GetAlert(ctx, auth.Everything, "absent"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent alert: %v", err)
	}
	if n := must(s.CountAlerts(ctx, auth.Everything))(t); n != 1 {
		t.Fatalf("count = %d", n)
	}
}

func equalAlerts(a, b *schema.Alert) bool {
	x, y := *a, *b
	x.History, y.History = nil, nil
	return fmt.Sprintf("%+v", x) == fmt.Sprintf("%+v", y) && slices.Equal(a.History, b.History)
}

// The merge rules as a table: each case ingests a sequence of records (and
// optionally triages in between) and checks the stored result.
func testIngestMergeRules(t *testing.T, s store.Store) {
	type step struct {
		rev     int64
		prob    float64
		status  schema.AlertStatus // status carried by the record
		notes   string             // notes carried by the record
		triage  *schema.AlertStatus
		want    store.IngestResult
		comment string
	}
	cases := []struct {
		name      string
		steps     []step
		wantProb  float64
		wantRev   int64
		wantState schema.AlertStatus
		wantNotes string
	}{
		{"redelivery", []step{{rev: 1, prob: 0.6, want: store.Created}, {rev: 1, prob: 0.6, want: store.Unchanged}}, 0.6, 1, schema.StatusOpen, ""},
		{"newer revision", []step{{rev: 1, prob: 0.6, want: store.Created}, {rev: 2, prob: 0.9, want: store.Updated}}, 0.9, 2, schema.StatusOpen, ""},
		{"reordered", []step{{rev: 3, prob: 0.9, want: store.Created}, {rev: 2, prob: 0.7, want: store.Unchanged}, {rev: 1, prob: 0.6, want: store.Unchanged}}, 0.9, 3, schema.StatusOpen, ""},
		{"same revision different body", []step{{rev: 2, prob: 0.6, want: store.Created}, {rev: 2, prob: 0.99, want: store.Unchanged}}, 0.6, 2, schema.StatusOpen, ""},
		{"creation sets triage", []step{{rev: 1, prob: 0.6, status: schema.StatusAcknowledged, notes: "seen", want: store.Created}}, 0.6, 1, schema.StatusAcknowledged, "seen"},
		{"detection never sets triage after creation", []step{
			{rev: 1, prob: 0.6, want: store.Created},
			{rev: 2, prob: 0.7, status: schema.StatusResolved, notes: "from detector", want: store.Updated},
		}, 0.7, 2, schema.StatusOpen, ""},
		{"analyst change survives detection update", []step{
			{rev: 1, prob: 0.6, want: store.Created},
			{triage: ptr(schema.StatusInvestigating)},
			{rev: 2, prob: 0.8, status: schema.StatusOpen, want: store.Updated},
		}, 0.8, 2, schema.StatusInvestigating, ""},
		{"api-origin echo", []step{
			{rev: 4, prob: 0.6, want: store.Created},
			{triage: ptr(schema.StatusResolved)},
			// The echo carries the triaged state and the same revision.
			{rev: 4, prob: 0.6, status: schema.StatusResolved, want: store.Unchanged},
			// A stale echo from before the change must not reopen it either.
			{rev: 4, prob: 0.6, status: schema.StatusOpen, want: store.Unchanged},
		}, 0.6, 4, schema.StatusResolved, ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			endpoint := fmt.Sprintf("merge-%d", i)
			var id string
			for _, st := range c.steps {
				if st.triage != nil {
					must(s.GetAlert(ctx, auth.Everything, id))(t)
					_, _, err := s.PatchAlert(ctx, auth.Everything, id, store.Patch{Status: st.triage}, "tester", time.Unix(2000, 0))
					if err != nil {
						t.Fatal(err)
					}
					continue
				}
				a := Alert("acme", endpoint, st.rev, 1000)
				a.AttackProb = st.prob
				if st.status != "" {
					a.Status = st.status
				}
				a.Notes = st.notes
				id = a.AlertID
				ingest(t, s, a, st.want)
			}
			got := must(s.GetAlert(ctx, auth.Everything, id))(t)
			if got.AttackProb != c.wantProb || got.Revision != c.wantRev || got.Status != c.wantState || got.Notes != c.wantNotes {
				t.Fatalf("stored prob=%v rev=%d status=%s notes=%q; want %v %d %s %q",
					got.AttackProb, got.Revision, got.Status, got.Notes, c.wantProb, c.wantRev, c.wantState, c.wantNotes)
			}
		})
	}
}

func testIngestTenantMismatch(t *testing.T, s store.Store) {
	a := Alert("acme", "ep1", 1, 1000)
	ingest(t, s, a, store.Created)
	b := *a
	b.TenantID = "evil"
	b.Revision = 2
	if _, err := s.IngestAlert(ctx, &b); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("cross-tenant overwrite: err = %v", err)
	}
	b.Revision = 1
	if _, err := s.IngestAlert(ctx, &b); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("cross-tenant same revision: err = %v", err)
	}
	got := must(s.GetAlert(ctx, auth.Everything, a.AlertID))(t)
	if got.TenantID != "acme" {
		t.Fatalf("tenant changed to %s", got.TenantID)
	}
}

// Several writers (think: API replicas consuming the same record, or a
// redelivery racing the original) ingest the same alert at once.
func testIngestConcurrent(t *testing.T, s store.Store) {
	const writers = 8
	var wg sync.WaitGroup
	results := make(chan store.IngestResult, writers*3)
	errs := make(chan error, writers*3)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rev := int64(1); rev <= 3; rev++ {
				a := Alert("acme", "race", rev, 1000)
				a.OccurrenceCount = int(rev)
				_ = w
				r, err := s.IngestAlert(ctx, a)
				if err != nil {
					errs <- err
					return
				}
				results <- r
			}
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	created := 0
	for r := range results {
		if r == store.Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("created %d times, want once", created)
	}
	got := must(s.GetAlert(ctx, auth.Everything, Alert("acme", "race", 1, 1000).AlertID))(t)
	if got.Revision != 3 || got.OccurrenceCount != 3 {
		t.Fatalf("final revision %d count %d, want 3 3", got.Revision, got.OccurrenceCount)
	}
}

func testTenantIsolation(t *testing.T, s store.Store) {
	a := Alert("acme", "ep1", 1, 1000)
	b := Alert("globex", "ep1", 1, 1001)
	ingest(t, s, a, store.Created)
	ingest(t, s, b, store.Created)
	acme := auth.NewScope([]string{"acme"})
	none := auth.Scope{}
	if _, err := s.GetAlert(ctx, acme, b.AlertID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme sees globex alert: %v", err)
	}
	if _, _, err := s.PatchAlert(ctx, acme, b.AlertID, store.Patch{Notes: ptr("x")}, "t", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme patches globex alert: %v", err)
	}
	if _, err := s.AddFeedback(ctx, acme, schema.Feedback{AlertID: b.AlertID, At: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acme gives feedback on globex alert: %v", err)
	}
	pg := must(s.ListAlerts(ctx, store.AlertQuery{Scope: acme}))(t)
	if pg.Total != 1 || pg.Alerts[0].TenantID != "acme" {
		t.Fatalf("acme list = %+v", pg)
	}
	pg = must(s.ListAlerts(ctx, store.AlertQuery{Scope: acme, TenantID: "globex"}))(t)
	if pg.Total != 0 || len(pg.Alerts) != 0 {
		t.Fatalf("acme list of globex = %+v", pg)
	}
	pg = must(s.ListAlerts(ctx, store.AlertQuery{Scope: none}))(t)
	if pg.Total != 0 {
		t.Fatalf("empty scope sees %d", pg.Total)
	}
	if n := must(s.CountAlerts(ctx, acme))(t); n != 1 {
		t.Fatalf("acme count = %d", n)
	}
	eps := must(s.ListEndpoints(ctx, store.EndpointQuery{Scope: acme}))(t)
	if eps.Total != 1 || eps.Endpoints[0].TenantID != "acme" {
		t.Fatalf("acme endpoints = %+v", eps)
	}
	// The original still works in its own tenant.
	must(s.GetAlert(ctx, auth.NewScope([]string{"globex"}), b.AlertID))(t)
}

func testListFilters(t *testing.T, s store.Store) {
	mk := func(tenant, ep string, last float64, sev schema.Severity, kind schema.AlertKind, title string, tech ...string) *schema.Alert {
		a := Alert(tenant, ep, 1, last)
		a.Severity, a.Kind, a.Title, a.TTPTechniques = sev, kind, title, tech
		return a
	}
	alerts := []*schema.Alert{
		mk("acme", "ws1", 100, schema.SeverityLow, schema.AlertKindEndpoint, "Encoded PowerShell", "T1059.001"),
		mk("acme", "ws2", 200, schema.SeverityHigh, schema.AlertKindEndpoint, "LSASS access", "T1003.001"),
		mk("acme", "ws3", 300, schema.SeverityCritical, schema.AlertKindLateralMovement, "Lateral movement ws1 -> ws3", "T1021.002"),
		mk("globex", "srv1", 400, schema.SeverityMedium, schema.AlertKindEndpoint, "Cron persistence", "T1053.003"),
		mk("globex", "srv1", 50, schema.SeverityMedium, schema.AlertKindEndpoint, "Old finding"),
	}
	for _, a := range alerts {
		ingest(t, s, a, store.Created)
	}
	_, _, err := s.PatchAlert(ctx, auth.Everything, alerts[1].AlertID, store.Patch{Status: ptr(schema.StatusAcknowledged), Notes: ptr("Mimikatz confirmed by IR")}, "t", time.Unix(500, 0))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(as ...*schema.Alert) []string {
		out := make([]string, len(as))
		for i, a := range as {
			out[i] = a.AlertID
		}
		return out
	}
	cases := []struct {
		name string
		q    store.AlertQuery
		want []string // in list order
	}{
		{"all newest first", store.AlertQuery{}, ids(alerts[3], alerts[2], alerts[1], alerts[0], alerts[4])},
		{"tenant", store.AlertQuery{TenantID: "acme"}, ids(alerts[2], alerts[1], alerts[0])},
		{"status", store.AlertQuery{Statuses: []schema.AlertStatus{schema.StatusAcknowledged}}, ids(alerts[1])},
		{"two statuses", store.AlertQuery{Statuses: []schema.AlertStatus{schema.StatusAcknowledged, schema.StatusOpen}, TenantID: "acme"}, ids(alerts[2], alerts[1], alerts[0])},
		{"severity", store.AlertQuery{Severities: []schema.Severity{schema.SeverityCritical, schema.SeverityLow}}, ids(alerts[2], alerts[0])},
		{"kind", store.AlertQuery{Kinds: []schema.AlertKind{schema.AlertKindLateralMovement}}, ids(alerts[2])},
		{"endpoint", store.AlertQuery{EndpointID: "srv1"}, ids(alerts[3], alerts[4])},
		{"hostname", store.AlertQuery{Hostname: "host-ws2"}, ids(alerts[1])},
		{"since", store.AlertQuery{Since: 200}, ids(alerts[3], alerts[2], alerts[1])},
		{"until", store.AlertQuery{Until: 100}, ids(alerts[0], alerts[4])},
		{"range", store.AlertQuery{Since: 150, Until: 350}, ids(alerts[2], alerts[1])},
		{"text in title", store.AlertQuery{Text: "powershell"}, ids(alerts[0])},
		{"text in notes", store.AlertQuery{Text: "MIMIKATZ"}, ids(alerts[1])},
		{"text technique", store.AlertQuery{Text: "t1053"}, ids(alerts[3])},
		{"text hostname", store.AlertQuery{Text: "host-srv"}, ids(alerts[3], alerts[4])},
		{"text with like metacharacters", store.AlertQuery{Text: "%"}, []string{}},
		{"text underscore", store.AlertQuery{Text: "_"}, []string{}},
		{"no match", store.AlertQuery{TenantID: "initech"}, []string{}},
		{"combined", store.AlertQuery{TenantID: "acme", Severities: []schema.Severity{schema.SeverityHigh, schema.SeverityCritical}, Statuses: []schema.AlertStatus{schema.StatusOpen}}, ids(alerts[2])},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.Scope = auth.Everything
			pg := must(s.ListAlerts(ctx, c.q))(t)
			got := make([]string, len(pg.Alerts))
			for i, a := range pg.Alerts {
				got[i] = a.AlertID
				if a.History != nil {
					t.Errorf("list returns history")
				}
			}
			if !slices.Equal(got, c.want) || pg.Total != len(c.want) {
				t.Fatalf("got %v (total %d), want %v", got, pg.Total, c.want)
			}
		})
	}
}

func testListPaging(t *testing.T, s store.Store) {
	const n = 25
	var want []string
	for i := range n {
		// Equal last_seen in pairs: the alert id must break ties stably.
		a := Alert("acme", fmt.Sprintf("ep%02d", i), 1, float64(1000+i/2))
		ingest(t, s, a, store.Created)
	}
	all := must(s.ListAlerts(ctx, store.AlertQuery{Scope: auth.Everything, Limit: 1000}))(t)
	for _, a := range all.Alerts {
		want = append(want, a.AlertID)
	}
	if len(want) != n {
		t.Fatalf("listed %d", len(want))
	}
	var got []string
	for off := 0; off < n; off += 7 {
		pg := must(s.ListAlerts(ctx, store.AlertQuery{Scope: auth.Everything, Limit: 7, Offset: off}))(t)
		if pg.Total != n {
			t.Fatalf("total %d", pg.Total)
		}
		for _, a := range pg.Alerts {
			got = append(got, a.AlertID)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged order differs:\n%v\n%v", got, want)
	}
	pg := must(s.ListAlerts(ctx, store.AlertQuery{Scope: auth.Everything, Offset: 1000}))(t)
	if pg.Total != n || len(pg.Alerts) != 0 || pg.Alerts == nil {
		t.Fatalf("past the end: %+v", pg)
	}
	pg = must(s.ListAlerts(ctx, store.AlertQuery{Scope: auth.Everything}))(t)
	if len(pg.Alerts) != n {
		t.Fatalf("default limit returned %d", len(pg.Alerts))
	}
}

func testPatchTransitions(t *testing.T, s store.Store) {
	all := schema.AllStatuses
	i := 0
	for _, from := range all {
		for _, to := range all {
			i++
			a := Alert("acme", fmt.Sprintf("tr-%d", i), 1, 1000)
			a.Status = from
			ingest(t, s, a, store.Created)
			got, changes, err := s.PatchAlert(ctx, auth.Everything, a.AlertID, store.Patch{Status: ptr(to)}, "t", time.Unix(1500, 0))
			allowed := store.CanTransition(from, to)
			switch {
			case allowed && err != nil:
				t.Errorf("%s -> %s: %v", from, to, err)
			case !allowed && !errors.Is(err, store.ErrTransition):
				t.Errorf("%s -> %s: err = %v, want ErrTransition", from, to, err)
			case allowed && got.Status != to:
				t.Errorf("%s -> %s: status %s", from, to, got.Status)
			case allowed && (len(changes) == 1) != (from != to):
				t.Errorf("%s -> %s: %d audit entries", from, to, len(changes))
			}
			if !allowed {
				cur := must(s.GetAlert(ctx, auth.Everything, a.AlertID))(t)
				if cur.Status != from || len(cur.History) != 0 {
					t.Errorf("%s -> %s refused but stored status %s, %d history", from, to, cur.Status, len(cur.History))
				}
			}
		}
	}
	// The table itself: closed alerts only reopen.
	for _, closed := range []schema.AlertStatus{schema.StatusResolved, schema.StatusFalsePositive} {
		for _, to := range all {
			if store.CanTransition(closed, to) != (to == closed || to == schema.StatusOpen) {
				t.Errorf("table: %s -> %s", closed, to)
			}
		}
	}
}

func testPatchFieldsAndHistory(t *testing.T, s store.Store) {
	a := Alert("acme", "ep1", 1, 1000)
	ingest(t, s, a, store.Created)
	at := time.Unix(2000, 0)
	got, changes, err := s.PatchAlert(ctx, auth.Everything, a.AlertID, store.Patch{
		Status: ptr(schema.StatusAcknowledged), Assignee: ptr("alice"), Notes: ptr("looking"), Comment: "triage",
	}, "alice (token t1)", at)
	if err != nil {
		t.Fatal(err)
	}
	want := []schema.StatusChange{
		{At: 2000, Actor: "alice (token t1)", Field: "status", From: "open", To: "acknowledged", Comment: "triage"},
		{At: 2000, Actor: "alice (token t1)", Field: "assignee", From: "", To: "alice", Comment: "triage"},
		{At: 2000, Actor: "alice (token t1)", Field: "notes", From: "", To: "looking", Comment: "triage"},
	}
	if !slices.Equal(changes, want) || !slices.Equal(got.History, want) {
		t.Fatalf("changes %+v\nhistory %+v\nwant %+v", changes, got.History, want)
	}
	if got.Status != schema.StatusAcknowledged || got.Assignee != "alice" || got.Notes != "looking" || got.UpdatedAt != 2000 {
		t.Fatalf("alert %+v", got)
	}
	// Same values again: nothing changes, nothing is audited.
	_, changes, err = s.PatchAlert(ctx, auth.Everything, a.AlertID, store.Patch{Status: ptr(schema.StatusAcknowledged), Notes: ptr("looking")}, "bob", at.Add(time.Second))
	if err != nil || len(changes) != 0 {
		t.Fatalf("no-op patch: %v, %d changes", err, len(changes))
	}
	// Unassign, then the full history comes back in order from GetAlert.
	_, _, err = s.PatchAlert(ctx, auth.Everything, a.AlertID, store.Patch{Assignee: ptr("")}, "bob", at.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cur := must(s.GetAlert(ctx, auth.Everything, a.AlertID))(t)
	if len(cur.History) != 4 || cur.History[3].Field != "assignee" || cur.History[3].From != "alice" || cur.History[3].To != "" || cur.History[3].Actor != "bob" {
		t.Fatalf("history %+v", cur.History)
	}
	// Notes are searchable after the patch.
	pg := must(s.ListAlerts(ctx, store.AlertQuery{Scope: auth.Everything, Text: "LOOKING"}))(t)
	if pg.Total != 1 {
		t.Fatalf("notes not searchable: %d", pg.Total)
	}
	if _, _, err := s.PatchAlert(ctx, auth.Everything, "absent", store.Patch{Notes: ptr("x")}, "t", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
}

// Concurrent analysts (possibly on different replicas): every change is
// applied and audited exactly once.
func testPatchConcurrent(t *testing.T, s store.Store) {
	a := Alert("acme", "ep1", 1, 1000)
	ingest(t, s, a, store.Created)
	const writers = 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.PatchAlert(ctx, auth.Everything, a.AlertID, store.Patch{Notes: ptr(fmt.Sprintf("note %d", i))}, fmt.Sprintf("analyst%d", i), time.Unix(int64(3000+i), 0))
			errs <- err
		}()
	}
	// Ingest updates race with the patches; they must not undo them.
	for rev := int64(2); rev <= 4; rev++ {
		ingest(t, s, Alert("acme", "ep1", rev, 1000), store.Updated)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	cur := must(s.GetAlert(ctx, auth.Everything, a.AlertID))(t)
	if len(cur.History) != writers || cur.Revision != 4 {
		t.Fatalf("history %d entries, revision %d", len(cur.History), cur.Revision)
	}
	// The chain of from -> to values is unbroken: each change saw the last.
	prev := ""
	for _, h := range cur.History {
		if h.From != prev {
			t.Fatalf("lost update: %+v follows %q", h, prev)
		}
		prev = h.To
	}
	if cur.Notes != prev {
		t.Fatalf("notes %q, last audited %q", cur.Notes, prev)
	}
}

func testDetectionAfterClose(t *testing.T, s store.Store) {
	a := Alert("acme", "ep1", 1, 1000)
	ingest(t, s, a, store.Created)
	if _, _, err := s.PatchAlert(ctx, auth.Everything, a.AlertID, store.Patch{Status: ptr(schema.StatusResolved), Notes: ptr("contained")}, "alice", time.Unix(1100, 0)); err != nil {
		t.Fatal(err)
	}
	upd := Alert("acme", "ep1", 2, 1000)
	upd.LastSeen, upd.OccurrenceCount, upd.Severity = 1200, 5, schema.SeverityCritical
	upd.InferenceIDs = []string{"inf-1", "inf-2"}
	ingest(t, s, upd, store.Updated)
	cur := must(s.GetAlert(ctx, auth.Everything, a.AlertID))(t)
	if cur.Status != schema.StatusResolved || cur.Notes != "contained" || len(cur.History) != 2 {
		t.Fatalf("triage clobbered: %+v", cur)
	}
	if cur.LastSeen != 1200 || cur.OccurrenceCount != 5 || cur.Severity != schema.SeverityCritical || len(cur.InferenceIDs) != 2 {
		t.Fatalf("detection not applied: %+v", cur)
	}
	if cur.CreatedAt != a.CreatedAt {
		t.Fatalf("created_at changed")
	}
}

func testEndpoints(t *testing.T, s store.Store) {
	a1 := Alert("acme", "ws1", 1, 100)
	a1.AttackProb, a1.Severity = 0.7, schema.SeverityMedium
	a2 := Alert("acme", "ws1", 1, 300)
	a2.AttackProb, a2.Severity, a2.Platform = 0.95, schema.SeverityCritical, schema.PlatformWindows
	a3 := Alert("acme", "lx1", 1, 200)
	a3.Platform, a3.Hostname = schema.PlatformLinux, "build-server"
	a4 := Alert("globex", "ws1", 1, 50)
	noEndpoint := Alert("acme", "", 1, 400)
	noEndpoint.Kind = schema.AlertKindLateralMovement
	for _, a := range []*schema.Alert{a1, a2, a3, a4, noEndpoint} {
		ingest(t, s, a, store.Created)
	}
	if _, _, err := s.PatchAlert(ctx, auth.Everything, a1.AlertID, store.Patch{Status: ptr(schema.StatusResolved)}, "t", time.Unix(500, 0)); err != nil {
		t.Fatal(err)
	}
	pg := must(s.ListEndpoints(ctx, store.EndpointQuery{Scope: auth.Everything}))(t)
	if pg.Total != 3 || len(pg.Endpoints) != 3 {
		t.Fatalf("endpoints %+v", pg)
	}
	ws1 := pg.Endpoints[0]
	if ws1.TenantID != "acme" || ws1.EndpointID != "ws1" || ws1.AlertCount != 2 || ws1.LastSeen != 300 ||
		ws1.MaxAttackProb != 0.95 || ws1.MaxSeverity != "critical" || ws1.Platform != "windows" || ws1.Hostname != "host-ws1" {
		t.Fatalf("ws1 summary %+v", ws1)
	}
	if ws1.AlertsByStatus["open"] != 1 || ws1.AlertsByStatus["resolved"] != 1 || len(ws1.AlertsByStatus) != len(schema.AllStatuses) {
		t.Fatalf("ws1 by status %+v", ws1.AlertsByStatus)
	}
	if pg.Endpoints[1].EndpointID != "lx1" || pg.Endpoints[1].Platform != "linux" || pg.Endpoints[2].TenantID != "globex" {
		t.Fatalf("order %+v", pg.Endpoints)
	}
	pg = must(s.ListEndpoints(ctx, store.EndpointQuery{Scope: auth.Everything, Text: "BUILD"}))(t)
	if pg.Total != 1 || pg.Endpoints[0].EndpointID != "lx1" {
		t.Fatalf("text filter %+v", pg)
	}
	pg = must(s.ListEndpoints(ctx, store.EndpointQuery{Scope: auth.Everything, TenantID: "acme", Limit: 1, Offset: 1}))(t)
	if pg.Total != 2 || len(pg.Endpoints) != 1 || pg.Endpoints[0].EndpointID != "lx1" {
		t.Fatalf("paging %+v", pg)
	}
}

func testFeedback(t *testing.T, s store.Store) {
	a := Alert("acme", "ep1", 1, 1000)
	b := Alert("globex", "ep9", 1, 1000)
	ingest(t, s, a, store.Created)
	ingest(t, s, b, store.Created)
	r1 := must(s.AddFeedback(ctx, auth.Everything, schema.Feedback{AlertID: a.AlertID, IsTruePositive: true, Note: "confirmed", Actor: "alice", At: 10}))(t)
	r2 := must(s.AddFeedback(ctx, auth.Everything, schema.Feedback{AlertID: a.AlertID, IsTruePositive: false, Note: "actually admin tooling", Actor: "bob", At: 20}))(t)
	must(s.AddFeedback(ctx, auth.Everything, schema.Feedback{AlertID: b.AlertID, IsTruePositive: true, Actor: "carol", At: 30}))(t)
	if r1.ID == 0 || r2.ID <= r1.ID || r1.TenantID != "acme" || r1.EndpointID != "ep1" || r1.ModelVersion != "win-1" || !slices.Equal(r1.InferenceIDs, []string{"inf-1"}) {
		t.Fatalf("records %+v %+v", r1, r2)
	}
	if _, err := s.AddFeedback(ctx, auth.Everything, schema.Feedback{AlertID: "absent", At: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent alert: %v", err)
	}
	cur := must(s.GetAlert(ctx, auth.Everything, a.AlertID))(t)
	if len(cur.History) != 2 || cur.History[0].Field != "feedback" || cur.History[0].To != "true_positive" ||
		cur.History[1].To != "false_positive" || cur.History[1].Actor != "bob" || cur.History[1].Comment != "actually admin tooling" {
		t.Fatalf("feedback audit %+v", cur.History)
	}
	all := must(s.ListFeedback(ctx, store.FeedbackQuery{Scope: auth.Everything}))(t)
	if all.Total != 3 || all.Feedback[0].ID != r1.ID || all.Feedback[0].Note != "confirmed" || !all.Feedback[0].IsTruePositive || all.Feedback[1].IsTruePositive {
		t.Fatalf("export %+v", all)
	}
	acme := must(s.ListFeedback(ctx, store.FeedbackQuery{Scope: auth.NewScope([]string{"acme"})}))(t)
	if acme.Total != 2 {
		t.Fatalf("acme export %d", acme.Total)
	}
	since := must(s.ListFeedback(ctx, store.FeedbackQuery{Scope: auth.Everything, Since: 15, Until: 25}))(t)
	if since.Total != 1 || since.Feedback[0].Actor != "bob" {
		t.Fatalf("time filter %+v", since)
	}
	pg := must(s.ListFeedback(ctx, store.FeedbackQuery{Scope: auth.Everything, TenantID: "globex", Limit: 1}))(t)
	if pg.Total != 1 || pg.Feedback[0].TenantID != "globex" {
		t.Fatalf("tenant filter %+v", pg)
	}
}

func testTokens(t *testing.T, s store.Store) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	tok, _, err := auth.NewToken("ci", auth.RoleViewer, []string{"acme", "globex"}, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	tok.CreatedBy = "admin"
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, tok); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	got := must(s.TokenByID(ctx, tok.ID))(t)
	if got.Name != "ci" || got.Role != auth.RoleViewer || !slices.Equal(got.Tenants, tok.Tenants) || got.Hash != tok.Hash ||
		got.CreatedBy != "admin" || !got.CreatedAt.Equal(now.Truncate(time.Millisecond)) || !got.ExpiresAt.Equal(now.Add(24*time.Hour).Truncate(time.Millisecond)) || !got.RevokedAt.IsZero() {
		t.Fatalf("token round trip %+v", got)
	}
	_, err = s.TokenByID(ctx, "nope")
	if !errors.Is(err, store.ErrNotFound) || !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("absent token: %v", err)
	}
	tok2, _, _ := auth.NewToken("admin", auth.RoleAdmin, []string{"*"}, 0, now.Add(time.Minute))
	if err := s.CreateToken(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	list := must(s.ListTokens(ctx))(t)
	if len(list) != 2 || list[0].ID != tok.ID || list[1].ID != tok2.ID || !list[1].ExpiresAt.IsZero() {
		t.Fatalf("list %+v", list)
	}
	at := now.Add(time.Hour)
	if err := s.RevokeToken(ctx, tok.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, tok.ID, at.Add(time.Hour)); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	got = must(s.TokenByID(ctx, tok.ID))(t)
	if !got.RevokedAt.Equal(at.Truncate(time.Millisecond)) || got.Active(at) {
		t.Fatalf("revoked token %+v", got)
	}
	if err := s.RevokeToken(ctx, "nope", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke absent: %v", err)
	}
}

// recorder is a publisher that remembers what it was given and fails on
// demand.
type recorder struct {
	mu     sync.Mutex
	got    []*schema.Alert
	failOn string // alert id whose publish fails
}

func (r *recorder) publish(_ context.Context, a *schema.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.AlertID == r.failOn {
		return errors.New("broker unavailable")
	}
	r.got = append(r.got, a)
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.got))
	for i, a := range r.got {
		out[i] = a.AlertID
	}
	return out
}

// A triage change is queued with the change itself and published, with the
// alert's current state, until a publish succeeds; failures keep it queued.
func testTriageOutbox(t *testing.T, s store.Store) {
	a, b := Alert("acme", "ep1", 1, 1000), Alert("acme", "ep2", 1, 1000)
	ingest(t, s, a, store.Created)
	ingest(t, s, b, store.Created)
	drain := func(r *recorder, max int) (int, int, error) {
		t.Helper()
		return s.DrainTriage(ctx, max, r.publish)
	}
	// Detection records queue nothing.
	if n, pending, err := drain(&recorder{}, 10); n != 0 || pending != 0 || err != nil {
		t.Fatalf("empty outbox: %d published, %d pending, %v", n, pending, err)
	}
	patch := func(id string, p store.Patch, sec int64) {
		t.Helper()
		if _, _, err := s.PatchAlert(ctx, auth.Everything, id, p, "alice", time.Unix(sec, 0)); err != nil {
			t.Fatal(err)
		}
	}
	patch(a.AlertID, store.Patch{Status: ptr(schema.StatusAcknowledged)}, 2000)
	patch(b.AlertID, store.Patch{Notes: ptr("benign admin script")}, 2001)
	patch(a.AlertID, store.Patch{Status: ptr(schema.StatusResolved), Comment: "contained"}, 2002)
	patch(a.AlertID, store.Patch{Status: ptr(schema.StatusResolved)}, 2003) // no change: not queued

	// The broker is down for a: nothing is published, nothing forgotten.
	r := &recorder{failOn: a.AlertID}
	n, pending, err := drain(r, 10)
	if err == nil || n != 0 || pending != 3 || len(r.ids()) != 0 {
		t.Fatalf("failing publish: %d published, %d pending, err %v, got %v", n, pending, err, r.ids())
	}
	// One entry at a time: the oldest first, with the alert's current state
	// (a store may take all of that alert's entries together).
	r = &recorder{}
	if n, pending, err = drain(r, 1); n != 1 || pending < 1 || pending > 2 || err != nil {
		t.Fatalf("max 1: %d published, %d pending, %v", n, pending, err)
	}
	got := r.got[0]
	if got.AlertID != a.AlertID || got.Status != schema.StatusResolved || len(got.History) != 2 || got.History[1].Comment != "contained" {
		t.Fatalf("published %+v", got)
	}
	// While b fails, b's entry stays queued.
	r = &recorder{failOn: b.AlertID}
	n, pending, err = drain(r, 10)
	if err == nil || n > 1 || pending < 1 || slices.Contains(r.ids(), b.AlertID) {
		t.Fatalf("b failing: %d published, %d pending, %v, %v", n, pending, err, r.ids())
	}
	// The broker is back: whatever is left goes, b included.
	r = &recorder{}
	if n, pending, err = drain(r, 10); n < 1 || pending != 0 || err != nil || !slices.Contains(r.ids(), b.AlertID) {
		t.Fatalf("rest: %d published, %d pending, %v, %v", n, pending, err, r.ids())
	}
	for _, got := range r.got {
		if got.AlertID == b.AlertID && (got.Notes != "benign admin script" || len(got.History) != 1) {
			t.Fatalf("b published as %+v", got)
		}
	}
	if n, pending, err = drain(r, 10); n != 0 || pending != 0 || err != nil {
		t.Fatalf("drained outbox: %d published, %d pending, %v", n, pending, err)
	}
}

// Two drainers at once (two API replicas on one database, or a retry
// overlapping the next tick) publish every queued change exactly once.
func testTriageOutboxConcurrent(t *testing.T, s store.Store) {
	const alerts = 40
	want := make([]string, 0, alerts)
	for i := range alerts {
		a := Alert("acme", fmt.Sprintf("ep%d", i), 1, 1000)
		ingest(t, s, a, store.Created)
		if _, _, err := s.PatchAlert(ctx, auth.Everything, a.AlertID, store.Patch{Status: ptr(schema.StatusInvestigating)}, "alice", time.Unix(2000, 0)); err != nil {
			t.Fatal(err)
		}
		want = append(want, a.AlertID)
	}
	r := &recorder{}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, _, err := s.DrainTriage(ctx, 7, r.publish)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	got := r.ids()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("published %d (%v), want each of %d once", len(got), got, alerts)
	}
}

// While analysts keep changing an alert and two drainers publish it, every
// published state is one that was committed: its status is the one its
// history ends with (no mix of an old document and a newer history).
func testTriageOutboxConsistent(t *testing.T, s store.Store) {
	a := Alert("acme", "ep1", 1, 1000)
	ingest(t, s, a, store.Created)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var published []*schema.Alert
	publish := func(_ context.Context, x *schema.Alert) error {
		mu.Lock()
		published = append(published, x)
		mu.Unlock()
		return nil
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.DrainTriage(ctx, 5, publish); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	statuses := []schema.AlertStatus{schema.StatusAcknowledged, schema.StatusInvestigating}
	for i := range 60 {
		if _, _, err := s.PatchAlert(ctx, auth.Everything, a.AlertID, store.Patch{Status: ptr(statuses[i%2])}, "alice", time.Unix(int64(2000+i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if _, _, err := s.DrainTriage(ctx, 100, publish); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(published) == 0 {
		t.Fatal("nothing published")
	}
	for _, p := range published {
		last := ""
		for _, h := range p.History {
			if h.Field == "status" {
				last = h.To
			}
		}
		if last != "" && string(p.Status) != last {
			t.Fatalf("published status %s with a history ending in %s (%d entries)", p.Status, last, len(p.History))
		}
	}
}

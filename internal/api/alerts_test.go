package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

func listIDs(t *testing.T, r resp) ([]string, alertList) {
	t.Helper()
	var l alertList
	r.json(t, &l)
	ids := make([]string, len(l.Alerts))
	for i, a := range l.Alerts {
		ids[i] = a.AlertID
	}
	return ids, l
}

func TestListAlerts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a1 := alert("acme", "ws1", 1000)
	a1.Severity, a1.Title, a1.TTPTechniques = schema.SeverityLow, "Encoded PowerShell", []string{"T1059.001"}
	a2 := alert("acme", "ws2", 2000)
	a2.Severity, a2.Hostname, a2.TTPTechniques = schema.SeverityCritical, "dc01", []string{"T1003.001"}
	a3 := alert("acme", "ws3", 3000)
	a3.Kind, a3.TTPTechniques = schema.AlertKindLateralMovement, nil
	g1 := alert("globex", "srv1", 4000)
	e.seed(a1, a2, a3, g1)
	iso := func(sec int64) string { return url.QueryEscape(time.Unix(sec, 0).UTC().Format(time.RFC3339)) }
	cases := []struct {
		name  string
		query string
		as    string
		want  []string
	}{
		{"viewer sees own tenant only", "", "viewer", []string{a3.AlertID, a2.AlertID, a1.AlertID}},
		{"admin sees all", "", "admin", []string{g1.AlertID, a3.AlertID, a2.AlertID, a1.AlertID}},
		{"tenant filter", "tenant_id=globex", "admin", []string{g1.AlertID}},
		{"other tenant is empty, not an error", "tenant_id=globex", "viewer", []string{}},
		{"status", "status=open", "viewer", []string{a3.AlertID, a2.AlertID, a1.AlertID}},
		{"status none", "status=resolved", "viewer", []string{}},
		{"severity list", "severity=low,critical", "viewer", []string{a2.AlertID, a1.AlertID}},
		{"alert type", "alert_type=lateral_movement", "viewer", []string{a3.AlertID}},
		{"endpoint", "endpoint_id=ws2", "viewer", []string{a2.AlertID}},
		{"hostname case-insensitive", "hostname=DC01", "viewer", []string{a2.AlertID}},
		{"since epoch", "since=2000", "viewer", []string{a3.AlertID, a2.AlertID}},
		{"until rfc3339", "until=" + iso(1500), "viewer", []string{a1.AlertID}},
		{"range fractional epoch", "since=1999.5&until=2000.5", "viewer", []string{a2.AlertID}},
		{"text technique", "q=t1059", "viewer", []string{a1.AlertID}},
		{"text title", "q=powershell", "viewer", []string{a1.AlertID}},
		{"limit and offset", "limit=1&offset=1", "viewer", []string{a2.AlertID}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(req{method: "GET", path: "/alerts?" + c.query, as: c.as})
			if r.Code != 200 {
				t.Fatalf("%d %s", r.Code, r.raw)
			}
			ids, l := listIDs(t, r)
			if !slices.Equal(ids, c.want) {
				t.Fatalf("got %v want %v", ids, c.want)
			}
			if c.query == "limit=1&offset=1" && (l.Total != 3 || l.Limit != 1 || l.Offset != 1) {
				t.Fatalf("paging fields %+v", l)
			}
		})
	}
	// Defaults are echoed.
	_, l := listIDs(t, e.do(req{method: "GET", path: "/alerts", as: "viewer"}))
	if l.Limit != 100 || l.Offset != 0 || l.Total != 3 {
		t.Fatalf("defaults %+v", l)
	}
	// Lists carry no history but do carry the SPEC fields.
	r := e.do(req{method: "GET", path: "/alerts", as: "viewer"})
	for _, field := range []string{`"alert_id"`, `"tenant_id"`, `"status":"open"`, `"severity"`, `"attack_prob"`, `"first_seen"`, `"last_seen"`, `"occurrence_count"`, `"inference_ids"`, `"ttp_techniques"`, `"notes"`} {
		if !strings.Contains(string(r.raw), field) {
			t.Errorf("list lacks %s", field)
		}
	}
	if strings.Contains(string(r.raw), `"history"`) {
		t.Error("list carries history")
	}
}

func TestListAlertsBadParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct{ query, field string }{
		{"status=closed", "status"},
		{"status=open,bogus", "status"},
		{"status=OPEN", "status"},
		{"severity=severe", "severity"},
		{"alert_type=host", "alert_type"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=ten", "limit"},
		{"limit=", "limit"},
		{"offset=-1", "offset"},
		{"offset=1.5", "offset"},
		{"since=yesterday", "since"},
		{"since=NaN", "since"},
		{"since=-5", "since"},
		{"until=2026-13-01T00:00:00Z", "until"},
		{"since=2000&until=1000", "until"},
		{"q=" + strings.Repeat("x", 201), "q"},
		{"stauts=open", "stauts"},
		{"limit=1&limit=2", "limit"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			r := e.do(req{method: "GET", path: "/alerts?" + c.query, as: "viewer"})
			if r.Code != http.StatusBadRequest {
				t.Fatalf("%d %s", r.Code, r.raw)
			}
			b := r.errMsg(t)
			d, ok := b.Detail.(map[string]any)
			if !ok || d[c.field] == nil {
				t.Fatalf("detail %v does not name %s", b.Detail, c.field)
			}
		})
	}
}

func TestGetAlert(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := alert("acme", "ws1", 1000)
	g := alert("globex", "srv1", 1000)
	e.seed(a, g)
	r := e.do(req{method: "GET", path: "/alerts/" + a.AlertID, as: "viewer"})
	if r.Code != 200 {
		t.Fatalf("%d %s", r.Code, r.raw)
	}
	var got schema.Alert
	r.json(t, &got)
	if got.AlertID != a.AlertID || got.AttackProb != a.AttackProb || got.History == nil && !strings.Contains(string(r.raw), `"history":[]`) {
		t.Fatalf("got %s", r.raw)
	}
	// Another tenant's alert and a missing one look the same: 404.
	for _, id := range []string{g.AlertID, "00000000-0000-0000-0000-000000000000"} {
		r := e.do(req{method: "GET", path: "/alerts/" + id, as: "viewer"})
		if r.Code != http.StatusNotFound {
			t.Fatalf("%s: %d", id, r.Code)
		}
	}
	if r := e.do(req{method: "GET", path: "/alerts/" + g.AlertID, as: "globex-analyst"}); r.Code != 200 {
		t.Fatalf("globex analyst: %d", r.Code)
	}
}

func TestPatchAlertTransitions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := 0
	for _, from := range schema.AllStatuses {
		for _, to := range schema.AllStatuses {
			n++
			a := alert("acme", fmt.Sprintf("ep%d", n), 1000)
			a.Status = from
			e.seed(a)
			r := e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, body: map[string]any{"status": to}, as: "analyst"})
			want := http.StatusOK
			if !store.CanTransition(from, to) {
				want = http.StatusConflict
			}
			if r.Code != want {
				t.Errorf("%s -> %s: %d, want %d: %s", from, to, r.Code, want, r.raw)
				continue
			}
			if want == http.StatusConflict {
				d, _ := r.errMsg(t).Detail.(map[string]any)
				if d["from"] != string(from) || d["to"] != string(to) || d["allowed"] == nil {
					t.Errorf("%s -> %s: conflict detail %v", from, to, d)
				}
			}
		}
	}
	// Reopen, then the path that was refused works.
	a := alert("acme", "reopen", 1000)
	e.seed(a)
	for _, step := range []struct {
		status string
		code   int
	}{{"resolved", 200}, {"acknowledged", 409}, {"open", 200}, {"acknowledged", 200}, {"investigating", 200}, {"false_positive", 200}, {"resolved", 409}} {
		r := e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, body: map[string]any{"status": step.status}, as: "analyst"})
		if r.Code != step.code {
			t.Fatalf("-> %s: %d, want %d", step.status, r.Code, step.code)
		}
	}
}

func TestPatchAlertAuditAndPublish(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := alert("acme", "ws1", 1000)
	e.seed(a)
	r := e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, as: "analyst",
		body: map[string]any{"status": "investigating", "notes": "pivoting from dc01", "assignee": " alice ", "comment": "escalated"}})
	if r.Code != 200 {
		t.Fatalf("%d %s", r.Code, r.raw)
	}
	var got schema.Alert
	r.json(t, &got)
	if got.Status != schema.StatusInvestigating || got.Notes != "pivoting from dc01" || got.Assignee != "alice" {
		t.Fatalf("alert %+v", got)
	}
	if len(got.History) != 3 {
		t.Fatalf("history %+v", got.History)
	}
	for _, h := range got.History {
		if !strings.HasPrefix(h.Actor, "analyst (token ") || h.Comment != "escalated" || h.At != float64(e.clock.Now().Unix()) {
			t.Errorf("audit entry %+v", h)
		}
	}
	if h := got.History[0]; h.Field != "status" || h.From != "open" || h.To != "investigating" {
		t.Errorf("status audit %+v", h)
	}
	pub := e.pub.published()
	if len(pub) != 1 || pub[0].AlertID != a.AlertID || pub[0].Status != schema.StatusInvestigating || len(pub[0].History) != 3 {
		t.Fatalf("published %+v", pub)
	}
	// The same values again: 200, no audit entry, nothing published.
	r = e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, as: "analyst", body: map[string]any{"status": "investigating", "assignee": "alice"}})
	if r.Code != 200 {
		t.Fatalf("no-op patch %d", r.Code)
	}
	r.json(t, &got)
	if len(got.History) != 3 || len(e.pub.published()) != 1 {
		t.Fatalf("no-op patch audited or published: %d, %d", len(got.History), len(e.pub.published()))
	}
	// GET returns the history too.
	r = e.do(req{method: "GET", path: "/alerts/" + a.AlertID, as: "viewer"})
	r.json(t, &got)
	if len(got.History) != 3 {
		t.Fatalf("GET history %+v", got.History)
	}
	// A failing publisher does not fail the analyst's change.
	e.pub.mu.Lock()
	e.pub.fail = errors.New("broker down")
	e.pub.mu.Unlock()
	r = e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, as: "analyst", body: map[string]any{"notes": "still stored"}})
	if r.Code != 200 {
		t.Fatalf("patch with failing publisher: %d", r.Code)
	}
	if !metricHas(t, e, "api_triage_publish_errors_total", 1) {
		t.Error("publish failure not counted")
	}
}

func TestPatchAlertBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := alert("acme", "ws1", 1000)
	g := alert("globex", "srv1", 1000)
	e.seed(a, g)
	path := "/alerts/" + a.AlertID
	cases := []struct {
		name   string
		path   string
		body   any
		as     string
		header map[string]string
		code   int
	}{
		{"malformed JSON", path, `{"status": "open"`, "analyst", nil, 400},
		{"not an object", path, `["open"]`, "analyst", nil, 400},
		{"wrong type", path, `{"status": 3}`, "analyst", nil, 400},
		{"unknown field", path, `{"stauts": "open"}`, "analyst", nil, 400},
		{"trailing data", path, `{"notes": "x"} {}`, "analyst", nil, 400},
		{"empty body", path, ``, "analyst", nil, 400},
		{"empty object", path, `{}`, "analyst", nil, 422},
		{"only a comment", path, `{"comment": "hi"}`, "analyst", nil, 422},
		{"bad status", path, `{"status": "closed"}`, "analyst", nil, 422},
		{"huge notes", path, map[string]string{"notes": strings.Repeat("n", maxNotes+1)}, "analyst", nil, 422},
		{"huge assignee", path, map[string]string{"assignee": strings.Repeat("a", maxAssignee+1)}, "analyst", nil, 422},
		{"NUL in notes", path, `{"notes": "a\u0000b"}`, "analyst", nil, 422},
		{"text/plain", path, `{"notes": "x"}`, "analyst", map[string]string{"Content-Type": "text/plain"}, 415},
		{"too large body", path, `{"notes": "` + strings.Repeat("x", 2<<20) + `"}`, "analyst", nil, 413},
		{"viewer may not", path, `{"notes": "x"}`, "viewer", nil, 403},
		{"no token", path, `{"notes": "x"}`, "", nil, 401},
		{"other tenant is 404", "/alerts/" + g.AlertID, `{"notes": "x"}`, "analyst", nil, 404},
		{"missing", "/alerts/nope", `{"notes": "x"}`, "analyst", nil, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(req{method: "PATCH", path: c.path, body: c.body, as: c.as, header: c.header})
			if r.Code != c.code {
				t.Fatalf("%d, want %d: %s", r.Code, c.code, r.raw)
			}
		})
	}
	cur, err := e.st.GetAlert(context.Background(), everything(), a.AlertID)
	if err != nil || len(cur.History) != 0 || cur.Notes != "" {
		t.Fatalf("refused patches changed the alert: %+v %v", cur, err)
	}
	if len(e.pub.published()) != 0 {
		t.Fatal("refused patches were published")
	}
}

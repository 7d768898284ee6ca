package api

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

func record(t *testing.T, a *schema.Alert, apiOrigin bool) *kgo.Record {
	t.Helper()
	if apiOrigin {
		rec, err := TriageRecord(a)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return bus.NewRecord(bus.TopicAlerts, a.Key(), b)
}

// The merge rules end to end through the Kafka handler: each case is a
// sequence of records (detection or api-origin) and analyst PATCHes.
func TestIngestMergeRules(t *testing.T) {
	t.Parallel()
	type step struct {
		rev      int64  // detection record with this revision
		echo     bool   // re-publish the stored alert as the API does
		patch    string // PATCH status to this
		prob     float64
		lastSeen float64
	}
	cases := []struct {
		name       string
		steps      []step
		wantStatus schema.AlertStatus
		wantRev    int64
		wantProb   float64
		wantLast   float64
		wantHist   int
		wantCounts map[string]float64 // result -> records
	}{
		{
			name:       "redelivery",
			steps:      []step{{rev: 1, prob: 0.7, lastSeen: 100}, {rev: 1, prob: 0.7, lastSeen: 100}, {rev: 1, prob: 0.7, lastSeen: 100}},
			wantStatus: schema.StatusOpen, wantRev: 1, wantProb: 0.7, wantLast: 100,
			wantCounts: map[string]float64{"created": 1, "unchanged": 2},
		},
		{
			name:       "reordering keeps the newest revision",
			steps:      []step{{rev: 1, prob: 0.6, lastSeen: 100}, {rev: 3, prob: 0.9, lastSeen: 300}, {rev: 2, prob: 0.8, lastSeen: 200}},
			wantStatus: schema.StatusOpen, wantRev: 3, wantProb: 0.9, wantLast: 300,
			wantCounts: map[string]float64{"created": 1, "updated": 1, "unchanged": 1},
		},
		{
			name:       "api-origin echo changes nothing",
			steps:      []step{{rev: 1, prob: 0.6, lastSeen: 100}, {patch: "acknowledged"}, {echo: true}, {echo: true}},
			wantStatus: schema.StatusAcknowledged, wantRev: 1, wantProb: 0.6, wantLast: 100, wantHist: 1,
			wantCounts: map[string]float64{"created": 1, "unchanged": 2},
		},
		{
			name:       "detection update after an analyst closed the alert",
			steps:      []step{{rev: 1, prob: 0.6, lastSeen: 100}, {patch: "resolved"}, {rev: 2, prob: 0.95, lastSeen: 400}},
			wantStatus: schema.StatusResolved, wantRev: 2, wantProb: 0.95, wantLast: 400, wantHist: 1,
			wantCounts: map[string]float64{"created": 1, "updated": 1},
		},
		{
			name:       "stale echo after a newer detection",
			steps:      []step{{rev: 1, prob: 0.6, lastSeen: 100}, {patch: "investigating"}, {echo: true}, {rev: 2, prob: 0.7, lastSeen: 200}},
			wantStatus: schema.StatusInvestigating, wantRev: 2, wantProb: 0.7, wantLast: 200, wantHist: 1,
			wantCounts: map[string]float64{"created": 1, "updated": 1, "unchanged": 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			reg := prometheus.NewRegistry()
			h, err := NewIngestHandler(e.st, nil, reg)
			if err != nil {
				t.Fatal(err)
			}
			id := ""
			var echoes []*kgo.Record
			for _, st := range c.steps {
				switch {
				case st.patch != "":
					r := e.do(req{method: "PATCH", path: "/alerts/" + id, as: "analyst", body: map[string]any{"status": st.patch}})
					if r.Code != 200 {
						t.Fatalf("patch: %d %s", r.Code, r.raw)
					}
					// What the API published is what the echo will carry.
					pub := e.pub.published()
					echoes = append(echoes, record(t, pub[len(pub)-1], true))
				case st.echo:
					if len(echoes) == 0 {
						t.Fatal("no echo to replay")
					}
					if _, err := h.Handle(context.Background(), echoes[len(echoes)-1]); err != nil {
						t.Fatal(err)
					}
				default:
					a := alert("acme", "ws1", 100)
					a.Revision, a.AttackProb, a.LastSeen = st.rev, st.prob, st.lastSeen
					id = a.AlertID
					if _, err := h.Handle(context.Background(), record(t, a, false)); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := e.st.GetAlert(context.Background(), auth.Everything, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != c.wantStatus || got.Revision != c.wantRev || got.AttackProb != c.wantProb || got.LastSeen != c.wantLast || len(got.History) != c.wantHist {
				t.Fatalf("stored status=%s rev=%d prob=%v last=%v history=%d", got.Status, got.Revision, got.AttackProb, got.LastSeen, len(got.History))
			}
			for result, want := range c.wantCounts {
				sum := 0.0
				for _, origin := range []string{"detection", bus.OriginAPI} {
					sum += counterValue(t, reg, "api_alerts_ingested_total", map[string]string{"result": result, "origin": origin})
				}
				if sum != want {
					t.Errorf("%s records = %v, want %v", result, sum, want)
				}
			}
		})
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// An api-origin record of an alert this store has never seen creates it
// with its triage state (another deployment's triage, or a lost detection
// record): it is a complete alert.
func TestIngestEchoOfUnknownAlertCreatesIt(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	h, err := NewIngestHandler(st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := alert("acme", "ws1", 100)
	a.Status = schema.StatusResolved
	a.History = []schema.StatusChange{{At: 1, Actor: "alice", Field: "status", From: "open", To: "resolved"}}
	if _, err := h.Handle(context.Background(), record(t, a, true)); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetAlert(context.Background(), auth.Everything, a.AlertID)
	if err != nil || got.Status != schema.StatusResolved || len(got.History) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestIngestPoisonRecords(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	h, err := NewIngestHandler(st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := alert("acme", "ws1", 100)
	if _, err := h.Handle(context.Background(), record(t, good, false)); err != nil {
		t.Fatal(err)
	}
	crossTenant := *good
	crossTenant.TenantID, crossTenant.Revision = "globex", 9
	badStatus := *alert("acme", "ws2", 100)
	badStatus.Status = "closed"
	future := *alert("acme", "ws3", 100)
	future.SchemaVersion = 99
	cases := map[string][]byte{
		"not json":         []byte("{"),
		"empty":            nil,
		"no alert id":      []byte(`{"tenant_id":"acme","alert_type":"endpoint","severity":"high","status":"open"}`),
		"bad status":       mustJSON(t, &badStatus),
		"future schema":    mustJSON(t, &future),
		"tenant overwrite": mustJSON(t, &crossTenant),
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := h.Handle(context.Background(), &kgo.Record{Topic: bus.TopicAlerts, Value: v})
			if err == nil || !bus.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
		})
	}
	got, _ := st.GetAlert(context.Background(), auth.Everything, good.AlertID)
	if got.TenantID != "acme" || got.Revision != 1 {
		t.Fatalf("poison changed the alert: %+v", got)
	}
}

type downStore struct{ store.Store }

func (downStore) IngestAlert(context.Context, *schema.Alert) (store.IngestResult, error) {
	return store.Unchanged, errors.New("connection refused")
}

// A store outage is transient: the record is retried, not skipped.
func TestIngestStoreOutageIsRetryable(t *testing.T) {
	t.Parallel()
	h, err := NewIngestHandler(downStore{store.NewMemory()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Handle(context.Background(), record(t, alert("acme", "ws1", 1), false))
	if err == nil || bus.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func TestTriageRecord(t *testing.T) {
	t.Parallel()
	a := alert("acme", "ws1", 1)
	rec, err := TriageRecord(a)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Topic != bus.TopicAlerts || string(rec.Key) != "acme:ws1" || bus.Header(rec, bus.HeaderOrigin) != bus.OriginAPI {
		t.Fatalf("record %+v", rec)
	}
	back, err := schema.DecodeAlert(rec.Value)
	if err != nil || back.AlertID != a.AlertID {
		t.Fatalf("%v %v", back, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

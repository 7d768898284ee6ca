package alerting

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

func inferenceRecord(t *testing.T, r *schema.InferenceResult) *kgo.Record {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return bus.NewRecord(bus.TopicInferenceResults, r.Key(), b)
}

func alertRecord(t *testing.T, a *schema.Alert, origin string) *kgo.Record {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	rec := bus.NewRecord(bus.TopicAlerts, a.Key(), b)
	if origin != "" {
		bus.SetHeader(rec, bus.HeaderOrigin, origin)
	}
	return rec
}

func decodeRecords(t *testing.T, recs []*kgo.Record) []*schema.Alert {
	t.Helper()
	var out []*schema.Alert
	for _, r := range recs {
		if r.Topic != bus.TopicAlerts {
			t.Fatalf("record for topic %s", r.Topic)
		}
		a, err := schema.DecodeAlert(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != RecordKey(a) {
			t.Fatalf("key %q for %s alert, want %q", r.Key, a.Kind, RecordKey(a))
		}
		out = append(out, a)
	}
	return out
}

func TestHandler(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	h := &Handler{Engine: e}
	ctx := context.Background()

	recs, err := h.Handle(ctx, inferenceRecord(t, psexecSource("s1", schema.PredictionAttack, 0.8)))
	if err != nil || len(recs) != 1 {
		t.Fatalf("recs %v err %v", recs, err)
	}
	recs, err = h.Handle(ctx, inferenceRecord(t, psexecTarget("t1", 0.9)))
	if err != nil {
		t.Fatal(err)
	}
	out := decodeRecords(t, recs)
	if len(out) != 2 || len(lateral(out)) != 1 {
		t.Fatalf("want the target alert and the incident, got %+v", out)
	}
	// decodeRecords checked every key against RecordKey.
	if inc := lateral(out)[0]; RecordKey(inc) != "acme:incident:"+inc.AlertID {
		t.Fatalf("incident key %q", RecordKey(inc))
	}

	// Our own output coming back is ignored; the API's triage is applied.
	if recs, err := h.Handle(ctx, alertRecord(t, out[0], "")); err != nil || recs != nil {
		t.Fatalf("own echo: %v %v", recs, err)
	}
	var ep *schema.Alert
	for _, a := range out {
		if a.Kind == schema.AlertKindEndpoint {
			ep = a
		}
	}
	closed := ep.Clone()
	closed.Status = schema.StatusResolved
	if _, err := h.Handle(ctx, alertRecord(t, closed, bus.OriginAPI)); err != nil {
		t.Fatal(err)
	}
	r := psexecTarget("t2", 0.9)
	r.WindowStart, r.WindowEnd = r.WindowStart+10*minute, r.WindowEnd+10*minute
	recs, err = h.Handle(ctx, inferenceRecord(t, r))
	if err != nil {
		t.Fatal(err)
	}
	var reopened *schema.Alert
	for _, a := range decodeRecords(t, recs) {
		if a.Kind == schema.AlertKindEndpoint {
			reopened = a
		}
	}
	if reopened == nil || reopened.PreviousAlertID != ep.AlertID || reopened.AlertID == ep.AlertID {
		t.Fatalf("after closure want a new alert linked to %s, got %+v", ep.AlertID, reopened)
	}

	// Poison records are permanent errors, never retried.
	for _, rec := range []*kgo.Record{
		bus.NewRecord(bus.TopicInferenceResults, "k", []byte("{not json")),
		bus.NewRecord(bus.TopicInferenceResults, "k", []byte(`{"inference_id":"x","tenant_id":"t","endpoint_id":"e","prediction":"maybe"}`)),
		func() *kgo.Record {
			rec := bus.NewRecord(bus.TopicAlerts, "k", []byte(`{"alert_id":""}`))
			bus.SetHeader(rec, bus.HeaderOrigin, bus.OriginAPI)
			return rec
		}(),
		bus.NewRecord("other-topic", "k", []byte("{}")),
	} {
		if _, err := h.Handle(ctx, rec); !bus.IsPermanent(err) {
			t.Fatalf("record %s: err %v, want permanent", rec.Value, err)
		}
	}
}

// failingState fails every update: a transient store outage.
type failingState struct{}

func (failingState) Update(context.Context, []string, func([][]byte) ([]Write, error)) error {
	return context.DeadlineExceeded
}
func (failingState) Close() error { return nil }

func TestHandlerStateOutageIsRetryable(t *testing.T) {
	t.Parallel()
	e, err := NewEngine(Config{Threshold: 0.5, DedupWindow: time.Hour, CorrelationWindow: time.Hour}, failingState{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Handler{Engine: e}).Handle(context.Background(), inferenceRecord(t, attackRes("i1", "ws6", 0.9, tBase)))
	if err == nil || bus.IsPermanent(err) {
		t.Fatalf("err %v: a store outage must be retried, not skipped", err)
	}
}

// The service end to end on the embedded broker: inference results in,
// alerts out, triage from the API honoured.
func TestServiceEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts an embedded broker")
	}
	ctx := context.Background()
	broker := bus.NewEmbedded("127.0.0.1:0", "", nil)
	if err := broker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Shutdown(ctx) })
	cfg := config.Default()
	cfg.Kafka.BootstrapServers = broker.Addrs()
	cfg.Kafka.GroupID = "alerts-e2e"
	if _, err := bus.InitTopics(ctx, cfg.Kafka); err != nil {
		t.Fatal(err)
	}
	svc, err := New(&cfg, Deps{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Shutdown(sctx)
	})

	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.BootstrapServers...), kgo.ConsumeTopics(bus.TopicAlerts),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	var (
		mu     sync.Mutex
		alerts []*schema.Alert
	)
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for pctx.Err() == nil {
			fs := cl.PollFetches(pctx)
			fs.EachRecord(func(r *kgo.Record) {
				if bus.Header(r, bus.HeaderOrigin) == bus.OriginAPI {
					return
				}
				if a, err := schema.DecodeAlert(r.Value); err == nil {
					mu.Lock()
					alerts = append(alerts, a)
					mu.Unlock()
				}
			})
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	waitAlerts := func(what string, cond func([]*schema.Alert) bool) []*schema.Alert {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			snap := append([]*schema.Alert(nil), alerts...)
			mu.Unlock()
			if cond(snap) {
				return snap
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; have %d alerts", what, len(snap))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	produce := func(recs ...*kgo.Record) {
		t.Helper()
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	produce(inferenceRecord(t, psexecSource("s1", schema.PredictionAttack, 0.8)),
		inferenceRecord(t, psexecTarget("t1", 0.9)),
		inferenceRecord(t, res("b1", "ws9", schema.PredictionBenign, 0.1, tBase, nil)))
	got := waitAlerts("two endpoint alerts and an incident", func(as []*schema.Alert) bool {
		return len(as) >= 3 && len(lateral(as)) == 1
	})
	var ws6 *schema.Alert
	for _, a := range got {
		if a.Kind == schema.AlertKindEndpoint && a.EndpointID == "ws6" {
			ws6 = a
		}
	}
	if ws6 == nil {
		t.Fatalf("no ws6 alert in %+v", got)
	}
	closed := ws6.Clone()
	closed.Status = schema.StatusFalsePositive
	produce(alertRecord(t, closed, bus.OriginAPI))
	// The triage record and the next result travel on different topics, so
	// wait until the closure has been applied before sending the result.
	deadline := time.Now().Add(30 * time.Second)
	for testutil.ToFloat64(svc.Engine().m.triage.WithLabelValues("endpoint", "false_positive")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("triage record not applied")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := psexecTarget("t2", 0.9)
	r.WindowStart, r.WindowEnd = r.WindowStart+20*minute, r.WindowEnd+20*minute
	produce(inferenceRecord(t, r))
	waitAlerts("a new ws6 alert after the false-positive verdict", func(as []*schema.Alert) bool {
		for _, a := range as {
			if a.EndpointID == "ws6" && a.Kind == schema.AlertKindEndpoint && a.PreviousAlertID == ws6.AlertID {
				return true
			}
		}
		return false
	})
}

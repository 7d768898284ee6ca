package inference

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/schema"
)

// TestEndToEndWithEmbeddedBroker runs the real service (consumer group,
// producer, memory store, random models) against the embedded broker:
// normalized events in, InferenceResults out on logster-inference-results.
func TestEndToEndWithEmbeddedBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("joins a consumer group (a few seconds)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := bus.NewEmbedded("127.0.0.1:0", "", nil)
	if err := broker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer broker.Shutdown(context.Background())
	cfg := testConfig()
	cfg.Kafka.BootstrapServers = broker.Addrs()
	cfg.Kafka.GroupID = "e2e"
	if _, err := bus.InitTopics(ctx, cfg.Kafka); err != nil {
		t.Fatal(err)
	}

	clock := newFakeClock(time.Unix(int64(T0), 0))
	reg := prometheus.NewRegistry()
	spans := tracetest.NewSpanRecorder()
	tp := trace.NewTracerProvider(trace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	var assigned = make(chan struct{}, 1)
	svc, err := NewService(cfg, testLogger(t), reg,
		WithModels(randomModels(t)), WithClock(clock), WithTick(5*time.Millisecond),
		WithConsumerConfig(func(cc *bus.ConsumerConfig) {
			cc.Tracer = tp
			cc.OnAssigned = func(context.Context, map[string][]int32) {
				select {
				case assigned <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		if err := svc.Shutdown(sctx); err != nil {
			t.Error(err)
		}
	}()

	prod, err := bus.NewProducer(cfg.Kafka, "e2e-test", nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Shutdown(context.Background())
	var recs []*kgo.Record
	endpoints := []string{"ws1", "ws2", "srv1"}
	for i, ep := range endpoints {
		for j := range 5 {
			e := ev(ep, fmt.Sprintf("%s-%d", ep, j), T0+float64(10*j+i))
			b, _ := json.Marshal(e)
			recs = append(recs, bus.NewRecord(bus.TopicNormalized, e.Key(), b))
		}
	}
	if err := prod.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	// Once every event is in the store, let the endpoints go quiet.
	deadline := time.Now().Add(60 * time.Second)
	for counter(t, reg, "window_events_total", "outcome", "added") < float64(len(recs)) {
		if time.Now().After(deadline) {
			t.Fatalf("events not consumed: %v added", counter(t, reg, "window_events_total", "outcome", "added"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-assigned:
	default:
		t.Fatal("the caller's OnAssigned hook was not chained")
	}
	clock.Advance(10 * time.Minute)

	// Each endpoint's events span one pane: 3 windows each.
	want := 3 * len(endpoints)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.BootstrapServers...), kgo.ConsumeTopics(bus.TopicInferenceResults),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]*schema.InferenceResult{}
	traced := 0
	for len(got) < want {
		if ctx.Err() != nil {
			t.Fatalf("timed out: %d of %d results", len(got), want)
		}
		svc.poke()
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		fs.EachRecord(func(r *kgo.Record) {
			res, err := schema.DecodeInference(r.Value)
			if err != nil {
				t.Fatalf("bad result on the topic: %v", err)
			}
			if string(r.Key) != res.Key() {
				t.Fatalf("record key %q for %s", r.Key, res.Key())
			}
			if bus.Header(r, "traceparent") != "" {
				traced++
			}
			got[res.InferenceID] = res
		})
	}
	for _, r := range got {
		if r.NumEvents != 5 || r.Prediction == schema.PredictionError || r.Explanation == nil || r.ModelVersion != "test-windows" {
			t.Fatalf("unexpected result: %+v", r)
		}
	}
	if traced == 0 {
		t.Fatal("results carry no trace context")
	}
	if n := counter(t, reg, "inferences_run"); n != float64(want) {
		t.Fatalf("inferences_run = %v", n)
	}
	ended := spans.Ended()
	var sawEval bool
	for _, s := range ended {
		if s.Name() == "evaluate window" {
			sawEval = true
		}
	}
	if !sawEval {
		t.Fatal("no evaluation span recorded")
	}
}

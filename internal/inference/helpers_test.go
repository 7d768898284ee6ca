package inference

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/graph"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/window"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*broker).listen"),
	)
}

// fakeClock is a wall clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t
	}
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// capture is a Publisher that keeps the results.
type capture struct {
	mu      sync.Mutex
	results []*schema.InferenceResult
	fail    int           // fail this many Produce calls first
	block   chan struct{} // when set, Produce waits for it
}

func (c *capture) Produce(ctx context.Context, recs ...*kgo.Record) error {
	if c.block != nil {
		select {
		case <-c.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return fmt.Errorf("simulated broker failure")
	}
	for _, r := range recs {
		if r.Topic != "logster-inference-results" {
			return fmt.Errorf("unexpected topic %s", r.Topic)
		}
		res, err := schema.DecodeInference(r.Value)
		if err != nil {
			return err
		}
		if string(r.Key) != res.Key() {
			return fmt.Errorf("record key %q, result key %q", r.Key, res.Key())
		}
		c.results = append(c.results, res)
	}
	return nil
}

func (c *capture) all() []*schema.InferenceResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*schema.InferenceResult(nil), c.results...)
}

func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.results)
}

var (
	modelsOnce sync.Once
	testModels Models
)

// randomModels returns random-weight models of the production shape.
func randomModels(t testing.TB) Models {
	t.Helper()
	modelsOnce.Do(func() {
		for i, p := range []schema.Platform{schema.PlatformWindows, schema.PlatformLinux} {
			cfg, err := graph.ModelConfig(p)
			if err != nil {
				panic(err)
			}
			cfg.Version = "test-" + string(p)
			m, err := gnn.New(cfg, rand.New(rand.NewPCG(uint64(i)+1, 42)))
			if err != nil {
				panic(err)
			}
			if p == schema.PlatformWindows {
				testModels.Windows = m
			} else {
				testModels.Linux = m
			}
		}
	})
	return testModels
}

// T0 is a pane-aligned event time (a multiple of 60 s).
const T0 = 1_700_000_040.0

// testConfig is the default configuration with a memory store and the
// timing the tests' event sequences are written for (30 s late tolerance,
// 30 s idle timeout), independent of the shipped defaults.
func testConfig() *config.Config {
	c := config.Default()
	c.Inference.Workers = 2
	c.Inference.LateTolerance = config.Duration(30 * time.Second)
	c.Inference.IdleTimeout = config.Duration(30 * time.Second)
	return &c
}

type harness struct {
	t     testing.TB
	s     *Service
	clock *fakeClock
	pub   *capture
	reg   *prometheus.Registry
	store window.Store
}

// newHarness builds a service with a memory store (unless one is given),
// random models, a fake clock and a capturing publisher, and starts its
// scheduler and workers without a Kafka consumer: tests drive the handler.
func newHarness(t testing.TB, cfg *config.Config, opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(time.Unix(int64(T0), 0)), pub: &capture{}, reg: prometheus.NewRegistry()}
	all := append([]Option{WithModels(randomModels(t)), WithClock(h.clock), WithPublisher(h.pub), WithTick(2 * time.Millisecond)}, opts...)
	s, err := NewService(cfg, testLogger(t), h.reg, all...)
	if err != nil {
		t.Fatal(err)
	}
	if s.store == nil {
		st, err := window.NewMemory(s.spec)
		if err != nil {
			t.Fatal(err)
		}
		s.store = st
	}
	h.s, h.store = s, s.store
	s.startLoops()
	t.Cleanup(s.stopLoops)
	return h
}

var evSeq sync.Mutex

// ev builds a process_create event of endpoint ep with a fresh process
// (distinct GUIDs make distinct nodes).
func ev(ep, id string, ts float64) *schema.NormalizedEvent {
	evSeq.Lock()
	defer evSeq.Unlock()
	return &schema.NormalizedEvent{
		SchemaVersion: 1, EventID: id, TenantID: "default", EndpointID: ep, Hostname: ep,
		Platform: schema.PlatformWindows, Source: "test", EventType: schema.EventProcessCreate, Timestamp: ts,
		Data: schema.EventData{
			Process: &schema.Process{GUID: "{" + id + "-c}", PID: 100, Image: `C:\Windows\System32\cmd.exe`, CommandLine: "cmd.exe /c whoami"},
			Parent:  &schema.Process{GUID: "{" + ep + "-parent}", PID: 99, Image: `C:\Windows\explorer.exe`},
		},
	}
}

func record(e *schema.NormalizedEvent, partition int32, logTime time.Time) *kgo.Record {
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return &kgo.Record{Topic: "normalized-endpoint-events", Partition: partition, Key: []byte(e.Key()), Value: b, Timestamp: logTime}
}

// feed hands records to the service's handler as the consumer would.
func (h *harness) feed(part int32, logTime time.Time, evs ...*schema.NormalizedEvent) {
	h.t.Helper()
	for _, e := range evs {
		if _, err := h.s.Handler().Handle(context.Background(), record(e, part, logTime)); err != nil {
			h.t.Fatalf("handle %s: %v", e.EventID, err)
		}
	}
}

// waitResults polls (with a deadline, poking the scheduler) until n
// results have been published.
func (h *harness) waitResults(n int) []*schema.InferenceResult {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for h.pub.count() < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %d results; have %d: %s", n, h.pub.count(), summary(h.pub.all()))
		}
		h.s.poke()
		time.Sleep(2 * time.Millisecond)
	}
	return h.pub.all()
}

// settle waits until the service has nothing queued or running and the
// scheduler has looked at the current clock, then returns the results.
func (h *harness) settle() []*schema.InferenceResult {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	stable := 0
	last := -1
	for stable < 25 {
		if time.Now().After(deadline) {
			h.t.Fatalf("service did not settle: %s", summary(h.pub.all()))
		}
		h.s.poke()
		time.Sleep(2 * time.Millisecond)
		h.s.mu.Lock()
		busy := len(h.s.queue)
		for _, ep := range h.s.eps {
			if ep.queued || ep.running {
				busy++
			}
		}
		h.s.mu.Unlock()
		n := h.pub.count()
		if busy == 0 && n == last {
			stable++
		} else {
			stable = 0
		}
		last = n
	}
	return h.pub.all()
}

func summary(rs []*schema.InferenceResult) string {
	s := ""
	for _, r := range rs {
		s += fmt.Sprintf("\n  %s [%.0f,%.0f) %s p=%.4f events=%d dropped=%d nodes=%d %s", r.Key(), r.WindowStart-T0, r.WindowEnd-T0,
			r.Prediction, r.AttackProb, r.NumEvents, r.DroppedEvents, r.NumNodes, r.Error)
	}
	return s
}

// byWindow sorts results by endpoint and window.
func byWindow(rs []*schema.InferenceResult) []*schema.InferenceResult {
	out := append([]*schema.InferenceResult(nil), rs...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key() != out[j].Key() {
			return out[i].Key() < out[j].Key()
		}
		return out[i].WindowStart < out[j].WindowStart
	})
	return out
}

func counter(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// testLogger logs through t (visible with -v or on failure).
func testLogger(t testing.TB) *slog.Logger {
	if _, bench := t.(*testing.B); bench {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// saveModel writes a model into dir and returns its weights path.
func saveModel(t *testing.T, dir, name string, cfg gnn.Config) string {
	t.Helper()
	m, err := gnn.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".safetensors")
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

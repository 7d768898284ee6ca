package inference

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/window"
)

var bg = context.Background()

func at(ts float64) time.Time { return time.Unix(0, int64(ts*1e9)) }

func TestWindowsCloseOnEventTimeThenIdle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	logT := h.clock.Now()
	h.feed(0, logT,
		ev("ws1", "e1", T0+5), ev("ws1", "e2", T0+10), ev("ws1", "e3", T0+70),
		ev("ws1", "e4", T0+130), ev("ws1", "e5", T0+200))
	// Watermark T0+200: windows ending at T0+60 and T0+120 are due (end +
	// 30 s tolerance <= 200); T0+180 is not.
	rs := byWindow(h.waitResults(2))
	if got := h.settle(); len(got) != 2 {
		t.Fatalf("want exactly 2 results before idleness, got %s", summary(got))
	}
	for i, want := range []struct {
		start, end float64
		events     int
	}{{T0 - 120, T0 + 60, 2}, {T0 - 60, T0 + 120, 3}} {
		r := rs[i]
		if r.WindowStart != want.start || r.WindowEnd != want.end || r.NumEvents != want.events {
			t.Fatalf("result %d: [%v,%v) %d events, want [%v,%v) %d", i, r.WindowStart, r.WindowEnd, r.NumEvents, want.start, want.end, want.events)
		}
		if r.InferenceID != schema.InferenceID("default", "ws1", want.start, want.end, "test-windows") {
			t.Fatalf("inference id %s is not the deterministic one", r.InferenceID)
		}
		if r.ModelVersion != "test-windows" || r.Platform != schema.PlatformWindows || r.Hostname != "ws1" || r.Threshold != 0.5 {
			t.Fatalf("result metadata: %+v", r)
		}
		if r.Prediction != schema.PredictionAttack && r.Prediction != schema.PredictionBenign {
			t.Fatalf("prediction %s: %s", r.Prediction, r.Error)
		}
		wantConf := r.AttackProb
		if r.Prediction == schema.PredictionBenign {
			wantConf = 1 - r.AttackProb
		}
		if math.Abs(r.Confidence-wantConf) > 1e-9 || r.Confidence < 0.5 && r.Threshold == 0.5 {
			t.Fatalf("confidence %v for %s at p=%v", r.Confidence, r.Prediction, r.AttackProb)
		}
		if r.Explanation == nil || len(r.Explanation.TopNodes) == 0 || len(r.ContributingEventIDs) == 0 || r.Evidence == nil {
			t.Fatalf("result lacks explanation or evidence: %+v", r)
		}
		if r.NumNodes < 3 || r.NumEdges == 0 || r.InferenceTimeMs <= 0 {
			t.Fatalf("graph stats: %+v", r)
		}
	}
	// Quiet for 31 s (partition log time + wall clock): the watermark moves
	// to T0+231 and the window ending at T0+180 closes.
	h.clock.Advance(31 * time.Second)
	h.waitResults(3)
	// Long after: every window holding an event is evaluated, once.
	h.clock.Advance(10 * time.Minute)
	rs = byWindow(h.waitResults(6))
	if got := h.settle(); len(got) != 6 {
		t.Fatalf("want 6 windows (ends T0+60 .. T0+360), got %s", summary(got))
	}
	if rs[5].WindowEnd != T0+360 || rs[5].NumEvents != 1 {
		t.Fatalf("last window: %s", summary(rs[5:]))
	}
	if n := counter(t, h.reg, "inferences_run"); n != 6 {
		t.Fatalf("inferences_run = %v", n)
	}
	if n := counter(t, h.reg, "inference_time_ms"); n != 6 {
		t.Fatalf("inference_time_ms samples = %v", n)
	}
	// Every window evaluated: nothing live remains.
	if got := h.waitGauge("active_endpoints", 0); got != 0 {
		t.Fatalf("active_endpoints = %v", got)
	}
}

// waitGauge polls a gauge until it has the value (or the deadline).
func (h *harness) waitGauge(name string, want float64) float64 {
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.s.poke()
		v := counter(h.t, h.reg, name)
		if v == want || time.Now().After(deadline) {
			return v
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The idle timeout is exact: a window closes when the endpoint has been
// silent long enough for its end plus the tolerance to pass.
func TestIdleTimeoutClosesWindowWithInjectedClock(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	h.feed(0, h.clock.Now(), ev("ws1", "a", T0+50), ev("ws1", "b", T0+51))
	// Window ending T0+60 is due at watermark T0+90: 39 s of silence
	// after the last event (MaxTS T0+51) is not enough, 39.001 s is.
	h.clock.Advance(38*time.Second + 999*time.Millisecond)
	if got := h.settle(); len(got) != 0 {
		t.Fatalf("window closed early: %s", summary(got))
	}
	h.clock.Advance(2 * time.Millisecond)
	rs := h.waitResults(1)
	if rs[0].WindowEnd != T0+60 || rs[0].NumEvents != 2 {
		t.Fatalf("got %s", summary(rs))
	}
}

func TestLateEventsDroppedAndCounted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	now := h.clock.Now()
	h.feed(0, now, ev("ws1", "first", T0+100), ev("ws1", "late", T0+69), ev("ws1", "within", T0+70))
	h.clock.Advance(10 * time.Minute)
	rs := h.waitResults(1)
	rs = h.settle()
	for _, r := range rs {
		if slices.Contains(r.ContributingEventIDs, "late") {
			t.Fatalf("late event in %s", r.InferenceID)
		}
	}
	var sawWithin bool
	for _, r := range rs {
		if r.WindowStart <= T0+70 && T0+70 < r.WindowEnd && r.NumEvents == 2 {
			sawWithin = true
		}
	}
	if !sawWithin {
		t.Fatalf("the event within the tolerance did not join its windows: %s", summary(rs))
	}
	if n := counter(t, h.reg, "window_events_dropped_total", "reason", "late"); n != 1 {
		t.Fatalf("late drops = %v", n)
	}
	if n := counter(t, h.reg, "window_events_total", "outcome", "added"); n != 2 {
		t.Fatalf("added = %v", n)
	}
}

func TestPerWindowCapReportsDropped(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Inference.MaxEventsPerWindow = 10
	h := newHarness(t, cfg)
	var evs []*schema.NormalizedEvent
	for i := range 15 {
		evs = append(evs, ev("ws1", fmt.Sprintf("e%02d", i), T0+float64(i)))
	}
	h.feed(0, h.clock.Now(), evs...)
	h.clock.Advance(10 * time.Minute)
	rs := byWindow(h.waitResults(3))
	for _, r := range rs {
		if r.NumEvents != 10 || r.DroppedEvents != 5 {
			t.Fatalf("window %s: %d events, %d dropped; want 10 and 5", r.InferenceID, r.NumEvents, r.DroppedEvents)
		}
	}
	if n := counter(t, h.reg, "window_events_dropped_total", "reason", "over_cap"); n != 5 {
		t.Fatalf("over_cap drops = %v", n)
	}
}

func TestRedeliveryDoesNotDuplicateNodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	evs := []*schema.NormalizedEvent{ev("ws1", "a", T0+1), ev("ws1", "b", T0+2), ev("ws1", "c", T0+3)}
	h.feed(0, h.clock.Now(), evs...)
	h.feed(0, h.clock.Now(), evs...) // the consumer crashed before committing
	h.clock.Advance(10 * time.Minute)
	rs := h.waitResults(3)
	once := h.settle()
	if len(once) != 3 {
		t.Fatalf("results: %s", summary(once))
	}
	for _, r := range rs {
		if r.NumEvents != 3 || r.NumNodes != 3+1+1 {
			t.Fatalf("window %s: %d events %d nodes (3 children, 1 parent, 1 image expected)", r.InferenceID, r.NumEvents, r.NumNodes)
		}
	}
	if n := counter(t, h.reg, "window_events_total", "outcome", "duplicate"); n != 3 {
		t.Fatalf("duplicates = %v", n)
	}
}

func TestSmallGraphIsAnErrorResult(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	e := ev("ws1", "lonely", T0+1)
	e.Data.Parent = nil
	e.Data.Process.Image = ""
	e.EventType = schema.EventProcessTerminate
	h.feed(0, h.clock.Now(), e)
	h.clock.Advance(10 * time.Minute)
	rs := h.waitResults(3)
	r := rs[0]
	if r.Prediction != schema.PredictionError || !strings.Contains(r.Error, "graph has 1 nodes; at least 3") || r.NumNodes != 1 {
		t.Fatalf("got %+v", r)
	}
	if !slices.Equal(r.ContributingEventIDs, []string{"lonely"}) || r.AttackProb != 0 || r.ModelVersion == "" {
		t.Fatalf("error result fields: %+v", r)
	}
	if n := counter(t, h.reg, "inferences_run", "prediction", "error"); n != 3 {
		t.Fatalf("error runs = %v", n)
	}
}

func TestMaxEndpointsEvictsLeastRecentlyActive(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Inference.MaxEndpoints = 2
	h := newHarness(t, cfg)
	h.feed(0, h.clock.Now(), ev("ws1", "a", T0+1))
	h.clock.Advance(time.Second)
	h.feed(0, h.clock.Now(), ev("ws2", "b", T0+2))
	h.clock.Advance(time.Second)
	h.feed(0, h.clock.Now(), ev("ws3", "c", T0+3))
	if n := counter(t, h.reg, "window_endpoints_evicted_total"); n != 1 {
		t.Fatalf("evicted = %v", n)
	}
	if n := counter(t, h.reg, "window_events_dropped_total", "reason", "evicted"); n != 1 {
		t.Fatalf("events lost to eviction = %v", n)
	}
	if _, ok, _ := h.store.Meta(bg, window.Key{Tenant: "default", Endpoint: "ws1"}); ok {
		t.Fatal("evicted endpoint still in the store")
	}
	h.clock.Advance(10 * time.Minute)
	h.waitResults(6)
	for _, r := range h.settle() {
		if r.EndpointID == "ws1" {
			t.Fatalf("evicted endpoint evaluated: %s", summary([]*schema.InferenceResult{r}))
		}
	}
}

func TestPublishFailuresAreRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	h.pub.fail = 2
	h.feed(0, h.clock.Now(), ev("ws1", "a", T0+1), ev("ws1", "b", T0+200))
	rs := h.waitResults(1)
	if rs[0].WindowEnd != T0+60 {
		t.Fatalf("got %s", summary(rs))
	}
	if n := counter(t, h.reg, "inference_publish_retries_total"); n != 2 {
		t.Fatalf("retries = %v", n)
	}
}

// failingCommit makes the first Commit fail, as if the process died after
// publishing a result and before trimming its window.
type failingCommit struct {
	window.Store
	fails int
}

func (f *failingCommit) Commit(ctx context.Context, key window.Key, w int64, now time.Time) (window.Meta, error) {
	if f.fails > 0 {
		f.fails--
		return window.Meta{}, errors.New("simulated crash before commit")
	}
	return f.Store.Commit(ctx, key, w, now)
}

func TestCrashBeforeCommitReevaluatesWithSameID(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	mem, _ := window.NewMemory(window.SpecFromConfig(cfg.Inference))
	h := newHarness(t, cfg, WithStore(&failingCommit{Store: mem, fails: 1}))
	h.feed(0, h.clock.Now(), ev("ws1", "a", T0+1), ev("ws1", "b", T0+200))
	h.waitResults(1)
	h.clock.Advance(2 * time.Second) // past the retry backoff
	rs := h.waitResults(3)
	if rs[0].InferenceID != rs[1].InferenceID || rs[0].NumEvents != rs[1].NumEvents || rs[0].AttackProb != rs[1].AttackProb {
		t.Fatalf("re-evaluation differs: %s", summary(rs[:2]))
	}
	if rs[2].InferenceID == rs[0].InferenceID {
		t.Fatalf("window evaluated a third time: %s", summary(rs))
	}
}

func TestRevokedPartitionsStopAndResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	h.feed(3, h.clock.Now(), ev("ws1", "a", T0+1))
	h.feed(4, h.clock.Now(), ev("ws2", "b", T0+1))
	h.s.onRevoked(bg, map[string][]int32{bus.TopicNormalized: {3}})
	h.clock.Advance(10 * time.Minute)
	h.waitResults(3)
	for _, r := range h.settle() {
		if r.EndpointID == "ws1" {
			t.Fatal("revoked endpoint evaluated")
		}
	}
	// Assigned back (or to another replica sharing the store): resumes.
	h.s.onAssigned(bg, map[string][]int32{bus.TopicNormalized: {3}})
	h.clock.Advance(10 * time.Minute)
	rs := h.waitResults(6)
	n := 0
	for _, r := range rs {
		if r.EndpointID == "ws1" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("ws1 windows after re-assignment: %d\n%s", n, summary(rs))
	}
}

// A replica restarts: the new process resumes every open window from
// Redis; after a Redis loss the windows refill from live traffic.
func TestRestartResumesFromRedis(t *testing.T) {
	t.Parallel()
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		mr := miniredis.RunT(t)
		testRestart(t, &redis.Options{Addr: mr.Addr()}, "restart:", mr.FlushAll)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		u := os.Getenv("LOGSTER_TEST_REDIS_URL")
		if u == "" {
			t.Skip("LOGSTER_TEST_REDIS_URL not set; skipping the real-Redis case")
		}
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		prefix := fmt.Sprintf("logstertest:restart:%d:%d:", os.Getpid(), time.Now().UnixNano())
		rdb := redis.NewClient(opt)
		flush := func() {
			iter := rdb.Scan(bg, 0, prefix+"*", 500).Iterator()
			for iter.Next(bg) {
				rdb.Del(bg, iter.Val())
			}
		}
		t.Cleanup(func() { flush(); _ = rdb.Close() })
		testRestart(t, opt, prefix, flush)
	})
}

// testRestart: a replica stops, a new one resumes from Redis; then Redis
// loses everything (flush) and windows refill from traffic.
func testRestart(t *testing.T, opt *redis.Options, prefix string, flush func()) {
	cfg := testConfig()
	spec := window.SpecFromConfig(cfg.Inference)
	open := func() window.Store {
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { _ = rdb.Close() })
		st, err := window.NewRedis(rdb, prefix, spec)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	assign := map[string][]int32{bus.TopicNormalized: {7}}

	h1 := newHarness(t, cfg, WithStore(open()))
	h1.s.onAssigned(bg, assign)
	h1.feed(7, h1.clock.Now(), ev("ws1", "a", T0+1), ev("ws1", "b", T0+2), ev("ws1", "c", T0+100))
	h1.waitResults(1) // window ending T0+60 (watermark T0+100)
	// Its result is published before the window is committed; let the
	// commit happen (a crash in between re-scores it under the same id,
	// which this test is not about).
	h1.settle()
	h1.s.stopLoops() // the process dies

	h2 := newHarness(t, cfg, WithStore(open()))
	h2.clock.Set(h1.clock.Now().Add(5 * time.Second))
	h2.s.onAssigned(bg, assign)
	if n := counter(t, h2.reg, "active_endpoints"); n != 1 {
		t.Fatalf("active endpoints after resume = %v", n)
	}
	h2.clock.Advance(10 * time.Minute)
	rs := byWindow(h2.waitResults(3))
	if rs[0].WindowEnd != T0+120 || rs[0].NumEvents != 3 {
		t.Fatalf("resumed windows: %s", summary(rs))
	}
	for _, r := range h2.settle() {
		if r.WindowEnd == T0+60 {
			t.Fatal("window committed before the restart evaluated again")
		}
	}

	// Redis loses everything: the next replica starts cold and refills.
	flush()
	h3 := newHarness(t, cfg, WithStore(open()))
	h3.s.onAssigned(bg, assign)
	if n := counter(t, h3.reg, "active_endpoints"); n != 0 {
		t.Fatalf("active endpoints after Redis loss = %v", n)
	}
	h3.feed(7, h3.clock.Now(), ev("ws1", "d", T0+600))
	h3.clock.Advance(10 * time.Minute)
	if rs := h3.waitResults(3); rs[0].NumEvents != 1 {
		t.Fatalf("cold window: %s", summary(rs))
	}
}

// With the run queue full, the handler waits (consumption pauses) instead
// of queueing more.
func TestBackPressureBlocksTheConsumer(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Inference.Workers = 1
	h := newHarness(t, cfg)
	h.s.mu.Lock()
	h.s.maxQueue = 1
	h.s.mu.Unlock()
	release := make(chan struct{})
	h.pub.block = release
	// ws1's window becomes due: the only worker takes it and blocks in publish.
	h.feed(0, h.clock.Now(), ev("ws1", "a", T0+1), ev("ws1", "b", T0+100))
	waitUntil(t, "worker busy", func() bool {
		h.s.mu.Lock()
		defer h.s.mu.Unlock()
		return h.s.eps[window.Key{Tenant: "default", Endpoint: "ws1"}].running
	})
	// ws2's window becomes due: queued (queue full).
	h.feed(0, h.clock.Now(), ev("ws2", "c", T0+1), ev("ws2", "d", T0+100))
	done := make(chan error, 1)
	go func() {
		_, err := h.s.Handler().Handle(bg, record(ev("ws3", "e", T0+1), 0, h.clock.Now()))
		done <- err
	}()
	waitUntil(t, "handler to wait for the workers", func() bool {
		h.s.mu.Lock()
		defer h.s.mu.Unlock()
		return h.s.stalls == 1
	})
	select {
	case err := <-done:
		t.Fatalf("handler returned while the queue was full: %v", err)
	default:
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("handler still blocked after the workers caught up")
	}
	h.waitResults(2)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPoisonRecordIsPermanent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	for _, v := range []string{`not json`, `{"event_id":"x"}`, `{"schema_version":1,"event_id":"x","tenant_id":"t","endpoint_id":"e","platform":"beos","event_type":"process_create","timestamp":1}`} {
		_, err := h.s.Handler().Handle(bg, &kgo.Record{Topic: bus.TopicNormalized, Value: []byte(v)})
		if !bus.IsPermanent(err) {
			t.Fatalf("%s: err %v is not permanent", v, err)
		}
	}
}

// replayScenario is a few endpoints' events over ~8 minutes on two
// partitions, with one endpoint pausing for 90 s while others keep going.
func replayScenario() (evs []*schema.NormalizedEvent, parts map[string]int32) {
	rng := rand.New(rand.NewPCG(11, 12))
	parts = map[string]int32{"ws1": 0, "ws2": 0, "srv": 1}
	for _, ep := range []string{"ws1", "ws2", "srv"} {
		ts := T0 + rng.Float64()*20
		for i := 0; ts < T0+480; i++ {
			e := ev(ep, fmt.Sprintf("%s-%03d", ep, i), math.Round(ts*1000)/1000)
			switch i % 4 {
			case 1:
				e.EventType = schema.EventNetworkConnect
				e.Data.Parent = nil
				e.Data.Network = &schema.Network{Protocol: "tcp", Direction: "outbound", DstIP: fmt.Sprintf("10.0.0.%d", rng.IntN(5)), DstPort: []int{445, 443, 135}[rng.IntN(3)]}
			case 2:
				e.EventType = schema.EventFileCreate
				e.Data.Parent = nil
				e.Data.File = &schema.File{Path: fmt.Sprintf(`C:\Temp\f%d.txt`, rng.IntN(4))}
			}
			evs = append(evs, e)
			ts += 1 + rng.Float64()*14
			if ep == "ws1" && i == 10 {
				ts += 90 // a quiet stretch
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b *schema.NormalizedEvent) int {
		switch {
		case a.Timestamp < b.Timestamp:
			return -1
		case a.Timestamp > b.Timestamp:
			return 1
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	return evs, parts
}

// fingerprint is what must not depend on replay speed.
func fingerprint(r *schema.InferenceResult) string {
	return fmt.Sprintf("%s %s p=%.6f events=%d dropped=%d nodes=%d edges=%d ids=%v", r.InferenceID, r.Prediction,
		r.AttackProb, r.NumEvents, r.DroppedEvents, r.NumNodes, r.NumEdges, r.ContributingEventIDs)
}

// Windows are defined on event time: feeding the same partitions at real
// speed (log time follows event time, the clock moves with it), 60x faster,
// or all at once yields the same windows with the same results.
func TestReplaySpeedDoesNotChangeResults(t *testing.T) {
	t.Parallel()
	evs, parts := replayScenario()
	run := func(name string, logTime func(ts float64) float64) []string {
		h := newHarness(t, testConfig())
		base := h.clock.Now()
		for _, e := range evs {
			lt := base.Add(time.Duration(logTime(e.Timestamp) * float64(time.Second)))
			h.clock.Set(lt)
			h.feed(parts[e.EndpointID], lt, e)
		}
		h.clock.Advance(15 * time.Minute)
		rs := h.settle()
		if n := counter(t, h.reg, "window_events_dropped_total", "reason", "late"); n != 0 {
			t.Errorf("%s: %v late drops", name, n)
		}
		out := make([]string, 0, len(rs))
		for _, r := range rs {
			out = append(out, fingerprint(r))
		}
		slices.Sort(out)
		return out
	}
	realtime := run("real time", func(ts float64) float64 { return ts - T0 + 2 })
	if len(realtime) < 20 {
		t.Fatalf("scenario too small: %d results", len(realtime))
	}
	for name, f := range map[string]func(float64) float64{
		"60x":       func(ts float64) float64 { return (ts - T0) / 60 },
		"instantly": func(float64) float64 { return 0 },
	} {
		got := run(name, f)
		if !slices.Equal(got, realtime) {
			t.Fatalf("%s replay differs from real time:\nreal time: %d results\n%s: %d results\nfirst difference: %s", name, len(realtime), name, len(got), firstDiff(realtime, got))
		}
	}
}

func firstDiff(a, b []string) string {
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("\n- %s\n+ %s", x, y)
		}
	}
	return "(none)"
}

// With the input declared finite, a quiet endpoint's windows — including
// those ending well after its last event — are all scored after the idle
// timeout, not as the wall clock catches up with their ends.
func TestFinishInputScoresQuietEndpointsAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testConfig())
	h.feed(0, h.clock.Now(), ev("ws1", "a", T0+50), ev("ws1", "b", T0+51))
	h.s.FinishInput()
	h.clock.Advance(31 * time.Second) // idle timeout, far less than window + late
	rs := h.waitResults(3)            // the three windows holding pane T0
	ends := map[float64]bool{}
	for _, r := range rs {
		ends[r.WindowEnd] = true
	}
	for _, want := range []float64{T0 + 60, T0 + 120, T0 + 180} {
		if !ends[want] {
			t.Fatalf("window ending %v not scored: %s", want, summary(rs))
		}
	}
	waitUntil(t, "endpoint retired", func() bool { return h.s.ActiveEndpoints() == 0 })
}

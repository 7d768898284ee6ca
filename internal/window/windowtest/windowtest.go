// Package windowtest is the contract every window.Store implementation must
// pass: dedup, lateness, caps with fair shares, commit and trim, watermark
// advance, partition ownership listing, TTL expiry, concurrency and (where
// the store is durable) reopening. Each store's test calls Run with a
// factory.
package windowtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/window"
)

// Harness is one fresh, empty store under test.
type Harness struct {
	Store window.Store
	// FastForward moves the store's own expiry clock (miniredis). Nil when
	// expiry follows the now arguments (memory) or real time (Redis).
	FastForward func(d time.Duration)
	// ExpiryByNow is true when the store expires state by the now
	// arguments alone.
	ExpiryByNow bool
	// Reopen returns a second store over the same state (a restarted
	// replica), nil for stores whose state dies with them.
	Reopen func() window.Store
}

// Factory opens a fresh store with spec; it registers its own cleanup.
type Factory func(t *testing.T, spec window.Spec) Harness

// T0 is a pane-aligned event time (a multiple of 60 s) used by the suite.
const T0 = 1_700_000_040.0

// Now is a wall clock shortly after the suite's event times.
var Now = time.Unix(1_700_000_400, 0)

// DefaultSpec is the suite's window: 3 panes of 1 minute, 30 s late
// tolerance, 100 events per window, 30 minute TTL.
func DefaultSpec() window.Spec {
	return window.Spec{Window: 3 * time.Minute, Stride: time.Minute, Late: 30 * time.Second, MaxEvents: 100, TTL: 30 * time.Minute}
}

// Ev builds a minimal valid event of endpoint ep (tenant "t1").
func Ev(ep, id string, ts float64) *schema.NormalizedEvent {
	return &schema.NormalizedEvent{
		SchemaVersion: 1, EventID: id, TenantID: "t1", EndpointID: ep, Hostname: ep,
		Platform: schema.PlatformWindows, Source: "test", EventType: schema.EventProcessCreate, Timestamp: ts,
		Data:     schema.EventData{Process: &schema.Process{GUID: "{" + id + "}", Image: `C:\Windows\System32\cmd.exe`}},
		RawEvent: []byte(`{"dropped":"by the store"}`),
	}
}

// Run runs the contract against stores made by open.
func Run(t *testing.T, open Factory) {
	t.Run("AddAndRead", func(t *testing.T) { t.Parallel(); testAddAndRead(t, open) })
	t.Run("Dedup", func(t *testing.T) { t.Parallel(); testDedup(t, open) })
	t.Run("Late", func(t *testing.T) { t.Parallel(); testLate(t, open) })
	t.Run("FutureAndInvalid", func(t *testing.T) { t.Parallel(); testFutureInvalid(t, open) })
	t.Run("CapFairShare", func(t *testing.T) { t.Parallel(); testCap(t, open) })
	t.Run("CommitTrims", func(t *testing.T) { t.Parallel(); testCommit(t, open) })
	t.Run("Advance", func(t *testing.T) { t.Parallel(); testAdvance(t, open) })
	t.Run("EndpointsByPartition", func(t *testing.T) { t.Parallel(); testEndpoints(t, open) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testDelete(t, open) })
	t.Run("TTL", func(t *testing.T) { t.Parallel(); testTTL(t, open) })
	t.Run("ConcurrentAdds", func(t *testing.T) { t.Parallel(); testConcurrent(t, open) })
	t.Run("Reopen", func(t *testing.T) { t.Parallel(); testReopen(t, open) })
	t.Run("FloatBoundaries", func(t *testing.T) { t.Parallel(); testBoundaries(t, open) })
}

var ctx = context.Background()

func add(t *testing.T, s window.Store, part int32, ev *schema.NormalizedEvent) (window.Outcome, window.Meta) {
	t.Helper()
	o, m, err := s.Add(ctx, part, ev, time.Unix(int64(ev.Timestamp), 0), Now)
	if err != nil {
		t.Fatalf("Add(%s): %v", ev.EventID, err)
	}
	return o, m
}

func mustAdd(t *testing.T, s window.Store, part int32, ev *schema.NormalizedEvent, want window.Outcome) window.Meta {
	t.Helper()
	o, m := add(t, s, part, ev)
	if o != want {
		t.Fatalf("Add(%s at %.3f) = %s, want %s (meta %+v)", ev.EventID, ev.Timestamp, o, want, m)
	}
	return m
}

func ids(w *window.Window) []string {
	out := make([]string, len(w.Events))
	for i, e := range w.Events {
		out[i] = e.EventID
	}
	return out
}

func readWindow(t *testing.T, s window.Store, k window.Key, w int64) *window.Window {
	t.Helper()
	win, err := s.Window(ctx, k, w)
	if err != nil {
		t.Fatalf("Window(%s, %d): %v", k, w, err)
	}
	return win
}

func key(ep string) window.Key { return window.Key{Tenant: "t1", Endpoint: ep} }

func testAddAndRead(t *testing.T, open Factory) {
	spec := DefaultSpec()
	h := open(t, spec)
	s := h.Store
	// Out of order within the tolerance, same timestamp twice (ordered by id).
	mustAdd(t, s, 3, Ev("a", "e2", T0+10), window.Added)
	mustAdd(t, s, 3, Ev("a", "e1", T0+10), window.Added)
	mustAdd(t, s, 3, Ev("a", "e0", T0+5), window.Added)
	m := mustAdd(t, s, 3, Ev("a", "e3", T0+70), window.Added)
	if m.Partition != 3 || m.MaxTS != T0+70 || m.Watermark != T0+70 || m.Closed != window.NoWindow {
		t.Fatalf("meta = %+v", m)
	}
	if !m.LastLog.Equal(time.Unix(int64(T0+70), 0)) {
		t.Fatalf("LastLog = %v, want the largest log time", m.LastLog)
	}
	p0 := spec.Pane(T0)
	wantPanes := []window.PaneCount{{Pane: p0, Stored: 3}, {Pane: p0 + 1, Stored: 1}}
	if !slices.Equal(m.Panes, wantPanes) {
		t.Fatalf("panes = %+v, want %+v", m.Panes, wantPanes)
	}
	if m.Events() != 4 {
		t.Fatalf("Events() = %d", m.Events())
	}
	// Window p0 holds pane p0 only (its earlier panes are empty).
	w := readWindow(t, s, key("a"), p0)
	if got := ids(w); !slices.Equal(got, []string{"e0", "e1", "e2"}) {
		t.Fatalf("window %d = %v", p0, got)
	}
	if start, end := spec.Bounds(p0); w.Start != start || w.End != end || end != T0+60 || start != T0-120 {
		t.Fatalf("bounds = [%v,%v)", w.Start, w.End)
	}
	w = readWindow(t, s, key("a"), p0+2)
	if got := ids(w); !slices.Equal(got, []string{"e0", "e1", "e2", "e3"}) {
		t.Fatalf("window %d = %v", p0+2, got)
	}
	w = readWindow(t, s, key("a"), p0+3)
	if got := ids(w); !slices.Equal(got, []string{"e3"}) || w.Dropped != 0 {
		t.Fatalf("window %d = %v dropped %d", p0+3, got, w.Dropped)
	}
	if w.Events[0].RawEvent != nil {
		t.Fatal("stored events must not keep raw_event")
	}
	if w.Events[0].Data.Process == nil || w.Events[0].Data.Process.GUID != "{e3}" || w.Events[0].Platform != schema.PlatformWindows {
		t.Fatalf("event data not preserved: %+v", w.Events[0])
	}
	// Meta helpers over the stored state.
	if nw, ok := m.NextWindow(spec); !ok || nw != p0 {
		t.Fatalf("NextWindow = %d %v", nw, ok)
	}
	got, ok, err := s.Meta(ctx, key("a"))
	if err != nil || !ok || got.Watermark != m.Watermark || !slices.Equal(got.Panes, m.Panes) {
		t.Fatalf("Meta = %+v %v %v", got, ok, err)
	}
	if _, ok, err := s.Meta(ctx, key("nobody")); ok || err != nil {
		t.Fatalf("Meta(unknown) = %v %v", ok, err)
	}
	if _, err := s.Window(ctx, key("nobody"), p0); !errors.Is(err, window.ErrUnknownEndpoint) {
		t.Fatalf("Window(unknown) err = %v", err)
	}
	// Endpoints do not see each other's events.
	mustAdd(t, s, 3, Ev("b", "e1", T0+10), window.Added)
	if got := ids(readWindow(t, s, key("b"), p0)); !slices.Equal(got, []string{"e1"}) {
		t.Fatalf("endpoint b window = %v", got)
	}
}

func testDedup(t *testing.T, open Factory) {
	s := open(t, DefaultSpec()).Store
	mustAdd(t, s, 0, Ev("a", "x", T0+1), window.Added)
	mustAdd(t, s, 0, Ev("a", "y", T0+2), window.Added)
	m := mustAdd(t, s, 0, Ev("a", "x", T0+1), window.Duplicate)
	if m.Events() != 2 {
		t.Fatalf("duplicate changed the count: %+v", m)
	}
	// A redelivered record with a different timestamp is still the same event.
	mustAdd(t, s, 0, Ev("a", "x", T0+50), window.Duplicate)
	w := readWindow(t, s, key("a"), DefaultSpec().Pane(T0))
	if got := ids(w); !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("window = %v", got)
	}
}

func testLate(t *testing.T, open Factory) {
	spec := DefaultSpec()
	s := open(t, spec).Store
	mustAdd(t, s, 0, Ev("a", "w", T0+100), window.Added)
	mustAdd(t, s, 0, Ev("a", "edge", T0+70), window.Added) // exactly watermark - tolerance: accepted
	m := mustAdd(t, s, 0, Ev("a", "late", T0+69.999), window.Late)
	if m.Watermark != T0+100 || m.Events() != 2 {
		t.Fatalf("late event changed state: %+v", m)
	}
	// A late event of a fresh endpoint does not exist: the first event sets the watermark.
	mustAdd(t, s, 0, Ev("b", "old", T0-10000), window.Added)
}

func testFutureInvalid(t *testing.T, open Factory) {
	s := open(t, DefaultSpec()).Store
	now := float64(Now.Unix())
	mustAdd(t, s, 0, Ev("a", "ok", now+window.DefaultMaxFuture.Seconds()-1), window.Added)
	mustAdd(t, s, 0, Ev("a", "fut", now+window.DefaultMaxFuture.Seconds()+1), window.Future)
	mustAdd(t, s, 0, Ev("a", "zero", 0), window.Invalid)
	mustAdd(t, s, 0, Ev("a", "neg", -5), window.Invalid)
	m, _, _ := s.Meta(ctx, key("a"))
	if m.Events() != 1 {
		t.Fatalf("dropped events were stored: %+v", m)
	}
	if !window.Future.Dropped() || window.Duplicate.Dropped() || window.Added.Dropped() {
		t.Fatal("Outcome.Dropped wrong")
	}
}

func testCap(t *testing.T, open Factory) {
	spec := DefaultSpec()
	spec.MaxEvents = 10
	s := open(t, spec).Store
	p0 := spec.Pane(T0)
	// Pane p0: 15 events, 10 kept, 5 rejected.
	for i := range 15 {
		o, _ := add(t, s, 0, Ev("a", fmt.Sprintf("a%02d", i), T0+float64(i)))
		want := window.Added
		if i >= 10 {
			want = window.OverCap
		}
		if o != want {
			t.Fatalf("event %d: %s, want %s", i, o, want)
		}
	}
	// Pane p0+1: 2 events.
	mustAdd(t, s, 0, Ev("a", "b0", T0+60), window.Added)
	m := mustAdd(t, s, 0, Ev("a", "b1", T0+61), window.Added)
	if !slices.Equal(m.Panes, []window.PaneCount{{Pane: p0, Stored: 10, Rejected: 5}, {Pane: p0 + 1, Stored: 2}}) {
		t.Fatalf("panes = %+v", m.Panes)
	}
	// Window p0: only pane p0 -> 10 events, 5 dropped.
	w := readWindow(t, s, key("a"), p0)
	if len(w.Events) != 10 || w.Dropped != 5 {
		t.Fatalf("window p0: %d events, %d dropped", len(w.Events), w.Dropped)
	}
	// Window p0+1: 12 stored > 10. Pane p0+1 keeps its 2, pane p0 its
	// first 8; dropped = 5 rejected + 2 left out.
	w = readWindow(t, s, key("a"), p0+1)
	want := []string{"a00", "a01", "a02", "a03", "a04", "a05", "a06", "a07", "b0", "b1"}
	if got := ids(w); !slices.Equal(got, want) || w.Dropped != 7 {
		t.Fatalf("window p0+1 = %v dropped %d, want %v dropped 7", got, w.Dropped, want)
	}
	// Three full panes: equal thirds, the remainder to the earliest pane.
	s2 := open(t, spec).Store
	for p := range 3 {
		for i := range 10 {
			mustAdd(t, s2, 0, Ev("c", fmt.Sprintf("p%d-%02d", p, i), T0+float64(60*p+i)), window.Added)
		}
	}
	w = readWindow(t, s2, key("c"), p0+2)
	if len(w.Events) != 10 || w.Dropped != 20 {
		t.Fatalf("3 full panes: %d events %d dropped", len(w.Events), w.Dropped)
	}
	want = []string{"p0-00", "p0-01", "p0-02", "p0-03", "p1-00", "p1-01", "p1-02", "p2-00", "p2-01", "p2-02"}
	if got := ids(w); !slices.Equal(got, want) {
		t.Fatalf("3 full panes = %v, want %v", got, want)
	}
}

func testCommit(t *testing.T, open Factory) {
	spec := DefaultSpec()
	s := open(t, spec).Store
	p0 := spec.Pane(T0)
	for p := range 4 {
		mustAdd(t, s, 0, Ev("a", fmt.Sprintf("p%d", p), T0+float64(60*p)+1), window.Added)
	}
	// Window p0+1 covers panes p0-1..p0+1; after its commit window p0+2
	// (panes p0..p0+2) is the next, so nothing before p0 is needed; p0 is.
	m, err := s.Commit(ctx, key("a"), p0+1, Now)
	if err != nil {
		t.Fatal(err)
	}
	if m.Closed != p0+1 || len(m.Panes) != 4 {
		t.Fatalf("after commit p0+1: %+v", m)
	}
	m, err = s.Commit(ctx, key("a"), p0+2, Now)
	if err != nil {
		t.Fatal(err)
	}
	if m.Closed != p0+2 || len(m.Panes) != 3 || m.Panes[0].Pane != p0+1 {
		t.Fatalf("after commit p0+2: %+v", m)
	}
	if got := ids(readWindow(t, s, key("a"), p0+3)); !slices.Equal(got, []string{"p1", "p2", "p3"}) {
		t.Fatalf("window p0+3 = %v", got)
	}
	// Committing an older window changes nothing.
	m, err = s.Commit(ctx, key("a"), p0, Now)
	if err != nil || m.Closed != p0+2 || len(m.Panes) != 3 {
		t.Fatalf("old commit: %+v %v", m, err)
	}
	// Next window after Closed with events.
	if nw, ok := m.NextWindow(spec); !ok || nw != p0+3 {
		t.Fatalf("NextWindow = %d %v", nw, ok)
	}
	// Commit everything: no panes, nothing pending, watermark kept.
	m, err = s.Commit(ctx, key("a"), p0+5, Now)
	if err != nil || len(m.Panes) != 0 || m.Pending(spec) || m.Watermark != T0+181 {
		t.Fatalf("final commit: %+v %v", m, err)
	}
	// The trimmed event's id is gone but it is late now, never re-added.
	mustAdd(t, s, 0, Ev("a", "p0", T0+1), window.Late)
	if _, err := s.Commit(ctx, key("nobody"), p0, Now); !errors.Is(err, window.ErrUnknownEndpoint) {
		t.Fatalf("Commit(unknown) err = %v", err)
	}
}

func testAdvance(t *testing.T, open Factory) {
	spec := DefaultSpec()
	s := open(t, spec).Store
	p0 := spec.Pane(T0)
	mustAdd(t, s, 0, Ev("a", "x", T0+1), window.Added)
	m, _, _ := s.Meta(ctx, key("a"))
	if _, ok := m.Due(spec, m.Watermark); ok {
		t.Fatal("window due before the watermark passed its end")
	}
	// The window containing x that ends first is p0, ending at T0+60; due at T0+90.
	m, err := s.Advance(ctx, key("a"), T0+89.5, Now)
	if err != nil || m.Watermark != T0+89.5 || m.MaxTS != T0+1 {
		t.Fatalf("Advance: %+v %v", m, err)
	}
	if _, ok := m.Due(spec, m.Watermark); ok {
		t.Fatal("due too early")
	}
	m, _ = s.Advance(ctx, key("a"), T0+90, Now)
	if w, ok := m.Due(spec, m.Watermark); !ok || w != p0 {
		t.Fatalf("Due = %d %v", w, ok)
	}
	// Never backwards.
	m, _ = s.Advance(ctx, key("a"), T0, Now)
	if m.Watermark != T0+90 {
		t.Fatalf("watermark went back to %v", m.Watermark)
	}
	// The advanced watermark makes older events late.
	mustAdd(t, s, 0, Ev("a", "y", T0+59), window.Late)
	mustAdd(t, s, 0, Ev("a", "z", T0+60), window.Added)
	if _, err := s.Advance(ctx, key("nobody"), T0, Now); !errors.Is(err, window.ErrUnknownEndpoint) {
		t.Fatalf("Advance(unknown) err = %v", err)
	}
}

func testEndpoints(t *testing.T, open Factory) {
	s := open(t, DefaultSpec()).Store
	mustAdd(t, s, 1, Ev("a", "x", T0), window.Added)
	mustAdd(t, s, 2, Ev("b", "x", T0), window.Added)
	mustAdd(t, s, 1, Ev("c", "x", T0), window.Added)
	list := func(parts ...int32) []string {
		es, err := s.Endpoints(ctx, parts, Now)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s@%d/%d", e.Key, e.Partition, e.Events()))
		}
		return out
	}
	if got := list(1); !slices.Equal(got, []string{"t1:a@1/1", "t1:c@1/1"}) {
		t.Fatalf("partition 1: %v", got)
	}
	if got := list(1, 2); len(got) != 3 {
		t.Fatalf("partitions 1,2: %v", got)
	}
	if got := list(7); len(got) != 0 {
		t.Fatalf("partition 7: %v", got)
	}
	// An endpoint whose key now hashes elsewhere (partitions added) is
	// listed under its latest partition only.
	mustAdd(t, s, 5, Ev("a", "y", T0+1), window.Added)
	if got := list(1); !slices.Equal(got, []string{"t1:c@1/1"}) {
		t.Fatalf("partition 1 after move: %v", got)
	}
	if got := list(5); !slices.Equal(got, []string{"t1:a@5/2"}) {
		t.Fatalf("partition 5 after move: %v", got)
	}
}

func testDelete(t *testing.T, open Factory) {
	s := open(t, DefaultSpec()).Store
	mustAdd(t, s, 1, Ev("a", "x", T0), window.Added)
	mustAdd(t, s, 1, Ev("b", "x", T0), window.Added)
	if err := s.Delete(ctx, key("a")); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Meta(ctx, key("a")); ok {
		t.Fatal("deleted endpoint still known")
	}
	es, _ := s.Endpoints(ctx, []int32{1}, Now)
	if len(es) != 1 || es[0].Key != key("b") {
		t.Fatalf("endpoints after delete: %+v", es)
	}
	// A deleted endpoint starts afresh: the old event is new again.
	mustAdd(t, s, 1, Ev("a", "x", T0), window.Added)
	if err := s.Delete(ctx, key("nobody")); err != nil {
		t.Fatalf("Delete(unknown) = %v", err)
	}
}

func testTTL(t *testing.T, open Factory) {
	spec := DefaultSpec()
	spec.TTL = 10 * time.Minute
	h := open(t, spec)
	if h.FastForward == nil && !h.ExpiryByNow {
		t.Skip("store expires on real time; expiry is checked with miniredis")
	}
	s := h.Store
	forward := func(d time.Duration) {
		if h.FastForward != nil {
			h.FastForward(d)
		}
	}
	mustAdd(t, s, 1, Ev("a", "x", T0), window.Added)
	later := Now.Add(9 * time.Minute)
	forward(9 * time.Minute)
	if _, _, err := s.Add(ctx, 1, Ev("b", "x", T0), time.Unix(int64(T0), 0), later); err != nil {
		t.Fatal(err)
	}
	// 11 minutes after a's last write, 2 after b's.
	expireAt := Now.Add(11 * time.Minute)
	forward(2 * time.Minute)
	if err := s.Sweep(ctx, expireAt); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Meta(ctx, key("a")); ok {
		t.Fatal("endpoint a outlived its TTL")
	}
	if _, ok, _ := s.Meta(ctx, key("b")); !ok {
		t.Fatal("endpoint b expired early")
	}
	es, err := s.Endpoints(ctx, []int32{1}, expireAt)
	if err != nil || len(es) != 1 || es[0].Key != key("b") {
		t.Fatalf("endpoints after expiry: %+v %v", es, err)
	}
}

func testConcurrent(t *testing.T, open Factory) {
	s := open(t, DefaultSpec()).Store
	const workers, n = 4, 50
	var mu sync.Mutex
	added := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				// Every worker adds the same events (redelivery racing
				// with itself) plus events of its own endpoint.
				for _, ev := range []*schema.NormalizedEvent{
					Ev("shared", fmt.Sprintf("s%03d", i), T0+float64(i)),
					Ev(fmt.Sprintf("own%d", w), fmt.Sprintf("o%03d", i), T0+float64(i)),
				} {
					o, _, err := s.Add(ctx, 0, ev, Now, Now)
					if err != nil {
						errs <- err
						return
					}
					if o == window.Added {
						mu.Lock()
						added[ev.EndpointID+"/"+ev.EventID]++
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(added) != n*(workers+1) {
		t.Fatalf("%d distinct events added, want %d", len(added), n*(workers+1))
	}
	for k, c := range added {
		if c != 1 {
			t.Fatalf("%s added %d times", k, c)
		}
	}
	m, _, _ := s.Meta(ctx, key("shared"))
	if m.Events() != n {
		t.Fatalf("shared endpoint holds %d events", m.Events())
	}
}

func testReopen(t *testing.T, open Factory) {
	spec := DefaultSpec()
	h := open(t, spec)
	if h.Reopen == nil {
		t.Skip("store state does not outlive the process")
	}
	s := h.Store
	p0 := spec.Pane(T0)
	mustAdd(t, s, 4, Ev("a", "x", T0+1), window.Added)
	mustAdd(t, s, 4, Ev("a", "y", T0+61), window.Added)
	if _, err := s.Commit(ctx, key("a"), p0, Now); err != nil {
		t.Fatal(err)
	}
	s2 := h.Reopen()
	es, err := s2.Endpoints(ctx, []int32{4}, Now)
	if err != nil || len(es) != 1 {
		t.Fatalf("endpoints after reopen: %+v %v", es, err)
	}
	m := es[0]
	if m.Closed != p0 || m.Watermark != T0+61 || m.Events() != 2 || m.Key != key("a") {
		t.Fatalf("meta after reopen: %+v", m)
	}
	if got := ids(readWindow(t, s2, key("a"), p0+1)); !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("window after reopen: %v", got)
	}
	mustAdd(t, s2, 4, Ev("a", "x", T0+1), window.Duplicate)
}

// Event times on and next to pane boundaries land in the same pane in the
// store's ranges as in Spec.Pane.
func testBoundaries(t *testing.T, open Factory) {
	spec := DefaultSpec()
	spec.Stride = 7 * time.Second
	spec.Window = 21 * time.Second
	s := open(t, spec).Store
	base := 1_700_000_000.0
	p := spec.Pane(base)
	edge := spec.PaneStart(p + 1)
	times := []float64{edge - 0.001, edge, edge + 0.001, spec.PaneStart(p + 2)}
	for i, ts := range times {
		mustAdd(t, s, 0, Ev("a", fmt.Sprintf("e%d", i), ts), window.Added)
	}
	for _, ts := range times {
		if pp := spec.Pane(ts); spec.PaneStart(pp) > ts || spec.PaneStart(pp+1) <= ts {
			t.Fatalf("Pane(%v) = %d inconsistent with PaneStart", ts, pp)
		}
	}
	// Window p holds only e0; window p+1 holds e0..e2.
	if got := ids(readWindow(t, s, key("a"), p)); !slices.Equal(got, []string{"e0"}) {
		t.Fatalf("window p = %v", got)
	}
	if got := ids(readWindow(t, s, key("a"), p+1)); !slices.Equal(got, []string{"e0", "e1", "e2"}) {
		t.Fatalf("window p+1 = %v", got)
	}
}

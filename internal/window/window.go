// Package window keeps each endpoint's recent events in event-time sliding
// windows for the inference service, behind one Store interface with two
// implementations: Redis (several replicas, survives restarts) and an
// in-process store (standalone mode and tests). Both pass the contract suite
// in window/windowtest.
//
// # Panes and windows
//
// Event time is cut into panes of one stride (inference.interval), aligned
// to the Unix epoch: pane p holds the events with p·S <= ts < (p+1)·S. A
// window is Panes() consecutive panes (inference.window / interval) and is
// named by its last pane: window w covers [(w-n+1)·S, (w+1)·S). Aligning to
// the epoch, not to an endpoint's first event, makes the windows a pure
// function of the events' own timestamps: a replay at any speed cuts the
// same windows as live traffic did. Every event is stored once (in its pane)
// and read by the n windows that contain the pane.
//
// # Watermark, lateness and closing
//
// Each endpoint has a watermark: the largest event time it has delivered,
// raised further by Advance when the endpoint has gone quiet. An event older
// than watermark - late tolerance is late: counted and dropped. Window w is
// due once End(w) + late tolerance <= watermark, so every event the store
// accepts lands in windows that are still open, and a window's content is
// final when it is evaluated. Evaluated windows are committed (Commit); the
// panes no later window needs are then deleted.
//
// # Caps
//
// A pane keeps at most MaxEvents events (a pane can never need more than a
// whole window's worth); further events of that pane are counted as
// rejected. When a window's panes together hold more than MaxEvents, each
// pane contributes a fair share (water-filling: small panes keep all their
// events, the rest split what is left), earliest events first, so a flood in
// one minute cannot crowd the other minutes out of the window. Events not
// stored or not selected are reported as the window's Dropped count.
//
// # Dedup and delivery
//
// Events are de-duplicated by event_id while their pane is retained, so a
// redelivered record never becomes a second graph node. The store write is
// the durability point of an event: the Kafka offset is committed after Add
// returns, and the window's result is published before Commit trims the
// state, so a crash re-evaluates a window (same deterministic inference id)
// rather than losing it.
package window

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

// Key names one endpoint's window state.
type Key struct {
	Tenant, Endpoint string
}

// String is the partitioning key tenant_id:endpoint_id.
func (k Key) String() string { return schema.EndpointKey(k.Tenant, k.Endpoint) }

// KeyOf returns the key of an event's endpoint.
func KeyOf(ev *schema.NormalizedEvent) Key { return Key{Tenant: ev.TenantID, Endpoint: ev.EndpointID} }

// NoWindow is Meta.Closed of an endpoint none of whose windows has been
// evaluated yet.
const NoWindow = math.MinInt64

// DefaultMaxFuture is how far ahead of the wall clock an event's timestamp
// may be. A single record with a far-future timestamp (a parser or clock
// bug) would otherwise raise the endpoint's watermark and make every later
// event late; bounding it caps that damage at this much event time.
const DefaultMaxFuture = 15 * time.Minute

// Spec holds the window parameters every Store applies identically.
type Spec struct {
	Window    time.Duration // length of a window (a multiple of Stride)
	Stride    time.Duration // pane length = distance between window ends
	Late      time.Duration // late tolerance behind the watermark
	MaxEvents int           // events per window (and per pane)
	// TTL is how long an endpoint's state outlives its last write; idle
	// endpoints vanish on their own (Redis key expiry).
	TTL time.Duration
	// MaxFuture bounds event timestamps ahead of the wall clock (0 means
	// DefaultMaxFuture).
	MaxFuture time.Duration
}

// SpecFromConfig derives the spec from the inference section.
func SpecFromConfig(c config.Inference) Spec {
	return Spec{
		Window:    c.Window.D(),
		Stride:    c.Interval.D(),
		Late:      c.LateTolerance.D(),
		MaxEvents: c.MaxEventsPerWindow,
		TTL:       c.StateTTL.D(),
	}
}

// Validate checks the spec's internal consistency (config validation
// reports the same problems by key; this guards programmatic use).
func (s Spec) Validate() error {
	switch {
	case s.Stride < time.Second:
		return fmt.Errorf("window: stride %s is shorter than 1s", s.Stride)
	case s.Window < s.Stride || s.Window%s.Stride != 0:
		return fmt.Errorf("window: window %s is not a positive multiple of the stride %s", s.Window, s.Stride)
	case s.Window/s.Stride > 1024:
		return fmt.Errorf("window: window %s spans more than 1024 strides of %s", s.Window, s.Stride)
	case s.Late < 0:
		return errors.New("window: negative late tolerance")
	case s.MaxEvents < 1:
		return fmt.Errorf("window: max events %d must be positive", s.MaxEvents)
	case s.TTL <= 0:
		return errors.New("window: TTL must be positive")
	}
	return nil
}

// Panes is the number of panes per window.
func (s Spec) Panes() int64 { return int64(s.Window / s.Stride) }

func (s Spec) strideSec() float64 { return s.Stride.Seconds() }

func (s Spec) lateSec() float64 { return s.Late.Seconds() }

func (s Spec) maxFuture() time.Duration {
	if s.MaxFuture > 0 {
		return s.MaxFuture
	}
	return DefaultMaxFuture
}

// Pane returns the pane holding event time ts. It agrees exactly with
// PaneStart: PaneStart(p) <= ts < PaneStart(p+1), in float64 arithmetic,
// which is what the Redis store's score ranges compare.
func (s Spec) Pane(ts float64) int64 {
	st := s.strideSec()
	p := int64(math.Floor(ts / st))
	for float64(p)*st > ts {
		p--
	}
	for float64(p+1)*st <= ts {
		p++
	}
	return p
}

// PaneStart is the first event time of pane p.
func (s Spec) PaneStart(p int64) float64 { return float64(p) * s.strideSec() }

// Bounds returns window w's event-time range [start, end).
func (s Spec) Bounds(w int64) (start, end float64) {
	return s.PaneStart(w - s.Panes() + 1), s.PaneStart(w + 1)
}

// WindowsOf returns the first and last window containing pane p.
func (s Spec) WindowsOf(p int64) (first, last int64) { return p, p + s.Panes() - 1 }

// checkTime classifies an event time before any store access.
func (s Spec) checkTime(ts float64, now time.Time) Outcome {
	if math.IsNaN(ts) || math.IsInf(ts, 0) || ts <= 0 {
		return Invalid
	}
	if ts > float64(now.Add(s.maxFuture()).UnixNano())/1e9 {
		return Future
	}
	return Added
}

// Outcome is what Add did with an event.
type Outcome uint8

const (
	Added     Outcome = iota // stored in its pane
	Duplicate                // an event with this id is already stored
	Late                     // older than watermark - late tolerance: dropped
	OverCap                  // its pane already holds MaxEvents: dropped and counted
	Future                   // more than MaxFuture ahead of the wall clock: dropped
	Invalid                  // no usable timestamp: dropped
)

var outcomeNames = [...]string{"added", "duplicate", "late", "over_cap", "future", "invalid"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// Dropped reports whether the event was discarded (as opposed to stored or
// already stored).
func (o Outcome) Dropped() bool { return o >= Late }

// PaneCount is the occupancy of one retained pane.
type PaneCount struct {
	Pane     int64
	Stored   int // events kept
	Rejected int // events dropped because the pane was full
}

// Meta is an endpoint's window bookkeeping.
type Meta struct {
	Key       Key
	Partition int32 // Kafka partition the endpoint's events arrive on
	// MaxTS is the largest event time accepted; Watermark >= MaxTS also
	// moves when Advance declares the endpoint idle. Both are 0 before the
	// first accepted event.
	MaxTS, Watermark float64
	// LastLog is the Kafka log time (record timestamp) of the last accepted
	// event; idle detection compares it with the partition's progress.
	LastLog time.Time
	// Closed is the last evaluated window, NoWindow if none.
	Closed int64
	// Panes lists the retained panes in ascending order.
	Panes []PaneCount
}

// Events is the number of events retained.
func (m *Meta) Events() int {
	n := 0
	for _, p := range m.Panes {
		n += p.Stored
	}
	return n
}

// Pending reports whether some window with events has not been evaluated.
func (m *Meta) Pending(s Spec) bool {
	if len(m.Panes) == 0 {
		return false
	}
	_, last := s.WindowsOf(m.Panes[len(m.Panes)-1].Pane)
	return last > m.Closed
}

// NextWindow returns the first window after Closed that holds events.
func (m *Meta) NextWindow(s Spec) (int64, bool) {
	for _, p := range m.Panes {
		first, last := s.WindowsOf(p.Pane)
		if c := max(first, m.Closed+1); c <= last {
			return c, true
		}
	}
	return 0, false
}

// Due returns the first window after Closed that holds events and whose
// end plus the late tolerance is at or before watermark wm.
func (m *Meta) Due(s Spec, wm float64) (int64, bool) {
	w, ok := m.NextWindow(s)
	if !ok {
		return 0, false
	}
	_, end := s.Bounds(w)
	if end+s.lateSec() > wm {
		return 0, false
	}
	return w, true
}

// Clone returns a deep copy.
func (m Meta) Clone() Meta {
	m.Panes = append([]PaneCount(nil), m.Panes...)
	return m
}

// Window is one window's content, ready for the graph builder.
type Window struct {
	Key        Key
	Index      int64
	Start, End float64
	// Events are the selected events in (timestamp, event_id) order.
	Events []*schema.NormalizedEvent
	// Dropped counts the window's events lost to the cap: rejected by a
	// full pane or left out by the fair-share selection.
	Dropped int
}

// Entry is one endpoint returned by Store.Endpoints.
type Entry = Meta

// ErrUnknownEndpoint is returned by operations on an endpoint the store
// does not hold (never seen, deleted, or expired).
var ErrUnknownEndpoint = errors.New("window: unknown endpoint")

// Store holds endpoint windows. Implementations are safe for concurrent use;
// each operation on one endpoint is atomic.
type Store interface {
	// Add stores ev in its pane. partition is the Kafka partition it was
	// read from (ownership after a rebalance or restart), logTime the
	// record's Kafka timestamp and now the wall clock (TTL, future check).
	Add(ctx context.Context, partition int32, ev *schema.NormalizedEvent, logTime, now time.Time) (Outcome, Meta, error)
	// Advance raises the endpoint's watermark to at least wm (idle
	// endpoints) and returns the new meta.
	Advance(ctx context.Context, key Key, wm float64, now time.Time) (Meta, error)
	// Meta returns the endpoint's bookkeeping; ok is false if unknown.
	Meta(ctx context.Context, key Key) (meta Meta, ok bool, err error)
	// Window reads window w with the cap applied.
	Window(ctx context.Context, key Key, w int64) (*Window, error)
	// Commit records window w as evaluated and deletes the panes no later
	// window needs.
	Commit(ctx context.Context, key Key, w int64, now time.Time) (Meta, error)
	// Endpoints returns the endpoints whose events arrive on one of the
	// partitions (restart and rebalance resume).
	Endpoints(ctx context.Context, partitions []int32, now time.Time) ([]Entry, error)
	// Delete drops an endpoint's state (eviction).
	Delete(ctx context.Context, key Key) error
	// Sweep removes state that outlived the TTL.
	Sweep(ctx context.Context, now time.Time) error
	// Close releases the store's resources.
	Close() error
}

// selectEvents applies the per-window cap to the events of a window's panes
// (each pane's events in (ts, id) order). It returns the selection in
// (ts, id) order and how many stored events it left out.
func selectEvents(panes [][]*schema.NormalizedEvent, capacity int) ([]*schema.NormalizedEvent, int) {
	total := 0
	for _, p := range panes {
		total += len(p)
	}
	if total <= capacity {
		out := make([]*schema.NormalizedEvent, 0, total)
		for _, p := range panes {
			out = append(out, p...)
		}
		return out, 0
	}
	quota := fairShares(panes, capacity)
	out := make([]*schema.NormalizedEvent, 0, capacity)
	for i, p := range panes {
		out = append(out, p[:quota[i]]...)
	}
	return out, total - len(out)
}

// fairShares splits capacity over the panes by water-filling: panes
// smaller than an equal share keep everything and pass the rest on; the
// others get the common level, and the remainder of the integer division
// goes one event each to the earliest of them.
func fairShares(panes [][]*schema.NormalizedEvent, capacity int) []int {
	n := len(panes)
	quota := make([]int, n)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(panes[order[a]]) < len(panes[order[b]]) })
	left := capacity
	for k, i := range order {
		rest := n - k
		if len(panes[i])*rest <= left {
			quota[i] = len(panes[i])
			left -= quota[i]
			continue
		}
		level := left / rest
		capped := make([]bool, n)
		for _, j := range order[k:] {
			quota[j] = level
			capped[j] = true
		}
		extra := left - level*rest
		for j := 0; j < n && extra > 0; j++ {
			if capped[j] {
				quota[j]++
				extra--
			}
		}
		break
	}
	return quota
}

// eventLess orders events by (timestamp, event_id): the order of a window
// everywhere, so graph construction is deterministic.
func eventLess(a, b *schema.NormalizedEvent) bool {
	if a.Timestamp != b.Timestamp {
		return a.Timestamp < b.Timestamp
	}
	return a.EventID < b.EventID
}

// stripped returns a copy of ev without the raw record: inference never
// reads it, and it is often most of an event's size.
func stripped(ev *schema.NormalizedEvent) *schema.NormalizedEvent {
	c := *ev
	c.RawEvent = nil
	return &c
}

package window

import (
	"context"
	"hash/maphash"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/logster/logster/internal/schema"
)

// Memory is the in-process Store (standalone mode, tests). State lives in
// the process: a restart starts every window cold, as a Redis loss does.
// Endpoints are spread over shards so the consumer's partition goroutines
// and the evaluation workers rarely wait on the same lock.
type Memory struct {
	spec   Spec
	seed   maphash.Seed
	shards [memShards]memShard
}

const memShards = 64

type memShard struct {
	mu sync.Mutex
	m  map[Key]*memEndpoint
}

type memEndpoint struct {
	meta    Meta // Panes is rebuilt from panes on demand
	panes   map[int64]*memPane
	ids     map[string]int64 // event id -> pane, for dedup
	expires time.Time
}

type memPane struct {
	events   []*schema.NormalizedEvent // (ts, id) order
	rejected int
}

// NewMemory returns an empty in-process store.
func NewMemory(spec Spec) (*Memory, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	m := &Memory{spec: spec, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].m = map[Key]*memEndpoint{}
	}
	return m, nil
}

func (m *Memory) shard(k Key) *memShard {
	var h maphash.Hash
	h.SetSeed(m.seed)
	h.WriteString(k.Tenant)
	h.WriteByte(0)
	h.WriteString(k.Endpoint)
	return &m.shards[h.Sum64()%memShards]
}

// get returns the live endpoint, dropping it if its TTL passed.
func (s *memShard) get(k Key, now time.Time) *memEndpoint {
	e := s.m[k]
	if e != nil && !now.Before(e.expires) {
		delete(s.m, k)
		return nil
	}
	return e
}

func (e *memEndpoint) snapshot() Meta {
	m := e.meta
	m.Panes = make([]PaneCount, 0, len(e.panes))
	for p, pn := range e.panes {
		m.Panes = append(m.Panes, PaneCount{Pane: p, Stored: len(pn.events), Rejected: pn.rejected})
	}
	sort.Slice(m.Panes, func(i, j int) bool { return m.Panes[i].Pane < m.Panes[j].Pane })
	return m
}

// Add implements Store.
func (m *Memory) Add(_ context.Context, partition int32, ev *schema.NormalizedEvent, logTime, now time.Time) (Outcome, Meta, error) {
	key := KeyOf(ev)
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(key, now)
	if o := m.spec.checkTime(ev.Timestamp, now); o != Added {
		if e == nil {
			return o, Meta{Key: key, Partition: partition, Closed: NoWindow}, nil
		}
		return o, e.snapshot(), nil
	}
	if e == nil {
		e = &memEndpoint{
			meta:  Meta{Key: key, Partition: partition, Closed: NoWindow},
			panes: map[int64]*memPane{},
			ids:   map[string]int64{},
		}
		s.m[key] = e
	}
	e.expires = now.Add(m.spec.TTL)
	if _, dup := e.ids[ev.EventID]; dup {
		return Duplicate, e.snapshot(), nil
	}
	ts := ev.Timestamp
	if e.meta.Watermark > 0 && ts < e.meta.Watermark-m.spec.lateSec() {
		return Late, e.snapshot(), nil
	}
	p := m.spec.Pane(ts)
	pn := e.panes[p]
	if pn == nil {
		pn = &memPane{}
		e.panes[p] = pn
	}
	if len(pn.events) >= m.spec.MaxEvents {
		pn.rejected++
		e.meta.Partition = partition
		return OverCap, e.snapshot(), nil
	}
	sev := stripped(ev)
	// Events arrive mostly in time order: search from the end.
	i := len(pn.events)
	for i > 0 && eventLess(sev, pn.events[i-1]) {
		i--
	}
	pn.events = slices.Insert(pn.events, i, sev)
	e.ids[ev.EventID] = p
	e.meta.Partition = partition
	e.meta.MaxTS = max(e.meta.MaxTS, ts)
	e.meta.Watermark = max(e.meta.Watermark, ts)
	if logTime.After(e.meta.LastLog) {
		e.meta.LastLog = logTime
	}
	return Added, e.snapshot(), nil
}

// Advance implements Store.
func (m *Memory) Advance(_ context.Context, key Key, wm float64, now time.Time) (Meta, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(key, now)
	if e == nil {
		return Meta{}, ErrUnknownEndpoint
	}
	e.meta.Watermark = max(e.meta.Watermark, wm)
	e.expires = now.Add(m.spec.TTL)
	return e.snapshot(), nil
}

// Meta implements Store. An expired endpoint is reported unknown only
// after Sweep or a write notices it: reads do not take the wall clock.
func (m *Memory) Meta(_ context.Context, key Key) (Meta, bool, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[key]
	if e == nil {
		return Meta{}, false, nil
	}
	return e.snapshot(), true, nil
}

// Window implements Store.
func (m *Memory) Window(_ context.Context, key Key, w int64) (*Window, error) {
	start, end := m.spec.Bounds(w)
	win := &Window{Key: key, Index: w, Start: start, End: end}
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[key]
	if e == nil {
		return nil, ErrUnknownEndpoint
	}
	n := m.spec.Panes()
	panes := make([][]*schema.NormalizedEvent, 0, n)
	for p := w - n + 1; p <= w; p++ {
		pn := e.panes[p]
		if pn == nil {
			continue
		}
		win.Dropped += pn.rejected
		// The slices are copied: Add may insert into a pane while the
		// caller still reads the window.
		panes = append(panes, slices.Clone(pn.events))
	}
	var left int
	win.Events, left = selectEvents(panes, m.spec.MaxEvents)
	win.Dropped += left
	return win, nil
}

// Commit implements Store.
func (m *Memory) Commit(_ context.Context, key Key, w int64, now time.Time) (Meta, error) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.get(key, now)
	if e == nil {
		return Meta{}, ErrUnknownEndpoint
	}
	e.meta.Closed = max(e.meta.Closed, w)
	keepFrom := e.meta.Closed - m.spec.Panes() + 2 // first pane of the next window
	for p, pn := range e.panes {
		if p >= keepFrom {
			continue
		}
		for _, ev := range pn.events {
			delete(e.ids, ev.EventID)
		}
		delete(e.panes, p)
	}
	e.expires = now.Add(m.spec.TTL)
	return e.snapshot(), nil
}

// Endpoints implements Store.
func (m *Memory) Endpoints(_ context.Context, partitions []int32, now time.Time) ([]Entry, error) {
	want := make(map[int32]bool, len(partitions))
	for _, p := range partitions {
		want[p] = true
	}
	var out []Entry
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
				continue
			}
			if want[e.meta.Partition] {
				out = append(out, e.snapshot())
			}
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key Key) error {
	s := m.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}

// Sweep implements Store.
func (m *Memory) Sweep(_ context.Context, now time.Time) error {
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
	return nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }

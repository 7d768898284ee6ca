package alerting

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryState is the in-process State for standalone mode and a single
// replica. One mutex serialises updates: the engine's updates are short
// (decode, merge, encode) and a single replica gains nothing from finer
// locks. Expired keys read as absent and are swept periodically.
type MemoryState struct {
	now func() time.Time

	mu      sync.Mutex
	data    map[string]memEntry
	updates int
	closed  bool
}

type memEntry struct {
	val     []byte
	expires time.Time // zero: never
}

// sweepEvery is how many updates pass between sweeps of expired keys.
const sweepEvery = 1024

// NewMemoryState returns an empty store; now is the clock for expiry (nil
// means time.Now).
func NewMemoryState(now func() time.Time) *MemoryState {
	if now == nil {
		now = time.Now
	}
	return &MemoryState{now: now, data: map[string]memEntry{}}
}

// Update implements State.
func (m *MemoryState) Update(ctx context.Context, keys []string, fn func(cur [][]byte) ([]Write, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("memory state: closed")
	}
	now := m.now()
	cur := make([][]byte, len(keys))
	for i, k := range keys {
		if e, ok := m.data[k]; ok && (e.expires.IsZero() || now.Before(e.expires)) {
			// Hand out a copy: fn must not be able to change stored bytes.
			cur[i] = append([]byte(nil), e.val...)
		}
	}
	writes, err := fn(cur)
	if err != nil {
		return err
	}
	if len(writes) > len(keys) {
		return fmt.Errorf("memory state: %d writes for %d keys", len(writes), len(keys))
	}
	for i, w := range writes {
		if w.Value == nil {
			continue
		}
		e := memEntry{val: append([]byte(nil), w.Value...)}
		if w.TTL > 0 {
			e.expires = now.Add(w.TTL)
		}
		m.data[keys[i]] = e
	}
	m.updates++
	if m.updates%sweepEvery == 0 {
		for k, e := range m.data {
			if !e.expires.IsZero() && !now.Before(e.expires) {
				delete(m.data, k)
			}
		}
	}
	return nil
}

// Len returns the number of live keys (for tests and the state-size gauge).
func (m *MemoryState) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	n := 0
	for _, e := range m.data {
		if e.expires.IsZero() || now.Before(e.expires) {
			n++
		}
	}
	return n
}

// Close implements State.
func (m *MemoryState) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

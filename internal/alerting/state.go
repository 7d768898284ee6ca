package alerting

import (
	"context"
	"errors"
	"time"
)

// ErrConflict is returned by State.Update when other writers kept changing
// the keys and the update could not be applied within its attempts. It is
// transient: the caller retries the record.
var ErrConflict = errors.New("alert state: too many concurrent updates")

// Write is the new value of one key in an Update. A nil Value leaves the key
// as it is (and does not count as a change for other writers).
type Write struct {
	Value []byte
	// TTL is the key's lifetime from now; state that is not touched again
	// disappears, so dedup and correlation state never grows without bound.
	TTL time.Duration
}

// State stores the engine's documents. It is the only thing replicas share,
// so all cross-replica correctness rests on its one operation:
//
// Update reads the current values of keys (nil for an absent or expired
// key), passes them to fn in key order, and writes the values fn returns
// (one Write per key) — atomically with respect to every other Update that
// touches any of the same keys. fn may be called several times when a
// concurrent writer changed a key in between (optimistic concurrency); it
// must therefore be a pure function of its input, with results captured by
// the caller only from the last call. An error from fn aborts the update
// without writing and is returned as is.
//
// Implementations: MemoryState (one process) and RedisState (WATCH/MULTI,
// for replicas). Both pass the contract suite in state_test.go.
type State interface {
	Update(ctx context.Context, keys []string, fn func(cur [][]byte) ([]Write, error)) error
	Close() error
}

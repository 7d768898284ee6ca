package alerting

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/logster/logster/internal/config"
)

// RedisState keeps the engine's documents in Redis so that any number of
// alerts replicas share one view. Update is optimistic: WATCH the keys, read
// them, run fn, and write inside MULTI/EXEC; if another replica wrote one of
// the keys in between, EXEC fails and the update is retried on fresh values.
// Lua would avoid the retries but would move the merge and correlation logic
// into a script; keeping it in Go keeps one engine for both stores.
//
// Keys of one update must live in one hash slot for Redis Cluster; the
// engine's keys embed the tenant as a hash tag ({tenant}).
type RedisState struct {
	rdb         redis.UniversalClient
	maxAttempts int
	owns        bool
}

// Attempts of one Update before ErrConflict. Each attempt costs one round
// of WATCH/MGET/MULTI; contention is per tenant, between replicas that see
// positives of the same tenant at the same moment.
const defaultRedisAttempts = 64

// NewRedisState wraps a client. The caller keeps ownership of rdb.
func NewRedisState(rdb redis.UniversalClient) *RedisState {
	return &RedisState{rdb: rdb, maxAttempts: defaultRedisAttempts}
}

// OpenRedisState connects to the configured Redis and checks it answers.
func OpenRedisState(ctx context.Context, cfg config.Redis) (*RedisState, error) {
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Addr, Password: cfg.Password, DB: cfg.DB})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("connect to redis at %s for alert state: %w", cfg.Addr, err)
	}
	s := NewRedisState(rdb)
	s.owns = true
	return s, nil
}

// Update implements State.
func (s *RedisState) Update(ctx context.Context, keys []string, fn func(cur [][]byte) ([]Write, error)) error {
	var fnErr error
	txf := func(tx *redis.Tx) error {
		vals, err := tx.MGet(ctx, keys...).Result()
		if err != nil {
			return fmt.Errorf("redis state: read %v: %w", keys, err)
		}
		cur := make([][]byte, len(keys))
		for i, v := range vals {
			switch v := v.(type) {
			case string:
				cur[i] = []byte(v)
			case nil:
			default:
				return fmt.Errorf("redis state: unexpected %T for %s", v, keys[i])
			}
		}
		writes, err := fn(cur)
		if err != nil {
			fnErr = err
			return err
		}
		if len(writes) > len(keys) {
			fnErr = fmt.Errorf("redis state: %d writes for %d keys", len(writes), len(keys))
			return fnErr
		}
		changed := false
		for _, w := range writes {
			changed = changed || w.Value != nil
		}
		if !changed {
			// Nothing to write: the read was consistent (MGET is atomic),
			// so there is nothing to validate with EXEC either.
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i, w := range writes {
				if w.Value != nil {
					p.Set(ctx, keys[i], w.Value, w.TTL)
				}
			}
			return nil
		})
		return err
	}
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		fnErr = nil
		err := s.rdb.Watch(ctx, txf, keys...)
		switch {
		case err == nil:
			return nil
		case fnErr != nil:
			return fnErr
		case errors.Is(err, redis.TxFailedErr):
			// Another writer won; back off a little (jittered, growing)
			// so a hot tenant's replicas do not retry in lockstep.
			d := time.Duration(rand.Int64N(int64(time.Millisecond)*int64(1+min(attempt, 20)))) + 100*time.Microsecond
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		default:
			return fmt.Errorf("redis state: update %v: %w", keys, err)
		}
	}
	return fmt.Errorf("%w (%d attempts on %v)", ErrConflict, s.maxAttempts, keys)
}

// Ping checks that Redis answers.
func (s *RedisState) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis state: %w", err)
	}
	return nil
}

// Close implements State; it closes the client only if OpenRedisState
// created it.
func (s *RedisState) Close() error {
	if s.owns {
		return s.rdb.Close()
	}
	return nil
}

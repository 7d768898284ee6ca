package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// fakeClock is a settable wall clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// stateBackend is one State implementation under test. advance moves its
// clock forward for expiry; nil means the backend runs on real time and
// expiry must be polled.
type stateBackend struct {
	name    string
	open    func(t *testing.T) State // a new client on the shared backend
	advance func(d time.Duration)
	prefix  string // unique key prefix for this test
}

func uniquePrefix(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return "logster-test:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}

// realRedis returns a client for LOGSTER_TEST_REDIS_URL, or skips.
func realRedis(t *testing.T) *redis.Client {
	t.Helper()
	u := os.Getenv("LOGSTER_TEST_REDIS_URL")
	if u == "" {
		t.Skip("LOGSTER_TEST_REDIS_URL not set; skipping the real-Redis case")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("LOGSTER_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", u, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// cleanupPrefix deletes the test's keys from a real Redis.
func cleanupPrefix(t *testing.T, rdb *redis.Client, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
}

// backends returns the State implementations to run a test against:
// memory and miniredis always, real Redis when LOGSTER_TEST_REDIS_URL is set.
func backends(t *testing.T) []func(t *testing.T) stateBackend {
	return []func(t *testing.T) stateBackend{
		func(t *testing.T) stateBackend {
			clk := newFakeClock()
			st := NewMemoryState(clk.Now)
			return stateBackend{name: "memory", open: func(*testing.T) State { return st }, advance: clk.Advance, prefix: uniquePrefix(t)}
		},
		func(t *testing.T) stateBackend {
			mr := miniredis.RunT(t)
			return stateBackend{name: "miniredis", open: func(t *testing.T) State {
				rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
				t.Cleanup(func() { _ = rdb.Close() })
				return NewRedisState(rdb)
			}, advance: mr.FastForward, prefix: uniquePrefix(t)}
		},
		func(t *testing.T) stateBackend {
			rdb := realRedis(t)
			prefix := uniquePrefix(t)
			cleanupPrefix(t, rdb, prefix)
			opt := rdb.Options()
			return stateBackend{name: "redis", open: func(t *testing.T) State {
				c := redis.NewClient(opt)
				t.Cleanup(func() { _ = c.Close() })
				return NewRedisState(c)
			}, prefix: prefix}
		},
	}
}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b stateBackend)) {
	names := []string{"memory", "miniredis", "redis"}
	for i, mk := range backends(t) {
		t.Run(names[i], func(t *testing.T) {
			t.Parallel()
			f(t, mk(t))
		})
	}
}

func get(t *testing.T, st State, key string) []byte {
	t.Helper()
	var out []byte
	err := st.Update(context.Background(), []string{key}, func(cur [][]byte) ([]Write, error) {
		out = cur[0]
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func put(t *testing.T, st State, key, val string, ttl time.Duration) {
	t.Helper()
	err := st.Update(context.Background(), []string{key}, func(cur [][]byte) ([]Write, error) {
		return []Write{{Value: []byte(val), TTL: ttl}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The contract every State implementation must meet.
func TestStateContract(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b stateBackend) {
		st := b.open(t)
		ctx := context.Background()
		k := func(s string) string { return b.prefix + "{t}:" + s }

		t.Run("absent keys read as nil, writes are visible", func(t *testing.T) {
			if v := get(t, st, k("a")); v != nil {
				t.Fatalf("absent key = %q", v)
			}
			put(t, st, k("a"), "1", time.Hour)
			if v := get(t, st, k("a")); string(v) != "1" {
				t.Fatalf("a = %q", v)
			}
		})

		t.Run("a nil write leaves the key as it is", func(t *testing.T) {
			put(t, st, k("b"), "x", time.Hour)
			err := st.Update(ctx, []string{k("b"), k("c")}, func(cur [][]byte) ([]Write, error) {
				return []Write{{}, {Value: []byte("y"), TTL: time.Hour}}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if string(get(t, st, k("b"))) != "x" || string(get(t, st, k("c"))) != "y" {
				t.Fatal("unexpected values")
			}
		})

		t.Run("an error from fn aborts without writing", func(t *testing.T) {
			boom := errors.New("boom")
			err := st.Update(ctx, []string{k("d")}, func(cur [][]byte) ([]Write, error) {
				return []Write{{Value: []byte("no")}}, boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			if v := get(t, st, k("d")); v != nil {
				t.Fatalf("d = %q after aborted update", v)
			}
		})

		t.Run("a cancelled context fails the update", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			err := st.Update(cctx, []string{k("e")}, func(cur [][]byte) ([]Write, error) {
				return []Write{{Value: []byte("no")}}, nil
			})
			if err == nil {
				t.Fatal("update with a cancelled context succeeded")
			}
		})

		t.Run("concurrent read-modify-write loses no update", func(t *testing.T) {
			// Several clients (replicas) increment one counter.
			const clients, each = 4, 25
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for c := 0; c < clients; c++ {
				cl := b.open(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						err := cl.Update(ctx, []string{k("ctr")}, func(cur [][]byte) ([]Write, error) {
							n, _ := strconv.Atoi(string(cur[0]))
							return []Write{{Value: []byte(strconv.Itoa(n + 1)), TTL: time.Hour}}, nil
						})
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if got := string(get(t, st, k("ctr"))); got != strconv.Itoa(clients*each) {
				t.Fatalf("counter = %s, want %d", got, clients*each)
			}
		})

		t.Run("updates over several keys are atomic together", func(t *testing.T) {
			put(t, st, k("x"), "100", time.Hour)
			put(t, st, k("y"), "0", time.Hour)
			keys := []string{k("x"), k("y")}
			var wg sync.WaitGroup
			bad := make(chan string, 100)
			for c := 0; c < 4; c++ {
				cl := b.open(t)
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					for i := 0; i < 20; i++ {
						_ = cl.Update(ctx, keys, func(cur [][]byte) ([]Write, error) {
							x, _ := strconv.Atoi(string(cur[0]))
							y, _ := strconv.Atoi(string(cur[1]))
							if x+y != 100 {
								bad <- string(cur[0]) + "+" + string(cur[1])
							}
							if c%2 == 0 { // writers move one unit; readers only check
								return []Write{{Value: []byte(strconv.Itoa(x - 1)), TTL: time.Hour}, {Value: []byte(strconv.Itoa(y + 1)), TTL: time.Hour}}, nil
							}
							return nil, nil
						})
					}
				}(c)
			}
			wg.Wait()
			close(bad)
			for s := range bad {
				t.Fatalf("observed a torn update: %s", s)
			}
			if got := string(get(t, st, k("y"))); got != "40" {
				t.Fatalf("y = %s, want 40", got)
			}
		})

		t.Run("keys expire after their TTL", func(t *testing.T) {
			put(t, st, k("ttl"), "v", 200*time.Millisecond)
			if b.advance != nil {
				b.advance(time.Second)
				if v := get(t, st, k("ttl")); v != nil {
					t.Fatalf("expired key = %q", v)
				}
				return
			}
			deadline := time.Now().Add(5 * time.Second)
			for get(t, st, k("ttl")) != nil {
				if time.Now().After(deadline) {
					t.Fatal("key did not expire")
				}
				time.Sleep(20 * time.Millisecond) // polling the server's clock
			}
		})
	})
}

func TestMemoryStateSweepsExpiredKeys(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st := NewMemoryState(clk.Now)
	for i := 0; i < 10; i++ {
		put(t, st, "k"+strconv.Itoa(i), "v", time.Minute)
	}
	clk.Advance(time.Hour)
	for i := 0; i < sweepEvery; i++ {
		put(t, st, "live", "v", 0)
	}
	if n := st.Len(); n != 1 {
		t.Fatalf("live keys = %d, want 1", n)
	}
	st.mu.Lock()
	n := len(st.data)
	st.mu.Unlock()
	if n != 1 {
		t.Fatalf("stored keys = %d after sweep, want 1", n)
	}
}

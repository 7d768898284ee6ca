package window_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/logster/logster/internal/window"
	"github.com/logster/logster/internal/window/windowtest"
)

func TestMemoryContract(t *testing.T) {
	t.Parallel()
	windowtest.Run(t, func(t *testing.T, spec window.Spec) windowtest.Harness {
		s, err := window.NewMemory(spec)
		if err != nil {
			t.Fatal(err)
		}
		return windowtest.Harness{Store: s, ExpiryByNow: true}
	})
}

func TestMiniredisContract(t *testing.T) {
	t.Parallel()
	windowtest.Run(t, func(t *testing.T, spec window.Spec) windowtest.Harness {
		mr := miniredis.RunT(t)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		s, err := window.NewRedis(rdb, "test:", spec)
		if err != nil {
			t.Fatal(err)
		}
		return windowtest.Harness{
			Store:       s,
			FastForward: mr.FastForward,
			Reopen: func() window.Store {
				// A restarted replica: new client, same server.
				rdb2 := redis.NewClient(&redis.Options{Addr: mr.Addr()})
				t.Cleanup(func() { _ = rdb2.Close() })
				s2, err := window.NewRedis(rdb2, "test:", spec)
				if err != nil {
					t.Fatal(err)
				}
				return s2
			},
		}
	})
}

var prefixSeq atomic.Int64

// RealRedis returns a client for LOGSTER_TEST_REDIS_URL and a key prefix
// unique to this test, or skips.
func realRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	u := os.Getenv("LOGSTER_TEST_REDIS_URL")
	if u == "" {
		t.Skip("LOGSTER_TEST_REDIS_URL not set (e.g. redis://127.0.0.1:6379/0); skipping the real-Redis case")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("LOGSTER_TEST_REDIS_URL %q: %v", u, err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s: %v", redactURL(u), err)
	}
	prefix := fmt.Sprintf("logstertest:%d:%d:%s:", os.Getpid(), prefixSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "."))
	t.Cleanup(func() {
		// Remove what the test wrote (keys also carry the TTL).
		iter := rdb.Scan(context.Background(), 0, prefix+"*", 500).Iterator()
		for iter.Next(context.Background()) {
			rdb.Del(context.Background(), iter.Val())
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

func TestRedisContract(t *testing.T) {
	t.Parallel()
	if os.Getenv("LOGSTER_TEST_REDIS_URL") == "" {
		t.Skip("LOGSTER_TEST_REDIS_URL not set (e.g. redis://127.0.0.1:6379/0); skipping the real-Redis case")
	}
	windowtest.Run(t, func(t *testing.T, spec window.Spec) windowtest.Harness {
		rdb, prefix := realRedis(t)
		s, err := window.NewRedis(rdb, prefix, spec)
		if err != nil {
			t.Fatal(err)
		}
		return windowtest.Harness{
			Store: s,
			Reopen: func() window.Store {
				s2, err := window.NewRedis(redis.NewClient(rdb.Options()), prefix, spec)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s2.Close() })
				return s2
			},
		}
	})
}

// Redis restarted without its scripts (SCRIPT FLUSH): the store reloads
// them instead of failing.
func TestRedisReloadsFlushedScripts(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	s, err := window.NewRedis(rdb, "x:", windowtest.DefaultSpec())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		ev := windowtest.Ev("a", "e"+strconv.Itoa(i), windowtest.T0+float64(i))
		if o, _, err := s.Add(ctx, 0, ev, windowtest.Now, windowtest.Now); err != nil || o != window.Added {
			t.Fatalf("Add after SCRIPT FLUSH: %v %v", o, err)
		}
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Window(ctx, window.KeyOf(ev), windowtest.DefaultSpec().Pane(ev.Timestamp)); err != nil {
			t.Fatalf("Window after SCRIPT FLUSH: %v", err)
		}
	}
}

func TestOpenRedisFailsClearly(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := configRedis("127.0.0.1:1")
	_, err := window.OpenRedis(ctx, cfg, windowtest.DefaultSpec())
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "window state") {
		t.Fatalf("err = %v, want one naming the address and the purpose", err)
	}
}

package window_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/window"
	"github.com/logster/logster/internal/window/windowtest"
)

// benchEvent is a realistic process_create event (a Sysmon 1 as the
// normalizer emits it), decoded from JSON as the service does.
func benchEvent(ep string, i int, ts float64) *schema.NormalizedEvent {
	raw := fmt.Sprintf(`{"schema_version":1,"event_id":"%s-%08d","tenant_id":"default","endpoint_id":%q,"hostname":%q,"platform":"windows","source":"winlogbeat","event_type":"process_create","timestamp":%.3f,"data":{"channel":"Microsoft-Windows-Sysmon/Operational","provider":"Microsoft-Windows-Sysmon","native_id":1,"record_id":%d,"process":{"guid":"{%08d-1111-2222-3333-444455556666}","pid":%d,"image":"C:\\Windows\\System32\\svchost.exe","command_line":"C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule","current_directory":"C:\\Windows\\system32\\","user":"NT AUTHORITY\\SYSTEM","integrity_level":"System","hashes":"SHA1=1B3B40FBC889FD4C645CC12C85D0805AC36BA254,MD5=A1385CE20AD79F55DF235EFFD9780C31","logon_id":"0x3e7"},"parent":{"guid":"{00000001-1111-2222-3333-444455556666}","pid":600,"image":"C:\\Windows\\System32\\services.exe","command_line":"C:\\Windows\\system32\\services.exe"}},"raw_event":{"TerminalSessionId":"0","FileVersion":"10.0.17763.1 (WinBuild.160101.0800)","Description":"Host Process for Windows Services","Product":"Microsoft Windows Operating System","Company":"Microsoft Corporation","OriginalFileName":"svchost.exe"}}`,
		ep, i, ep, ep, ts, i, i, 1000+i%5000)
	ev, err := schema.DecodeEvent([]byte(raw))
	if err != nil {
		panic(err)
	}
	return ev
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMemoryPerEndpoint reports the memory one active endpoint costs
// in the in-process store: 1,000 endpoints holding k events each (spread
// over three panes, one window's worth).
func BenchmarkMemoryPerEndpoint(b *testing.B) {
	for _, k := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("memory/events=%d", k), func(b *testing.B) {
			const endpoints = 1000
			for b.Loop() {
				b.StopTimer()
				before := heapInUse()
				s, _ := window.NewMemory(benchSpec())
				now := time.Unix(int64(windowtest.T0)+3600, 0)
				for e := range endpoints {
					ep := "ep" + strconv.Itoa(e)
					for i := range k {
						ev := benchEvent(ep, i, windowtest.T0+float64(i)*180/float64(k))
						if _, _, err := s.Add(context.Background(), 0, ev, now, now); err != nil {
							b.Fatal(err)
						}
					}
				}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/endpoints, "bytes/endpoint")
				b.ReportMetric(float64(after-before)/endpoints/float64(k), "bytes/event")
				runtime.KeepAlive(s)
				b.StartTimer()
			}
		})
	}
	u := os.Getenv("LOGSTER_TEST_REDIS_URL")
	if u == "" {
		return
	}
	for _, k := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("redis/events=%d", k), func(b *testing.B) {
			const endpoints = 1000
			opt, _ := redis.ParseURL(u)
			rdb := redis.NewClient(opt)
			defer rdb.Close()
			prefix := fmt.Sprintf("logsterbench:%d:", os.Getpid())
			defer cleanup(rdb, prefix)
			for b.Loop() {
				b.StopTimer()
				cleanup(rdb, prefix)
				before := usedMemory(b, rdb)
				s, _ := window.NewRedis(rdb, prefix, benchSpec())
				now := time.Unix(int64(windowtest.T0)+3600, 0)
				for e := range endpoints {
					ep := "ep" + strconv.Itoa(e)
					for i := range k {
						ev := benchEvent(ep, i, windowtest.T0+float64(i)*180/float64(k))
						if _, _, err := s.Add(context.Background(), int32(e%12), ev, now, now); err != nil {
							b.Fatal(err)
						}
					}
				}
				after := usedMemory(b, rdb)
				b.ReportMetric(float64(after-before)/endpoints, "bytes/endpoint")
				b.ReportMetric(float64(after-before)/endpoints/float64(k), "bytes/event")
				b.StartTimer()
			}
		})
	}
}

// benchSpec is the production window (3m/1m, 20,000 events).
func benchSpec() window.Spec {
	s := windowtest.DefaultSpec()
	s.MaxEvents = 20000
	return s
}

func cleanup(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 500 {
			rdb.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
}

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO")
	return 0
}

// BenchmarkAdd measures the store write of one event (the service's
// per-event durability point), from one goroutine and from twelve (one per
// partition of normalized-endpoint-events).
func BenchmarkAdd(b *testing.B) {
	stores := map[string]func(b *testing.B) window.Store{
		"memory": func(b *testing.B) window.Store { s, _ := window.NewMemory(windowtest.DefaultSpec()); return s },
	}
	if u := os.Getenv("LOGSTER_TEST_REDIS_URL"); u != "" {
		stores["redis"] = func(b *testing.B) window.Store {
			opt, _ := redis.ParseURL(u)
			opt.PoolSize = 24
			rdb := redis.NewClient(opt)
			prefix := fmt.Sprintf("logsterbench:add:%d:", os.Getpid())
			b.Cleanup(func() { cleanup(rdb, prefix); rdb.Close() })
			s, _ := window.NewRedis(rdb, prefix, windowtest.DefaultSpec())
			return s
		}
	}
	for name, open := range stores {
		for _, par := range []int{1, 12} {
			b.Run(fmt.Sprintf("%s/partitions=%d", name, par), func(b *testing.B) {
				s := open(b)
				evs := make([]*schema.NormalizedEvent, 4096)
				for i := range evs {
					evs[i] = benchEvent("ep"+strconv.Itoa(i%100), i, windowtest.T0+float64(i%170))
				}
				now := time.Unix(int64(windowtest.T0)+3600, 0)
				var next sync.Mutex
				n := 0
				b.ReportAllocs()
				b.ResetTimer()
				var wg sync.WaitGroup
				per := b.N / par
				for p := range par {
					wg.Go(func() {
						for i := range per {
							ev := *evs[(p*per+i)%len(evs)]
							ev.EventID = fmt.Sprintf("%d-%d", p, i)
							if _, _, err := s.Add(context.Background(), int32(p), &ev, now, now); err != nil {
								b.Error(err)
								return
							}
						}
						next.Lock()
						n += per
						next.Unlock()
					})
				}
				wg.Wait()
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

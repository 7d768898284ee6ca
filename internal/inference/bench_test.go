package inference

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/window"
)

// simEvent is one event of a simulated endpoint: a mix of process
// creation, connections, file writes and registry writes, so graphs have
// the shape of real ones (several node types, shared parents and files).
func simEvent(rng *rand.Rand, ep string, i int, ts float64) *schema.NormalizedEvent {
	e := ev(ep, fmt.Sprintf("%s-%06d", ep, i), ts)
	e.Data.Parent.GUID = fmt.Sprintf("{%s-p%d}", ep, rng.IntN(8))
	e.Data.Process.Image = []string{`C:\Windows\System32\svchost.exe`, `C:\Windows\System32\cmd.exe`, `C:\Program Files\App\app.exe`, `C:\Windows\System32\conhost.exe`}[rng.IntN(4)]
	switch rng.IntN(5) {
	case 1:
		e.EventType = schema.EventNetworkConnect
		e.Data.Process.GUID = e.Data.Parent.GUID
		e.Data.Parent = nil
		e.Data.Network = &schema.Network{Protocol: "tcp", Direction: "outbound", DstIP: fmt.Sprintf("10.0.%d.%d", rng.IntN(4), rng.IntN(250)), DstPort: []int{443, 445, 80, 135, 5985}[rng.IntN(5)]}
	case 2:
		e.EventType = schema.EventFileCreate
		e.Data.Process.GUID = e.Data.Parent.GUID
		e.Data.Parent = nil
		e.Data.File = &schema.File{Path: fmt.Sprintf(`C:\Users\u%d\AppData\Local\Temp\f%d.tmp`, rng.IntN(3), rng.IntN(40))}
	case 3:
		e.EventType = schema.EventRegistrySet
		e.Data.Process.GUID = e.Data.Parent.GUID
		e.Data.Parent = nil
		e.Data.Registry = &schema.Registry{Key: fmt.Sprintf(`HKLM\Software\Vendor\Key%d`, rng.IntN(20)), Value: "1"}
	}
	return e
}

// simulation is E endpoints producing rate events/s of event time each for
// d, spread over 12 partitions, each partition's records in time order.
type simulation struct {
	parts   [12][]*kgo.Record
	events  int
	windows int // windows holding events (each evaluated once)
}

func newSimulation(endpoints int, d time.Duration, rate float64) *simulation {
	sim := &simulation{}
	rng := rand.New(rand.NewPCG(5, 6))
	perEp := int(d.Seconds() * rate)
	type item struct {
		rec *kgo.Record
		ts  float64
	}
	var parts [12][]item
	for e := range endpoints {
		ep := fmt.Sprintf("host%04d", e)
		p := e % 12
		for i := range perEp {
			ts := T0 + float64(i)/rate + rng.Float64()/rate
			b, _ := json.Marshal(simEvent(rng, ep, i, ts))
			parts[p] = append(parts[p], item{&kgo.Record{Topic: "normalized-endpoint-events", Partition: int32(p), Key: []byte("default:" + ep), Value: b}, ts})
		}
		panes := int(d/time.Minute) + 1
		if d%time.Minute == 0 {
			panes--
		}
		sim.windows += panes + 2 // a 3-pane window closes on each pane's end and two more
	}
	for p := range parts {
		// Interleave endpoints by time, as a partition would carry them.
		items := parts[p]
		slicesSortFunc(items, func(a, b item) bool { return a.ts < b.ts })
		for _, it := range items {
			sim.parts[p] = append(sim.parts[p], it.rec)
		}
		sim.events += len(items)
	}
	return sim
}

func slicesSortFunc[T any](s []T, less func(a, b T) bool) {
	sort.SliceStable(s, func(i, j int) bool { return less(s[i], s[j]) })
}

// run feeds the simulation through a fresh service and waits until every
// window has been evaluated.
func (sim *simulation) run(b *testing.B, opts ...Option) (elapsed time.Duration, cpu time.Duration, h *harness) {
	cfg := testConfig()
	cfg.Inference.Workers = 0 // one per CPU
	h = newHarness(b, cfg, opts...)
	logT := h.clock.Now()
	start, c0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for p := range sim.parts {
		wg.Go(func() {
			handler := h.s.Handler()
			for _, r := range sim.parts[p] {
				r.Timestamp = logT
				if _, err := handler.Handle(context.Background(), r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	h.clock.Advance(15 * time.Minute)
	deadline := time.Now().Add(10 * time.Minute)
	for h.pub.count() < sim.windows {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d windows evaluated", h.pub.count(), sim.windows)
		}
		h.s.poke()
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start), cpuTime() - c0, h
}

// BenchmarkSustained pushes 1,000 simulated endpoints (0.5 events/s each
// over 4 minutes of event time: 120,000 events, 6,000 windows) through the
// handler, the window store and the evaluation path (graph, features,
// forward pass with the production-shaped model, explanation, evidence,
// publish), with one worker per CPU, and reports the sustained rate.
func BenchmarkSustained(b *testing.B) {
	endpoints, d, rate := 1000, 4*time.Minute, 0.5
	if testing.Short() {
		endpoints = 100
	}
	sim := newSimulation(endpoints, d, rate)
	stores := []struct {
		name string
		open func(b *testing.B) []Option
	}{{"memory", func(*testing.B) []Option { return nil }}}
	if u := os.Getenv("LOGSTER_TEST_REDIS_URL"); u != "" {
		stores = append(stores, struct {
			name string
			open func(b *testing.B) []Option
		}{"redis", func(b *testing.B) []Option {
			opt, err := redis.ParseURL(u)
			if err != nil {
				b.Fatal(err)
			}
			opt.PoolSize = 32
			rdb := redis.NewClient(opt)
			prefix := fmt.Sprintf("logsterbench:svc:%d:%d:", os.Getpid(), time.Now().UnixNano())
			b.Cleanup(func() {
				iter := rdb.Scan(context.Background(), 0, prefix+"*", 1000).Iterator()
				for iter.Next(context.Background()) {
					rdb.Del(context.Background(), iter.Val())
				}
				rdb.Close()
			})
			st, err := window.NewRedis(rdb, prefix, window.SpecFromConfig(testConfig().Inference))
			if err != nil {
				b.Fatal(err)
			}
			return []Option{WithStore(st)}
		}})
	}
	for _, st := range stores {
		b.Run(fmt.Sprintf("%s/endpoints=%d", st.name, endpoints), func(b *testing.B) {
			for b.Loop() {
				elapsed, cpu, h := sim.run(b, st.open(b)...)
				b.ReportMetric(float64(sim.events)/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(sim.windows)/elapsed.Seconds(), "windows/s")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(sim.events), "cpu-ns/event")
				b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(sim.windows), "cpu-ms/window")
				ms, n := histogram(b, h, "inference_time_ms")
				b.ReportMetric(ms/n, "inference-ms/window")
				nodes, _ := histogram(b, h, "inference_graph_nodes")
				b.ReportMetric(nodes/n, "nodes/window")
				h.s.stopLoops()
			}
		})
	}
}

func histogram(b *testing.B, h *harness, name string) (sum, count float64) {
	mfs, err := h.reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetHistogram().GetSampleSum()
				count += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum, count
}

package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/logster/logster/internal/schema"
)

// replicaBackends opens n RedisStates (separate clients, as separate
// replicas would have) on one server, with a unique key prefix.
type replicaBackend struct {
	name   string
	states func(t *testing.T, n int) []State
	prefix string
}

func replicaBackends(t *testing.T) []func(t *testing.T) replicaBackend {
	return []func(t *testing.T) replicaBackend{
		func(t *testing.T) replicaBackend {
			mr := miniredis.RunT(t)
			return replicaBackend{name: "miniredis", prefix: uniquePrefix(t), states: func(t *testing.T, n int) []State {
				var out []State
				for i := 0; i < n; i++ {
					rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
					t.Cleanup(func() { _ = rdb.Close() })
					out = append(out, NewRedisState(rdb))
				}
				return out
			}}
		},
		func(t *testing.T) replicaBackend {
			rdb := realRedis(t)
			prefix := uniquePrefix(t)
			cleanupPrefix(t, rdb, prefix)
			opt := rdb.Options()
			return replicaBackend{name: "redis", prefix: prefix, states: func(t *testing.T, n int) []State {
				var out []State
				for i := 0; i < n; i++ {
					c := redis.NewClient(opt)
					t.Cleanup(func() { _ = c.Close() })
					out = append(out, NewRedisState(c))
				}
				return out
			}}
		},
	}
}

// replicaRun feeds results to engines concurrently: every result is
// processed by a random engine and redelivered once to another one, in a
// shuffled order, by as many goroutines as there are engines.
func replicaRun(t *testing.T, engines []*Engine, results []*schema.InferenceResult, seed uint64) []*schema.Alert {
	t.Helper()
	type job struct {
		e *Engine
		r *schema.InferenceResult
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	var jobs []job
	for _, r := range results {
		i := rng.IntN(len(engines))
		jobs = append(jobs, job{engines[i], r}, job{engines[(i+1)%len(engines)], r})
	}
	rng.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	ch := make(chan job)
	var (
		mu  sync.Mutex
		out []*schema.Alert
		wg  sync.WaitGroup
	)
	errs := make(chan error, len(jobs))
	for w := 0; w < len(engines)*2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				as, err := j.e.Process(context.Background(), j.r)
				if err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				out = append(out, as...)
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// checkConsistent verifies that every (alert id, revision) was published
// with one content only: two replicas never produced diverging versions.
func checkConsistent(t *testing.T, out []*schema.Alert) map[string]*schema.Alert {
	t.Helper()
	latest := map[string]*schema.Alert{}
	seen := map[string]string{}
	for _, a := range out {
		c := a.Clone()
		c.CreatedAt, c.UpdatedAt = 0, 0
		b, _ := json.Marshal(c)
		k := fmt.Sprintf("%s@%d", a.AlertID, a.Revision)
		if prev, ok := seen[k]; ok && prev != string(b) {
			t.Fatalf("alert %s revision %d published with two contents:\n%s\n%s", a.AlertID, a.Revision, prev, b)
		}
		seen[k] = string(b)
		if l := latest[a.AlertID]; l == nil || a.Revision > l.Revision {
			latest[a.AlertID] = a
		}
	}
	return latest
}

func newReplicaEngines(t *testing.T, states []State, prefix string) ([]*Engine, []*prometheus.Registry) {
	var engines []*Engine
	var regs []*prometheus.Registry
	clk := newFakeClock()
	for _, st := range states {
		reg := prometheus.NewRegistry()
		e, err := NewEngine(Config{Threshold: 0.5, DedupWindow: time.Hour, CorrelationWindow: 30 * time.Minute,
			StateTTL: time.Hour, KeyPrefix: prefix, Now: clk.Now}, st, reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		engines, regs = append(engines, e), append(regs, reg)
	}
	return engines, regs
}

func sumMetric(engines []*Engine, f func(*metrics) prometheus.Collector) float64 {
	total := 0.0
	for _, e := range engines {
		total += testutil.ToFloat64(f(e.m))
	}
	return total
}

// Two replicas sharing one Redis, processing interleaved (and redelivered)
// results of a three-host lateral movement concurrently, must agree on one
// alert per endpoint and one incident.
func TestTwoReplicasShareOneRedis(t *testing.T) {
	t.Parallel()
	for i, mk := range replicaBackends(t) {
		name := []string{"miniredis", "redis"}[i]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			const windows = 5
			var results []*schema.InferenceResult
			for w := 0; w < windows; w++ {
				off := float64(w) * minute
				s := psexecSource(fmt.Sprintf("s%d", w), schema.PredictionAttack, 0.8)
				tg := psexecTarget(fmt.Sprintf("t%d", w), 0.9)
				dc := dcTarget(fmt.Sprintf("d%d", w))
				hop := ws6ToDC(fmt.Sprintf("h%d", w))
				for _, r := range []*schema.InferenceResult{s, tg, dc, hop} {
					r.WindowStart += off
					r.WindowEnd += off
				}
				results = append(results, s, tg, dc, hop)
			}
			for run := uint64(0); run < 3; run++ {
				prefix := fmt.Sprintf("%srun%d:", b.prefix, run)
				engines, _ := newReplicaEngines(t, b.states(t, 2), prefix)
				latest := checkConsistent(t, replicaRun(t, engines, results, run))
				endpointAlerts, incidents := map[string]*schema.Alert{}, 0
				var inc *schema.Alert
				for _, a := range latest {
					switch a.Kind {
					case schema.AlertKindEndpoint:
						if endpointAlerts[a.EndpointID] != nil {
							t.Fatalf("run %d: two alerts for endpoint %s", run, a.EndpointID)
						}
						endpointAlerts[a.EndpointID] = a
					case schema.AlertKindLateralMovement:
						incidents++
						inc = a
					}
				}
				if len(endpointAlerts) != 3 || incidents != 1 {
					t.Fatalf("run %d: %d endpoint alerts and %d incidents, want 3 and 1", run, len(endpointAlerts), incidents)
				}
				if n := endpointAlerts["ws5"].OccurrenceCount; n != windows {
					t.Errorf("run %d: ws5 occurrences %d, want %d", run, n, windows)
				}
				if n := endpointAlerts["ws6"].OccurrenceCount; n != 2*windows {
					t.Errorf("run %d: ws6 occurrences %d, want %d", run, n, 2*windows)
				}
				hops := map[string]bool{}
				for _, h := range inc.Chain {
					hops[h.SourceEndpoint+">"+h.TargetEndpoint] = true
				}
				if !hops["ws5>ws6"] || !hops["ws6>mordordc"] {
					t.Errorf("run %d: chain %+v", run, inc.Chain)
				}
				if got := sumMetric(engines, func(m *metrics) prometheus.Collector { return m.lateral }); got != 1 {
					t.Errorf("run %d: lateral_movement_detected across replicas = %v", run, got)
				}
				if got := sumMetric(engines, func(m *metrics) prometheus.Collector { return m.created.WithLabelValues("endpoint") }); got != 3 {
					t.Errorf("run %d: alerts_created across replicas = %v", run, got)
				}
				if got := sumMetric(engines, func(m *metrics) prometheus.Collector { return m.dedup }); got != float64(4*windows-3) {
					t.Errorf("run %d: deduplicated across replicas = %v, want %d", run, got, 4*windows-3)
				}
			}
		})
	}
}

// Many independent endpoints on two replicas: one alert each, every window
// counted once.
func TestTwoReplicasManyEndpoints(t *testing.T) {
	t.Parallel()
	for i, mk := range replicaBackends(t) {
		name := []string{"miniredis", "redis"}[i]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			const endpoints, windows = 12, 4
			var results []*schema.InferenceResult
			for ep := 0; ep < endpoints; ep++ {
				for w := 0; w < windows; w++ {
					results = append(results, attackRes(fmt.Sprintf("e%d-w%d", ep, w), fmt.Sprintf("host%02d", ep), 0.8, tBase+float64(w)*minute))
				}
			}
			engines, _ := newReplicaEngines(t, b.states(t, 2), b.prefix)
			latest := checkConsistent(t, replicaRun(t, engines, results, 42))
			if len(latest) != endpoints {
				t.Fatalf("alerts = %d, want %d", len(latest), endpoints)
			}
			for _, a := range latest {
				if a.OccurrenceCount != windows || len(a.InferenceIDs) != windows || a.Revision != windows {
					t.Fatalf("alert %s: count %d ids %d revision %d, want %d", a.EndpointID, a.OccurrenceCount, len(a.InferenceIDs), a.Revision, windows)
				}
			}
		})
	}
}

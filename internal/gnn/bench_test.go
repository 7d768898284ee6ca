package gnn

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var benchSizes = []int{100, 1000, 2000, 10000}

// shippedConfig is the architecture of the shipped Windows model
// (models/windows/model.json): its relations (eight forward, eight reverse)
// and its feature width, so the benchmarks time what production runs.
func shippedConfig(tb testing.TB) Config {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "models", "windows", "model.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		tb.Fatal(err)
	}
	cfg.WeightsSHA256 = ""
	return cfg
}

// shippedSpec spreads a graph of total nodes over the node types and the
// shipped relations like real windows: forward relations with about 2.5
// edges per node in all, each reverse relation mirroring its forward one.
func shippedSpec(cfg Config, total int) graphSpec {
	spec := realisticSpec(total)
	share := map[string]float64{
		"process/spawned/process": 0.14, "process/wrote/file": 0.30, "process/executed/file": 0.22,
		"process/executed/script": 0.06, "process/connected_to/network": 0.16, "process/performed/syscall": 0.08,
		"syscall/executed/file": 0.02, "network/connected_to/syscall": 0.02,
	}
	spec.edges = make([]int, len(cfg.Relations))
	for i, r := range cfg.Relations {
		name := strings.TrimPrefix(r.Name, "rev_")
		key := r.Src + "/" + name + "/" + r.Dst
		if name != r.Name {
			key = r.Dst + "/" + name + "/" + r.Src
		}
		spec.edges[i] = int(share[key] * 2.5 * float64(total))
	}
	return spec
}

// benchFixture returns a model of the shipped architecture with random
// weights and a realistic graph of the given size; both are deterministic
// so the PyTorch script can time the very same graphs (see
// TestExportBenchFixtures).
func benchFixture(tb testing.TB, nodes int) (*Model, *Input) {
	cfg := shippedConfig(tb)
	m := newTestModel(tb, cfg, 1)
	in := randomGraph(rand.New(rand.NewPCG(uint64(nodes), 1)), cfg, shippedSpec(cfg, nodes))
	return m, in
}

func BenchmarkForward(b *testing.B) {
	for _, n := range benchSizes {
		m, in := benchFixture(b, n)
		b.Run(fmt.Sprintf("nodes=%d/edges=%d", in.NumNodes(), in.NumEdges()), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPUSeconds()
			for b.Loop() {
				if _, err := m.Forward(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((processCPUSeconds()-cpu0)*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkBackward is one training step's worth of work for one graph:
// training forward (with dropout) plus backward into a Grads.
func BenchmarkBackward(b *testing.B) {
	for _, n := range benchSizes {
		m, in := benchFixture(b, n)
		tp, g := m.NewTape(), m.NewGrads()
		rng := rand.New(rand.NewPCG(1, 2))
		b.Run(fmt.Sprintf("nodes=%d", in.NumNodes()), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPUSeconds()
			for b.Loop() {
				if _, _, err := tp.Backward(in, 1, nil, rng, g); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((processCPUSeconds()-cpu0)*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

func BenchmarkAdamStep(b *testing.B) {
	m, _ := benchFixture(b, 100)
	g, opt := m.NewGrads(), NewAdam(1e-3)
	b.ReportAllocs()
	for b.Loop() {
		if err := opt.Step(m, g); err != nil {
			b.Fatal(err)
		}
	}
}

// TestExportBenchFixtures writes the benchmark model and graphs for
// tools/gnn_reference/bench.py when LOGSTER_GNN_BENCH_DIR is set.
func TestExportBenchFixtures(t *testing.T) {
	dir := os.Getenv("LOGSTER_GNN_BENCH_DIR")
	if dir == "" {
		t.Skip("set LOGSTER_GNN_BENCH_DIR to export the benchmark fixtures")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range benchSizes {
		m, in := benchFixture(t, n)
		if n == benchSizes[0] {
			if err := m.Save(filepath.Join(dir, "model.safetensors")); err != nil {
				t.Fatal(err)
			}
		}
		writeJSON(t, filepath.Join(dir, fmt.Sprintf("graph-%d.json", n)), in)
	}
}

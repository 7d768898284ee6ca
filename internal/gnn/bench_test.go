package gnn

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchFeatureDim is a plausible feature width for the graph builder's
// schema; the cost of everything after the input projection is independent
// of it.
const benchFeatureDim = 32

var benchSizes = []int{100, 1000, 10000}

// benchFixture returns the production-shaped model and a realistic graph of
// the given size; both are deterministic so the PyTorch script can time the
// very same graphs (see TestExportBenchFixtures).
func benchFixture(tb testing.TB, nodes int) (*Model, *Input) {
	cfg := testConfig(benchFeatureDim, 128, 4, 3)
	m := newTestModel(tb, cfg, 1)
	in := randomGraph(rand.New(rand.NewPCG(uint64(nodes), 1)), cfg, realisticSpec(nodes))
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

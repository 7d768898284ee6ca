package gnn

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestValidateInputRejects(t *testing.T) {
	t.Parallel()
	cfg := testConfig(3, 8, 2, 1)
	m := newTestModel(t, cfg, 1)
	good := func() *Input { return gradTestGraph(cfg, 4) }
	cases := []struct {
		name   string
		mutate func(in *Input) *Input
		want   string
	}{
		{"nil", func(*Input) *Input { return nil }, "nil"},
		{"types count", func(in *Input) *Input { in.N = in.N[:4]; return in }, "node types"},
		{"edge lists count", func(in *Input) *Input { in.Edges = in.Edges[:3]; return in }, "edge lists"},
		{"negative count", func(in *Input) *Input { in.N[4] = -1; return in }, "out of range"},
		{"feature size", func(in *Input) *Input { in.X[0] = in.X[0][:len(in.X[0])-1]; return in }, "feature values"},
		{"NaN feature", func(in *Input) *Input { in.X[1][2] = float32(math.NaN()); return in }, "NaN"},
		{"Inf feature", func(in *Input) *Input { in.X[0][0] = float32(math.Inf(-1)); return in }, "-Inf"},
		{"src/dst length", func(in *Input) *Input { in.Edges[0].Dst = in.Edges[0].Dst[:1]; return in }, "destinations"},
		{"src out of range", func(in *Input) *Input { in.Edges[1].Src[0] = int32(in.N[0]); return in }, "source"},
		{"dst negative", func(in *Input) *Input { in.Edges[1].Dst[0] = -1; return in }, "destination -1"},
		{"edge into empty type", func(in *Input) *Input {
			in.Edges[7] = EdgeList{Src: []int32{0}, Dst: []int32{0}} // process -> syscall, which has 0 nodes
			return in
		}, "out of range [0, 0)"},
		{"empty graph", func(in *Input) *Input {
			return &Input{X: make([][]float32, 5), N: make([]int, 5), Edges: make([]EdgeList, 8)}
		}, "no nodes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := m.Forward(tc.mutate(good()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, _, err := m.LossAndGrads(tc.mutate(good()), 0, nil, nil); err == nil {
				t.Fatal("training pass accepted the input")
			}
		})
	}
	_, err := m.Forward(&Input{X: make([][]float32, 5), N: make([]int, 5), Edges: make([]EdgeList, 8)})
	if !errors.Is(err, ErrEmptyGraph) {
		t.Fatalf("empty graph: %v, want ErrEmptyGraph", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"architecture", func(c *Config) { c.Architecture = "gcn" }, "unknown architecture"},
		{"no types", func(c *Config) { c.NodeTypes = nil }, "node_types is empty"},
		{"duplicate type", func(c *Config) { c.NodeTypes = append(c.NodeTypes, "file") }, "twice"},
		{"dot in type", func(c *Config) { c.NodeTypes[0] = "pro.cess" }, "contains"},
		{"unknown src", func(c *Config) { c.Relations[0].Src = "user" }, "not a node type"},
		{"reserved self", func(c *Config) { c.Relations[0].Name = "self" }, "reserved"},
		{"double underscore", func(c *Config) { c.Relations[0].Name = "a__b" }, "__"},
		{"duplicate relation", func(c *Config) { c.Relations = append(c.Relations, c.Relations[0]) }, "twice"},
		{"heads", func(c *Config) { c.Heads = 3 }, "divisible"},
		{"classes", func(c *Config) { c.Classes = 1 }, "classes"},
		{"dropout", func(c *Config) { c.Dropout = 1 }, "dropout"},
		{"threshold", func(c *Config) { c.Threshold = math.NaN() }, "threshold"},
		{"feature dim", func(c *Config) { c.FeatureDim = 0 }, "feature_dim"},
	}
	for _, tc := range cases {
		cfg := testConfig(4, 8, 2, 1)
		tc.mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want error containing %q", tc.name, err, tc.want)
		}
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("%s: New accepted the config", tc.name)
		}
	}
}

// TestForwardConcurrent runs many goroutines on one model (meant for -race)
// and requires every result to equal the sequential one.
func TestForwardConcurrent(t *testing.T) {
	t.Parallel()
	cfg := testConfig(5, 16, 4, 3)
	m := newTestModel(t, cfg, 2)
	rng := rand.New(rand.NewPCG(2, 2))
	var inputs []*Input
	var want []*Output
	for i := range 6 {
		in := randomGraph(rng, cfg, realisticSpec(20+30*i))
		out, err := m.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		inputs, want = append(inputs, in), append(want, out)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range 10 {
				i := (g + it) % len(inputs)
				out, err := m.Forward(inputs[i])
				if err != nil {
					errs <- err.Error()
					return
				}
				if !slices.Equal(out.Logits, want[i].Logits) || !slices.Equal(out.EdgeAttention[1], want[i].EdgeAttention[1]) {
					errs <- "concurrent result differs from sequential"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestForwardLargeGraphParallel exercises the goroutine-parallel paths
// (matmul row split, aggregation split) and compares them with the result
// computed with parallelism disabled.
func TestForwardLargeGraphParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("large graph")
	}
	cfg := testConfig(8, 64, 4, 2)
	m := newTestModel(t, cfg, 3)
	in := randomGraph(rand.New(rand.NewPCG(3, 3)), cfg, realisticSpec(3000))
	out, err := m.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	g := m.NewGrads()
	_, probs, err := m.NewTape().Backward(in, 1, nil, nil, g)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(probs[1]-out.Probs[1])) > 1e-5 {
		t.Fatalf("tape %v vs forward %v", probs, out.Probs)
	}
}

// TestOutputInvariants checks the explanation outputs: importance sums to
// one over the graph, attention into each destination sums to one per
// relation, probabilities sum to one, and the output is independent of
// edge order.
func TestOutputInvariants(t *testing.T) {
	t.Parallel()
	cfg := testConfig(4, 16, 4, 3)
	m := newTestModel(t, cfg, 4)
	rng := rand.New(rand.NewPCG(4, 4))
	in := randomGraph(rng, cfg, graphSpec{nodes: []int{8, 6, 3, 2, 0}, edges: []int{-1, -1, -1, -1, -1, -1, -1, 0}, dup: 3})
	out, err := m.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	var psum, isum float64
	for _, p := range out.Probs {
		psum += float64(p)
	}
	for _, v := range out.NodeImportance {
		for _, x := range v {
			isum += float64(x)
		}
	}
	if math.Abs(psum-1) > 1e-6 || math.Abs(isum-1) > 1e-5 {
		t.Fatalf("probs sum %v, importance sum %v", psum, isum)
	}
	for r, el := range in.Edges {
		perDst := map[int32]float64{}
		for e, d := range el.Dst {
			perDst[d] += float64(out.EdgeAttention[r][e])
		}
		for d, s := range perDst {
			if math.Abs(s-1) > 1e-5 {
				t.Fatalf("relation %d dst %d: attention sums to %v", r, d, s)
			}
		}
	}
	// Reverse every edge list: same graph, different order.
	rev := *in
	rev.Edges = nil
	for _, el := range in.Edges {
		var r EdgeList
		for i := len(el.Src) - 1; i >= 0; i-- {
			r.Src, r.Dst = append(r.Src, el.Src[i]), append(r.Dst, el.Dst[i])
		}
		rev.Edges = append(rev.Edges, r)
	}
	out2, err := m.Forward(&rev)
	if err != nil {
		t.Fatal(err)
	}
	for c := range out.Logits {
		if math.Abs(float64(out.Logits[c]-out2.Logits[c])) > 1e-5 {
			t.Fatalf("edge order changed logits: %v vs %v", out.Logits, out2.Logits)
		}
	}
	// A graph without edges gets uniform importance.
	bare := &Input{X: in.X, N: in.N, Edges: make([]EdgeList, len(in.Edges))}
	out3, err := m.Forward(bare)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out3.NodeImportance[0][0], float32(1)/float32(in.NumNodes()); math.Abs(float64(got-want)) > 1e-7 {
		t.Fatalf("no-edge importance %v, want %v", got, want)
	}
}

func TestForwardAllocations(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation count is measured in the full run without -race")
	}
	cfg := testConfig(8, 32, 4, 3)
	m := newTestModel(t, cfg, 5)
	in := randomGraph(rand.New(rand.NewPCG(5, 5)), cfg, realisticSpec(200))
	m.Forward(in) // warm the pooled workspace
	allocs := testing.AllocsPerRun(20, func() { m.Forward(in) })
	// The Output (struct, one backing array, two slice headers) is all that
	// should be allocated once the workspace is warm; allow slack for a
	// workspace dropped by the GC between runs.
	if allocs > 8 {
		t.Fatalf("%.0f allocations per Forward, want at most 8", allocs)
	}
}

// FuzzForward decodes arbitrary bytes into an Input (counts, features that
// may be NaN, edge indices that may be out of range or negative) and
// requires Forward and the training pass to return an error or a finite
// result, never to panic.
func FuzzForward(f *testing.F) {
	cfg := testConfig(2, 8, 2, 2)
	m, err := New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{3, 1, 0, 0, 2, 5, 0, 1, 2, 1, 1, 0, 9, 200, 7, 7, 7, 7})
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Add([]byte{1, 1, 1, 1, 1, 0x7f, 0xc0, 0, 0, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		next := func() byte {
			if len(b) == 0 {
				return 0
			}
			v := b[0]
			b = b[1:]
			return v
		}
		in := &Input{}
		for range cfg.NodeTypes {
			n := int(next() % 6)
			in.N = append(in.N, n)
			x := make([]float32, n*cfg.FeatureDim)
			for i := range x {
				v := next()
				x[i] = float32(int8(v)) / 16
				if v == 0x7f {
					x[i] = float32(math.NaN())
				}
			}
			in.X = append(in.X, x)
		}
		for range cfg.Relations {
			var el EdgeList
			for range int(next() % 5) {
				el.Src = append(el.Src, int32(int8(next())))
				el.Dst = append(el.Dst, int32(int8(next())))
			}
			in.Edges = append(in.Edges, el)
		}
		out, err := m.Forward(in)
		if err == nil {
			for _, p := range out.Probs {
				if math.IsNaN(float64(p)) {
					t.Fatalf("NaN probability for %+v", in)
				}
			}
		}
		m.LossAndGrads(in, 1, nil, nil)
	})
}

package gnn

import (
	"math/rand/v2"
	"testing"
)

// testRelations is a realistic relation set over the five node types the
// graph builder emits (eight relations, several per type pair).
var testRelations = []Relation{
	{"process", "spawned", "process"},
	{"process", "wrote", "file"},
	{"process", "read", "file"},
	{"process", "executed", "script"},
	{"script", "spawned", "process"},
	{"process", "connected-to", "network"},
	{"network", "accepted-by", "process"},
	{"process", "performed", "syscall"},
}

func testConfig(featureDim, hidden, heads, layers int) Config {
	return Config{
		Architecture:  Architecture,
		NodeTypes:     []string{"process", "file", "script", "network", "syscall"},
		Relations:     append([]Relation(nil), testRelations...),
		FeatureDim:    featureDim,
		FeatureSchema: "test-v1",
		Hidden:        hidden,
		Heads:         heads,
		Layers:        layers,
		Classes:       2,
		Dropout:       0.1,
		Threshold:     0.5,
		Version:       "test",
	}
}

// newTestModel builds a model whose every parameter, biases and attention
// vectors included, is random: Glorot init leaves biases at zero, which would
// hide bias bugs.
func newTestModel(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	m, err := New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.params {
		if len(p.shape) == 1 {
			for i := range p.data {
				p.data[i] = float32(rng.NormFloat64() * 0.3)
			}
		}
		if len(p.shape) == 3 { // sharper attention than Glorot gives
			for i := range p.data {
				p.data[i] *= 3
			}
		}
	}
	m.repack()
	return m
}

// graphSpec describes a random graph: nodes per type, edges per relation
// (-1 = about twice the smaller endpoint count) and how many of them to
// duplicate as multi-edges.
type graphSpec struct {
	nodes []int
	edges []int
	dup   int
}

func randomGraph(rng *rand.Rand, cfg Config, spec graphSpec) *Input {
	idx := map[string]int{}
	for i, t := range cfg.NodeTypes {
		idx[t] = i
	}
	in := &Input{N: append([]int(nil), spec.nodes...)}
	for t, n := range in.N {
		x := make([]float32, n*cfg.FeatureDim)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		in.X = append(in.X, x)
		_ = t
	}
	for r, rel := range cfg.Relations {
		ns, nd := in.N[idx[rel.Src]], in.N[idx[rel.Dst]]
		e := 0
		if r < len(spec.edges) {
			e = spec.edges[r]
		}
		if e < 0 {
			e = 2 * min(ns, nd)
		}
		if ns == 0 || nd == 0 {
			e = 0
		}
		var el EdgeList
		for range e {
			el.Src = append(el.Src, int32(rng.IntN(ns)))
			el.Dst = append(el.Dst, int32(rng.IntN(nd)))
		}
		for k := 0; k < spec.dup && len(el.Src) > 0; k++ {
			i := rng.IntN(len(el.Src))
			el.Src = append(el.Src, el.Src[i])
			el.Dst = append(el.Dst, el.Dst[i])
		}
		in.Edges = append(in.Edges, el)
	}
	return in
}

// realisticSpec mimics endpoint behaviour graphs: ~60% processes and files,
// edges about 2.5x the node count spread over the relations.
func realisticSpec(total int) graphSpec {
	nodes := []int{total * 30 / 100, total * 30 / 100, total * 10 / 100, total * 15 / 100, 0}
	nodes[4] = total - nodes[0] - nodes[1] - nodes[2] - nodes[3]
	// Relative edge shares per testRelations entry; sums to 1.
	share := []float64{0.12, 0.22, 0.22, 0.08, 0.04, 0.12, 0.05, 0.15}
	edges := make([]int, len(share))
	for i, s := range share {
		edges[i] = int(s * 2.5 * float64(total))
	}
	return graphSpec{nodes: nodes, edges: edges, dup: total / 20}
}

package gnn

import (
	"errors"
	"fmt"
	"math"
)

// EdgeList holds the edges of one relation as parallel index slices: edge e
// goes from node Src[e] of the relation's source type to node Dst[e] of its
// destination type. Repeated (multi-)edges are allowed and each takes part
// in the attention softmax on its own.
type EdgeList struct{ Src, Dst []int32 }

// Input is one graph in the model's schema.
type Input struct {
	X     [][]float32 // per node type (Config.NodeTypes order): row-major [N[t] x FeatureDim]
	N     []int       // node count per type
	Edges []EdgeList  // per relation (Config.Relations order); self-loops are added by the model
}

// NumNodes is the total node count over all types.
func (in *Input) NumNodes() int {
	n := 0
	for _, c := range in.N {
		n += c
	}
	return n
}

// NumEdges is the total edge count over all relations (without self-loops).
func (in *Input) NumEdges() int {
	n := 0
	for _, e := range in.Edges {
		n += len(e.Src)
	}
	return n
}

// Output is the result of one forward pass. Its slices are owned by the
// caller.
type Output struct {
	Probs  []float32 // softmax over classes; Probs[1] = attack probability
	Logits []float32
	// NodeImportance[t][i] is the last-layer attention mass (averaged over
	// heads) that node i of type t received plus sent over the configured
	// relations, normalised to sum to 1 over the whole graph. Self-loops are
	// left out: every node's self-loop weight is exactly 1 and says nothing.
	// A graph without edges gets a uniform importance.
	NodeImportance [][]float32
	// EdgeAttention[r][e] is the last-layer attention coefficient of edge e
	// of relation r, averaged over heads. Coefficients into one destination
	// node sum to 1 per relation.
	EdgeAttention [][]float32
}

// ErrEmptyGraph is returned for a graph with no nodes at all.
var ErrEmptyGraph = errors.New("graph has no nodes")

// maxNodes bounds one graph so that index arithmetic cannot overflow int32
// edge indices or the scratch arena.
const maxNodes = 1 << 24

// ValidateInput checks an input against the model's schema without running
// it: counts per type and relation, feature sizes, finite features and edge
// indices in range.
func (m *Model) ValidateInput(in *Input) error {
	cfg := &m.cfg
	if in == nil {
		return errors.New("input is nil")
	}
	T := len(cfg.NodeTypes)
	if len(in.N) != T || len(in.X) != T {
		return fmt.Errorf("input has %d node counts and %d feature blocks, the model has %d node types", len(in.N), len(in.X), T)
	}
	if len(in.Edges) != len(cfg.Relations) {
		return fmt.Errorf("input has %d edge lists, the model has %d relations", len(in.Edges), len(cfg.Relations))
	}
	total := 0
	for t, n := range in.N {
		name := cfg.NodeTypes[t]
		if n < 0 || n > maxNodes {
			return fmt.Errorf("node type %s: node count %d out of range [0, %d]", name, n, maxNodes)
		}
		total += n
		if len(in.X[t]) != n*cfg.FeatureDim {
			return fmt.Errorf("node type %s: %d feature values for %d nodes of dimension %d (want %d)",
				name, len(in.X[t]), n, cfg.FeatureDim, n*cfg.FeatureDim)
		}
		if i := firstNonFinite(in.X[t]); i >= 0 {
			return fmt.Errorf("node type %s: node %d feature %d is %v", name, i/cfg.FeatureDim, i%cfg.FeatureDim, in.X[t][i])
		}
	}
	if total == 0 {
		return ErrEmptyGraph
	}
	if total > maxNodes {
		return fmt.Errorf("graph has %d nodes, more than the supported %d", total, maxNodes)
	}
	for r, el := range in.Edges {
		rel := m.rels[r]
		if len(el.Src) != len(el.Dst) {
			return fmt.Errorf("relation %s: %d sources but %d destinations", rel.Relation, len(el.Src), len(el.Dst))
		}
		if len(el.Src) > maxNodes {
			return fmt.Errorf("relation %s: %d edges, more than the supported %d", rel.Relation, len(el.Src), maxNodes)
		}
		ns, nd := int32(in.N[rel.src]), int32(in.N[rel.dst])
		for e := range el.Src {
			if s := el.Src[e]; s < 0 || s >= ns {
				return fmt.Errorf("relation %s: edge %d source %d out of range [0, %d)", rel.Relation, e, s, ns)
			}
			if d := el.Dst[e]; d < 0 || d >= nd {
				return fmt.Errorf("relation %s: edge %d destination %d out of range [0, %d)", rel.Relation, e, d, nd)
			}
		}
	}
	return nil
}

// firstNonFinite returns the index of the first NaN or ±Inf in x, or -1.
// A float32 is not finite exactly when its exponent bits are all ones; the
// blocks of eight OR their exponents so the common all-finite case costs
// one compare per block (math.IsNaN/IsInf per value was a fifth of a
// forward pass on wide inputs).
func firstNonFinite(x []float32) int {
	const exp = 0x7f800000
	i := 0
	for ; i+8 <= len(x); i += 8 {
		b := x[i : i+8 : i+8]
		e0 := math.Float32bits(b[0]) & exp
		e1 := math.Float32bits(b[1]) & exp
		e2 := math.Float32bits(b[2]) & exp
		e3 := math.Float32bits(b[3]) & exp
		e4 := math.Float32bits(b[4]) & exp
		e5 := math.Float32bits(b[5]) & exp
		e6 := math.Float32bits(b[6]) & exp
		e7 := math.Float32bits(b[7]) & exp
		if e0 == exp || e1 == exp || e2 == exp || e3 == exp || e4 == exp || e5 == exp || e6 == exp || e7 == exp {
			break // find it below
		}
	}
	for ; i < len(x); i++ {
		if math.Float32bits(x[i])&exp == exp {
			return i
		}
	}
	return -1
}

package graph

import (
	"cmp"
	"slices"

	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/schema"
)

// Input returns the model input: features per node type and the edges of
// every relation in Relations() order (forward, then reverse). It can be
// called more than once; each call computes the features afresh.
func (g *Graph) Input() *gnn.Input {
	in := &gnn.Input{
		X:     make([][]float32, numNodeTypes),
		N:     make([]int, numNodeTypes),
		Edges: make([]gnn.EdgeList, 2*numForward),
	}
	m := g.mask
	if m == nil {
		m = newMasker()
	}
	var toks []string
	for t := range numNodeTypes {
		nodes := g.Nodes[t]
		in.N[t] = len(nodes)
		x := make([]float32, len(nodes)*FeatureDim)
		for i, n := range nodes {
			toks = g.features(n, m, x[i*FeatureDim:(i+1)*FeatureDim], toks)
		}
		in.X[t] = x
	}
	for r := range numForward {
		es := g.Edges[r]
		fwd := gnn.EdgeList{Src: make([]int32, len(es)), Dst: make([]int32, len(es))}
		for i, e := range es {
			fwd.Src[i], fwd.Dst[i] = int32(e.Src), int32(e.Dst)
		}
		in.Edges[r] = fwd
		in.Edges[int(numForward)+int(r)] = gnn.EdgeList{Src: fwd.Dst, Dst: fwd.Src}
	}
	return in
}

// Explanation sizes.
const (
	TopNodes        = 10
	TopEdges        = 10
	MaxContributing = 50
	explainMethod   = "attention"
	labelLimit      = 200
)

// Explain turns the model's attention into an explanation: the nodes with
// the most attention mass (with the events they came from), the forward
// edges carrying the most attention in either direction, and the
// contributing event ids (the top nodes' events, most important first,
// then the top edges' events).
func (g *Graph) Explain(out *gnn.Output) (*schema.Explanation, []string) {
	type scored struct {
		t     NodeType
		i     int
		score float32
	}
	var nodes []scored
	for t := range numNodeTypes {
		if int(t) >= len(out.NodeImportance) {
			break
		}
		for i, s := range out.NodeImportance[t] {
			if i < len(g.Nodes[t]) {
				nodes = append(nodes, scored{t, i, s})
			}
		}
	}
	// Ties (uniform importance of an edgeless graph) keep graph order.
	slices.SortStableFunc(nodes, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	ex := &schema.Explanation{Method: explainMethod, TopNodes: []schema.ExplainedNode{}}
	var ids []string
	seen := map[string]bool{}
	addID := func(id string) {
		if id != "" && !seen[id] && len(ids) < MaxContributing {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, s := range nodes[:min(TopNodes, len(nodes))] {
		n := g.Nodes[s.t][s.i]
		ex.TopNodes = append(ex.TopNodes, schema.ExplainedNode{
			Node:     g.GlobalIndex(s.t, s.i),
			Type:     s.t.String(),
			Label:    clip(n.Label, labelLimit),
			Score:    float64(s.score),
			EventIDs: slices.Clone(n.EventIDs),
		})
		for _, id := range n.EventIDs {
			addID(id)
		}
	}
	type scoredEdge struct {
		r     Rel
		i     int
		score float32
	}
	var edges []scoredEdge
	for r := range numForward {
		fwd, rev := int(r), int(numForward)+int(r)
		for i := range g.Edges[r] {
			var s float32
			if fwd < len(out.EdgeAttention) && i < len(out.EdgeAttention[fwd]) {
				s += out.EdgeAttention[fwd][i]
			}
			if rev < len(out.EdgeAttention) && i < len(out.EdgeAttention[rev]) {
				s += out.EdgeAttention[rev][i]
			}
			edges = append(edges, scoredEdge{r, i, s})
		}
	}
	slices.SortStableFunc(edges, func(a, b scoredEdge) int { return cmp.Compare(b.score, a.score) })
	for _, s := range edges[:min(TopEdges, len(edges))] {
		e := g.Edges[s.r][s.i]
		d := forwardDefs[s.r]
		ex.TopEdges = append(ex.TopEdges, schema.ExplainedEdge{
			Src:       g.GlobalIndex(d.src, e.Src),
			Dst:       g.GlobalIndex(d.dst, e.Dst),
			Relation:  d.name,
			Score:     float64(s.score),
			Timestamp: e.First,
			EventID:   e.EventID,
		})
		addID(e.EventID)
	}
	return ex, ids
}

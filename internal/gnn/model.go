package gnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
)

// param is one named parameter tensor, stored row-major in PyTorch's layout
// (a Linear weight is [out, in]) so that names and shapes match the
// reference implementation's state_dict one to one.
type param struct {
	name  string
	shape []int
	data  []float32
}

func newParam(name string, shape ...int) *param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &param{name: name, shape: shape, data: make([]float32, n)}
}

// relParams are the parameters of one GATConv (one relation in one layer).
type relParams struct {
	linSrc *param // [H, H] applied to source nodes; messages are lin_src(h_j)
	linDst *param // [H, H] applied to destination nodes, only for attention
	attSrc *param // [1, K, C]
	attDst *param // [1, K, C]
	bias   *param // [H]
}

// Model is a heterogeneous GAT. Forward may be called from many goroutines
// at once; anything that changes the weights (Adam.Step, SetParam) must not
// run concurrently with Forward.
type Model struct {
	cfg  Config
	rels []relIdx // configured relations, then one self relation per node type

	params []*param // canonical order; Grads and Adam follow it
	byName map[string]*param
	pindex map[*param]int

	inW, inB   []*param      // per node type: [H, F], [H]
	conv       [][]relParams // [layer][relation in rels order]
	r1W, r1B   *param        // readout: [H, 2H], [H]
	r2W, r2B   *param        // [Classes, H], [Classes]
	pk         *packed       // derived, forward-friendly copies of the weights
	arenas     sync.Pool     // *workspace, reused across Forward calls
	paramCount int
}

// New builds a model with Glorot-uniform weights and zero biases, the
// initialisation PyTorch Geometric uses for GATConv. rng makes it
// reproducible; nil means a fixed seed.
func New(cfg Config, rng *rand.Rand) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gnn: invalid config: %w", err)
	}
	m := newModel(cfg.clone())
	if rng == nil {
		rng = rand.New(rand.NewPCG(0x1065, 0x7e5))
	}
	for _, p := range m.params {
		switch {
		case len(p.shape) == 2: // Linear weight [out, in]
			glorot(rng, p.data, p.shape[0], p.shape[1])
		case len(p.shape) == 3: // attention vector [1, K, C]
			glorot(rng, p.data, p.shape[1], p.shape[2])
		}
	}
	m.repack()
	return m, nil
}

func glorot(rng *rand.Rand, w []float32, fanA, fanB int) {
	a := math.Sqrt(6 / float64(fanA+fanB))
	for i := range w {
		w[i] = float32((rng.Float64()*2 - 1) * a)
	}
}

// newModel allocates every parameter (zeroed) in canonical order. The
// config must already be valid.
func newModel(cfg Config) *Model {
	m := &Model{cfg: cfg, rels: cfg.allRelations(), byName: map[string]*param{}, pindex: map[*param]int{}}
	H, F, K, C := cfg.Hidden, cfg.FeatureDim, cfg.Heads, cfg.HeadDim()
	add := func(p *param) *param {
		m.pindex[p] = len(m.params)
		m.params = append(m.params, p)
		m.byName[p.name] = p
		m.paramCount += len(p.data)
		return p
	}
	for _, t := range cfg.NodeTypes {
		m.inW = append(m.inW, add(newParam("in_proj."+t+".weight", H, F)))
		m.inB = append(m.inB, add(newParam("in_proj."+t+".bias", H)))
	}
	m.conv = make([][]relParams, cfg.Layers)
	for l := range cfg.Layers {
		for _, r := range m.rels {
			pre := "convs." + strconv.Itoa(l) + ".convs." + r.Key() + "."
			m.conv[l] = append(m.conv[l], relParams{
				linSrc: add(newParam(pre+"lin_src.weight", H, H)),
				linDst: add(newParam(pre+"lin_dst.weight", H, H)),
				attSrc: add(newParam(pre+"att_src", 1, K, C)),
				attDst: add(newParam(pre+"att_dst", 1, K, C)),
				bias:   add(newParam(pre+"bias", H)),
			})
		}
	}
	m.r1W = add(newParam("readout.lin1.weight", H, 2*H))
	m.r1B = add(newParam("readout.lin1.bias", H))
	m.r2W = add(newParam("readout.lin2.weight", cfg.Classes, H))
	m.r2B = add(newParam("readout.lin2.bias", cfg.Classes))
	return m
}

// Config returns a copy of the model's configuration.
func (m *Model) Config() Config { return m.cfg.clone() }

// SetConfig replaces the model's metadata — threshold, version, dropout,
// training provenance — with cfg's. Everything that shapes the computation
// (architecture, node types, relations, feature schema and width, sizes)
// must be unchanged: that is an error, not a silent re-interpretation of
// the weights. Like SetParam it must not run concurrently with Forward.
func (m *Model) SetConfig(cfg Config) error {
	old := m.cfg.clone()
	same := cfg.Architecture == old.Architecture && cfg.FeatureDim == old.FeatureDim &&
		cfg.FeatureSchema == old.FeatureSchema && cfg.Hidden == old.Hidden && cfg.Heads == old.Heads &&
		cfg.Layers == old.Layers && cfg.Classes == old.Classes &&
		slices.Equal(cfg.NodeTypes, old.NodeTypes) && slices.Equal(cfg.Relations, old.Relations)
	if !same {
		return fmt.Errorf("gnn: set config: architecture fields differ from the model's (%s)", old.Architecture)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("gnn: set config: %w", err)
	}
	cfg.WeightsSHA256 = old.WeightsSHA256
	m.cfg = cfg.clone()
	return nil
}

// NumParams is the number of scalar parameters.
func (m *Model) NumParams() int { return m.paramCount }

// ParamNames lists the parameter tensors in canonical order.
func (m *Model) ParamNames() []string {
	out := make([]string, len(m.params))
	for i, p := range m.params {
		out[i] = p.name
	}
	return out
}

// Param returns a copy of a parameter tensor and its shape.
func (m *Model) Param(name string) (data []float32, shape []int, ok bool) {
	p, ok := m.byName[name]
	if !ok {
		return nil, nil, false
	}
	return append([]float32(nil), p.data...), append([]int(nil), p.shape...), true
}

// SetParam overwrites a parameter tensor (same number of elements) and
// refreshes the derived forward weights.
func (m *Model) SetParam(name string, data []float32) error {
	p, ok := m.byName[name]
	if !ok {
		return fmt.Errorf("gnn: set parameter: no parameter named %q", name)
	}
	if len(data) != len(p.data) {
		return fmt.Errorf("gnn: set parameter %s: got %d values, want %d", name, len(data), len(p.data))
	}
	copy(p.data, data)
	m.repack()
	return nil
}

// packed holds weights rearranged for the inference forward pass:
// transposed Linear weights (so every product is x·Wᵀ as a plain row-major
// GEMM) and the attention vectors folded through lin_src / lin_dst, which
// turns each attention logit half into one dot product with h:
//
//	a_dst·(W_dst h)_k = h · (W_dst,kᵀ a_dst,k)
//
// so lin_dst never has to be applied to whole rows at inference time.
type packed struct {
	inWt   [][]float32   // per type [F, H]
	selfWt [][][]float32 // [layer][type] lin_src of the self relation, [H, H]
	relWt  [][][]float32 // [layer][configured relation] lin_src, [H, H]
	// att[layer][type] is [H, width[type]]: for each configured relation
	// with src == type, K columns of folded att_src; then for each with
	// dst == type, K columns of folded att_dst. Self relations need none:
	// a softmax over a single edge is exactly 1.
	att      [][][]float32
	attWidth []int
	srcCol   []int         // per configured relation: first column in att[.][src]
	dstCol   []int         // per configured relation: first column in att[.][dst]
	biasSum  [][][]float32 // [layer][type] sum of the biases of every relation into type, [H]
	r1Wt     []float32     // [2H, H]
	r2Wt     []float32     // [H, Classes]
}

// repack recomputes the derived forward weights from the parameters. The
// buffers are allocated once per model and refilled in place, so an Adam
// step does not allocate; like Adam.Step it must not overlap a pass.
func (m *Model) repack() {
	if m.pk == nil {
		m.pk = m.newPacked()
	}
	m.fillPacked(m.pk)
}

// newPacked allocates the derived weights and fixes the attention column
// layout, which depends only on the config.
func (m *Model) newPacked() *packed {
	cfg := &m.cfg
	H, F, K := cfg.Hidden, cfg.FeatureDim, cfg.Heads
	T, R := len(cfg.NodeTypes), len(cfg.Relations)
	pk := &packed{attWidth: make([]int, T), srcCol: make([]int, R), dstCol: make([]int, R)}
	for r := range R {
		pk.srcCol[r] = pk.attWidth[m.rels[r].src]
		pk.attWidth[m.rels[r].src] += K
	}
	for r := range R {
		pk.dstCol[r] = pk.attWidth[m.rels[r].dst]
		pk.attWidth[m.rels[r].dst] += K
	}
	// Pad to whole 16-column panels so the logit GEMMs run entirely in the
	// vector kernel; the padding columns are zero and never read.
	for t, wd := range pk.attWidth {
		if wd > 0 {
			pk.attWidth[t] = (wd + 15) &^ 15
		}
	}
	for range T {
		pk.inWt = append(pk.inWt, make([]float32, F*H))
	}
	for range cfg.Layers {
		selfWt := make([][]float32, T)
		relWt := make([][]float32, R)
		att := make([][]float32, T)
		bias := make([][]float32, T)
		for t := range T {
			selfWt[t] = make([]float32, H*H)
			att[t] = make([]float32, H*pk.attWidth[t])
			bias[t] = make([]float32, H)
		}
		for r := range R {
			relWt[r] = make([]float32, H*H)
		}
		pk.selfWt = append(pk.selfWt, selfWt)
		pk.relWt = append(pk.relWt, relWt)
		pk.att = append(pk.att, att)
		pk.biasSum = append(pk.biasSum, bias)
	}
	pk.r1Wt = make([]float32, 2*H*H)
	pk.r2Wt = make([]float32, H*cfg.Classes)
	return pk
}

func (m *Model) fillPacked(pk *packed) {
	cfg := &m.cfg
	H, F, K, C := cfg.Hidden, cfg.FeatureDim, cfg.Heads, cfg.HeadDim()
	for t := range cfg.NodeTypes {
		transpose(pk.inWt[t], m.inW[t].data, H, F, F)
	}
	// fold adds into column col+k of v (row stride width) the vector
	// Σ_c att[k,c] · W[k*C+c, :].
	fold := func(v []float32, width, col int, w, att []float32) {
		for k := range K {
			for c := range C {
				a := att[k*C+c]
				row := w[(k*C+c)*H : (k*C+c+1)*H]
				for h, x := range row {
					v[h*width+col+k] += a * x
				}
			}
		}
	}
	for l := range cfg.Layers {
		for t := range cfg.NodeTypes {
			clear(pk.att[l][t])
			clear(pk.biasSum[l][t])
		}
		for ri, r := range m.rels {
			p := m.conv[l][ri]
			for h, b := range p.bias.data {
				pk.biasSum[l][r.dst][h] += b
			}
			if r.self {
				transpose(pk.selfWt[l][r.src], p.linSrc.data, H, H, H)
				continue
			}
			transpose(pk.relWt[l][ri], p.linSrc.data, H, H, H)
			fold(pk.att[l][r.src], pk.attWidth[r.src], pk.srcCol[ri], p.linSrc.data, p.attSrc.data)
			fold(pk.att[l][r.dst], pk.attWidth[r.dst], pk.dstCol[ri], p.linDst.data, p.attDst.data)
		}
	}
	transpose(pk.r1Wt, m.r1W.data, H, 2*H, 2*H)
	transpose(pk.r2Wt, m.r2W.data, cfg.Classes, H, H)
}

package gnn

import (
	"fmt"
	"math"
)

// Forward runs the model on one graph (no dropout). It is safe for
// concurrent use: every call takes its own scratch workspace from a pool.
func (m *Model) Forward(in *Input) (*Output, error) {
	if err := m.ValidateInput(in); err != nil {
		return nil, fmt.Errorf("gnn: forward: %w", err)
	}
	w, _ := m.arenas.Get().(*workspace)
	if w == nil {
		w = &workspace{}
	}
	defer func() {
		w.reset()
		m.arenas.Put(w)
	}()
	out := m.forward(w, in)
	for _, v := range out.Logits {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("gnn: forward: logits are not finite (%v): the input features are far outside the range the model was trained on", out.Logits)
		}
	}
	return out, nil
}

// growSlices returns s resized to n, reusing its backing array.
func growSlices[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// fillRows sets every H-wide row of dst to row.
func fillRows(dst, row []float32) {
	for i := 0; i < len(dst); i += len(row) {
		copy(dst[i:i+len(row)], row)
	}
}

// forward is the inference pass on a validated input. See the package
// documentation for the exact computation; the comments here are about how.
func (m *Model) forward(w *workspace, in *Input) *Output {
	cfg, pk := &m.cfg, m.pk
	H, F, K := cfg.Hidden, cfg.FeatureDim, cfg.Heads
	T, R := len(cfg.NodeTypes), len(cfg.Relations)

	w.plans = growSlices(w.plans, R)
	maxS := 0
	for r := range R {
		el := in.Edges[r]
		if len(el.Src) == 0 {
			continue
		}
		rel := m.rels[r]
		w.plans[r] = buildPlan(w, el, in.N[rel.src], in.N[rel.dst])
		w.plans[r].alpha = w.floats(len(el.Src) * K)
		maxS = max(maxS, len(w.plans[r].srcList))
	}
	gather, xs := w.floats(maxS*H), w.floats(maxS*H)

	// Two feature buffers per type, swapped between layers, and the
	// attention logit halves; all sized once per call.
	w.hin, w.hout, w.scores = growSlices(w.hin, T), growSlices(w.hout, T), growSlices(w.scores, T)
	for t, n := range in.N {
		if n == 0 {
			continue
		}
		w.hin[t], w.hout[t] = w.floats(n*H), w.floats(n*H)
		w.scores[t] = w.floats(n * pk.attWidth[t])
		h := w.hin[t]
		fillRows(h, m.inB[t].data)
		sgemmPar(n, H, F, in.X[t], F, pk.inWt[t], H, h, H)
	}

	for l := range cfg.Layers {
		for t, n := range in.N {
			if n == 0 {
				continue
			}
			if wd := pk.attWidth[t]; wd > 0 {
				clear(w.scores[t])
				sgemmPar(n, wd, H, w.hin[t], H, pk.att[l][t], wd, w.scores[t], wd)
			}
			// Self relation: softmax over one edge is 1, so its message is
			// lin_src(h_i) itself. All biases into the type are pre-summed.
			fillRows(w.hout[t], pk.biasSum[l][t])
			sgemmPar(n, H, H, w.hin[t], H, pk.selfWt[l][t], H, w.hout[t], H)
		}
		for r := range R {
			p := &w.plans[r]
			if len(p.perm) == 0 {
				continue
			}
			rel := m.rels[r]
			S := len(p.srcList)
			hs := w.hin[rel.src]
			g := gather[:S*H]
			for q, j := range p.srcList {
				copy(g[q*H:(q+1)*H], hs[int(j)*H:(int(j)+1)*H])
			}
			x := xs[:S*H]
			clear(x)
			sgemmPar(S, H, H, g, H, pk.relWt[l][r], H, x, H)
			a := aggArgs{
				p: p, xs: x, out: w.hout[rel.dst], H: H, K: K, C: cfg.HeadDim(),
				sS: w.scores[rel.src], wS: pk.attWidth[rel.src], cS: pk.srcCol[r],
				sD: w.scores[rel.dst], wD: pk.attWidth[rel.dst], cD: pk.dstCol[r],
			}
			nd := in.N[rel.dst]
			if nw := workersFor(nd, (len(p.perm)/max(nd, 1)+1)*H*2); nw > 1 {
				ac := a // the closure captures a copy so a itself stays on the stack
				parallelFor(nw, nd, 1, func(lo, hi int) { ac.run(lo, hi) })
			} else {
				a.run(0, nd)
			}
		}
		if l < cfg.Layers-1 {
			for t := range T {
				eluInPlace(w.hout[t])
			}
		}
		w.hin, w.hout = w.hout, w.hin
	}
	return m.readout(w, in)
}

// aggArgs is one relation's attention + message aggregation over a range of
// destination nodes. Destinations own disjoint output rows, so ranges run
// in parallel without locks.
type aggArgs struct {
	p       *relPlan
	xs, out []float32
	H, K, C int
	sS, sD  []float32 // attention logit halves of source / destination type
	wS, cS  int       // row width and first column of this relation in sS
	wD, cD  int
}

func (a *aggArgs) run(lo, hi int) {
	p, H, K, C := a.p, a.H, a.K, a.C
	alpha := p.alpha
	// Pass 1: LeakyReLU logits minus each (destination, head) maximum.
	for i := lo; i < hi; i++ {
		b, e := int(p.off[i]), int(p.off[i+1])
		if b == e {
			continue
		}
		drow := a.sD[i*a.wD+a.cD : i*a.wD+a.cD+K]
		for pos := b; pos < e; pos++ {
			j := int(p.srcList[p.srcC[pos]])
			srow := a.sS[j*a.wS+a.cS : j*a.wS+a.cS+K]
			ar := alpha[pos*K : (pos+1)*K]
			for k := range ar {
				ar[k] = leaky(srow[k] + drow[k])
			}
		}
		for k := range K {
			mx := alpha[b*K+k]
			for pos := b + 1; pos < e; pos++ {
				mx = max(mx, alpha[pos*K+k])
			}
			for pos := b; pos < e; pos++ {
				alpha[pos*K+k] -= mx
			}
		}
	}
	// One vectorised exp over the whole contiguous range of edges.
	expInPlace(alpha[int(p.off[lo])*K : int(p.off[hi])*K])
	// Pass 2: normalise and accumulate alpha-weighted messages per head.
	for i := lo; i < hi; i++ {
		b, e := int(p.off[i]), int(p.off[i+1])
		if b == e {
			continue
		}
		orow := a.out[i*H : (i+1)*H]
		for k := range K {
			var sum float32
			for pos := b; pos < e; pos++ {
				sum += alpha[pos*K+k]
			}
			inv := 1 / sum
			ocol := orow[k*C : (k+1)*C]
			for pos := b; pos < e; pos++ {
				al := alpha[pos*K+k] * inv
				alpha[pos*K+k] = al
				q := int(p.srcC[pos])
				axpy(al, a.xs[q*H+k*C:q*H+(k+1)*C], ocol)
			}
		}
	}
}

// readout pools the last layer (mean and max over every node of every
// type), applies the MLP head and softmax, and assembles the explanations
// from the last layer's attention coefficients.
func (m *Model) readout(w *workspace, in *Input) *Output {
	cfg, pk := &m.cfg, m.pk
	H, K, Cl := cfg.Hidden, cfg.Heads, cfg.Classes
	total := in.NumNodes()

	pooled := w.zeros(2 * H)
	mean, mx := pooled[:H], pooled[H:]
	for i := range mx {
		mx[i] = float32(math.Inf(-1))
	}
	for t, n := range in.N {
		h := w.hin[t]
		for i := range n {
			row := h[i*H : (i+1)*H]
			for c, v := range row {
				mean[c] += v
				mx[c] = max(mx[c], v)
			}
		}
	}
	inv := 1 / float32(total)
	for c := range mean {
		mean[c] *= inv
	}
	z := w.floats(H)
	copy(z, m.r1B.data)
	sgemm(1, H, 2*H, pooled, 2*H, pk.r1Wt, H, z, H)
	for i, v := range z {
		z[i] = max(v, 0)
	}

	// One backing array for every output slice keeps the per-call
	// allocations to a handful.
	buf := make([]float32, 2*Cl+total+in.NumEdges())
	out := &Output{
		Logits:         buf[:Cl:Cl],
		Probs:          buf[Cl : 2*Cl : 2*Cl],
		NodeImportance: make([][]float32, len(in.N)),
		EdgeAttention:  make([][]float32, len(in.Edges)),
	}
	copy(out.Logits, m.r2B.data)
	sgemm(1, Cl, H, z, H, pk.r2Wt, Cl, out.Logits, Cl)
	softmaxInto(out.Probs, out.Logits)

	off := 2 * Cl
	for t, n := range in.N {
		out.NodeImportance[t] = buf[off : off+n : off+n]
		off += n
	}
	var mass float64
	for r, el := range in.Edges {
		E := len(el.Src)
		ea := buf[off : off+E : off+E]
		off += E
		out.EdgeAttention[r] = ea
		if E == 0 {
			continue
		}
		p := &w.plans[r]
		rel := m.rels[r]
		for pos, e := range p.perm {
			var s float32
			for k := range K {
				s += p.alpha[pos*K+k]
			}
			ea[e] = s / float32(K)
		}
		src, dst := out.NodeImportance[rel.src], out.NodeImportance[rel.dst]
		for e, a := range ea {
			src[el.Src[e]] += a
			dst[el.Dst[e]] += a
			mass += 2 * float64(a)
		}
	}
	normaliseImportance(out.NodeImportance, mass, total)
	return out
}

func normaliseImportance(imp [][]float32, mass float64, total int) {
	if mass <= 0 {
		u := 1 / float32(total)
		for _, v := range imp {
			for i := range v {
				v[i] = u
			}
		}
		return
	}
	inv := float32(1 / mass)
	for _, v := range imp {
		for i := range v {
			v[i] *= inv
		}
	}
}

// softmaxInto writes softmax(logits) into probs, computed in float64.
func softmaxInto(probs, logits []float32) {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	for i, v := range logits {
		probs[i] = float32(math.Exp(float64(v)-mx) / sum)
	}
}

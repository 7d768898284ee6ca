package gnn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Grads holds one gradient tensor per model parameter, in the model's
// canonical parameter order (see Model.ParamNames).
type Grads struct {
	names []string
	data  [][]float32
}

// NewGrads returns zeroed gradients shaped like the model's parameters.
func (m *Model) NewGrads() *Grads {
	g := &Grads{}
	for _, p := range m.params {
		g.names = append(g.names, p.name)
		g.data = append(g.data, make([]float32, len(p.data)))
	}
	return g
}

// Zero clears every gradient.
func (g *Grads) Zero() {
	for _, d := range g.data {
		clear(d)
	}
}

// Add adds o into g (to sum the gradients of several workers).
func (g *Grads) Add(o *Grads) {
	for i, d := range g.data {
		for j, v := range o.data[i] {
			d[j] += v
		}
	}
}

// Scale multiplies every gradient by s (e.g. 1/batch size).
func (g *Grads) Scale(s float32) {
	for _, d := range g.data {
		for j := range d {
			d[j] *= s
		}
	}
}

// Norm is the global L2 norm over all gradients.
func (g *Grads) Norm() float64 {
	var s float64
	for _, d := range g.data {
		for _, v := range d {
			s += float64(v) * float64(v)
		}
	}
	return math.Sqrt(s)
}

// ClipNorm rescales the gradients so their global L2 norm is at most max
// and returns the norm before clipping.
func (g *Grads) ClipNorm(max float64) float64 {
	n := g.Norm()
	if n > max && n > 0 {
		g.Scale(float32(max / n))
	}
	return n
}

// Get returns the gradient tensor of a parameter (not a copy), or nil.
func (g *Grads) Get(name string) []float32 {
	for i, n := range g.names {
		if n == name {
			return g.data[i]
		}
	}
	return nil
}

// Tape runs training forward/backward passes for one model. It keeps every
// intermediate of the last forward pass and reuses its buffers across calls,
// so a training goroutine should own one Tape (and one Grads); Tapes of the
// same model may run concurrently as long as no Adam step runs meanwhile.
type Tape struct {
	m      *Model
	w      workspace
	layers []tapeLayer
	plans  []relPlan
	// readout intermediates
	pooled, u1, logits, probs []float32
	argmax                    []int32 // per column: type index, row index
	total                     int
}

type tapeLayer struct {
	hpre, hd, fmask, scores, z [][]float32 // per node type
	rel                        []tapeRel   // per relation (configured, then self)
}

type tapeRel struct {
	g, xs    []float32 // gathered source rows [S,H] and lin_src of them
	s, alpha []float32 // pre-LeakyReLU logit and softmax coefficient per (sorted edge, head)
	amask    []float32 // attention dropout scale per (edge, head); nil without dropout
}

// NewTape returns a Tape for the model.
func (m *Model) NewTape() *Tape { return &Tape{m: m} }

// LossAndGrads is the one-shot form of Tape.Backward: it returns the loss and
// freshly allocated gradients for one labelled graph.
func (m *Model) LossAndGrads(in *Input, label int, classWeights []float32, dropoutRNG *rand.Rand) (float32, *Grads, error) {
	g := m.NewGrads()
	loss, _, err := m.NewTape().Backward(in, label, classWeights, dropoutRNG, g)
	if err != nil {
		return 0, nil, err
	}
	return loss, g, nil
}

// Backward runs a training forward pass on one graph and adds the gradient
// of its loss to g. The loss is the class-weighted cross-entropy
//
//	loss = -classWeights[label] * log softmax(logits)[label]
//
// (nil classWeights means all 1). It is not divided by anything: a trainer
// that wants PyTorch's weighted-mean semantics over a batch scales the summed
// gradients by 1 / Σ classWeights[label_i]. With a non-nil dropoutRNG and
// Config.Dropout > 0, dropout is applied to the node features entering each
// layer and to the attention coefficients; with nil, the pass is
// deterministic and equals Forward. It returns the loss and the predicted
// class probabilities.
func (tp *Tape) Backward(in *Input, label int, classWeights []float32, dropoutRNG *rand.Rand, g *Grads) (float32, []float32, error) {
	if g == nil || len(g.data) != len(tp.m.params) {
		return 0, nil, errors.New("gnn: backward: grads were not made by this model's NewGrads")
	}
	loss, err := tp.forward(in, label, classWeights, dropoutRNG)
	if err != nil {
		return 0, nil, err
	}
	tp.backward(in, label, classWeights, g)
	return loss, append([]float32(nil), tp.probs...), nil
}

// Loss runs only the training forward pass and returns the loss.
func (tp *Tape) Loss(in *Input, label int, classWeights []float32, dropoutRNG *rand.Rand) (float32, error) {
	return tp.forward(in, label, classWeights, dropoutRNG)
}

func (tp *Tape) checkLabel(label int, cw []float32) error {
	C := tp.m.cfg.Classes
	if label < 0 || label >= C {
		return fmt.Errorf("label %d out of range [0, %d)", label, C)
	}
	if cw != nil {
		if len(cw) != C {
			return fmt.Errorf("%d class weights for %d classes", len(cw), C)
		}
		for i, v := range cw {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) || v < 0 {
				return fmt.Errorf("class weight %d is %v, want a finite non-negative number", i, v)
			}
		}
	}
	return nil
}

func (tp *Tape) forward(in *Input, label int, cw []float32, rng *rand.Rand) (float32, error) {
	m := tp.m
	if err := m.ValidateInput(in); err != nil {
		return 0, fmt.Errorf("gnn: training forward: %w", err)
	}
	if err := tp.checkLabel(label, cw); err != nil {
		return 0, fmt.Errorf("gnn: training forward: %w", err)
	}
	cfg, pk := &m.cfg, m.pk
	H, F, K, C := cfg.Hidden, cfg.FeatureDim, cfg.Heads, cfg.HeadDim()
	T, R := len(cfg.NodeTypes), len(cfg.Relations)
	w := &tp.w
	w.reset()
	p := float32(cfg.Dropout)
	drop := rng != nil && p > 0
	keep := 1 / (1 - p)
	// Two 32-bit uniforms per rng call: mask generation was ~6% of a step.
	thresh := uint32(float64(p) * (1 << 32))
	if p >= 1 {
		thresh = math.MaxUint32
	}
	dropMask := func(n int) []float32 {
		mask := w.floats(n)
		for i := 0; i < n; i += 2 {
			r := rng.Uint64()
			mask[i] = keep
			if uint32(r) < thresh {
				mask[i] = 0
			}
			if i+1 < n {
				mask[i+1] = keep
				if uint32(r>>32) < thresh {
					mask[i+1] = 0
				}
			}
		}
		return mask
	}

	tp.plans = growSlices(tp.plans, R)
	for r := range R {
		if el := in.Edges[r]; len(el.Src) > 0 {
			rel := m.rels[r]
			tp.plans[r] = buildPlan(w, el, in.N[rel.src], in.N[rel.dst])
		}
	}
	if cap(tp.layers) < cfg.Layers {
		tp.layers = make([]tapeLayer, cfg.Layers)
	}
	tp.layers = tp.layers[:cfg.Layers]
	for l := range tp.layers {
		L := &tp.layers[l]
		L.hpre, L.hd, L.fmask = growSlices(L.hpre, T), growSlices(L.hd, T), growSlices(L.fmask, T)
		L.scores, L.z = growSlices(L.scores, T), growSlices(L.z, T)
		L.rel = growSlices(L.rel, R+T)
	}

	for l := range cfg.Layers {
		L := &tp.layers[l]
		for t, n := range in.N {
			if n == 0 {
				continue
			}
			h := w.floats(n * H)
			if l == 0 {
				fillRows(h, m.inB[t].data)
				sgemmPar(n, H, F, in.X[t], F, pk.inWt[t], H, h, H)
			} else {
				copy(h, tp.layers[l-1].z[t])
				eluInPlace(h)
			}
			L.hpre[t], L.hd[t] = h, h
			if drop {
				L.fmask[t] = dropMask(n * H)
				hd := w.floats(n * H)
				for i, v := range h {
					hd[i] = v * L.fmask[t][i]
				}
				L.hd[t] = hd
			}
			if wd := pk.attWidth[t]; wd > 0 {
				L.scores[t] = w.zeros(n * wd)
				sgemmPar(n, wd, H, L.hd[t], H, pk.att[l][t], wd, L.scores[t], wd)
			}
			z := w.floats(n * H)
			fillRows(z, pk.biasSum[l][t])
			L.z[t] = z
			// Self relation: the softmax over one edge is exactly 1, so the
			// message is lin_src(h_i), scaled by the attention dropout mask.
			tr := &L.rel[R+t]
			if !drop {
				sgemmPar(n, H, H, L.hd[t], H, pk.selfWt[l][t], H, z, H)
				continue
			}
			xs := w.zeros(n * H)
			sgemmPar(n, H, H, L.hd[t], H, pk.selfWt[l][t], H, xs, H)
			tr.amask = dropMask(n * K)
			for i := range n {
				for k := range K {
					a := tr.amask[i*K+k]
					zr, xr := z[i*H+k*C:i*H+(k+1)*C], xs[i*H+k*C:i*H+(k+1)*C]
					for c := range zr {
						zr[c] += a * xr[c]
					}
				}
			}
		}
		for r := range R {
			pl := &tp.plans[r]
			tr := &L.rel[r]
			*tr = tapeRel{}
			if len(in.Edges[r].Src) == 0 {
				continue
			}
			rel := m.rels[r]
			S, E := len(pl.srcList), len(pl.perm)
			tr.g, tr.xs = w.floats(S*H), w.zeros(S*H)
			hs := L.hd[rel.src]
			for q, j := range pl.srcList {
				copy(tr.g[q*H:(q+1)*H], hs[int(j)*H:(int(j)+1)*H])
			}
			sgemmPar(S, H, H, tr.g, H, pk.relWt[l][r], H, tr.xs, H)
			tr.s, tr.alpha = w.floats(E*K), w.floats(E*K)
			if drop {
				tr.amask = dropMask(E * K)
			}
			sS, wS, cS := L.scores[rel.src], pk.attWidth[rel.src], pk.srcCol[r]
			sD, wD, cD := L.scores[rel.dst], pk.attWidth[rel.dst], pk.dstCol[r]
			z := L.z[rel.dst]
			for i := range in.N[rel.dst] {
				b, e := int(pl.off[i]), int(pl.off[i+1])
				if b == e {
					continue
				}
				for k := range K {
					mx := float32(math.Inf(-1))
					for pos := b; pos < e; pos++ {
						j := int(pl.srcList[pl.srcC[pos]])
						s := sS[j*wS+cS+k] + sD[i*wD+cD+k]
						tr.s[pos*K+k] = s
						mx = max(mx, leaky(s))
					}
					for pos := b; pos < e; pos++ {
						tr.alpha[pos*K+k] = leaky(tr.s[pos*K+k]) - mx
					}
				}
				expInPlace(tr.alpha[b*K : e*K])
				for k := range K {
					var sum float32
					for pos := b; pos < e; pos++ {
						sum += tr.alpha[pos*K+k]
					}
					inv := 1 / sum
					zr := z[i*H+k*C : i*H+(k+1)*C]
					for pos := b; pos < e; pos++ {
						a := tr.alpha[pos*K+k] * inv
						tr.alpha[pos*K+k] = a
						if drop {
							a *= tr.amask[pos*K+k]
						}
						q := int(pl.srcC[pos])
						axpy(a, tr.xs[q*H+k*C:q*H+(k+1)*C], zr)
					}
				}
			}
		}
	}

	// Readout: mean and max pool over every node, MLP, softmax.
	last := tp.layers[cfg.Layers-1].z
	tp.total = in.NumNodes()
	tp.pooled = w.zeros(2 * H)
	tp.argmax = growSlices(tp.argmax, 2*H)
	mean, mx := tp.pooled[:H], tp.pooled[H:]
	first := true
	for t, n := range in.N {
		for i := range n {
			row := last[t][i*H : (i+1)*H]
			for c, v := range row {
				mean[c] += v
				if first || v > mx[c] {
					mx[c] = v
					tp.argmax[2*c], tp.argmax[2*c+1] = int32(t), int32(i)
				}
			}
			first = false
		}
	}
	for c := range mean {
		mean[c] /= float32(tp.total)
	}
	tp.u1 = w.floats(H)
	copy(tp.u1, m.r1B.data)
	sgemm(1, H, 2*H, tp.pooled, 2*H, pk.r1Wt, H, tp.u1, H)
	a1 := w.floats(H)
	for i, v := range tp.u1 {
		a1[i] = max(v, 0)
	}
	tp.logits = w.floats(cfg.Classes)
	copy(tp.logits, m.r2B.data)
	sgemm(1, cfg.Classes, H, a1, H, pk.r2Wt, cfg.Classes, tp.logits, cfg.Classes)
	tp.probs = w.floats(cfg.Classes)
	softmaxInto(tp.probs, tp.logits)
	// log p_label computed stably from the logits.
	lmax := math.Inf(-1)
	for _, v := range tp.logits {
		lmax = math.Max(lmax, float64(v))
	}
	var se float64
	for _, v := range tp.logits {
		se += math.Exp(float64(v) - lmax)
	}
	logp := float64(tp.logits[label]) - lmax - math.Log(se)
	wl := float64(1)
	if cw != nil {
		wl = float64(cw[label])
	}
	loss := -wl * logp
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, fmt.Errorf("gnn: training forward: loss is not finite (logits %v)", tp.logits)
	}
	return float32(loss), nil
}

// backward propagates d loss through the recorded pass, adding into g.
func (tp *Tape) backward(in *Input, label int, cw []float32, g *Grads) {
	m := tp.m
	cfg, pk := &m.cfg, m.pk
	H, F, K, C := cfg.Hidden, cfg.FeatureDim, cfg.Heads, cfg.HeadDim()
	T, R := len(cfg.NodeTypes), len(cfg.Relations)
	w := &tp.w
	grad := func(p *param) []float32 { return g.data[m.paramIndex(p)] }

	// Readout head.
	wl := float32(1)
	if cw != nil {
		wl = cw[label]
	}
	dlog := w.floats(cfg.Classes)
	for c, pr := range tp.probs {
		dlog[c] = wl * pr
	}
	dlog[label] -= wl
	a1 := w.floats(H)
	for i, v := range tp.u1 {
		a1[i] = max(v, 0)
	}
	gW2, gb2 := grad(m.r2W), grad(m.r2B)
	for c, d := range dlog {
		gb2[c] += d
		row := gW2[c*H : (c+1)*H]
		for h, a := range a1 {
			row[h] += d * a
		}
	}
	du1 := w.zeros(H)
	sgemm(1, H, cfg.Classes, dlog, cfg.Classes, m.r2W.data, H, du1, H) // dlog · W2
	for i, u := range tp.u1 {
		if u <= 0 {
			du1[i] = 0
		}
	}
	gW1, gb1 := grad(m.r1W), grad(m.r1B)
	for h, d := range du1 {
		gb1[h] += d
		row := gW1[h*2*H : (h+1)*2*H]
		for c, pv := range tp.pooled {
			row[c] += d * pv
		}
	}
	dpool := w.zeros(2 * H)
	sgemm(1, 2*H, H, du1, H, m.r1W.data, 2*H, dpool, 2*H) // du1 · W1

	// Gradient w.r.t. the last layer's output z: the mean spreads evenly,
	// the max goes to the (first) arg-max row of each column.
	dz := make([][]float32, T)
	for t, n := range in.N {
		if n == 0 {
			continue
		}
		d := w.floats(n * H)
		for i := range n {
			for c := range H {
				d[i*H+c] = dpool[c] / float32(tp.total)
			}
		}
		dz[t] = d
	}
	for c := range H {
		t, i := tp.argmax[2*c], tp.argmax[2*c+1]
		dz[t][int(i)*H+c] += dpool[H+c]
	}

	dhd := make([][]float32, T)
	dsc := make([][]float32, T)
	for l := cfg.Layers - 1; l >= 0; l-- {
		L := &tp.layers[l]
		for t, n := range in.N {
			dhd[t], dsc[t] = nil, nil
			if n == 0 {
				continue
			}
			dhd[t] = w.zeros(n * H)
			dsc[t] = w.zeros(n * pk.attWidth[t])
		}
		// Biases of every relation into a type (empty relations included)
		// see the whole dz of that type.
		for ri, rel := range m.rels {
			gb := grad(m.conv[l][ri].bias)
			d := dz[rel.dst]
			for i := range in.N[rel.dst] {
				row := d[i*H : (i+1)*H]
				for c, v := range row {
					gb[c] += v
				}
			}
		}
		// Self relations: z_t += amask ⊙ (hd_t · W_selfᵀ).
		for t, n := range in.N {
			if n == 0 {
				continue
			}
			pr := &m.conv[l][R+t]
			dxs := dz[t]
			if am := L.rel[R+t].amask; am != nil {
				dxs = w.floats(n * H)
				for i := range n {
					for k := range K {
						a := am[i*K+k]
						for c := k * C; c < (k+1)*C; c++ {
							dxs[i*H+c] = a * dz[t][i*H+c]
						}
					}
				}
			}
			linearBackward(n, H, H, dxs, L.hd[t], pr.linSrc.data, grad(pr.linSrc), dhd[t])
		}
		for r := range R {
			tr := &L.rel[r]
			if tr.xs == nil {
				continue
			}
			pl := &tp.plans[r]
			rel := m.rels[r]
			pr := &m.conv[l][r]
			S, E := len(pl.srcList), len(pl.perm)
			dxs := w.zeros(S * H)
			da := w.floats(E * K)
			d := dz[rel.dst]
			sS, wS, cS := dsc[rel.src], pk.attWidth[rel.src], pk.srcCol[r]
			sD, wD, cD := dsc[rel.dst], pk.attWidth[rel.dst], pk.dstCol[r]
			for i := range in.N[rel.dst] {
				b, e := int(pl.off[i]), int(pl.off[i+1])
				if b == e {
					continue
				}
				for k := range K {
					dr := d[i*H+k*C : i*H+(k+1)*C]
					var dot float32
					for pos := b; pos < e; pos++ {
						q := int(pl.srcC[pos])
						xr := tr.xs[q*H+k*C : q*H+(k+1)*C]
						dxr := dxs[q*H+k*C : q*H+(k+1)*C]
						a := tr.alpha[pos*K+k]
						if tr.amask != nil {
							a *= tr.amask[pos*K+k]
						}
						var s float32
						for c, dv := range dr {
							s += dv * xr[c]
						}
						axpy(a, dr, dxr)
						if tr.amask != nil {
							s *= tr.amask[pos*K+k]
						}
						da[pos*K+k] = s
						dot += tr.alpha[pos*K+k] * s
					}
					for pos := b; pos < e; pos++ {
						ds := tr.alpha[pos*K+k] * (da[pos*K+k] - dot)
						if tr.s[pos*K+k] <= 0 {
							ds *= 0.2
						}
						j := int(pl.srcList[pl.srcC[pos]])
						sS[j*wS+cS+k] += ds
						sD[i*wD+cD+k] += ds
					}
				}
			}
			dg := w.zeros(S * H)
			linearBackward(S, H, H, dxs, tr.g, pr.linSrc.data, grad(pr.linSrc), dg)
			dh := dhd[rel.src]
			for q, j := range pl.srcList {
				src := dg[q*H : (q+1)*H]
				dst := dh[int(j)*H : (int(j)+1)*H]
				for c, v := range src {
					dst[c] += v
				}
			}
		}
		// Attention logits: scores_t = hd_t · V_t, where each K-column group
		// of V_t is att folded through lin_src or lin_dst (see packed).
		for t, n := range in.N {
			wd := pk.attWidth[t]
			if n == 0 || wd == 0 {
				continue
			}
			vt := w.floats(wd * H)
			transpose(vt, pk.att[l][t], H, wd, wd)
			sgemmPar(n, H, wd, dsc[t], wd, vt, H, dhd[t], H) // dhd += dsc · Vᵀ
			dV := w.zeros(H * wd)
			sgemmTN(H, wd, n, L.hd[t], H, dsc[t], wd, dV, wd) // dV = hdᵀ · dsc
			for r := range R {
				rel := m.rels[r]
				pr := &m.conv[l][r]
				if rel.src == t {
					foldBackward(dV, wd, pk.srcCol[r], pr.linSrc, pr.attSrc, grad(pr.linSrc), grad(pr.attSrc), H, K, C)
				}
				if rel.dst == t {
					foldBackward(dV, wd, pk.dstCol[r], pr.linDst, pr.attDst, grad(pr.linDst), grad(pr.attDst), H, K, C)
				}
			}
		}
		// Through feature dropout, then ELU (or the input projection).
		for t, n := range in.N {
			if n == 0 {
				continue
			}
			dh := dhd[t]
			if fm := L.fmask[t]; fm != nil {
				for i := range dh {
					dh[i] *= fm[i]
				}
			}
			if l > 0 {
				hp := L.hpre[t] // = elu(z_{l-1}); ELU'(z) = 1 for z > 0, else elu(z)+1
				zp := tp.layers[l-1].z[t]
				for i := range dh {
					if zp[i] <= 0 {
						dh[i] *= hp[i] + 1
					}
				}
				dz[t] = dh
				continue
			}
			gW, gb := grad(m.inW[t]), grad(m.inB[t])
			for i := range n {
				row := dh[i*H : (i+1)*H]
				for c, v := range row {
					gb[c] += v
				}
			}
			sgemmTN(H, F, n, dh, H, in.X[t], F, gW, F) // dW_in += dhᵀ · x
		}
	}
}

// linearBackward handles y = x · Wᵀ for x [n, in], W [out, in]:
// dW += dyᵀ · x and dx += dy · W.
func linearBackward(n, in, out int, dy, x, W, dW, dx []float32) {
	sgemmTN(out, in, n, dy, out, x, in, dW, in)
	sgemmPar(n, in, out, dy, out, W, in, dx, in)
}

// foldBackward distributes the gradient of a folded attention vector
// v_k = Σ_c att[k,c] · W[k*C+c, :] (column col+k of dV) to att and W.
func foldBackward(dV []float32, width, col int, W, att *param, gW, gAtt []float32, H, K, C int) {
	for k := range K {
		for c := range C {
			o := k*C + c
			a := att.data[o]
			wr, gr := W.data[o*H:(o+1)*H], gW[o*H:(o+1)*H]
			var s float32
			for h := range H {
				dv := dV[h*width+col+k]
				s += wr[h] * dv
				gr[h] += a * dv
			}
			gAtt[o] += s
		}
	}
}

// paramIndex finds a parameter's position in canonical order.
func (m *Model) paramIndex(p *param) int { return m.pindex[p] }

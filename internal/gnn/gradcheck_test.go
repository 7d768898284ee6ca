package gnn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveLoss64 is an independent, literal float64 implementation of the
// model and its loss, written from the definition (no folding, no CSR, no
// source compaction). Finite differences of it have no float32 noise, so
// they give a sharp check of the float32 backward pass. params are indexed
// like Model.params; masks come from the Tape being checked so dropout is
// reproduced exactly (nil = no dropout).
type naiveMasks struct {
	feat  [][][]float32 // [layer][type] per element
	attn  [][][]float32 // [layer][relation incl. self] per (original edge, head)
	valid bool
}

func masksFromTape(tp *Tape, in *Input) naiveMasks {
	m := tp.m
	R, T := len(m.cfg.Relations), len(m.cfg.NodeTypes)
	K := m.cfg.Heads
	var nm naiveMasks
	for l := range tp.layers {
		L := &tp.layers[l]
		nm.feat = append(nm.feat, append([][]float32(nil), L.fmask...))
		am := make([][]float32, R+T)
		for r := range R + T {
			src := L.rel[r].amask
			if src == nil {
				continue
			}
			if r >= R { // self: already per node
				am[r] = src
				continue
			}
			orig := make([]float32, len(src))
			for pos, e := range tp.plans[r].perm {
				copy(orig[int(e)*K:(int(e)+1)*K], src[pos*K:(pos+1)*K])
			}
			am[r] = orig
		}
		nm.attn = append(nm.attn, am)
	}
	nm.valid = true
	return nm
}

func naiveLoss64(m *Model, P [][]float64, in *Input, label int, cw []float32, masks naiveMasks) float64 {
	cfg := &m.cfg
	H, F, K, C := cfg.Hidden, cfg.FeatureDim, cfg.Heads, cfg.HeadDim()
	T := len(cfg.NodeTypes)
	pv := func(p *param) []float64 { return P[m.pindex[p]] }
	// y[i,o] = Σ_k x[i,k] W[o,k]
	lin := func(x []float64, n, in int, W []float64, out int) []float64 {
		y := make([]float64, n*out)
		for i := range n {
			for o := range out {
				var s float64
				for k := range in {
					s += x[i*in+k] * W[o*in+k]
				}
				y[i*out+o] = s
			}
		}
		return y
	}
	h := make([][]float64, T)
	for t, n := range in.N {
		x := make([]float64, len(in.X[t]))
		for i, v := range in.X[t] {
			x[i] = float64(v)
		}
		h[t] = lin(x, n, F, pv(m.inW[t]), H)
		b := pv(m.inB[t])
		for i := range h[t] {
			h[t][i] += b[i%H]
		}
	}
	for l := range cfg.Layers {
		hin := make([][]float64, T)
		for t := range T {
			hin[t] = append([]float64(nil), h[t]...)
			if masks.valid && masks.feat[l][t] != nil {
				for i := range hin[t] {
					hin[t][i] *= float64(masks.feat[l][t][i])
				}
			}
		}
		out := make([][]float64, T)
		for t, n := range in.N {
			out[t] = make([]float64, n*H)
		}
		for ri, rel := range m.rels {
			p := m.conv[l][ri]
			var src, dst []int32
			if rel.self {
				for i := range in.N[rel.src] {
					src, dst = append(src, int32(i)), append(dst, int32(i))
				}
			} else {
				src, dst = in.Edges[ri].Src, in.Edges[ri].Dst
			}
			ns, nd := in.N[rel.src], in.N[rel.dst]
			xs := lin(hin[rel.src], ns, H, pv(p.linSrc), H)
			xd := lin(hin[rel.dst], nd, H, pv(p.linDst), H)
			as, ad := pv(p.attSrc), pv(p.attDst)
			E := len(src)
			e := make([]float64, E*K)
			for ei := range E {
				j, i := int(src[ei]), int(dst[ei])
				for k := range K {
					var s float64
					for c := range C {
						s += xs[j*H+k*C+c]*as[k*C+c] + xd[i*H+k*C+c]*ad[k*C+c]
					}
					if s < 0 {
						s *= 0.2
					}
					e[ei*K+k] = s
				}
			}
			mx := make([]float64, nd*K)
			for i := range mx {
				mx[i] = math.Inf(-1)
			}
			for ei := range E {
				for k := range K {
					mx[int(dst[ei])*K+k] = math.Max(mx[int(dst[ei])*K+k], e[ei*K+k])
				}
			}
			den := make([]float64, nd*K)
			for ei := range E {
				for k := range K {
					e[ei*K+k] = math.Exp(e[ei*K+k] - mx[int(dst[ei])*K+k])
					den[int(dst[ei])*K+k] += e[ei*K+k]
				}
			}
			for ei := range E {
				j, i := int(src[ei]), int(dst[ei])
				for k := range K {
					a := e[ei*K+k] / den[i*K+k]
					if masks.valid && masks.attn[l][ri] != nil {
						a *= float64(masks.attn[l][ri][ei*K+k])
					}
					for c := range C {
						out[rel.dst][i*H+k*C+c] += a * xs[j*H+k*C+c]
					}
				}
			}
			b := pv(p.bias)
			for i := range out[rel.dst] {
				out[rel.dst][i] += b[i%H]
			}
		}
		if l < cfg.Layers-1 {
			for t := range T {
				for i, v := range out[t] {
					if v <= 0 {
						out[t][i] = math.Expm1(v)
					}
				}
			}
		}
		h = out
	}
	pooled := make([]float64, 2*H)
	for c := range H {
		pooled[H+c] = math.Inf(-1)
	}
	total := 0
	for t, n := range in.N {
		total += n
		for i := range n {
			for c := range H {
				v := h[t][i*H+c]
				pooled[c] += v
				pooled[H+c] = math.Max(pooled[H+c], v)
			}
		}
	}
	for c := range H {
		pooled[c] /= float64(total)
	}
	u := lin(pooled, 1, 2*H, pv(m.r1W), H)
	for i := range u {
		u[i] = math.Max(u[i]+pv(m.r1B)[i], 0)
	}
	logits := lin(u, 1, H, pv(m.r2W), cfg.Classes)
	mx := math.Inf(-1)
	for i := range logits {
		logits[i] += pv(m.r2B)[i]
		mx = math.Max(mx, logits[i])
	}
	var se float64
	for _, v := range logits {
		se += math.Exp(v - mx)
	}
	w := 1.0
	if cw != nil {
		w = float64(cw[label])
	}
	return -w * (logits[label] - mx - math.Log(se))
}

// TestGradientsMatchFiniteDifferences checks the float32 backward pass of
// every parameter tensor against central float64 finite differences of
// naiveLoss64: sampled single elements and a random direction through the
// whole tensor, with and without dropout (the tape's masks are replayed).
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		dropout bool
		label   int
		cw      []float32
		layers  int
	}{
		{"plain-3-layers", false, 1, nil, 3},
		{"class-weights-label0", false, 0, []float32{0.7, 2.5}, 2},
		{"dropout", true, 1, []float32{1, 3}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(4, 8, 2, tc.layers)
			cfg.Dropout = 0.3
			m := newTestModel(t, cfg, 11)
			in := gradTestGraph(cfg, 3)
			var rng *rand.Rand
			if tc.dropout {
				rng = rand.New(rand.NewPCG(42, 42))
			}
			tp := m.NewTape()
			g := m.NewGrads()
			loss32, _, err := tp.Backward(in, tc.label, tc.cw, rng, g)
			if err != nil {
				t.Fatal(err)
			}
			masks := naiveMasks{}
			if tc.dropout {
				masks = masksFromTape(tp, in)
			}
			P := make([][]float64, len(m.params))
			for i, p := range m.params {
				for _, v := range p.data {
					P[i] = append(P[i], float64(v))
				}
			}
			base := naiveLoss64(m, P, in, tc.label, tc.cw, masks)
			if d := math.Abs(base - float64(loss32)); d > 1e-5*(1+math.Abs(base)) {
				t.Fatalf("float32 loss %v, float64 reference loss %v", loss32, base)
			}
			const eps = 1e-6
			prng := rand.New(rand.NewPCG(9, 9))
			var worst float64
			var worstName string
			check := func(name string, num, ana float64) {
				err := math.Abs(num-ana) / (1e-4 + math.Abs(num))
				if err > worst {
					worst, worstName = err, name
				}
				if err > 1e-2 {
					t.Errorf("%s: finite difference %.8g, backward %.8g", name, num, ana)
				}
			}
			nonzero := 0
			for pi, p := range m.params {
				gd := g.data[pi]
				row := P[pi]
				for range min(6, len(row)) {
					j := prng.IntN(len(row))
					orig := row[j]
					row[j] = orig + eps
					lp := naiveLoss64(m, P, in, tc.label, tc.cw, masks)
					row[j] = orig - eps
					lm := naiveLoss64(m, P, in, tc.label, tc.cw, masks)
					row[j] = orig
					check(p.name, (lp-lm)/(2*eps), float64(gd[j]))
				}
				dir := make([]float64, len(row))
				var ana float64
				for j := range dir {
					dir[j] = prng.NormFloat64()
					ana += dir[j] * float64(gd[j])
				}
				orig := append([]float64(nil), row...)
				at := func(s float64) float64 {
					for j := range row {
						row[j] = orig[j] + s*dir[j]
					}
					return naiveLoss64(m, P, in, tc.label, tc.cw, masks)
				}
				num := (at(eps) - at(-eps)) / (2 * eps)
				copy(row, orig)
				check(p.name+" (direction)", num, ana)
				if ana != 0 {
					nonzero++
				}
			}
			t.Logf("max relative error vs float64 finite differences: %.2e (%s); %d/%d tensors have a non-zero gradient",
				worst, worstName, nonzero, len(m.params))
		})
	}
}

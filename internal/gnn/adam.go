package gnn

import (
	"errors"
	"math"
	"strings"
)

// Adam is the Adam optimiser with optional decoupled weight decay (AdamW,
// as torch.optim.AdamW). Decay applies to Linear weight matrices only
// (parameters named "*.weight"), not to biases or attention vectors.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64

	step int
	m, v [][]float32
}

// NewAdam returns Adam with PyTorch's defaults (betas 0.9/0.999, eps 1e-8)
// and no weight decay.
func NewAdam(lr float64) *Adam {
	return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Steps is the number of updates applied so far.
func (a *Adam) Steps() int { return a.step }

// Step applies one update from g to the model's parameters and refreshes the
// model's derived forward weights. It must not run concurrently with
// Forward or Tape passes on the same model.
func (a *Adam) Step(m *Model, g *Grads) error {
	if g == nil || len(g.data) != len(m.params) {
		return errors.New("gnn: adam step: grads do not belong to this model")
	}
	if a.m == nil {
		for _, p := range m.params {
			a.m = append(a.m, make([]float32, len(p.data)))
			a.v = append(a.v, make([]float32, len(p.data)))
		}
	}
	if len(a.m) != len(m.params) {
		return errors.New("gnn: adam step: optimiser state belongs to another model")
	}
	a.step++
	b1, b2 := a.Beta1, a.Beta2
	bc1 := 1 - math.Pow(b1, float64(a.step))
	bc2 := 1 - math.Pow(b2, float64(a.step))
	lr := float32(a.LR / bc1)
	sqrtBC2 := float32(math.Sqrt(bc2))
	eps := float32(a.Eps)
	f1, f2 := float32(b1), float32(b2)
	for i, p := range m.params {
		gd, md, vd := g.data[i], a.m[i], a.v[i]
		if a.WeightDecay > 0 && strings.HasSuffix(p.name, ".weight") {
			decay := float32(1 - a.LR*a.WeightDecay)
			for j := range p.data {
				p.data[j] *= decay
			}
		}
		for j, gv := range gd {
			md[j] = f1*md[j] + (1-f1)*gv
			vd[j] = f2*vd[j] + (1-f2)*gv*gv
			denom := float32(math.Sqrt(float64(vd[j])))/sqrtBC2 + eps
			p.data[j] -= lr * md[j] / denom
		}
	}
	m.repack()
	return nil
}

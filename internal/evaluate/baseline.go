package evaluate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/logster/logster/internal/schema"
)

// EventTypeCounts is the baseline's feature vector for one window: log(1+n)
// of the number of events of each type, in schema.AllEventTypes order. It
// uses nothing host-, user- or time-specific.
func EventTypeCounts(types []schema.EventType) []float64 {
	idx := eventTypeIndex()
	x := make([]float64, len(schema.AllEventTypes))
	for _, t := range types {
		if i, ok := idx[t]; ok {
			x[i]++
		}
	}
	for i := range x {
		x[i] = math.Log1p(x[i])
	}
	return x
}

func eventTypeIndex() map[schema.EventType]int {
	m := make(map[schema.EventType]int, len(schema.AllEventTypes))
	for i, t := range schema.AllEventTypes {
		m[t] = i
	}
	return m
}

// Logistic is a class-weighted, L2-regularised logistic regression: the
// non-graph baseline the GNN must beat.
type Logistic struct {
	W    []float64
	B    float64
	Mean []float64 // feature standardisation learnt on the training set
	Std  []float64
}

// LogisticOptions tune training.
type LogisticOptions struct {
	Epochs int     // full-batch gradient steps (default 2000)
	LR     float64 // learning rate (default 0.1)
	L2     float64 // weight decay (default 1e-3)
	Seed   uint64
}

// TrainLogistic fits xs -> ys with classes weighted inversely to their
// frequency (attacks are rare).
func TrainLogistic(xs [][]float64, ys []bool, o LogisticOptions) (*Logistic, error) {
	if len(xs) == 0 || len(xs) != len(ys) {
		return nil, errors.New("logistic: need as many labels as feature rows, and at least one")
	}
	d := len(xs[0])
	for i, x := range xs {
		if len(x) != d {
			return nil, fmt.Errorf("logistic: row %d has %d features, want %d", i, len(x), d)
		}
	}
	if o.Epochs <= 0 {
		o.Epochs = 2000
	}
	if o.LR <= 0 {
		o.LR = 0.1
	}
	if o.L2 < 0 {
		o.L2 = 0
	} else if o.L2 == 0 {
		o.L2 = 1e-3
	}
	m := &Logistic{W: make([]float64, d), Mean: make([]float64, d), Std: make([]float64, d)}
	for _, x := range xs {
		for j, v := range x {
			m.Mean[j] += v
		}
	}
	for j := range m.Mean {
		m.Mean[j] /= float64(len(xs))
	}
	for _, x := range xs {
		for j, v := range x {
			m.Std[j] += (v - m.Mean[j]) * (v - m.Mean[j])
		}
	}
	for j := range m.Std {
		m.Std[j] = math.Sqrt(m.Std[j] / float64(len(xs)))
		if m.Std[j] < 1e-9 {
			m.Std[j] = 1
		}
	}
	pos := 0
	for _, y := range ys {
		if y {
			pos++
		}
	}
	neg := len(ys) - pos
	wPos, wNeg := 1.0, 1.0
	if pos > 0 && neg > 0 {
		wPos = float64(len(ys)) / (2 * float64(pos))
		wNeg = float64(len(ys)) / (2 * float64(neg))
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6c6f67))
	for j := range m.W {
		m.W[j] = (rng.Float64() - 0.5) * 0.01
	}
	z := make([][]float64, len(xs))
	for i, x := range xs {
		z[i] = m.standardise(x)
	}
	gw := make([]float64, d)
	var totalW float64
	for _, y := range ys {
		if y {
			totalW += wPos
		} else {
			totalW += wNeg
		}
	}
	for e := 0; e < o.Epochs; e++ {
		clear(gw)
		var gb float64
		for i, x := range z {
			p := sigmoid(dot(m.W, x) + m.B)
			t, w := 0.0, wNeg
			if ys[i] {
				t, w = 1, wPos
			}
			g := w * (p - t)
			for j, v := range x {
				gw[j] += g * v
			}
			gb += g
		}
		for j := range m.W {
			m.W[j] -= o.LR * (gw[j]/totalW + o.L2*m.W[j])
		}
		m.B -= o.LR * gb / totalW
	}
	return m, nil
}

func (m *Logistic) standardise(x []float64) []float64 {
	z := make([]float64, len(x))
	for j, v := range x {
		z[j] = (v - m.Mean[j]) / m.Std[j]
	}
	return z
}

// Predict returns the attack probability for x.
func (m *Logistic) Predict(x []float64) float64 {
	return sigmoid(dot(m.W, m.standardise(x)) + m.B)
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func sigmoid(v float64) float64 {
	if v >= 0 {
		return 1 / (1 + math.Exp(-v))
	}
	e := math.Exp(v)
	return e / (1 + e)
}

package gnn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func gradTestGraph(cfg Config, seed uint64) *Input {
	rng := rand.New(rand.NewPCG(seed, 5))
	return randomGraph(rng, cfg, graphSpec{
		nodes: []int{5, 4, 2, 2, 0},
		edges: []int{6, 5, 4, 2, 3, 3, 0, 0},
		dup:   2,
	})
}

// TestTapeForwardEqualsForward: without dropout, the training pass computes
// the same function as the inference pass.
func TestTapeForwardEqualsForward(t *testing.T) {
	t.Parallel()
	cfg := testConfig(6, 32, 4, 3)
	m := newTestModel(t, cfg, 5)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, spec := range []graphSpec{realisticSpec(100), {nodes: []int{1, 0, 0, 0, 0}}, {nodes: []int{0, 3, 0, 0, 2}}} {
		in := randomGraph(rng, cfg, spec)
		out, err := m.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		g := m.NewGrads()
		loss, probs, err := m.NewTape().Backward(in, 1, nil, nil, g)
		if err != nil {
			t.Fatal(err)
		}
		for c := range probs {
			if d := math.Abs(float64(probs[c] - out.Probs[c])); d > 1e-5 {
				t.Fatalf("tape probs %v, forward %v", probs, out.Probs)
			}
		}
		if want := -math.Log(float64(out.Probs[1])); math.Abs(float64(loss)-want) > 1e-4 {
			t.Fatalf("loss %v, want %v", loss, want)
		}
	}
}

func TestBackwardRejectsBadLabels(t *testing.T) {
	t.Parallel()
	cfg := testConfig(4, 8, 2, 1)
	m := newTestModel(t, cfg, 1)
	in := gradTestGraph(cfg, 1)
	for _, tc := range []struct {
		name  string
		label int
		cw    []float32
	}{
		{"negative label", -1, nil},
		{"label too big", 2, nil},
		{"weights length", 0, []float32{1}},
		{"weight NaN", 0, []float32{1, float32(math.NaN())}},
		{"weight negative", 0, []float32{-1, 1}},
	} {
		if _, _, err := m.LossAndGrads(in, tc.label, tc.cw, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, _, err := m.NewTape().Backward(in, 0, nil, nil, &Grads{}); err == nil {
		t.Error("foreign grads accepted")
	}
}

// TestAdamLearns: a few hundred Adam steps on two graphs with opposite
// labels drive the loss down, i.e. gradients and updates point the right way.
func TestAdamLearns(t *testing.T) {
	t.Parallel()
	cfg := testConfig(4, 16, 4, 2)
	cfg.Dropout = 0.1
	m, err := New(cfg, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	data := []*Input{gradTestGraph(cfg, 1), gradTestGraph(cfg, 2)}
	labels := []int{0, 1}
	opt := NewAdam(0.01)
	opt.WeightDecay = 0.01
	tp, g := m.NewTape(), m.NewGrads()
	total := func() float64 {
		var s float64
		for i, in := range data {
			l, err := tp.Loss(in, labels[i], nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			s += float64(l)
		}
		return s
	}
	before := total()
	for range 60 {
		g.Zero()
		for i, in := range data {
			if _, _, err := tp.Backward(in, labels[i], nil, rng, g); err != nil {
				t.Fatal(err)
			}
		}
		g.ClipNorm(5)
		if err := opt.Step(m, g); err != nil {
			t.Fatal(err)
		}
	}
	after := total()
	t.Logf("loss %.4f -> %.4f after %d steps", before, after, opt.Steps())
	if !(after < before/4) {
		t.Fatalf("loss did not fall: %.4f -> %.4f", before, after)
	}
}

package train

import (
	"fmt"
	"math"

	"github.com/logster/logster/internal/gnn"
)

// Temperature fits a softmax temperature T on the validation windows by
// minimising their negative log-likelihood (temperature scaling). A small
// model trained to near-zero loss on a few hundred windows is overconfident:
// benign and attack windows alike score 0.999…, which leaves a threshold
// nothing to separate. Dividing the logits by T keeps the ranking (ROC AUC
// is unchanged) and makes the probabilities mean something again.
func Temperature(m *gnn.Model, val []*Sample) (float64, error) {
	var n [2]int
	for _, s := range val {
		n[s.Class()]++
	}
	if n[0] == 0 || n[1] == 0 {
		// Without both classes the fit would only sharpen or flatten
		// everything towards the one class present.
		return 1, nil
	}
	margins := make([]float64, len(val)) // logit(attack) - logit(benign)
	for i, s := range val {
		out, err := m.Forward(s.Input)
		if err != nil {
			return 0, fmt.Errorf("calibrate: %w", err)
		}
		margins[i] = float64(out.Logits[1] - out.Logits[0])
	}
	nll := func(t float64) float64 {
		var sum float64
		for i, s := range val {
			z := margins[i] / t
			// -log sigmoid(z) for attack, -log sigmoid(-z) for benign,
			// written to stay finite for large |z|.
			if s.Class() == 0 {
				z = -z
			}
			sum += math.Log1p(math.Exp(-math.Abs(z))) + math.Max(-z, 0)
		}
		return sum / float64(len(val))
	}
	// Golden-section search over log T in [log 0.25, log 200].
	lo, hi := math.Log(0.25), math.Log(200)
	g := (math.Sqrt(5) - 1) / 2
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := nll(math.Exp(a)), nll(math.Exp(b))
	for i := 0; i < 80; i++ {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = nll(math.Exp(a))
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = nll(math.Exp(b))
		}
	}
	return math.Exp((lo + hi) / 2), nil
}

// ApplyTemperature folds 1/T into the model's last linear layer, so the
// shipped model's softmax is the calibrated one and the runtime needs no
// extra parameter.
func ApplyTemperature(m *gnn.Model, t float64) error {
	if t <= 0 || math.IsNaN(t) || math.IsInf(t, 0) {
		return fmt.Errorf("calibrate: invalid temperature %v", t)
	}
	for _, name := range []string{"readout.lin2.weight", "readout.lin2.bias"} {
		d, _, ok := m.Param(name)
		if !ok {
			return fmt.Errorf("calibrate: model has no %s", name)
		}
		scaled := make([]float32, len(d))
		for i, v := range d {
			scaled[i] = float32(float64(v) / t)
		}
		if err := m.SetParam(name, scaled); err != nil {
			return err
		}
	}
	return nil
}

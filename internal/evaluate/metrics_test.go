package evaluate

import (
	"math"
	"testing"

	"github.com/logster/logster/internal/schema"
)

func TestConfusionAndRates(t *testing.T) {
	t.Parallel()
	xs := []Scored{{0.9, true}, {0.8, false}, {0.4, true}, {0.1, false}, {0.6, true}}
	c := At(xs, 0.5)
	if c != (Confusion{TP: 2, FP: 1, TN: 1, FN: 1}) {
		t.Fatalf("confusion = %+v", c)
	}
	if got := c.Precision(); math.Abs(got-2.0/3) > 1e-12 {
		t.Errorf("precision %v", got)
	}
	if got := c.Recall(); math.Abs(got-2.0/3) > 1e-12 {
		t.Errorf("recall %v", got)
	}
	if got := c.FPR(); got != 0.5 {
		t.Errorf("fpr %v", got)
	}
	if !math.IsNaN(At(nil, 0.5).Precision()) {
		t.Error("precision of nothing flagged must be NaN")
	}
}

func TestROCAUC(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		xs   []Scored
		want float64
	}{
		{"perfect", []Scored{{0.9, true}, {0.8, true}, {0.1, false}}, 1},
		{"inverted", []Scored{{0.1, true}, {0.9, false}}, 0},
		{"all tied", []Scored{{0.5, true}, {0.5, false}, {0.5, false}}, 0.5},
		// Pairs (pos, neg): (0.8,0.6)=1 (0.8,0.3)=1 (0.4,0.6)=0 (0.4,0.3)=1 -> 3/4
		{"mixed", []Scored{{0.8, true}, {0.4, true}, {0.6, false}, {0.3, false}}, 0.75},
		// Tie between a positive and a negative counts one half.
		{"tie half", []Scored{{0.5, true}, {0.5, false}, {0.9, true}, {0.1, false}}, (1 + 1 + 0.5 + 1) / 4.0},
	}
	for _, c := range cases {
		if got := ROCAUC(c.xs); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: AUC %v, want %v", c.name, got, c.want)
		}
	}
	if !math.IsNaN(ROCAUC([]Scored{{0.5, true}})) {
		t.Error("one class must give NaN")
	}
}

func TestThresholdForFPR(t *testing.T) {
	t.Parallel()
	var xs []Scored
	for i := 0; i < 100; i++ {
		xs = append(xs, Scored{Score: float64(i) / 100, Attack: false})
	}
	xs = append(xs, Scored{0.995, true})
	th := ThresholdForFPR(xs, 0.01)
	c := At(xs, th)
	if c.FPR() > 0.01 || c.TP != 1 {
		t.Fatalf("threshold %v: %+v fpr %v", th, c, c.FPR())
	}
	if th0 := ThresholdForFPR(xs, 0); At(xs, th0).FP != 0 {
		t.Fatalf("zero budget still flags benign windows at %v", th0)
	}
}

func TestLogisticLearnsSeparableData(t *testing.T) {
	t.Parallel()
	var xs [][]float64
	var ys []bool
	for i := 0; i < 200; i++ {
		attack := i%10 == 0 // imbalanced, like real windows
		types := []schema.EventType{schema.EventProcessCreate, schema.EventFileCreate}
		if attack {
			types = append(types, schema.EventServiceInstall, schema.EventLogon, schema.EventLogon)
		}
		xs = append(xs, EventTypeCounts(types))
		ys = append(ys, attack)
	}
	m, err := TrainLogistic(xs, ys, LogisticOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var sc []Scored
	for i, x := range xs {
		sc = append(sc, Scored{m.Predict(x), ys[i]})
	}
	if auc := ROCAUC(sc); auc < 0.99 {
		t.Fatalf("AUC %v on separable data", auc)
	}
	if c := At(sc, 0.5); c.Recall() < 1 || c.FPR() > 0 {
		t.Fatalf("at 0.5: %+v", c)
	}
	if _, err := TrainLogistic([][]float64{{1}, {1, 2}}, []bool{true, false}, LogisticOptions{}); err == nil {
		t.Fatal("ragged rows must fail")
	}
}

func TestThresholdAllowing(t *testing.T) {
	t.Parallel()
	xs := []Scored{{0.95, false}, {0.90, false}, {0.2, false}, {0.93, true}, {0.5, true}}
	for allowed, wantFP := range []int{0, 1, 2} {
		th := ThresholdAllowing(xs, allowed)
		if c := At(xs, th); c.FP != wantFP {
			t.Errorf("allowed %d: threshold %v leaves %d false positives", allowed, th, c.FP)
		}
	}
	if th := ThresholdAllowing(xs, 1); th <= 0.90 || th > 0.93 {
		t.Errorf("allowing one: threshold %v, want just above 0.90 (keeping the 0.93 attack)", th)
	}
}

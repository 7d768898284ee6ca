package train

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/logster/logster/internal/evaluate"
	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/graph"
	"github.com/logster/logster/internal/labels"
	"github.com/logster/logster/internal/schema"
)

// RunOptions configure `logster train`.
type RunOptions struct {
	DatasetRoot string          // otrf-security-datasets folder
	LabelsDir   string          // labels/ seed files
	Platform    schema.Platform // which model to train
	ValFrac     float64         // share of recordings for validation (0: none — no early stopping or calibration)
	TestFrac    float64         // share held out for testing (0: none)
	MaxFPR      float64         // threshold calibration budget on validation (default 0.01)
	MinThresh   float64         // threshold floor (default 0.5)
	Version     string          // model version string
	// SplitSeed fixes the train/val/test assignment of recordings; Fit.Seed
	// seeds initialisation, shuffling and dropout, so several initialisations
	// can be compared on one split.
	SplitSeed uint64
	// BenignDirs are folders of real attack-free logs (benign-evtx) whose
	// windows join the data as benign recordings, split like the others.
	BenignDirs []string
	Fit        FitOptions
	Load       Options
}

// Result is what training produced.
type Result struct {
	Model      *gnn.Model
	Recordings []*Recording
	Split      Split
	Epochs     []EpochReport
	Threshold  float64
	// Temperature is the softmax temperature fitted on validation and
	// folded into the model (calibration).
	Temperature float64
	Val, Test   Metrics
	// TestRecordings is recording-level detection on the held-out set.
	TestRecordings []RecordingResult
	Baseline       Metrics // logistic regression on event-type counts, test set
	RoleBaseline   Metrics // "flag every window not on a domain controller", test set
	Took           time.Duration
}

// Run loads the labelled recordings of one platform, splits them by
// recording, trains, calibrates the threshold on the validation set for the
// false-positive budget, and scores the held-out test set (with the
// baselines).
func Run(ctx context.Context, o RunOptions) (*Result, error) {
	begin := time.Now()
	o.ValFrac = math.Max(o.ValFrac, 0)
	o.TestFrac = math.Max(o.TestFrac, 0)
	if o.MaxFPR <= 0 {
		o.MaxFPR = 0.01
	}
	if o.MinThresh <= 0 {
		o.MinThresh = 0.5
	}
	if o.Load.Spec.Window == 0 {
		o.Load.Spec = DefaultSpec()
	}
	o.Load.KeepWindows = o.Load.KeepWindows || o.Load.BackgroundNegatives || o.Load.ForegroundPositives
	prefix := string(o.Platform) + "/"
	o.Load.Filter = func(sf *labels.SeedFile) bool { return strings.HasPrefix(sf.Recording, prefix) }
	recs, err := LoadLabelled(ctx, o.DatasetRoot, o.LabelsDir, o.Load)
	if err != nil {
		return nil, err
	}
	for _, d := range o.BenignDirs {
		pool, err := LoadBenign(ctx, d, o.Load)
		if err != nil {
			return nil, err
		}
		recs = append(recs, pool...)
	}
	for _, r := range recs {
		for _, smp := range r.Samples {
			smp.Window = nil // graphs are built; training needs no events
		}
	}
	split := SplitRecordings(recs, o.ValFrac, o.TestFrac, o.SplitSeed)
	plat := string(o.Platform)
	trainS := Select(recs, split.Train, plat, true)
	valS := Select(recs, split.Val, plat, false)
	testS := Select(recs, split.Test, plat, false)
	if len(trainS) == 0 {
		return nil, fmt.Errorf("train: no labelled %s windows in %s", o.Platform, o.DatasetRoot)
	}
	cfg, err := graph.ModelConfig(o.Platform)
	if err != nil {
		return nil, err
	}
	cfg.Version = o.Version
	m, epochs, err := Fit(cfg, trainS, valS, o.Fit)
	if err != nil {
		return nil, err
	}
	res := &Result{Model: m, Recordings: recs, Split: split, Epochs: epochs}
	if res.Temperature, err = Temperature(m, valS); err != nil {
		return nil, err
	}
	if err := ApplyTemperature(m, res.Temperature); err != nil {
		return nil, err
	}

	valScored, err := ScoreSamples(m, valS, 0)
	if err != nil {
		return nil, err
	}
	res.Threshold = o.MinThresh
	if len(valScored) > 0 {
		var sc []evaluate.Scored
		for _, x := range valScored {
			sc = append(sc, evaluate.Scored{Score: x.Prob, Attack: x.Label == LabelAttack})
		}
		res.Threshold = max(o.MinThresh, evaluate.ThresholdAllowing(sc, allowedFalsePositives(sc, o.MaxFPR)))
	}
	cfg = m.Config()
	res.Val = WindowMetrics(valScored, res.Threshold)
	testScored, err := ScoreSamples(m, testS, res.Threshold)
	if err != nil {
		return nil, err
	}
	res.Test = WindowMetrics(testScored, res.Threshold)
	byS := map[*Sample]Scored{}
	for _, x := range testScored {
		byS[x.Sample] = x
	}
	var testRecs []*Recording
	inTest := map[string]bool{}
	for _, p := range split.Test {
		inTest[p] = true
	}
	for _, r := range recs {
		if inTest[r.Path] {
			testRecs = append(testRecs, r)
		}
	}
	res.TestRecordings = Recordings(testRecs, byS, res.Threshold, nil)
	res.Baseline = LogisticBaseline(trainS, testS, o.Fit.Seed)
	res.RoleBaseline = WindowMetrics(RoleBaseline(testScored), 0.5)

	n := func(ss []*Sample, c int) int {
		k := 0
		for _, s := range ss {
			if s.Class() == c {
				k++
			}
		}
		return k
	}
	cfg.Threshold = res.Threshold
	cfg.Training = gnn.Provenance{
		DataSHA256: DataHash(recs),
		Created:    time.Now().UTC().Truncate(time.Second),
		Epochs:     len(epochs),
		Metrics: map[string]float64{
			"temperature": res.Temperature,
			"val_auc":     res.Val.AUC, "val_recall": res.Val.Recall, "val_fpr": res.Val.FPR,
			"test_auc": res.Test.AUC, "test_recall": res.Test.Recall, "test_fpr": res.Test.FPR, "test_precision": res.Test.Precision,
			"train_attack_windows": float64(n(trainS, 1)), "train_benign_windows": float64(n(trainS, 0)),
			"val_attack_windows": float64(n(valS, 1)), "val_benign_windows": float64(n(valS, 0)),
			"test_attack_windows": float64(n(testS, 1)), "test_benign_windows": float64(n(testS, 0)),
		},
		Notes: map[string]string{
			"split_train":          strings.Join(split.Train, ","),
			"split_val":            strings.Join(split.Val, ","),
			"split_test":           strings.Join(split.Test, ","),
			"labels":               "labels/ seed files, propagation per docs/labels.md",
			"background_negatives": fmt.Sprint(o.Load.BackgroundNegatives),
			"foreground_positives": fmt.Sprint(o.Load.ForegroundPositives),
			"command":              strings.Join(os.Args, " "),
		},
	}
	if err := m.SetConfig(cfg); err != nil {
		return nil, err
	}
	res.Took = time.Since(begin)
	return res, nil
}

// ScoreSamples scores samples with m at threshold.
func ScoreSamples(m *gnn.Model, samples []*Sample, threshold float64) ([]Scored, error) {
	probs, err := Predict(m, samples)
	if err != nil {
		return nil, err
	}
	out := make([]Scored, len(samples))
	for i, s := range samples {
		pred := string(schema.PredictionBenign)
		if probs[i] >= threshold {
			pred = string(schema.PredictionAttack)
		}
		out[i] = Scored{Sample: s, Prob: probs[i], Prediction: pred}
	}
	return out, nil
}

// LogisticBaseline trains the event-type-count logistic regression on
// train and scores test at 0.5.
func LogisticBaseline(train, test []*Sample, seed uint64) Metrics {
	lr, err := fitLogistic(train, seed)
	if err != nil {
		return Metrics{}
	}
	out := make([]Scored, len(test))
	for i, s := range test {
		out[i] = Scored{Sample: s, Prob: lr.Predict(evaluate.EventTypeCounts(s.EventTypes))}
	}
	return WindowMetrics(out, 0.5)
}

func fitLogistic(train []*Sample, seed uint64) (*evaluate.Logistic, error) {
	xs := make([][]float64, len(train))
	ys := make([]bool, len(train))
	for i, s := range train {
		xs[i] = evaluate.EventTypeCounts(s.EventTypes)
		ys[i] = s.Class() == 1
	}
	return evaluate.TrainLogistic(xs, ys, evaluate.LogisticOptions{Seed: seed})
}

// allowedFalsePositives is the validation false-positive budget in windows:
// maxFPR of the benign windows, but at least one. With a validation set of
// a few dozen benign windows the budget would otherwise round to zero and
// the single highest-scoring benign window — in this data often a
// mislabelled one (a domain controller serving the attacker's requests, an
// exploited server the metadata does not name) — alone would set the
// threshold.
func allowedFalsePositives(sc []evaluate.Scored, maxFPR float64) int {
	n := 0
	for _, x := range sc {
		if !x.Attack {
			n++
		}
	}
	return max(1, int(math.Floor(maxFPR*float64(n))))
}

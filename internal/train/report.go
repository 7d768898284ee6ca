package train

import (
	"math"
	"sort"

	"github.com/logster/logster/internal/evaluate"
	"github.com/logster/logster/internal/schema"
)

// Scored is a sample with a model's score.
type Scored struct {
	*Sample
	Prob       float64 `json:"attack_prob"`
	Prediction string  `json:"prediction"`
	Set        string  `json:"set,omitempty"` // train/val/test when the model names its split
	// Result is the service's InferenceResult for the window (evaluation).
	Result *schema.InferenceResult `json:"-"`
}

// Metrics are window-level scores at a threshold.
type Metrics struct {
	Windows   int     `json:"windows"`
	Attack    int     `json:"attack"`
	Benign    int     `json:"benign"`
	Threshold float64 `json:"threshold"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	TN        int     `json:"tn"`
	FN        int     `json:"fn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	FPR       float64 `json:"false_positive_rate"`
	F1        float64 `json:"f1"`
	AUC       float64 `json:"roc_auc"`
}

// WindowMetrics scores the labelled windows of xs at threshold.
func WindowMetrics(xs []Scored, threshold float64) Metrics {
	var sc []evaluate.Scored
	for _, x := range xs {
		if x.Labelled() {
			sc = append(sc, evaluate.Scored{Score: x.Prob, Attack: x.Label == LabelAttack})
		}
	}
	c := evaluate.At(sc, threshold)
	return Metrics{
		Windows: len(sc), Attack: c.TP + c.FN, Benign: c.FP + c.TN, Threshold: threshold,
		TP: c.TP, FP: c.FP, TN: c.TN, FN: c.FN,
		Precision: clean(c.Precision()), Recall: clean(c.Recall()), FPR: clean(c.FPR()), F1: clean(c.F1()),
		AUC: clean(evaluate.ROCAUC(sc)),
	}
}

// clean maps NaN (undefined: e.g. no attacks) to -1 so JSON stays valid.
func clean(v float64) float64 {
	if math.IsNaN(v) {
		return -1
	}
	return v
}

// ByRole scores windows per host role (domain controllers hold most
// attack-free windows: a model can look good by learning the role).
func ByRole(xs []Scored, threshold float64) map[string]Metrics {
	groups := map[string][]Scored{}
	for _, x := range xs {
		r := x.Role
		if r == "" {
			r = "unknown"
		}
		groups[r] = append(groups[r], x)
	}
	out := map[string]Metrics{}
	for r, g := range groups {
		out[r] = WindowMetrics(g, threshold)
	}
	return out
}

// RoleBaseline is the trivial detector the README asks every model to beat:
// flag every window that is not on a domain controller.
func RoleBaseline(xs []Scored) []Scored {
	out := make([]Scored, len(xs))
	for i, x := range xs {
		p := 1.0
		if x.Role == "domain_controller" {
			p = 0
		}
		out[i] = Scored{Sample: x.Sample, Prob: p}
	}
	return out
}

// RecordingResult says whether an attack recording was detected.
type RecordingResult struct {
	File     string   `json:"file"`
	Tactic   string   `json:"tactic"`
	Set      string   `json:"set,omitempty"`
	Source   string   `json:"source,omitempty"`
	Targets  []string `json:"targets,omitempty"`
	Attack   int      `json:"attack_windows"`
	Detected int      `json:"detected_windows"`
	Flagged  bool     `json:"flagged"` // some attack window flagged
	// OnTarget: every lateral-movement target has a flagged window;
	// FirstWindow: the first attack window of each target is flagged.
	OnTarget    *bool `json:"flagged_on_target,omitempty"`
	FirstWindow *bool `json:"first_window_on_target,omitempty"`
	// TimeToDetect is event time from the first labelled event to the end
	// of the first flagged attack window (seconds); -1 if never.
	TimeToDetect float64 `json:"time_to_detect_s"`
	MaxProb      float64 `json:"max_attack_prob"`
}

// Recordings evaluates recording-level detection for recordings with
// attack windows.
func Recordings(recs []*Recording, scored map[*Sample]Scored, threshold float64, setOf func(string) string) []RecordingResult {
	var out []RecordingResult
	for _, r := range recs {
		res := RecordingResult{File: r.Path, Tactic: r.Tactic, Source: r.Source(), Targets: r.Targets(), TimeToDetect: -1}
		if setOf != nil {
			res.Set = setOf(r.Path)
		}
		first := math.Inf(1)
		detectAt := math.Inf(1)
		targetFlag := map[string]bool{}
		targetFirst := map[string]*Sample{}
		for _, s := range r.Samples {
			if s.Label != LabelAttack || s.Derived {
				continue
			}
			res.Attack++
			x := scored[s]
			res.MaxProb = math.Max(res.MaxProb, x.Prob)
			if s.FirstAttack > 0 {
				first = math.Min(first, s.FirstAttack)
			}
			if t := targetFirst[s.Host]; t == nil || s.Start < t.Start {
				targetFirst[s.Host] = s
			}
			if x.Prob >= threshold {
				res.Detected++
				res.Flagged = true
				targetFlag[s.Host] = true
				detectAt = math.Min(detectAt, s.End)
			}
		}
		if res.Attack == 0 {
			continue
		}
		if !math.IsInf(first, 1) && !math.IsInf(detectAt, 1) {
			res.TimeToDetect = math.Max(0, detectAt-first)
		}
		if len(res.Targets) > 0 {
			on, fw := true, true
			for _, t := range res.Targets {
				if !targetFlag[t] {
					on = false
				}
				if s := targetFirst[t]; s == nil || scored[s].Prob < threshold {
					fw = false
				}
			}
			res.OnTarget, res.FirstWindow = &on, &fw
		}
		out = append(out, res)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

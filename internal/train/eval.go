package train

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/logster/logster/internal/alerting"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/evaluate"
	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/inference"
	"github.com/logster/logster/internal/labels"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/window"
)

// EvalOptions configure `logster eval`.
type EvalOptions struct {
	// Data is a recordings folder (otrf-security-datasets layout, labelled
	// through LabelsDir where seed files exist) or single files; files
	// without seed files are scored without labels.
	Data      []string
	LabelsDir string
	// AttackSamples is a folder of EVTX files that are all attacks
	// (evtx-attack-samples): per-technique recall. Optional.
	AttackSamples string
	// Benign are folders of attack-free logs (benign-evtx): every window is
	// labelled benign (role benign_pool) — the false-positive check on
	// machines outside the lab.
	Benign []string
	// Threshold overrides the model's when > 0.
	Threshold float64
	Spec      window.Spec
	Workers   int
	// Fit.Seed seeds the logistic-regression baseline.
	Fit      FitOptions
	Progress func(done, total int, path string)
}

// WindowResult is one evaluated window (the --json "windows" list).
type WindowResult struct {
	File        string   `json:"file"`
	Host        string   `json:"host"`
	Role        string   `json:"role,omitempty"`
	WindowStart float64  `json:"window_start"`
	WindowEnd   float64  `json:"window_end"`
	Prediction  string   `json:"prediction"`
	AttackProb  float64  `json:"attack_prob"`
	Label       string   `json:"label,omitempty"`
	Set         string   `json:"set,omitempty"`
	Events      int      `json:"events"`
	Nodes       int      `json:"nodes"`
	Techniques  []string `json:"techniques,omitempty"`
	Error       string   `json:"error,omitempty"`
}

// TechniqueRecall is recall on attack-only samples grouped by technique.
type TechniqueRecall struct {
	Technique string   `json:"technique"`
	Files     int      `json:"files"`
	Detected  int      `json:"detected"`
	Recall    float64  `json:"recall"`
	Missed    []string `json:"missed,omitempty"`
}

// LinkResult says whether a lateral-movement recording's source -> target
// hop was linked by the alerts engine.
type LinkResult struct {
	File    string   `json:"file"`
	Set     string   `json:"set,omitempty"`
	Source  string   `json:"source"`
	Targets []string `json:"targets"`
	Linked  []string `json:"linked_hops"`
	OK      bool     `json:"source_to_target_linked"`
}

// EvalReport is the whole evaluation.
type EvalReport struct {
	Model     string         `json:"model"`
	Threshold float64        `json:"threshold"`
	Windows   []WindowResult `json:"windows"`
	Metrics   *EvalMetrics   `json:"metrics,omitempty"`
	Took      float64        `json:"took_seconds"`
	scored    []Scored
	recs      []*Recording
}

// EvalMetrics holds every metric, when labels are known.
type EvalMetrics struct {
	// Sets: "all", and "test"/"val"/"train" when the model names its split.
	Windows      map[string]Metrics            `json:"windows"`
	ByRole       map[string]map[string]Metrics `json:"by_role"`
	RoleBaseline map[string]Metrics            `json:"baseline_flag_non_dc"`
	Recordings   []RecordingResult             `json:"recordings"`
	Lateral      []LinkResult                  `json:"lateral_movement"`
	// LateralUnexpected lists recordings without a recorded hop in which
	// the alerts engine still opened a lateral-movement incident.
	LateralUnexpected []LinkResult       `json:"lateral_movement_unexpected"`
	Techniques        []TechniqueRecall  `json:"technique_recall,omitempty"`
	TTD               map[string]float64 `json:"time_to_detect_s"` // median per set
	// Logistic is the non-graph baseline on the held-out test set, trained
	// on the model's training recordings (event-type counts) and
	// thresholded like the model (val-calibrated, same FPR budget) and at 0.5.
	Logistic map[string]Metrics `json:"baseline_logistic,omitempty"`
	Replay   map[string]int     `json:"replay_outcomes"` // window store outcomes over all events
}

// Evaluate scores every window of the data with m through the service's
// own scoring path (inference.Score) and, where labels exist, computes the
// metrics.
func Evaluate(ctx context.Context, m *gnn.Model, o EvalOptions) (*EvalReport, error) {
	begin := time.Now()
	if o.Spec.Window == 0 {
		o.Spec = DefaultSpec()
	}
	cfg := m.Config()
	thr := cfg.Threshold
	if o.Threshold > 0 {
		thr = o.Threshold
	}
	split := splitFromModel(cfg)
	recs, err := loadForEval(ctx, o)
	if err != nil {
		return nil, err
	}
	for _, d := range o.Benign {
		pool, err := LoadBenign(ctx, d, Options{Spec: o.Spec, Workers: o.Workers, KeepWindows: true, Progress: o.Progress})
		if err != nil {
			return nil, err
		}
		recs = append(recs, pool...)
	}
	rep := &EvalReport{Model: cfg.Version, Threshold: thr, recs: recs}
	plat := platformOf(cfg)
	replay := map[string]int{}
	now := time.Now()
	for _, r := range recs {
		for k, v := range r.Stats.Outcomes {
			replay[k] += v
		}
		set := split.Of(r.Path)
		for _, s := range r.Samples {
			if s.Platform != plat {
				continue
			}
			res := inference.Score(m, cfg.Version, o.Threshold, s.Window, now)
			wr := WindowResult{
				File: r.Path, Host: s.Host, Role: s.Role, WindowStart: s.Start, WindowEnd: s.End,
				Prediction: string(res.Prediction), AttackProb: res.AttackProb, Label: s.Label, Set: set,
				Events: res.NumEvents, Nodes: res.NumNodes, Error: res.Error,
			}
			if res.Evidence != nil {
				for _, t := range res.Evidence.Techniques {
					wr.Techniques = append(wr.Techniques, t.ID)
				}
			}
			rep.Windows = append(rep.Windows, wr)
			rep.scored = append(rep.scored, Scored{Sample: s, Prob: res.AttackProb, Prediction: string(res.Prediction), Set: set, Result: res})
			s.Window = nil // scored: release the events
		}
	}
	if hasLabels(rep.scored) {
		mt := &EvalMetrics{Windows: map[string]Metrics{}, ByRole: map[string]map[string]Metrics{}, RoleBaseline: map[string]Metrics{}, TTD: map[string]float64{}, Replay: replay}
		sets := map[string][]Scored{"all": rep.scored}
		for _, x := range rep.scored {
			if x.Set != "" {
				sets[x.Set] = append(sets[x.Set], x)
			}
		}
		for name, xs := range sets {
			mt.Windows[name] = WindowMetrics(xs, thr)
			mt.ByRole[name] = ByRole(xs, thr)
			mt.RoleBaseline[name] = WindowMetrics(RoleBaseline(xs), 0.5)
		}
		byS := map[*Sample]Scored{}
		for _, x := range rep.scored {
			byS[x.Sample] = x
		}
		mt.Recordings = Recordings(recs, byS, thr, split.Of)
		ttd := map[string][]float64{}
		for _, r := range mt.Recordings {
			if r.TimeToDetect >= 0 {
				ttd["all"] = append(ttd["all"], r.TimeToDetect)
				if r.Set != "" {
					ttd[r.Set] = append(ttd[r.Set], r.TimeToDetect)
				}
			}
		}
		for k, v := range ttd {
			sort.Float64s(v)
			mt.TTD[k] = v[len(v)/2]
		}
		links, unexpected, err := lateralLinks(ctx, recs, rep.scored, split)
		if err != nil {
			return nil, err
		}
		mt.Lateral, mt.LateralUnexpected = links, unexpected
		mt.Logistic = logisticOnSplit(rep.scored, o.Fit.Seed)
		rep.Metrics = mt
	}
	if o.AttackSamples != "" {
		tr, err := techniqueRecall(ctx, m, o, thr, plat)
		if err != nil {
			return nil, err
		}
		if rep.Metrics == nil {
			rep.Metrics = &EvalMetrics{}
		}
		rep.Metrics.Techniques = tr
	}
	rep.Took = time.Since(begin).Seconds()
	return rep, nil
}

func hasLabels(xs []Scored) bool {
	for _, x := range xs {
		if x.Labelled() {
			return true
		}
	}
	return false
}

func platformOf(cfg gnn.Config) schema.Platform {
	if strings.HasPrefix(cfg.FeatureSchema, "linux") {
		return schema.PlatformLinux
	}
	return schema.PlatformWindows
}

// splitFromModel reads the train/val/test recordings the model was trained
// with (its provenance), so evaluation can report held-out windows apart.
func splitFromModel(cfg gnn.Config) Split {
	get := func(k string) []string {
		v := cfg.Training.Notes[k]
		if v == "" {
			return nil
		}
		return strings.Split(v, ",")
	}
	return Split{Train: get("split_train"), Val: get("split_val"), Test: get("split_test")}
}

// loadForEval reads the data: recordings with seed files are labelled,
// anything else is scored without labels.
func loadForEval(ctx context.Context, o EvalOptions) ([]*Recording, error) {
	seeds := map[string]*labels.SeedFile{}
	if o.LabelsDir != "" {
		if sfs, err := labels.LoadSeedDir(o.LabelsDir); err == nil {
			for _, sf := range sfs {
				seeds[sf.Recording] = sf
			}
		} else if !os.IsNotExist(err) {
			return nil, err
		}
	}
	type item struct {
		root, rel, abs string
		seed           *labels.SeedFile
	}
	var items []item
	for _, d := range o.Data {
		if d == "" {
			continue
		}
		st, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		if !st.IsDir() {
			items = append(items, item{abs: d, rel: d})
			continue
		}
		err = filepath.WalkDir(d, func(p string, de os.DirEntry, err error) error {
			if err != nil || de.IsDir() || !isRecording(p) {
				return err
			}
			rel, _ := filepath.Rel(d, p)
			rel = filepath.ToSlash(rel)
			items = append(items, item{root: d, rel: rel, abs: p, seed: seeds[rel]})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("eval: walk %s: %w", d, err)
		}
	}
	lo := Options{Spec: o.Spec, Workers: o.Workers, KeepWindows: true, Progress: o.Progress}
	return parallel(ctx, items, lo, func(ctx context.Context, it item) (*Recording, error) {
		if it.seed != nil {
			return loadOne(ctx, it.root, it.seed, lo)
		}
		return loadUnlabelled(ctx, it.abs, it.rel, lo)
	})
}

func isRecording(p string) bool {
	for _, ext := range []string{".zip", ".tar.gz", ".json", ".jsonl", ".ndjson", ".evtx", ".log"} {
		if strings.HasSuffix(strings.ToLower(p), ext) {
			return true
		}
	}
	return false
}

func loadUnlabelled(ctx context.Context, file, name string, o Options) (*Recording, error) {
	evs, _, err := labels.ReadRecording(ctx, file, "")
	if err != nil {
		return nil, err
	}
	rec := &Recording{Path: name, Tactic: tacticOf(name)}
	ptrs := make([]*schema.NormalizedEvent, len(evs))
	for i := range evs {
		ptrs[i] = &evs[i]
	}
	rec.Stats, err = replayInto(ctx, rec, ptrs, o, func(*window.Window) (string, float64) { return LabelUnlabelled, 0 }, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rec, nil
}

// lateralLinks feeds each recording's inference results, in window-end
// order, through a fresh alerts engine (default alerts configuration). For
// lateral-movement recordings it reports whether the source -> target hop
// became an incident; for the others, any incident at all is unexpected.
func lateralLinks(ctx context.Context, recs []*Recording, scored []Scored, split Split) (links, unexpected []LinkResult, err error) {
	bySample := map[*Sample]*schema.InferenceResult{}
	for _, x := range scored {
		bySample[x.Sample] = x.Result
	}
	ac := config.Default().Alerts
	for _, r := range recs {
		eng, err := alerting.NewEngine(alerting.ConfigFrom(ac, config.Default().Redis), alerting.NewMemoryState(nil), nil, nil)
		if err != nil {
			return nil, nil, err
		}
		var results []*schema.InferenceResult
		for _, s := range r.Samples {
			if res := bySample[s]; res != nil {
				results = append(results, res)
			}
		}
		sort.SliceStable(results, func(i, j int) bool { return results[i].WindowEnd < results[j].WindowEnd })
		hops := map[string]bool{}
		for _, res := range results {
			alerts, err := eng.Process(ctx, res)
			if err != nil {
				return nil, nil, fmt.Errorf("lateral %s: %w", r.Path, err)
			}
			for _, a := range alerts {
				for _, h := range a.Chain {
					hops[h.SourceEndpoint+" -> "+h.TargetEndpoint] = true
				}
			}
		}
		lr := LinkResult{File: r.Path, Set: split.Of(r.Path), Source: r.Source(), Targets: r.Targets(), OK: true}
		for _, t := range r.Targets() {
			if !hops[r.Source()+" -> "+t] {
				lr.OK = false
			}
		}
		for h := range hops {
			lr.Linked = append(lr.Linked, h)
		}
		sort.Strings(lr.Linked)
		switch {
		case len(r.Targets()) > 0:
			links = append(links, lr)
		case len(hops) > 0:
			lr.OK = false
			unexpected = append(unexpected, lr)
		}
	}
	return links, unexpected, nil
}

var techniqueRe = regexp.MustCompile(`T\d{4}(?:[._]\d{3})?`)

// techniqueRecall scores every EVTX file under o.AttackSamples (each one a
// positive) and reports, per ATT&CK technique named in the file name (or
// per tactic folder when none is named), how many files had a flagged
// window.
func techniqueRecall(ctx context.Context, m *gnn.Model, o EvalOptions, thr float64, plat schema.Platform) ([]TechniqueRecall, error) {
	var files []string
	err := filepath.WalkDir(o.AttackSamples, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() && strings.HasSuffix(strings.ToLower(p), ".evtx") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("eval: attack samples: %w", err)
	}
	sort.Strings(files)
	lo := Options{Spec: o.Spec, Workers: o.Workers, KeepWindows: true}
	recs, err := parallel(ctx, files, lo, func(ctx context.Context, f string) (*Recording, error) {
		rel, _ := filepath.Rel(o.AttackSamples, f)
		return loadUnlabelled(ctx, f, filepath.ToSlash(rel), lo)
	})
	if err != nil {
		return nil, err
	}
	cfg := m.Config()
	groups := map[string]*TechniqueRecall{}
	now := time.Now()
	for _, r := range recs {
		hit := false
		for _, s := range r.Samples {
			if s.Platform != plat {
				continue
			}
			res := inference.Score(m, cfg.Version, thr, s.Window, now)
			s.Window = nil
			if res.AttackProb >= thr && res.Prediction == schema.PredictionAttack {
				hit = true
			}
		}
		key := strings.ReplaceAll(techniqueRe.FindString(filepath.Base(r.Path)), "_", ".")
		if key == "" {
			key = "tactic:" + strings.ToLower(strings.ReplaceAll(filepath.Dir(r.Path), " ", "_"))
		}
		g := groups[key]
		if g == nil {
			g = &TechniqueRecall{Technique: key}
			groups[key] = g
		}
		g.Files++
		if hit {
			g.Detected++
		} else {
			g.Missed = append(g.Missed, r.Path)
		}
	}
	out := make([]TechniqueRecall, 0, len(groups))
	for _, g := range groups {
		g.Recall = float64(g.Detected) / float64(g.Files)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Technique < out[j].Technique })
	return out, nil
}

// logisticOnSplit trains the event-type-count logistic regression on the
// model's training windows and scores the test windows, with the threshold
// calibrated on validation exactly as the model's is (and at 0.5). Empty
// when the data holds no split.
func logisticOnSplit(xs []Scored, seed uint64) map[string]Metrics {
	var train, val, test []*Sample
	for _, x := range xs {
		if !x.Labelled() {
			continue
		}
		switch x.Set {
		case "train":
			train = append(train, x.Sample)
		case "val":
			val = append(val, x.Sample)
		case "test":
			test = append(test, x.Sample)
		}
	}
	if len(train) == 0 || len(test) == 0 {
		return nil
	}
	lr, err := fitLogistic(train, seed)
	if err != nil {
		return nil
	}
	score := func(ss []*Sample) ([]Scored, []evaluate.Scored) {
		out := make([]Scored, len(ss))
		ev := make([]evaluate.Scored, len(ss))
		for i, s := range ss {
			p := lr.Predict(evaluate.EventTypeCounts(s.EventTypes))
			out[i] = Scored{Sample: s, Prob: p}
			ev[i] = evaluate.Scored{Score: p, Attack: s.Class() == 1}
		}
		return out, ev
	}
	testS, _ := score(test)
	out := map[string]Metrics{"threshold_0.5": WindowMetrics(testS, 0.5)}
	if len(val) > 0 {
		_, valE := score(val)
		th := max(0.5, evaluate.ThresholdAllowing(valE, allowedFalsePositives(valE, 0.01)))
		out["val_calibrated"] = WindowMetrics(testS, th)
	}
	return out
}

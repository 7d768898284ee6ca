package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/graph"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/train"
)

func init() {
	register(command{name: "eval", summary: "score recordings with a model; metrics where labels exist", run: runEval})
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("eval", stderr)
	model := fs.String("model", "models/windows/model.safetensors", "model weights (.safetensors; its .json beside it)")
	data := fs.String("data", "../shared/datasets/otrf-security-datasets", "recordings: a folder (otrf layout) or comma-separated files")
	labelsDir := fs.String("labels", "labels", "label seed files (recordings without one are scored without labels)")
	samples := fs.String("attack-samples", "", "folder of attack-only EVTX files for per-technique recall (e.g. ../shared/datasets/evtx-attack-samples)")
	benign := fs.String("benign", "", "folders of attack-free logs scored as benign windows (e.g. ../shared/datasets/benign-evtx)")
	threshold := fs.Float64("threshold", 0, "attack threshold (default: the model's)")
	asJSON := fs.Bool("json", false, "print one JSON object: windows and metrics")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	m, err := gnn.Load(*model)
	if err != nil {
		return die(stderr, "%v", err)
	}
	cfg := m.Config()
	if err := graph.CheckModel(cfg, platformOfModel(cfg)); err != nil {
		return die(stderr, "model %s: %v", *model, err)
	}
	o := train.EvalOptions{
		Data: strings.Split(*data, ","), Benign: splitList(*benign), LabelsDir: *labelsDir, AttackSamples: *samples, Threshold: *threshold,
		Progress: func(done, total int, path string) {
			fmt.Fprintf(stderr, "\rscoring %s %d/%d %-50.50s", bar(done, total, 24), done, total, filepath.Base(path))
			if done == total {
				fmt.Fprintln(stderr)
			}
		},
	}
	rep, err := train.Evaluate(ctx, m, o)
	if err != nil {
		return die(stderr, "%v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(rep); err != nil {
			return die(stderr, "%v", err)
		}
		return 0
	}
	printEval(stdout, rep)
	return 0
}

func platformOfModel(cfg gnn.Config) schema.Platform {
	if strings.HasPrefix(cfg.FeatureSchema, "linux") {
		return "linux"
	}
	return "windows"
}

func printEval(w io.Writer, rep *train.EvalReport) {
	fmt.Fprintf(w, "model %s, threshold %.3f, %d windows scored in %.1fs\n", rep.Model, rep.Threshold, len(rep.Windows), rep.Took)
	mt := rep.Metrics
	if mt == nil || len(mt.Windows) == 0 {
		attack := 0
		for _, x := range rep.Windows {
			if x.Prediction == "attack" {
				attack++
			}
		}
		fmt.Fprintf(w, "no labels: %d windows predicted attack (use --json for every window)\n", attack)
		if mt != nil {
			printTechniques(w, mt.Techniques)
		}
		return
	}
	sets := make([]string, 0, len(mt.Windows))
	for k := range mt.Windows {
		sets = append(sets, k)
	}
	sort.Strings(sets)
	fmt.Fprintln(w, "\nwindow level (sets from the model's own train/val/test split; 'test' is held out):")
	for _, s := range sets {
		fmt.Fprintf(w, "  %-5s %s\n", s, metricsLine(mt.Windows[s]))
		fmt.Fprintf(w, "        baseline flag-every-non-DC: %s\n", metricsLine(mt.RoleBaseline[s]))
		roles := make([]string, 0)
		for r := range mt.ByRole[s] {
			roles = append(roles, r)
		}
		sort.Strings(roles)
		for _, r := range roles {
			fmt.Fprintf(w, "        %-18s %s\n", r, metricsLine(mt.ByRole[s][r]))
		}
	}
	fmt.Fprintln(w, "\nrecording level (attack recordings):")
	for _, r := range mt.Recordings {
		fmt.Fprintf(w, "  %-5s %-66.66s flagged %-5v windows %d/%d ttd %5.0fs%s\n", r.Set, r.File, r.Flagged, r.Detected, r.Attack, r.TimeToDetect, targetNote(r))
	}
	if len(mt.Lateral) > 0 {
		fmt.Fprintln(w, "\nlateral movement (alerts engine over the results):")
		for _, l := range mt.Lateral {
			fmt.Fprintf(w, "  %-5s %-60.60s %s -> %v linked=%v %v\n", l.Set, l.File, l.Source, l.Targets, l.OK, l.Linked)
		}
	}
	if len(mt.LateralUnexpected) > 0 {
		fmt.Fprintln(w, "\nlateral-movement incidents in recordings without a recorded hop:")
		for _, l := range mt.LateralUnexpected {
			fmt.Fprintf(w, "  %-5s %-60.60s %v\n", l.Set, l.File, l.Linked)
		}
	}
	if len(mt.Logistic) > 0 {
		fmt.Fprintln(w, "\nbaseline: logistic regression on event-type counts, trained on the model's training recordings, test set:")
		for _, k := range []string{"val_calibrated", "threshold_0.5"} {
			if m, ok := mt.Logistic[k]; ok {
				fmt.Fprintf(w, "  %-15s %s\n", k, metricsLine(m))
			}
		}
	}
	fmt.Fprintf(w, "\nmedian time to detect (s): %v\n", mt.TTD)
	fmt.Fprintf(w, "window store outcomes over all events: %v\n", mt.Replay)
	printTechniques(w, mt.Techniques)
}

func printTechniques(w io.Writer, ts []train.TechniqueRecall) {
	if len(ts) == 0 {
		return
	}
	fmt.Fprintln(w, "\nper-technique recall on attack-only EVTX samples:")
	files, det := 0, 0
	for _, t := range ts {
		fmt.Fprintf(w, "  %-40s %3d/%-3d %.2f\n", t.Technique, t.Detected, t.Files, t.Recall)
		files += t.Files
		det += t.Detected
	}
	if files > 0 {
		fmt.Fprintf(w, "  overall %d/%d files detected (%.2f)\n", det, files, float64(det)/float64(files))
	}
}

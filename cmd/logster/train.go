package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/train"
)

func init() {
	register(command{name: "train", summary: "train a model on labelled recordings (split by recording)", run: runTrain})
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("train", stderr)
	data := fs.String("data", "../shared/datasets/otrf-security-datasets", "recordings folder (otrf-security-datasets layout)")
	labelsDir := fs.String("labels", "labels", "label seed files")
	platform := fs.String("platform", "windows", "model to train: windows or linux")
	out := fs.String("out", "", "weights file to write (default models/<platform>/model.safetensors)")
	epochs := fs.Int("epochs", 60, "maximum epochs")
	patience := fs.Int("patience", 15, "early stopping: epochs without validation improvement")
	batch := fs.Int("batch", 8, "graphs per optimiser step")
	lr := fs.Float64("lr", 5e-4, "Adam learning rate")
	dropout := fs.Float64("dropout", 0.2, "dropout")
	seed := fs.Uint64("seed", 1, "random seed of initialisation, shuffling and dropout")
	splitSeed := fs.Uint64("split-seed", 1, "random seed of the train/val/test split of recordings")
	val := fs.Float64("val", 0.2, "share of recordings for validation")
	test := fs.Float64("test", 0.2, "share of recordings held out for testing")
	maxFPR := fs.Float64("max-fpr", 0.01, "false-positive budget for the threshold, on validation windows")
	version := fs.String("version", "", "model version (default <platform>-<date>-s<seed>)")
	benign := fs.String("benign", "../shared/datasets/benign-evtx", "folders of real attack-free logs added as benign recordings (comma-separated; \"\" for none; Windows only)")
	foreground := fs.Bool("foreground-positives", false, "add each attack window's attacker events alone as an attack sample (an experiment for sparse, background-free captures; see models/MODEL_CARD.md)")
	background := fs.String("background-negatives", "auto", "add attack windows minus the attacker's events as benign samples: true, false or auto (on for linux, whose recordings have no attack-free windows)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	p := schema.Platform(*platform)
	if !p.Valid() {
		return die(stderr, "--platform must be windows or linux, not %q", *platform)
	}
	bg := *background == "true" || (*background == "auto" && p == schema.PlatformLinux)
	if *background != "true" && *background != "false" && *background != "auto" {
		return die(stderr, "--background-negatives must be true, false or auto")
	}
	if *out == "" {
		*out = filepath.Join("models", *platform, "model.safetensors")
	}
	if *version == "" {
		*version = fmt.Sprintf("%s-%s-s%d", *platform, time.Now().UTC().Format("20060102"), *seed)
	}
	if _, err := os.Stat(*data); err != nil {
		return die(stderr, "recordings folder: %v", err)
	}
	var benignDirs []string
	if p == schema.PlatformWindows {
		for _, d := range strings.Split(*benign, ",") {
			if d = strings.TrimSpace(d); d != "" {
				if _, err := os.Stat(d); err != nil {
					return die(stderr, "benign pool: %v", err)
				}
				benignDirs = append(benignDirs, d)
			}
		}
	}
	opts := train.RunOptions{
		BenignDirs:  benignDirs,
		DatasetRoot: *data, LabelsDir: *labelsDir, Platform: p,
		SplitSeed: *splitSeed, ValFrac: *val, TestFrac: *test, MaxFPR: *maxFPR, Version: *version,
		Fit: train.FitOptions{Epochs: *epochs, Patience: *patience, BatchSize: *batch, LR: *lr, Dropout: *dropout, Seed: *seed,
			Report: func(r train.EpochReport) { fmt.Fprintln(stderr, epochLine(r)) }},
		Load: train.Options{Spec: train.DefaultSpec(), BackgroundNegatives: bg, ForegroundPositives: *foreground, Progress: func(done, total int, path string) {
			fmt.Fprintf(stderr, "\rreading recordings %s %d/%d %-60.60s", bar(done, total, 24), done, total, filepath.Base(path))
			if done == total {
				fmt.Fprintln(stderr)
			}
		}},
	}
	res, err := train.Run(ctx, opts)
	if err != nil {
		return die(stderr, "%v", err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return die(stderr, "%v", err)
	}
	if err := res.Model.Save(*out); err != nil {
		return die(stderr, "save model: %v", err)
	}
	rep := trainingReport(res)
	b, _ := json.MarshalIndent(rep, "", "  ")
	reportPath := strings.TrimSuffix(*out, filepath.Ext(*out)) + ".training.json"
	if err := os.WriteFile(reportPath, append(b, '\n'), 0o644); err != nil {
		return die(stderr, "write %s: %v", reportPath, err)
	}
	fmt.Fprintf(stdout, "model %s written to %s (report %s)\n", *version, *out, reportPath)
	fmt.Fprintf(stdout, "temperature %.2f, threshold %.3f (validation FPR budget %.1f%%)\n", res.Temperature, res.Threshold, *maxFPR*100)
	fmt.Fprintf(stdout, "validation: %s\n", metricsLine(res.Val))
	fmt.Fprintf(stdout, "test:       %s\n", metricsLine(res.Test))
	fmt.Fprintf(stdout, "baseline (logistic regression on event-type counts), test: %s\n", metricsLine(res.Baseline))
	fmt.Fprintf(stdout, "baseline (flag every non-DC window), test: %s\n", metricsLine(res.RoleBaseline))
	for _, r := range res.TestRecordings {
		fmt.Fprintf(stdout, "  %-70s attack windows %d, flagged %d%s\n", r.File, r.Attack, r.Detected, targetNote(r))
	}
	fmt.Fprintf(stdout, "took %s\n", res.Took.Round(time.Second))
	return 0
}

func targetNote(r train.RecordingResult) string {
	if r.OnTarget == nil {
		return ""
	}
	return fmt.Sprintf(", target %v flagged=%v first-window=%v", r.Targets, *r.OnTarget, *r.FirstWindow)
}

func epochLine(r train.EpochReport) string {
	mark := ""
	if r.Best {
		mark = " *"
	}
	return fmt.Sprintf("epoch %3d/%d %s loss %.4f  val_loss %.4f  val_auc %.3f  (%s)%s",
		r.Epoch, r.Epochs, bar(r.Epoch, r.Epochs, 20), r.TrainLoss, r.ValLoss, r.ValAUC, r.Took.Round(100*time.Millisecond), mark)
}

func bar(done, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat(" ", width) + "]"
	}
	n := done * width / total
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func metricsLine(m train.Metrics) string {
	return fmt.Sprintf("windows %d (attack %d, benign %d)  precision %s  recall %s  FPR %s  AUC %s  (TP %d FP %d TN %d FN %d)",
		m.Windows, m.Attack, m.Benign, num3(m.Precision), num3(m.Recall), num3(m.FPR), num3(m.AUC), m.TP, m.FP, m.TN, m.FN)
}

// num3 prints a metric, or n/a where it is undefined (no attacks, no
// benign windows, nothing flagged).
func num3(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", v)
}

func trainingReport(res *train.Result) map[string]any {
	return map[string]any{
		"model":             res.Model.Config(),
		"split":             res.Split,
		"epochs":            res.Epochs,
		"threshold":         res.Threshold,
		"validation":        res.Val,
		"test":              res.Test,
		"test_recordings":   res.TestRecordings,
		"baseline_logistic": res.Baseline,
		"baseline_role":     res.RoleBaseline,
		"took_seconds":      res.Took.Seconds(),
	}
}

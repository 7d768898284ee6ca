// Package train builds labelled window datasets from recordings, trains the
// heterogeneous GAT (`logster train`) and evaluates models against labels
// and baselines (`logster eval`). Windows are cut by the inference
// service's own window store (inference.Replay) and graphs are built by the
// service's graph builder, so what is trained and measured here is what
// production scores.
package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/graph"
	"github.com/logster/logster/internal/inference"
	"github.com/logster/logster/internal/labels"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/window"
)

// Window labels (labels.Attack etc.); Unlabelled marks windows of data that
// has no ground truth (predictions only).
const (
	LabelAttack     = labels.Attack
	LabelBenign     = labels.Benign
	LabelExcluded   = labels.Excluded
	LabelUnlabelled = ""
)

// Sample is one scored window.
type Sample struct {
	Recording string          `json:"file"`
	Tactic    string          `json:"tactic,omitempty"`
	Host      string          `json:"host"`
	Role      string          `json:"role,omitempty"`
	Platform  schema.Platform `json:"platform"`
	Start     float64         `json:"window_start"`
	End       float64         `json:"window_end"`
	Label     string          `json:"label,omitempty"`
	Events    int             `json:"events"`
	Nodes     int             `json:"nodes"`
	Edges     int             `json:"edges"`
	// Derived marks a sample cut out of an attack window (its background
	// alone or its attacker events alone, Options.BackgroundNegatives /
	// ForegroundPositives): training data only, never evaluated.
	Derived bool `json:"derived,omitempty"`
	// FirstAttack is the event time of the window's first labelled event
	// (time-to-detect); 0 when none.
	FirstAttack float64 `json:"-"`

	Input      *gnn.Input         `json:"-"`
	EventTypes []schema.EventType `json:"-"`
	Window     *window.Window     `json:"-"`
}

// Labelled reports whether the sample has a usable ground truth.
func (s *Sample) Labelled() bool { return s.Label == LabelAttack || s.Label == LabelBenign }

// Class is the training target (1 attack, 0 benign).
func (s *Sample) Class() int {
	if s.Label == LabelAttack {
		return 1
	}
	return 0
}

// Recording is one recording's windows.
type Recording struct {
	Path        string // recording path (relative to the dataset root, or the file given)
	Tactic      string
	Seed        *labels.SeedFile // nil for unlabelled data
	Samples     []*Sample
	Stats       inference.ReplayStats
	Unlabelable string
}

// Targets returns the lateral-movement target hosts (lower-case) or nil.
func (r *Recording) Targets() []string {
	if r.Seed == nil || r.Seed.LateralMovement == nil {
		return nil
	}
	return r.Seed.LateralMovement.Targets
}

// Source returns the lateral-movement source host or "".
func (r *Recording) Source() string {
	if r.Seed == nil || r.Seed.LateralMovement == nil {
		return ""
	}
	return r.Seed.LateralMovement.Source
}

// Options configure dataset building.
type Options struct {
	Spec window.Spec
	// Workers reads recordings in parallel (0 = GOMAXPROCS).
	Workers int
	// Filter keeps only the seed files it returns true for (nil = all).
	Filter func(*labels.SeedFile) bool
	// KeepWindows keeps each window's events (needed to score through
	// inference.Score; costs memory).
	KeepWindows bool
	// Progress is called after each recording (done, total, path).
	Progress func(done, total int, path string)
	// BackgroundNegatives adds, for every attack window, a benign sample
	// made of the same window without its labelled events (when that
	// still makes a scorable graph). It is the only source of attack-free
	// windows for the Linux recordings; it teaches the model the host's
	// own background, not independent benign behaviour — say so wherever
	// a model trained with it is reported.
	BackgroundNegatives bool
	// ForegroundPositives adds, for every attack window, an attack sample
	// made of the attacker's events alone. Real attack windows always
	// come with their host's background; single-technique captures
	// (evtx-attack-samples, an analyst's export of the relevant records)
	// do not, and a model that never saw a sparse attack graph calls them
	// benign.
	ForegroundPositives bool
}

// DefaultSpec is the inference service's window spec under the default
// configuration, so training and evaluation cut the windows production cuts.
func DefaultSpec() window.Spec {
	return window.SpecFromConfig(config.Default().Inference)
}

// LoadLabelled reads every recording named by the seed files under
// labelsDir from datasetRoot (the otrf-security-datasets folder), labels
// the events, cuts windows with the service's window store and builds their
// graphs.
func LoadLabelled(ctx context.Context, datasetRoot, labelsDir string, o Options) ([]*Recording, error) {
	seeds, err := labels.LoadSeedDir(labelsDir)
	if err != nil {
		return nil, err
	}
	var keep []*labels.SeedFile
	for _, sf := range seeds {
		if o.Filter == nil || o.Filter(sf) {
			keep = append(keep, sf)
		}
	}
	return parallel(ctx, keep, o, func(ctx context.Context, sf *labels.SeedFile) (*Recording, error) {
		return loadOne(ctx, datasetRoot, sf, o)
	})
}

func parallel[T any](ctx context.Context, items []T, o Options, f func(context.Context, T) (*Recording, error)) ([]*Recording, error) {
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]*Recording, len(items))
	errs := make([]error, len(items))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
		next = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = f(ctx, items[i])
				if o.Progress != nil && out[i] != nil {
					mu.Lock()
					done++
					o.Progress(done, len(items), out[i].Path)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}

// BenignPrefix names recordings of a benign pool (e.g. benign:python-evtx/system.evtx).
const BenignPrefix = "benign:"

// RoleBenignPool is the host role of benign-pool windows: real logs from
// machines outside the lab, with no attack activity.
const RoleBenignPool = "benign_pool"

// LoadBenign reads every log file under dir as attack-free recordings
// (benign-evtx: real logs of ordinary machines). Every window is labelled
// benign; recordings are named BenignPrefix + the path under dir, so train
// and eval agree on them.
func LoadBenign(ctx context.Context, dir string, o Options) ([]*Recording, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() && isRecording(p) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("benign pool %s: %w", dir, err)
	}
	sort.Strings(files)
	return parallel(ctx, files, o, func(ctx context.Context, f string) (*Recording, error) {
		rel, _ := filepath.Rel(dir, f)
		rec, err := loadUnlabelled(ctx, f, BenignPrefix+filepath.ToSlash(rel), o)
		if err != nil {
			return nil, err
		}
		rec.Tactic = "benign"
		for _, s := range rec.Samples {
			s.Label, s.Role = LabelBenign, RoleBenignPool
		}
		return rec, nil
	})
}

func tacticOf(recording string) string {
	dir := path.Dir(recording) // windows/lateral_movement
	return path.Base(dir)
}

func loadOne(ctx context.Context, root string, sf *labels.SeedFile, o Options) (*Recording, error) {
	res, err := labels.LabelRecording(ctx, root, sf, labels.Options{Window: o.Spec.Window, Stride: o.Spec.Stride})
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", sf.Recording, err)
	}
	rec := &Recording{Path: sf.Recording, Tactic: tacticOf(sf.Recording), Seed: sf, Unlabelable: sf.Unlabelable}
	evs := make([]*schema.NormalizedEvent, len(res.Events))
	for i := range res.Events {
		evs[i] = &res.Events[i]
	}
	label := func(w *window.Window) (string, float64) {
		ids := make([]string, len(w.Events))
		first := 0.0
		for i, e := range w.Events {
			ids[i] = e.EventID
			if first == 0 && res.Labels.IsAttack(e.EventID) {
				first = e.Timestamp
			}
		}
		return res.Labels.Label(w.Key.Endpoint, w.Start, w.End, ids), first
	}
	rec.Stats, err = replayInto(ctx, rec, evs, o, label, func(host string) string { return sf.Role(host) })
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", sf.Recording, err)
	}
	if o.BackgroundNegatives || o.ForegroundPositives {
		if err := addDerived(rec, res.Labels, o.BackgroundNegatives, o.ForegroundPositives); err != nil {
			return nil, fmt.Errorf("recording %s: %w", sf.Recording, err)
		}
	}
	return rec, nil
}

// addDerived appends, for each attack window, its attack-free remainder as
// a benign sample (Options.BackgroundNegatives) and/or its attacker events
// alone as an attack sample (Options.ForegroundPositives).
func addDerived(rec *Recording, l *labels.Labels, background, foreground bool) error {
	var extra []*Sample
	for _, s := range rec.Samples {
		if s.Label != LabelAttack || s.Window == nil {
			continue
		}
		bgWin, fgWin := *s.Window, *s.Window
		bgWin.Events, fgWin.Events = nil, nil
		for _, e := range s.Window.Events {
			if l.IsAttack(e.EventID) {
				fgWin.Events = append(fgWin.Events, e)
			} else {
				bgWin.Events = append(bgWin.Events, e)
			}
		}
		for _, d := range []struct {
			on    bool
			w     *window.Window
			label string
		}{{background, &bgWin, LabelBenign}, {foreground, &fgWin, LabelAttack}} {
			if !d.on || len(d.w.Events) == 0 || len(d.w.Events) == len(s.Window.Events) {
				continue
			}
			x, err := newSample(rec, d.w, false)
			if err != nil {
				return err
			}
			if x == nil {
				continue
			}
			x.Label, x.Role, x.Derived = d.label, s.Role, true
			extra = append(extra, x)
		}
	}
	rec.Samples = append(rec.Samples, extra...)
	return nil
}

// replayInto cuts evs into windows and appends a sample per window.
func replayInto(ctx context.Context, rec *Recording, evs []*schema.NormalizedEvent, o Options,
	label func(*window.Window) (string, float64), role func(string) string) (inference.ReplayStats, error) {
	return inference.Replay(ctx, o.Spec, evs, func(w *window.Window) error {
		s, err := newSample(rec, w, o.KeepWindows)
		if err != nil {
			return err
		}
		if s == nil {
			return nil
		}
		s.Label, s.FirstAttack = label(w)
		if role != nil {
			s.Role = role(s.Host)
		}
		rec.Samples = append(rec.Samples, s)
		return nil
	})
}

// newSample builds the graph of a window; windows whose graph the service
// would not score (fewer than inference.MinNodes nodes) return nil.
func newSample(rec *Recording, w *window.Window, keep bool) (*Sample, error) {
	platform := w.Events[0].Platform
	g, err := graph.Build(platform, w.Start, w.End, w.Events)
	if err != nil {
		return nil, fmt.Errorf("build graph of %s [%v,%v): %w", w.Key, w.Start, w.End, err)
	}
	if g.NumNodes() < inference.MinNodes {
		return nil, nil
	}
	s := &Sample{
		Recording: rec.Path, Tactic: rec.Tactic, Host: w.Key.Endpoint, Platform: platform,
		Start: w.Start, End: w.End, Events: len(w.Events), Nodes: g.NumNodes(), Edges: g.NumEdges(),
		Input: g.Input(),
	}
	s.EventTypes = make([]schema.EventType, len(w.Events))
	for i, e := range w.Events {
		s.EventTypes[i] = e.EventType
	}
	if keep {
		s.Window = w
	}
	return s, nil
}

// DataHash fingerprints a dataset: the seed files' archive hashes in order.
// It goes into the model's provenance so a model names the data it learnt.
func DataHash(recs []*Recording) string {
	h := sha256.New()
	paths := make([]string, 0, len(recs))
	by := map[string]*Recording{}
	for _, r := range recs {
		paths = append(paths, r.Path)
		by[r.Path] = r
	}
	sort.Strings(paths)
	for _, p := range paths {
		sha := ""
		if s := by[p].Seed; s != nil {
			sha = s.SHA256
		}
		h.Write([]byte(p + "\x00" + sha + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Platforms groups recordings' samples by platform.
func Platforms(recs []*Recording) map[schema.Platform]int {
	out := map[schema.Platform]int{}
	for _, r := range recs {
		for _, s := range r.Samples {
			out[s.Platform]++
		}
	}
	return out
}

func lower(s string) string { return strings.ToLower(s) }

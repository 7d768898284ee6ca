package labels

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/ingest"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/schema"
)

// ReadRecording normalizes one archive with Logster's own readers and
// parsers (internal/ingest, internal/normalize) and returns its events.
// hostHint names the host of records that name none (raw audit lines
// without node=); "" for none. Records the normalizer cannot map are
// dropped (counted by `logster normalize`); reader warnings (a truncated
// tar) come back as warnings.
func ReadRecording(ctx context.Context, file, hostHint string) ([]schema.NormalizedEvent, []string, error) {
	n, err := normalize.New(config.Default().Normalizer, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read recording %s: %w", file, err)
	}
	var evs []schema.NormalizedEvent
	emit := func(ev *schema.NormalizedEvent, _ *normalize.ParseError) {
		if ev != nil {
			evs = append(evs, *ev)
		}
	}
	warns, err := ingest.NormalizeFile(ctx, n, file, ingest.FileOptions{Source: normalize.SourceAuto, HostHint: hostHint}, nil, emit)
	if err != nil {
		return nil, warns, fmt.Errorf("read recording %s: %w", file, err)
	}
	return evs, warns, nil
}

// Options configures LabelRecording.
type Options struct {
	Window time.Duration // default 3m (inference.window)
	Stride time.Duration // default 1m (inference.interval)
	// SkipHash skips the SHA-256 check (tests of seed logic on copies).
	SkipHash bool
}

func (o *Options) defaults() {
	if o.Window <= 0 {
		o.Window = 3 * time.Minute
	}
	if o.Stride <= 0 {
		o.Stride = time.Minute
	}
}

// Result is one labelled recording.
type Result struct {
	Seed    *SeedFile
	Events  []schema.NormalizedEvent
	Labels  *Labels
	Windows []Window
	Report  RecordingReport
}

// LabelRecording verifies the archive a seed file names, reads it, labels
// its events and windows, and reports the counts.
func LabelRecording(ctx context.Context, datasetRoot string, sf *SeedFile, opts Options) (*Result, error) {
	opts.defaults()
	if !opts.SkipHash {
		if err := sf.VerifyArchive(datasetRoot); err != nil {
			return nil, err
		}
	}
	// A seed file listing a single host names the host of records that
	// carry none (the Linux recordings are raw audit lines).
	hint := ""
	if len(sf.Hosts) == 1 {
		hint = sf.Hosts[0].Name
	}
	evs, warns, err := ReadRecording(ctx, sf.ArchivePath(datasetRoot), hint)
	if err != nil {
		return nil, err
	}
	l := Apply(sf, evs)
	ws, err := l.Windows(evs, opts.Window, opts.Stride)
	if err != nil {
		return nil, err
	}
	rep := buildReport(sf, evs, l, ws)
	for _, w := range warns {
		// The truncated .tar.gz warning is expected (README) and not news.
		if !strings.Contains(w, "truncated") {
			rep.Warnings = append(rep.Warnings, w)
		}
	}
	return &Result{Seed: sf, Events: evs, Labels: l, Windows: ws, Report: rep}, nil
}

// Counts are window counts.
type Counts struct {
	Windows  int `json:"windows"`
	Complete int `json:"complete"` // windows the host's recording covers fully
	Attack   int `json:"attack"`
	Benign   int `json:"benign"`
	Excluded int `json:"excluded"`
}

func (c *Counts) add(w Window) {
	c.Windows++
	if w.Complete {
		c.Complete++
	}
	switch w.Label {
	case Attack:
		c.Attack++
	case Benign:
		c.Benign++
	default:
		c.Excluded++
	}
}

// Plus returns the sum of two counts.
func (c Counts) Plus(o Counts) Counts {
	return Counts{c.Windows + o.Windows, c.Complete + o.Complete, c.Attack + o.Attack, c.Benign + o.Benign, c.Excluded + o.Excluded}
}

// HostReport is one host of a recording.
type HostReport struct {
	Host           string  `json:"host"`
	Role           string  `json:"role"`
	Events         int     `json:"events"`
	LabelledEvents int     `json:"labelled_events"`
	Minutes        float64 `json:"minutes"` // first to last event
	LiveAgent      bool    `json:"live_agent"`
	Counts
}

// RecordingReport is the labels report of one recording.
type RecordingReport struct {
	Recording      string       `json:"recording"`
	Metadata       string       `json:"metadata"`
	Unlabelable    string       `json:"unlabelable,omitempty"`
	Events         int          `json:"events"`
	LabelledEvents int          `json:"labelled_events"`
	Hosts          []HostReport `json:"hosts"`
	Counts
	// UnmatchedSeeds are seeds that matched no event (their host's windows
	// over the seed's span are excluded); Warnings are other problems.
	UnmatchedSeeds []string `json:"unmatched_seeds,omitempty"`
	Warnings       []string `json:"warnings,omitempty"`
}

func buildReport(sf *SeedFile, evs []schema.NormalizedEvent, l *Labels, ws []Window) RecordingReport {
	rep := RecordingReport{Recording: sf.Recording, Metadata: sf.Metadata, Unlabelable: sf.Unlabelable, Events: len(evs), LabelledEvents: len(l.attack)}
	hosts := map[string]*HostReport{}
	first, last := map[string]float64{}, map[string]float64{}
	get := func(h string) *HostReport {
		hr := hosts[h]
		if hr == nil {
			role := sf.Role(h)
			if role == "" {
				role = "unlisted"
			}
			hr = &HostReport{Host: h, Role: role, LiveAgent: len(l.agents[h]) > 0}
			hosts[h] = hr
		}
		return hr
	}
	for i := range evs {
		ev := &evs[i]
		hr := get(ev.Hostname)
		hr.Events++
		if l.IsAttack(ev.EventID) {
			hr.LabelledEvents++
		}
		if f, ok := first[ev.Hostname]; !ok || ev.Timestamp < f {
			first[ev.Hostname] = ev.Timestamp
		}
		if t, ok := last[ev.Hostname]; !ok || ev.Timestamp > t {
			last[ev.Hostname] = ev.Timestamp
		}
	}
	for _, w := range ws {
		get(w.Host).Counts.add(w)
		rep.Counts.add(w)
	}
	rep.LabelledEvents = 0 // count events (an archive may repeat a record), like Events
	for h, hr := range hosts {
		rep.LabelledEvents += hr.LabelledEvents
		hr.Minutes = (last[h] - first[h]) / 60
		rep.Hosts = append(rep.Hosts, *hr)
	}
	sort.Slice(rep.Hosts, func(i, j int) bool { return rep.Hosts[i].Host < rep.Hosts[j].Host })
	for _, h := range sf.Hosts {
		if _, ok := hosts[h.Name]; !ok {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("host %s is listed but has no events", h.Name))
		}
	}
	for h := range hosts {
		if sf.Role(h) == "" {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("host %s has events but is not listed in the seed file", h))
		}
	}
	rep.Warnings = append(rep.Warnings, l.Warnings()...)
	sort.Strings(rep.Warnings)
	rep.UnmatchedSeeds = l.UnmatchedSeeds()
	return rep
}

// Summary totals the reports of several recordings.
type Summary struct {
	Recordings  []RecordingReport `json:"recordings"`
	Total       Counts            `json:"total"`
	ByRole      map[string]Counts `json:"by_role"`
	Events      int               `json:"events"`
	Labelled    int               `json:"labelled_events"`
	Unlabelable int               `json:"unlabelable_recordings"`
	// Window and Stride are the settings the counts were made with.
	Window string `json:"window"`
	Stride string `json:"stride"`
}

// Summarize totals recording reports, overall and per host role.
func Summarize(reps []RecordingReport, window, stride time.Duration) Summary {
	s := Summary{Recordings: reps, ByRole: map[string]Counts{}, Window: window.String(), Stride: stride.String()}
	for _, r := range reps {
		s.Total = s.Total.Plus(r.Counts)
		s.Events += r.Events
		s.Labelled += r.LabelledEvents
		if r.Unlabelable != "" {
			s.Unlabelable++
		}
		for _, h := range r.Hosts {
			s.ByRole[h.Role] = s.ByRole[h.Role].Plus(h.Counts)
		}
	}
	return s
}

// ModuleRoot walks up from dir to the directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("find module root: no go.mod above " + dir)
		}
		d = parent
	}
}

// ListArchives returns the recordings (.zip, .tar.gz) below the
// otrf-security-datasets folder, as slash-separated relative paths.
func ListArchives(datasetRoot string) ([]string, error) {
	var out []string
	for _, sub := range []string{"windows", "linux"} {
		root := filepath.Join(datasetRoot, sub)
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !(strings.HasSuffix(p, ".zip") || strings.HasSuffix(p, ".tar.gz")) {
				return nil
			}
			rel, err := filepath.Rel(datasetRoot, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list recordings: %w", err)
		}
	}
	sort.Strings(out)
	return out, nil
}

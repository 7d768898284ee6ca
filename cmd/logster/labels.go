package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/logster/logster/internal/labels"
)

func init() {
	register(command{
		name:    "labels",
		summary: "label the OTRF recordings from their seed files and report attack/benign/excluded windows",
		run:     runLabels,
	})
}

func runLabels(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("labels", stderr)
	data := fs.String("data", "../shared/datasets/otrf-security-datasets", "the otrf-security-datasets folder")
	seedDir := fs.String("labels", "labels", "folder of seed files (one YAML per recording)")
	window := fs.Duration("window", 3*time.Minute, "window length (inference.window)")
	stride := fs.Duration("stride", time.Minute, "window stride (inference.interval)")
	asJSON := fs.Bool("json", false, "write the report as JSON")
	only := fs.String("recording", "", "only recordings whose path contains this substring")
	events := fs.Bool("events", false, "also list every attack event with its provenance chain (debugging seeds)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: logster labels [--data DIR] [--labels DIR] [--window 3m --stride 1m] [--json] [--recording SUBSTR] [--events]")
		fmt.Fprintln(stderr, "\nVerifies each recording against its seed file (SHA-256), labels its events by provenance")
		fmt.Fprintln(stderr, "from the seeds and reports per recording, in total and per host role how many host windows")
		fmt.Fprintln(stderr, "are attack, benign or excluded. The protocol is in docs/labels.md.")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *window <= 0 || *stride <= 0 {
		return die(stderr, "--window and --stride must be positive")
	}
	if st, err := os.Stat(*data); err != nil || !st.IsDir() {
		return die(stderr, "dataset folder %s not found (set --data)", *data)
	}
	seeds, err := labels.LoadSeedDir(*seedDir)
	if err != nil {
		return die(stderr, "%v", err)
	}
	archives, err := labels.ListArchives(*data)
	if err != nil {
		return die(stderr, "%v", err)
	}
	have := map[string]bool{}
	for _, s := range seeds {
		have[s.Recording] = true
	}
	for _, a := range archives {
		if !have[a] && strings.Contains(a, *only) {
			fmt.Fprintf(stderr, "logster: warning: %s has no seed file (%s)\n", a, filepath.Join(*seedDir, labels.SeedPath(a)))
		}
	}
	opts := labels.Options{Window: *window, Stride: *stride}
	var reps []labels.RecordingReport
	failed := 0
	for _, sf := range seeds {
		if !strings.Contains(sf.Recording, *only) {
			continue
		}
		if ctx.Err() != nil {
			return die(stderr, "interrupted")
		}
		res, err := labels.LabelRecording(ctx, *data, sf, opts)
		if err != nil {
			fmt.Fprintf(stderr, "logster: %v\n", err)
			failed++
			continue
		}
		reps = append(reps, res.Report)
		if *events && !*asJSON {
			writeAttackEvents(stdout, res)
		}
	}
	sum := labels.Summarize(reps, *window, *stride)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return die(stderr, "write report: %v", err)
		}
	} else {
		writeLabelsReport(stdout, sum)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "logster: %d recording(s) could not be labelled\n", failed)
		return 1
	}
	return 0
}

func writeLabelsReport(w io.Writer, s labels.Summary) {
	fmt.Fprintf(w, "windows of %s every %s per host, in event time; A/B/E = attack/benign/excluded; full = windows the host's recording covers completely\n\n", s.Window, s.Stride)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "recording\tevents\tlabelled\twindows\tfull\tA\tB\tE\thosts (role: events/labelled, A/B/E)")
	for _, r := range s.Recordings {
		var hs []string
		for _, h := range r.Hosts {
			agent := ""
			if h.LiveAgent {
				agent = " agent"
			}
			hs = append(hs, fmt.Sprintf("%s (%s%s: %d/%d, %d/%d/%d)", h.Host, shortRole(h.Role), agent, h.Events, h.LabelledEvents, h.Attack, h.Benign, h.Excluded))
		}
		name := r.Recording
		if r.Unlabelable != "" {
			name += " [unlabelable]"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", name, r.Events, r.LabelledEvents, r.Windows, r.Complete, r.Attack, r.Benign, r.Excluded, strings.Join(hs, "; "))
	}
	fmt.Fprintf(tw, "TOTAL (%d recordings, %d unlabelable)\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", len(s.Recordings), s.Unlabelable, s.Events, s.Labelled,
		s.Total.Windows, s.Total.Complete, s.Total.Attack, s.Total.Benign, s.Total.Excluded)
	tw.Flush()
	fmt.Fprintln(w, "\nper host role:")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "role\twindows\tfull\tattack\tbenign\texcluded")
	roles := make([]string, 0, len(s.ByRole))
	for r := range s.ByRole {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		c := s.ByRole[r]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", r, c.Windows, c.Complete, c.Attack, c.Benign, c.Excluded)
	}
	tw.Flush()
	section := func(title string, get func(labels.RecordingReport) []string) {
		first := true
		for _, r := range s.Recordings {
			for _, m := range get(r) {
				if first {
					fmt.Fprintf(w, "\n%s:\n", title)
					first = false
				}
				if len(m) > 160 {
					m = m[:160] + "..."
				}
				fmt.Fprintf(w, "  %s: %s\n", r.Recording, m)
			}
		}
	}
	section("warnings", func(r labels.RecordingReport) []string { return r.Warnings })
	section("seeds that matched no event (their host's windows in the seed's span are excluded)",
		func(r labels.RecordingReport) []string { return r.UnmatchedSeeds })
}

func shortRole(r string) string {
	switch r {
	case labels.RoleDomainController:
		return "DC"
	case labels.RoleWorkstation:
		return "WS"
	case labels.RoleServer:
		return "SRV"
	}
	return r
}

// writeAttackEvents lists a recording's attack events in time order with
// the provenance chain back to the seed.
func writeAttackEvents(w io.Writer, res *labels.Result) {
	fmt.Fprintf(w, "== %s\n", res.Seed.Recording)
	evs := res.Events
	idx := make([]int, 0, len(evs))
	for i := range evs {
		if res.Labels.IsAttack(evs[i].EventID) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return evs[idx[a]].Timestamp < evs[idx[b]].Timestamp })
	seen := map[string]bool{}
	for _, i := range idx {
		ev := &evs[i]
		if seen[ev.EventID] {
			continue
		}
		seen[ev.EventID] = true
		chain := res.Labels.Chain(ev.EventID)
		var parts []string
		for _, r := range chain {
			parts = append(parts, r.Rule)
		}
		what := ""
		d := &ev.Data
		switch {
		case d.Process != nil:
			what = d.Process.Image
			if d.Process.CommandLine != "" {
				what = d.Process.CommandLine
			}
		case d.Service != nil:
			what = "service " + d.Service.Name
		case d.Task != nil:
			what = "task " + d.Task.Name
		case d.Logon != nil:
			what = fmt.Sprintf("logon %s type %d from %s", d.Logon.TargetUser, d.Logon.Type, d.Logon.SourceIP)
		case d.Script != nil:
			what = d.Script.Text
		case d.Registry != nil:
			what = d.Registry.Key
		case d.File != nil:
			what = d.File.Path
		}
		if len(what) > 120 {
			what = what[:120] + "..."
		}
		ts := time.Unix(0, int64(ev.Timestamp*1e9)).UTC().Format("15:04:05.000")
		fmt.Fprintf(w, "  %s %-13s %-18s %-5d %-40s %s\n", ts, ev.Hostname, ev.EventType, d.NativeID, strings.Join(parts, "<"), what)
	}
}

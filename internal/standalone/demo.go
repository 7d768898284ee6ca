package standalone

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/ingest"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

// DemoOptions configure RunDemo.
type DemoOptions struct {
	Recordings []string      // files to replay
	Out        io.Writer     // progress and the report
	Timeout    time.Duration // give up waiting for the pipeline to drain (default 5m)
	// TTY redraws progress in place; otherwise a progress line is printed
	// only when it changes (logs, CI).
	TTY bool
}

// DemoResult is what the demo produced.
type DemoResult struct {
	Records int
	Alerts  []schema.Alert
	Took    time.Duration
}

// PrepareDemo adjusts a standalone configuration for replaying a finished
// recording: an endpoint counts as quiet after 5 s instead of 30 s (the
// recording is over, nothing more will come).
func PrepareDemo(cfg *config.Config) {
	cfg.Inference.IdleTimeout = config.Duration(5 * time.Second)
}

// RunDemo replays recordings into a started System, waits until every
// stage has processed everything, and writes the alerts the pipeline
// produced to o.Out.
func RunDemo(ctx context.Context, s *System, o DemoOptions) (*DemoResult, error) {
	begin := time.Now()
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	n, err := normalize.New(s.cfg.Normalizer, nil)
	if err != nil {
		return nil, err
	}
	prod, err := bus.NewProducer(s.cfg.Kafka, "demo-replay", nil, nil)
	if err != nil {
		return nil, err
	}
	defer prod.Shutdown(context.WithoutCancel(ctx))
	last := ""
	status := func(line string) {
		switch {
		case o.TTY:
			fmt.Fprintf(out, "\r%-100s", line)
		case line != last:
			fmt.Fprintln(out, line)
		}
		last = line
	}
	sent := 0
	st, err := ingest.Replay(ctx, o.Recordings, n, prod, ingest.ReplayOptions{
		OnFile: func(i, total int, name string) {
			fmt.Fprintf(out, "replaying %s (%d/%d)\n", filepath.Base(name), i, total)
		},
		OnRecords: func(k int) {
			sent += k
			if o.TTY {
				status(fmt.Sprintf("  %d raw records sent", sent))
			}
		},
		OnFileError: func(file string, err error) { fmt.Fprintf(out, "\n  %s: %v\n", file, err) },
	})
	if o.TTY {
		fmt.Fprintln(out)
	}
	if err != nil {
		return nil, fmt.Errorf("demo: replay: %w", err)
	}
	if st.Total() == 0 {
		return nil, fmt.Errorf("demo: no records in %v", o.Recordings)
	}
	fmt.Fprintf(out, "  %d records sent (%d skipped); waiting for normalizer -> inference -> alerts -> api to drain\n", st.Total(), st.Skipped)
	s.FinishInput()

	deadline := time.Now().Add(o.Timeout)
	streak := 0
	for streak < 2 {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("demo: pipeline did not drain within %s", o.Timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		drained, lag, err := s.Drained(ctx)
		if err != nil {
			return nil, err
		}
		if drained {
			streak++
		} else {
			streak = 0
		}
		status(fmt.Sprintf("  backlog: %s; endpoints with windows to score: %d", lagLine(lag, s.cfg.Kafka.GroupID+"-"), s.inf.ActiveEndpoints()))
	}
	if o.TTY {
		fmt.Fprintln(out)
	}
	page, err := s.Store().ListAlerts(ctx, store.AlertQuery{Scope: allTenants(), Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("demo: list alerts: %w", err)
	}
	res := &DemoResult{Records: st.Total(), Alerts: page.Alerts, Took: time.Since(begin)}
	writeAlerts(out, res.Alerts)
	return res, nil
}

func lagLine(lag map[string]int64, prefix string) string {
	names := make([]string, 0, len(lag))
	for g := range lag {
		names = append(names, g)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, g := range names {
		parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(g, prefix), lag[g]))
	}
	if len(parts) == 0 {
		return "starting"
	}
	return strings.Join(parts, ", ")
}

// writeAlerts prints alerts for a person at a terminal: endpoint alerts
// first, then lateral-movement incidents with their chain.
func writeAlerts(w io.Writer, alerts []schema.Alert) {
	sort.Slice(alerts, func(i, j int) bool {
		if alerts[i].Kind != alerts[j].Kind {
			return alerts[i].Kind == schema.AlertKindEndpoint
		}
		return alerts[i].FirstSeen < alerts[j].FirstSeen
	})
	if len(alerts) == 0 {
		fmt.Fprintln(w, "\nNo alerts: nothing in the recording scored above the model's threshold.")
		return
	}
	fmt.Fprintf(w, "\n%d alert(s):\n", len(alerts))
	for _, a := range alerts {
		ts := time.Unix(int64(a.FirstSeen), 0).UTC().Format("2006-01-02 15:04:05")
		switch a.Kind {
		case schema.AlertKindLateralMovement:
			fmt.Fprintf(w, "\n  LATERAL MOVEMENT  %-8s  %s  %s\n", strings.ToUpper(string(a.Severity)), ts, a.Title)
			for _, h := range a.Chain {
				fmt.Fprintf(w, "    %s -> %s  accounts %v  evidence %v  techniques %v\n",
					h.SourceEndpoint, h.TargetEndpoint, h.Accounts, h.Kinds, h.Techniques)
			}
			fmt.Fprintf(w, "    alert %s, linking %v\n", a.AlertID, a.LinkedAlerts)
		default:
			fmt.Fprintf(w, "\n  %-16s  %-8s  %s  attack_prob %.3f  windows %d\n", a.Hostname, strings.ToUpper(string(a.Severity)), ts, a.AttackProb, a.OccurrenceCount)
			fmt.Fprintf(w, "    %s\n", a.Title)
			if len(a.TTPTechniques) > 0 {
				fmt.Fprintf(w, "    ATT&CK: %s\n", strings.Join(a.TTPTechniques, ", "))
			}
			fmt.Fprintf(w, "    alert %s\n", a.AlertID)
		}
	}
}

func allTenants() auth.Scope { return auth.Scope{All: true} }

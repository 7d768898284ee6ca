package inference

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/ingest"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/schema"
)

// TestRecordingReplayAtAnySpeed replays a real lab recording (PsExec
// lateral movement, several hosts on one partition) through the service at
// real speed and all at once: the windows and their results must be the
// same. Skips when the shared datasets are absent.
func TestRecordingReplayAtAnySpeed(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "..", "shared", "datasets", "otrf-security-datasets", "windows", "lateral_movement", "empire_psexec_dcerpc_tcp_svcctl.zip")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("recording not present (%v); skipping", err)
	}
	n, err := normalize.New(config.Default().Normalizer, nil)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*schema.NormalizedEvent
	if _, err := ingest.NormalizeFile(context.Background(), n, path, ingest.FileOptions{Source: normalize.SourceAuto}, nil,
		func(ev *schema.NormalizedEvent, _ *normalize.ParseError) {
			if ev != nil {
				evs = append(evs, ev)
			}
		}); err != nil {
		t.Fatal(err)
	}
	// The recording's own order, as the shipper sent it (roughly by time).
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Timestamp < evs[j].Timestamp })
	first := evs[0].Timestamp
	run := func(logTime func(ts float64) float64) ([]string, float64) {
		h := newHarness(t, testConfig())
		// The recording is from 2020: put the clock just after it.
		base := time.Unix(int64(first), 0)
		h.clock.mu.Lock()
		h.clock.t = base
		h.clock.mu.Unlock()
		for _, e := range evs {
			lt := base.Add(time.Duration(logTime(e.Timestamp) * float64(time.Second)))
			h.clock.Set(lt)
			h.feed(0, lt, e)
		}
		h.clock.Advance(10 * time.Minute) // well within the state TTL
		rs := h.settle()
		out := make([]string, 0, len(rs))
		for _, r := range rs {
			out = append(out, fingerprint(r))
		}
		slices.Sort(out)
		return out, counter(t, h.reg, "window_events_dropped_total", "reason", "late")
	}
	realtime, lateRT := run(func(ts float64) float64 { return ts - first + 1 })
	instant, lateI := run(func(float64) float64 { return 0 })
	if len(realtime) < 5 {
		t.Fatalf("only %d results", len(realtime))
	}
	if lateRT != lateI {
		t.Fatalf("late drops differ: real time %v, instant %v", lateRT, lateI)
	}
	if !slices.Equal(realtime, instant) {
		t.Fatalf("results differ:\nreal time %d, instant %d\n%s", len(realtime), len(instant), firstDiff(realtime, instant))
	}
	t.Logf("%d events -> %d windows, identical at both speeds (%v late drops)", len(evs), len(realtime), lateRT)
}

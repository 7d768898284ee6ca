package graph

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/logster/logster/internal/schema"
)

// syntheticWindow repeats the golden Windows window with fresh ids and
// process GUIDs until it has n events (distinct processes, shared files).
func syntheticWindow(b *testing.B, n int) []*schema.NormalizedEvent {
	base := readEvents(b, filepath.Join("testdata", "golden", "windows_attack.input.jsonl"))
	var out []*schema.NormalizedEvent
	for rep := 0; len(out) < n; rep++ {
		for _, e := range base {
			if len(out) == n {
				break
			}
			c := *e
			c.EventID = fmt.Sprintf("%s-%d", e.EventID, rep)
			c.Timestamp = e.Timestamp + float64(rep%100)*0.01
			c.Data = e.Data
			for _, pp := range []**schema.Process{&c.Data.Process, &c.Data.Parent} {
				if *pp != nil {
					p := **pp
					if p.GUID != "" {
						p.GUID = fmt.Sprintf("%s-%d", p.GUID, rep)
					}
					*pp = &p
				}
			}
			out = append(out, &c)
		}
	}
	return out
}

func benchBuild(b *testing.B, evs []*schema.NormalizedEvent, features bool) {
	start := math.Floor(evs[0].Timestamp/60) * 60
	b.ReportAllocs()
	var nodes int
	c0 := cpuTime()
	for b.Loop() {
		g, err := Build(evs[0].Platform, start, start+180, evs)
		if err != nil {
			b.Fatal(err)
		}
		if features {
			g.Input()
		}
		nodes = g.NumNodes()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
	b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N)/float64(len(evs)), "cpu-ns/event")
	b.ReportMetric(float64(nodes), "nodes")
}

// BenchmarkBuild measures graph construction per event: Build alone, and
// Build plus feature extraction (Input), which is what one evaluation pays.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		evs := syntheticWindow(b, n)
		b.Run(fmt.Sprintf("synthetic/events=%d/build", n), func(b *testing.B) { benchBuild(b, evs, false) })
		b.Run(fmt.Sprintf("synthetic/events=%d/build+features", n), func(b *testing.B) { benchBuild(b, evs, true) })
	}
	path := datasetFile(b, "otrf-security-datasets/windows/lateral_movement/empire_psexec_dcerpc_tcp_svcctl.zip")
	var biggest []*schema.NormalizedEvent
	for _, w := range recordingWindows(b, path) {
		if len(w) > len(biggest) {
			biggest = w
		}
	}
	b.Run(fmt.Sprintf("recording/events=%d/build", len(biggest)), func(b *testing.B) { benchBuild(b, biggest, false) })
	b.Run(fmt.Sprintf("recording/events=%d/build+features", len(biggest)), func(b *testing.B) { benchBuild(b, biggest, true) })
}

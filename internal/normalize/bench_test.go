package normalize

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/logster/logster/internal/schema"
)

// Benchmarks of the hot path: one raw Sysmon record to a NormalizedEvent,
// without and with JSON encoding of the output. events/s is per core
// (the benchmark runs on one goroutine).

func benchRecords(b *testing.B, fixture string, pick func([]byte) bool) [][]byte {
	data, err := os.ReadFile(filepath.Join("testdata", "golden", fixture))
	if err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(l) > 0 && pick(l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		b.Fatal("no benchmark records")
	}
	return out
}

func sysmonOnly(l []byte) bool { return bytes.Contains(l, []byte("Sysmon")) }

func benchNormalize(b *testing.B, recs [][]byte, encode bool) {
	n, err := New(goldenConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	var events int
	emit := func(ev *schema.NormalizedEvent, _ *ParseError) {
		if ev != nil {
			events++
			if encode {
				buf = AppendEvent(buf[:0], ev)
			}
		}
	}
	var bytesIn int64
	for _, r := range recs {
		bytesIn += int64(len(r))
	}
	b.SetBytes(bytesIn / int64(len(recs)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		n.Normalize(Input{Value: recs[i%len(recs)]}, emit)
	}
	cpu := processCPU() - cpu0
	b.StopTimer()
	if events == 0 {
		b.Fatal("no events")
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	// Per CPU-second (this process, GC included): stable on a shared,
	// loaded machine where wall time is not.
	if cpu > 0 {
		b.ReportMetric(float64(events)/cpu, "events/cpu-s")
	}
}

func BenchmarkNXLogSysmon(b *testing.B) {
	benchNormalize(b, benchRecords(b, "nxlog.input.jsonl", sysmonOnly), false)
}

func BenchmarkNXLogSysmonEncode(b *testing.B) {
	benchNormalize(b, benchRecords(b, "nxlog.input.jsonl", sysmonOnly), true)
}

// The Winlogbeat 8 fixture has one Sysmon record; the benchmark set is the
// Winlogbeat 6 Sysmon records rewritten into Winlogbeat 8 shape by
// RawWinlogbeat, so it covers the same event mix as the NXLog benchmark.
func wlb8Sysmon(b *testing.B) [][]byte {
	n, _ := New(goldenConfig(), nil)
	var out [][]byte
	for _, r := range benchRecords(b, "nxlog.input.jsonl", sysmonOnly) {
		if w, ok := n.RawWinlogbeat(Input{Value: r}); ok {
			out = append(out, w)
		}
	}
	return out
}

func BenchmarkWinlogbeat8Sysmon(b *testing.B) { benchNormalize(b, wlb8Sysmon(b), false) }

func BenchmarkWinlogbeat8SysmonEncode(b *testing.B) { benchNormalize(b, wlb8Sysmon(b), true) }

// One record holding the lines of two audit events (a batching shipper).
func BenchmarkAuditdLines(b *testing.B) {
	var lines [][]byte
	for _, l := range benchRecords(b, "auditd.input.log", func([]byte) bool { return true }) {
		lines = append(lines, append([]byte("node=ubuntu5 "), l...))
	}
	benchNormalize(b, [][]byte{bytes.Join(lines, []byte("\n"))}, true)
}

// processCPU is the user+system CPU time of this process in seconds.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

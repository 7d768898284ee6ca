package evtx

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Benchmarks. Run on one core:
//
//	go test ./internal/evtx -run '^$' -bench . -cpu 1 -benchmem
//
// MB/s comes from b.SetBytes (file bytes read); records/s is reported as a
// metric. They use the shared datasets when present, else a fixture.

func benchFile(b *testing.B) string {
	p := filepath.Join("..", "..", "..", "shared", "datasets", "benign-evtx", "omerbenamram-evtx", "security.evtx")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join("testdata", "security-new-user.evtx")
}

// readFile reads every record of a file and returns the record count.
func readFile(b *testing.B, path string, render bool) int {
	f, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var buf []byte
	n := 0
	for {
		rec, err := f.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			continue
		}
		n++
		if render {
			buf, _ = rec.AppendWinlogbeatJSON(buf[:0])
		}
	}
}

func benchmarkRead(b *testing.B, render bool) {
	path := benchFile(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	records := 0
	start := time.Now()
	for b.Loop() {
		records += readFile(b, path, render)
	}
	b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkReadFile decodes every record of a real Security log (2 MiB).
func BenchmarkReadFile(b *testing.B) { benchmarkRead(b, false) }

// BenchmarkReadFileJSON also renders every record as Winlogbeat JSON, the
// path `logster normalize` and `logster replay` take.
func BenchmarkReadFileJSON(b *testing.B) { benchmarkRead(b, true) }

// BenchmarkCorpus reads the whole evtx-attack-samples corpus (277 files,
// 36 MiB) per iteration.
func BenchmarkCorpus(b *testing.B) {
	dir := datasetsDir(b, "evtx-attack-samples")
	files := evtxFiles(b, dir)
	var size int64
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		size += st.Size()
	}
	b.SetBytes(size)
	b.ReportAllocs()
	records := 0
	start := time.Now()
	for b.Loop() {
		for _, p := range files {
			records += readFile(b, p, true)
		}
	}
	b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
}

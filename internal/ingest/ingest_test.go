package ingest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/schema"
)

func readAll(t *testing.T, path string) ([]string, []string) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, string(rec.Data))
	}
	return recs, r.Warnings()
}

func TestReaders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lines := "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}"

	plain := filepath.Join(dir, "x.json")
	os.WriteFile(plain, []byte(lines), 0o644)

	arr := filepath.Join(dir, "arr.json")
	os.WriteFile(arr, []byte("\ufeff [ {\"a\":1},\n {\"b\":2}, {\"c\":3} ]"), 0o644)

	zp := filepath.Join(dir, "x.zip")
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, name := range []string{"data/x.json", "__MACOSX/data/._x.json", "data/._y.json"} {
		w, _ := zw.Create(name)
		w.Write([]byte(lines))
	}
	zw.Close()
	os.WriteFile(zp, zb.Bytes(), 0o644)

	// A .tar.gz cut right after its member's data (no tar trailer), like
	// the OTRF archives.
	tg := filepath.Join(dir, "x.tar.gz")
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "x.json", Mode: 0o644, Size: int64(len(lines)), Typeflag: tar.TypeReg})
	tw.Write([]byte(lines))
	tw.Close()
	cut := tb.Bytes()[:512+((len(lines)+511)/512)*512+100] // data plus part of the trailer
	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write(cut)
	gw.Close()
	gz := gb.Bytes()
	os.WriteFile(tg, gz[:len(gz)-12], 0o644) // gzip stream cut too

	for _, p := range []string{plain, arr, zp, tg} {
		recs, warns := readAll(t, p)
		if len(recs) != 3 || !strings.Contains(recs[2], `"c"`) {
			t.Errorf("%s: got %q (warnings %v)", filepath.Base(p), recs, warns)
		}
	}
	if _, err := Open(filepath.Join(dir, "absent.json")); err == nil {
		t.Error("missing file opened")
	}
	if _, err := Open(dir); err == nil {
		t.Error("directory opened")
	}
}

func TestLongLineIsCut(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "long.json")
	old := MaxLine
	MaxLine = 1000
	defer func() { MaxLine = old }()
	os.WriteFile(p, []byte(strings.Repeat("x", 5000)+"\n{}\n"), 0o644)
	recs, _ := readAll(t, p)
	if len(recs) != 2 || len(recs[0]) != 1001 || recs[1] != "{}" {
		t.Fatalf("got %d records, first %d bytes", len(recs), len(recs[0]))
	}
}

func TestEVTXNotBuiltIsAClearError(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "x.evtx")
	os.WriteFile(p, append([]byte("ElfFile\x00"), make([]byte, 4096)...), 0o644)
	_, err := Open(p)
	if err == nil {
		t.Skip("EVTX reader is built in")
	}
	if !strings.Contains(err.Error(), "EVTX") {
		t.Fatalf("unclear error: %v", err)
	}
}

// Every OTRF archive normalizes with no parse error other than unknown
// event types. The per-channel coverage table is logged (go test -v).
func TestOTRFDatasets(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "datasets", "otrf-security-datasets")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("datasets not present (%v)", err)
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".zip") || strings.HasSuffix(p, ".tar.gz")) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) < 90 {
		t.Fatalf("found only %d archives under %s", len(files), root)
	}
	n, err := normalize.New(config.Default().Normalizer, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := normalize.NewStats()
	for _, f := range files {
		st := normalize.NewStats()
		// The two atomic Linux recordings are bare audit.log lines without
		// node=; their host is UBUNTU5 (metadata SDLIN-201110*.yaml).
		opts := FileOptions{Source: normalize.SourceAuto, HostHint: "ubuntu5"}
		emit := func(ev *schema.NormalizedEvent, perr *normalize.ParseError) { st.Add(ev, perr); total.Add(ev, perr) }
		warns, err := NormalizeFile(context.Background(), n, f, opts, func() { st.Records++; total.Records++ }, emit)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		for _, w := range warns {
			t.Logf("%s: %s", filepath.Base(f), w)
		}
		if st.ParseErrors() != 0 {
			t.Errorf("%s: %d parse errors: %v", filepath.Base(f), st.ParseErrors(), st.FirstError)
		}
		if st.Events == 0 {
			t.Errorf("%s: no events", filepath.Base(f))
		}
	}
	var sb strings.Builder
	total.Write(&sb)
	t.Logf("%d archives\n%s", len(files), sb.String())
	fmt.Fprint(io.Discard, sb.String())
}

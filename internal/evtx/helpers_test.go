package evtx

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// datasetsDir returns the shared datasets folder (../shared/datasets from the
// module root) or skips the test when it is absent, as in a fresh clone.
func datasetsDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "datasets", sub)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Skipf("dataset %s not present (%v); skipping", sub, err)
	}
	return dir
}

// evtxFiles lists the .evtx files under dir, sorted.
func evtxFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".evtx") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	sort.Strings(files)
	return files
}

// readAll reads every record of a file, collecting damage reports.
func readAll(t testing.TB, path string, opts ...Option) ([]*Record, []error, Stats) {
	t.Helper()
	f, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var recs []*Record
	var errs []error
	for {
		rec, err := f.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: error is not an *evtx.Error: %v", path, err)
			}
			if e.Fatal() {
				t.Fatalf("%s: fatal: %v", path, err)
			}
			errs = append(errs, err)
			continue
		}
		recs = append(recs, rec)
	}
	return recs, errs, f.Stats()
}

// Command bench runs Logster's hot-path Go benchmarks and prints one table
// (markdown) of their results, so BENCHMARKS.md can be refreshed with
// `go run ./bench > /tmp/bench.md`.
//
// It shells out to `go test -bench` per package (one core by default, as the
// per-core targets are stated) and parses the standard benchmark lines,
// including custom metrics reported with b.ReportMetric (events/s, MB/s, ...).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
)

// suites lists the hot paths: package and benchmark pattern.
var suites = []struct{ pkg, pattern, what string }{
	{"./internal/normalize", ".", "normalizer: raw record -> NormalizedEvent"},
	{"./internal/evtx", ".", "EVTX reader"},
	{"./internal/graph", ".", "graph construction"},
	{"./internal/gnn", ".", "GAT forward/backward"},
	{"./internal/window", ".", "window store"},
	{"./internal/inference", ".", "inference service path"},
	{"./internal/alerting", ".", "alert engine"},
	{"./internal/api", ".", "REST API"},
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+)\s+(\d+)\s+(.*)$`)

type result struct {
	suite, name string
	iters       string
	metrics     map[string]string
}

func main() {
	cpu := flag.String("cpu", "1", "GOMAXPROCS values passed to -cpu")
	benchtime := flag.String("benchtime", "1s", "-benchtime per benchmark")
	only := flag.String("only", "", "run only suites whose package contains this string")
	flag.Parse()

	var results []result
	units := map[string]bool{}
	for _, s := range suites {
		if *only != "" && !strings.Contains(s.pkg, *only) {
			continue
		}
		if _, err := os.Stat(strings.TrimPrefix(s.pkg, "./")); err != nil {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s ...\n", s.pkg)
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", s.pattern, "-benchmem", "-cpu", *cpu, "-benchtime", *benchtime, s.pkg)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s failed: %v\n", s.pkg, err)
			continue
		}
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			m := benchLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			r := result{suite: s.what, name: m[1], iters: m[2], metrics: map[string]string{}}
			f := strings.Fields(m[3])
			for i := 0; i+1 < len(f); i += 2 {
				r.metrics[f[i+1]] = f[i]
				units[f[i+1]] = true
			}
			results = append(results, r)
		}
	}
	order := []string{"ns/op", "events/s", "records/s", "MB/s", "B/op", "allocs/op"}
	var extra []string
	for u := range units {
		if !contains(order, u) {
			extra = append(extra, u)
		}
	}
	sort.Strings(extra)
	cols := []string{}
	for _, u := range append(order, extra...) {
		if units[u] {
			cols = append(cols, u)
		}
	}
	fmt.Printf("| suite | benchmark | %s |\n", strings.Join(cols, " | "))
	fmt.Printf("|---|---|%s\n", strings.Repeat("---:|", len(cols)))
	for _, r := range results {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = r.metrics[c]
		}
		fmt.Printf("| %s | %s | %s |\n", r.suite, r.name, strings.Join(vals, " | "))
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

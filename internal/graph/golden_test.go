package graph

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/logster/logster/internal/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// readEvents reads NormalizedEvents as JSON lines, sorted as the window
// store returns them.
func readEvents(t testing.TB, path string) []*schema.NormalizedEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []*schema.NormalizedEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		ev, err := schema.DecodeEvent(line)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].Timestamp != evs[j].Timestamp {
			return evs[i].Timestamp < evs[j].Timestamp
		}
		return evs[i].EventID < evs[j].EventID
	})
	return evs
}

// dump renders a graph for review: nodes with their keys, events and
// masked tokens (what gets hashed), edges, and a digest of the features.
func dump(g *Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "platform %s schema %s window [%.3f, %.3f) events %d unmapped %d nodes %d edges %d\n",
		g.Platform, g.FeatureSchema, g.Start, g.End, g.NumEvents, g.Unmapped, g.NumNodes(), g.NumEdges())
	m := g.mask
	var toks []string
	x := make([]float32, FeatureDim)
	for t := range numNodeTypes {
		for _, n := range g.Nodes[t] {
			fmt.Fprintf(&b, "\nnode %d %s key=%q\n  label=%q first=%.3f last=%.3f events=%d %v\n",
				g.GlobalIndex(t, n.Index), t, n.Key, n.Label, n.First-g.Start, n.Last-g.Start, n.NumEvents, n.EventIDs)
			toks = g.features(n, m, x, toks)
			var flags []string
			for bit, name := range flagNames {
				if n.flags&(1<<bit) != 0 {
					flags = append(flags, name)
				}
			}
			if len(flags) > 0 {
				fmt.Fprintf(&b, "  flags=%s\n", strings.Join(flags, ","))
			}
			for f := range numFamilies {
				ft := familyTokens(n, m, f)
				if len(ft) > 0 {
					fmt.Fprintf(&b, "  %s: %s\n", familyNames[f], strings.Join(ft, " "))
				}
			}
		}
	}
	b.WriteString("\n")
	for r := range numForward {
		d := forwardDefs[r]
		for _, e := range g.Edges[r] {
			fmt.Fprintf(&b, "edge %s -%s-> %s  %d -> %d  t=%.3f count=%d event=%s\n",
				d.src, d.name, d.dst, g.GlobalIndex(d.src, e.Src), g.GlobalIndex(d.dst, e.Dst), e.First-g.Start, e.Count, e.EventID)
		}
	}
	fmt.Fprintf(&b, "\nfeatures sha256 %s\n", featureDigest(g))
	return b.String()
}

var flagNames = []string{"started", "terminated", "parent_seen", "system_account", "user_account", "image", "written",
	"deleted", "registry", "pipe", "unsigned", "read", "inbound", "outbound", "dns", "remote", "elevated"}

func familyTokens(n *Node, m *masker, f int) []string { return appendFamilyTokens(nil, n, m, f) }

func featureDigest(g *Graph) string {
	in := g.Input()
	h := sha256.New()
	var buf [4]byte
	for _, x := range in.X {
		for _, v := range x {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			h.Write(buf[:])
		}
	}
	for _, e := range in.Edges {
		for i := range e.Src {
			binary.LittleEndian.PutUint32(buf[:], uint32(e.Src[i]))
			h.Write(buf[:])
			binary.LittleEndian.PutUint32(buf[:], uint32(e.Dst[i]))
			h.Write(buf[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// windowOf returns the 3-minute window [start, start+180) holding the
// first event, aligned like the window store's.
func windowOf(evs []*schema.NormalizedEvent) (float64, float64) {
	start := math.Floor(evs[0].Timestamp/60) * 60
	return start, start + 180
}

// TestGolden builds the graphs of hand-written windows and compares them
// with testdata/golden/*.golden.txt (go test ./internal/graph -run
// TestGolden -update rewrites them; review the diff).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.input.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".input.jsonl")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			evs := readEvents(t, in)
			start, end := windowOf(evs)
			g, err := Build(evs[0].Platform, start, end, evs)
			if err != nil {
				t.Fatal(err)
			}
			got := dump(g)
			golden := filepath.Join("testdata", "golden", name+".golden.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("graph of %s differs from %s (rerun with -update and review the diff):\n%s", in, golden, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 20; i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, a, c)
			shown++
		}
	}
	return b.String()
}

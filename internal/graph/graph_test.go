package graph

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/ingest"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/schema"
)

func TestModelConfigValidates(t *testing.T) {
	t.Parallel()
	for _, p := range []schema.Platform{schema.PlatformWindows, schema.PlatformLinux} {
		cfg, err := ModelConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := CheckModel(cfg, p); err != nil {
			t.Fatalf("%s: own config refused: %v", p, err)
		}
		if len(cfg.Relations) != 2*int(numForward) || cfg.FeatureDim != FeatureDim {
			t.Fatalf("%s: %d relations, dim %d", p, len(cfg.Relations), cfg.FeatureDim)
		}
	}
	if _, err := ModelConfig("macos"); err == nil {
		t.Fatal("unknown platform accepted")
	}
	if FeatureDim != 568 {
		t.Fatalf("FeatureDim = %d; changing the layout needs a new feature schema version", FeatureDim)
	}
}

func TestCheckModelRefusesMismatches(t *testing.T) {
	t.Parallel()
	win, _ := ModelConfig(schema.PlatformWindows)
	cases := []struct {
		name   string
		mutate func(*gnn.Config)
		want   string
	}{
		{"other platform's schema", func(c *gnn.Config) { c.FeatureSchema = SchemaLinux }, `feature schema "linux-v1"`},
		{"older schema", func(c *gnn.Config) { c.FeatureSchema = "windows-v0" }, "windows-v0"},
		{"feature width", func(c *gnn.Config) { c.FeatureDim = 32 }, "feature_dim 32"},
		{"node types", func(c *gnn.Config) { c.NodeTypes = c.NodeTypes[:4] }, "node types"},
		{"relations", func(c *gnn.Config) { c.Relations = c.Relations[:8] }, "relations"},
		{"classes", func(c *gnn.Config) { c.Classes = 3 }, "3 classes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := win
			c.NodeTypes = slices.Clone(win.NodeTypes)
			c.Relations = slices.Clone(win.Relations)
			tc.mutate(&c)
			err := CheckModel(c, schema.PlatformWindows)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckModel = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// buildGolden builds one of the golden windows.
func buildGolden(t testing.TB, name string) *Graph {
	t.Helper()
	evs := readEvents(t, filepath.Join("testdata", "golden", name+".input.jsonl"))
	start, end := windowOf(evs)
	g, err := Build(evs[0].Platform, start, end, evs)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var (
	modelsOnce sync.Once
	models     map[schema.Platform]*gnn.Model
)

// randomModel is a random-weight model of the production shape.
func randomModel(t testing.TB, p schema.Platform) *gnn.Model {
	t.Helper()
	modelsOnce.Do(func() {
		models = map[schema.Platform]*gnn.Model{}
		for i, pl := range []schema.Platform{schema.PlatformWindows, schema.PlatformLinux} {
			cfg, _ := ModelConfig(pl)
			cfg.Version = "test"
			m, err := gnn.New(cfg, rand.New(rand.NewPCG(uint64(i), 7)))
			if err != nil {
				panic(err)
			}
			models[pl] = m
		}
	})
	return models[p]
}

func TestInputRunsThroughModelAndExplains(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"windows_attack", "linux_dropper"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := buildGolden(t, name)
			m := randomModel(t, g.Platform)
			in := g.Input()
			if err := m.ValidateInput(in); err != nil {
				t.Fatal(err)
			}
			out, err := m.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			ex, ids := g.Explain(out)
			if ex.Method != "attention" || len(ex.TopNodes) != min(TopNodes, g.NumNodes()) || len(ex.TopEdges) != min(TopEdges, g.NumEdges()) {
				t.Fatalf("explanation sizes: %d nodes %d edges", len(ex.TopNodes), len(ex.TopEdges))
			}
			for i := 1; i < len(ex.TopNodes); i++ {
				if ex.TopNodes[i].Score > ex.TopNodes[i-1].Score {
					t.Fatal("top nodes not sorted by score")
				}
			}
			for _, n := range ex.TopNodes {
				if n.Node < 0 || n.Node >= g.NumNodes() || len(n.EventIDs) == 0 || n.Label == "" {
					t.Fatalf("bad explained node %+v", n)
				}
			}
			for _, e := range ex.TopEdges {
				if e.EventID == "" || e.Timestamp < g.Start || e.Timestamp >= g.End || !slices.Contains([]string{Spawned, Wrote, Executed, ConnectedTo, Performed}, e.Relation) {
					t.Fatalf("bad explained edge %+v", e)
				}
			}
			if len(ids) == 0 || len(ids) > MaxContributing {
				t.Fatalf("%d contributing ids", len(ids))
			}
			// Every contributing id is an event of the window.
			evs := readEvents(t, filepath.Join("testdata", "golden", name+".input.jsonl"))
			all := map[string]bool{}
			for _, e := range evs {
				all[e.EventID] = true
			}
			for _, id := range ids {
				if !all[id] {
					t.Fatalf("contributing id %s is not in the window", id)
				}
			}
			if _, err := json.Marshal(ex); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The graph is a function of the window's content: the store hands events
// over in (timestamp, id) order whatever order they arrived in.
func TestBuildIsDeterministic(t *testing.T) {
	t.Parallel()
	evs := readEvents(t, filepath.Join("testdata", "golden", "windows_attack.input.jsonl"))
	start, end := windowOf(evs)
	g1, _ := Build(schema.PlatformWindows, start, end, evs)
	want := dump(g1)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		sh := slices.Clone(evs)
		rng.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		sort.SliceStable(sh, func(i, j int) bool {
			if sh[i].Timestamp != sh[j].Timestamp {
				return sh[i].Timestamp < sh[j].Timestamp
			}
			return sh[i].EventID < sh[j].EventID
		})
		g, _ := Build(schema.PlatformWindows, start, end, sh)
		if got := dump(g); got != want {
			t.Fatalf("graph depends on arrival order:\n%s", lineDiff(want, got))
		}
	}
}

// identities returns the host, domain and account names the events name
// (lower-case, at least 4 characters, not well-known roles).
func identities(evs []*schema.NormalizedEvent) []string {
	m := newMasker()
	for _, e := range evs {
		m.collect(e)
	}
	var out []string
	for k := range m.dict {
		if len(k) >= 4 && !strings.Contains(k, " ") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// checkNoLeaks fails if any feature token contains a host, domain or
// account name of the window, a GUID or an IP address.
func checkNoLeaks(t *testing.T, g *Graph, evs []*schema.NormalizedEvent) {
	t.Helper()
	ids := identities(evs)
	for ty := range numNodeTypes {
		for _, n := range g.Nodes[ty] {
			for f := range numFamilies {
				for _, tok := range familyTokens(n, g.mask, f) {
					for _, id := range ids {
						if strings.Contains(tok, id) {
							t.Errorf("node %s: %s token %q contains identity %q", n, familyNames[f], tok, id)
						}
					}
					if isGUID(tok) || isIP(strings.TrimPrefix(tok, "base:")) {
						t.Errorf("node %s: %s token %q is a GUID or address", n, familyNames[f], tok)
					}
				}
			}
		}
	}
}

func TestNoIdentityLeaksInGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"windows_attack", "linux_dropper"} {
		evs := readEvents(t, filepath.Join("testdata", "golden", name+".input.jsonl"))
		start, end := windowOf(evs)
		g, _ := Build(evs[0].Platform, start, end, evs)
		checkNoLeaks(t, g, evs)
	}
}

func TestMaskTokens(t *testing.T) {
	t.Parallel()
	m := newMasker()
	m.collect(&schema.NormalizedEvent{Hostname: "ws5", EndpointID: "ws5", Data: schema.EventData{
		FQDN: "WS5.corp.example", User: &schema.User{Name: "alice", Domain: "CORP"},
	}})
	cases := map[string]string{
		"ws5.corp.example":                       "<host>",
		"alice":                                  "<user>",
		"corp.example":                           "<domain>",
		"{8c6f1a2b-0000-4a5b-9c8d-1234567890ab}": "<guid>",
		"s-1-5-21-1-2-3-1104":                    "<sid>",
		"10.1.2.3":                               "<ip>",
		"10.1.2.3:445":                           "<ip>",
		"fe80::1":                                "<ip>",
		"4312":                                   "<num>",
		"0x1fffff":                               "<hex>",
		"d41d8cd98f00b204e9800998ecf8427e":       "<hex>",
		"sqbfafgaiaaoae4azqb3ac0atwbiagoazqbjahqaiaboageadaauafcazqbiaemababpaguabgb0acka": "<b64>",
		"psexesvc-ws5-4312-stdin": "psexesvc-<host>-#-stdin",
		"report_20200922.txt":     "report_#.txt",
		"system32":                "system32",
		"cmd.exe":                 "cmd.exe",
		"-enc":                    "-enc",
		"system":                  "system",
	}
	for in, want := range cases {
		if got := m.mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
	if got := m.pathTokens(`C:\Users\bob\Desktop\a.ps1`, nil); !slices.Contains(got, "dir:<user>") || slices.Contains(got, "dir:bob") {
		t.Errorf("profile directory not masked: %v", got)
	}
	got := m.cmdTokens(`psexec.exe \\ws6\admin$ -u CORP\alice -p Secr3t! cmd`, nil)
	for _, tok := range got {
		if strings.Contains(tok, "ws6") || strings.Contains(tok, "alice") {
			t.Errorf("identity in %v", got)
		}
	}
}

// datasetFile returns a file from the shared recordings, or skips.
func datasetFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "datasets", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("dataset %s not present (%v); skipping", rel, err)
	}
	return p
}

// recordingWindows normalizes a recording and cuts it into 3-minute
// windows per endpoint, aligned like the window store's.
func recordingWindows(t testing.TB, path string) [][]*schema.NormalizedEvent {
	t.Helper()
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
	byWin := map[string][]*schema.NormalizedEvent{}
	for _, e := range evs {
		k := e.Key() + "@" + strconv.FormatInt(int64(math.Floor(e.Timestamp/180)), 10)
		byWin[k] = append(byWin[k], e)
	}
	var out [][]*schema.NormalizedEvent
	keys := make([]string, 0, len(byWin))
	for k := range byWin {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w := byWin[k]
		sort.SliceStable(w, func(i, j int) bool {
			if w[i].Timestamp != w[j].Timestamp {
				return w[i].Timestamp < w[j].Timestamp
			}
			return w[i].EventID < w[j].EventID
		})
		out = append(out, w)
	}
	return out
}

// TestRecordingExcerpt builds the graphs of a real lateral-movement
// recording (PsExec over SMB/svcctl) and checks the invariants that hand
// examples cannot: real volume, no identity leaks, model-valid input.
func TestRecordingExcerpt(t *testing.T) {
	t.Parallel()
	path := datasetFile(t, "otrf-security-datasets/windows/lateral_movement/empire_psexec_dcerpc_tcp_svcctl.zip")
	wins := recordingWindows(t, path)
	if len(wins) == 0 {
		t.Fatal("no windows")
	}
	total, built := 0, 0
	for _, evs := range wins {
		if len(evs) < 20 {
			continue
		}
		start := math.Floor(evs[0].Timestamp/180) * 180
		g, err := Build(evs[0].Platform, start, start+180, evs)
		if err != nil {
			t.Fatal(err)
		}
		built++
		total += len(evs)
		if g.NumNodes() < 3 || g.NumEdges() < 1 {
			t.Errorf("window of %s with %d events: %d nodes %d edges", evs[0].Key(), len(evs), g.NumNodes(), g.NumEdges())
		}
		checkNoLeaks(t, g, evs)
		m := randomModel(t, g.Platform)
		in := g.Input()
		if err := m.ValidateInput(in); err != nil {
			t.Fatal(err)
		}
		for _, x := range in.X {
			for _, v := range x {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatal("non-finite feature")
				}
			}
		}
		t.Logf("%s: %d events -> %d nodes %v, %d edges, %d unmapped", evs[0].Key(), len(evs), g.NumNodes(), nodeCounts(g), g.NumEdges(), g.Unmapped)
	}
	if built == 0 {
		t.Fatal("no window with 20 events")
	}
}

func nodeCounts(g *Graph) map[string]int {
	m := map[string]int{}
	for t := range numNodeTypes {
		m[t.String()] = len(g.Nodes[t])
	}
	return m
}

// FuzzBuild: no event, however malformed, makes Build panic or produce an
// input the model refuses.
func FuzzBuild(f *testing.F) {
	for _, name := range []string{"windows_attack", "linux_dropper"} {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".input.jsonl"))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "{") {
				f.Add([]byte(line))
			}
		}
	}
	m := randomModel(f, schema.PlatformWindows)
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev schema.NormalizedEvent
		if json.Unmarshal(b, &ev) != nil {
			return
		}
		ev.Platform = schema.PlatformWindows
		evs := []*schema.NormalizedEvent{&ev, &ev}
		g, err := Build(schema.PlatformWindows, ev.Timestamp-60, ev.Timestamp+120, evs)
		if err != nil {
			t.Fatal(err)
		}
		if g.NumNodes() == 0 {
			return
		}
		if err := m.ValidateInput(g.Input()); err != nil {
			t.Fatalf("model refuses the graph: %v", err)
		}
	})
}

package gnn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// torchPython returns a Python interpreter that can import torch, or skips
// the test. LOGSTER_TEST_PYTHON overrides the search; /usr/bin/python3 is
// tried after python3 because a version manager's python3 on PATH usually
// cannot see Debian's python3-torch.
func torchPython(t *testing.T) string {
	t.Helper()
	cands := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("LOGSTER_TEST_PYTHON"); p != "" {
		cands = []string{p}
	}
	for _, p := range cands {
		if err := exec.Command(p, "-c", "import torch, numpy").Run(); err == nil {
			return p
		}
	}
	t.Skip("PyTorch not available (python3 -c 'import torch' fails; install Debian's python3-torch or set LOGSTER_TEST_PYTHON)")
	return ""
}

func referenceScript(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "tools", "gnn_reference", "gnn_reference.py")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("reference implementation not found: %v", err)
	}
	return p
}

type refCase struct {
	Model        string    `json:"model"`
	Graph        string    `json:"graph"`
	Label        *int      `json:"label,omitempty"`
	ClassWeights []float32 `json:"class_weights,omitempty"`
}

type refResult struct {
	Logits         []float64            `json:"logits"`
	Probs          []float64            `json:"probs"`
	NodeImportance [][]float64          `json:"node_importance"`
	EdgeAttention  [][]float64          `json:"edge_attention"`
	Loss           float64              `json:"loss"`
	Grads          map[string][]float64 `json:"grads"`
}

// runReference runs the PyTorch implementation on every case in one process
// (importing torch takes over a second).
func runReference(t *testing.T, dir string, cases []refCase) []refResult {
	t.Helper()
	py := torchPython(t)
	cj, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cpath := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(cpath, cj, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(py, referenceScript(t), "run", cpath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("reference failed: %v\n%s", err, stderr.String())
	}
	var res []refResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("reference output: %v", err)
	}
	if len(res) != len(cases) {
		t.Fatalf("reference returned %d results for %d cases", len(res), len(cases))
	}
	return res
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type maxErr struct {
	v     float64
	where string
}

func (m *maxErr) see(a, b float64, where string) {
	if d := math.Abs(a - b); d > m.v || math.IsNaN(d) {
		m.v, m.where = d, where
	}
}

// TestForwardMatchesPyTorch runs random models on random graphs (several
// sizes, empty relations, empty node types, multi-edges) in Go and in the
// PyTorch reference and requires the probabilities and logits to agree to
// 1e-4 (and the explanations too).
func TestForwardMatchesPyTorch(t *testing.T) {
	torchPython(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	models := []Config{
		testConfig(8, 16, 4, 3),
		testConfig(5, 32, 2, 2),
		testConfig(24, 128, 4, 3), // production shape
	}
	models[1].Layers = 1
	specs := []graphSpec{
		{nodes: []int{1, 0, 0, 0, 0}},                                       // single node, no edges
		{nodes: []int{3, 2, 1, 1, 1}, edges: []int{2, 2, 0, 1, 1, 1, 0, 1}}, // tiny, some relations empty
		{nodes: []int{6, 9, 0, 2, 0}, edges: []int{-1, -1, -1, 0, 0, -1, -1, 0}, dup: 3},
		{nodes: []int{0, 5, 0, 0, 4}}, // only types without edges between them
		{nodes: []int{20, 30, 5, 8, 12}, edges: []int{-1, -1, -1, -1, -1, -1, -1, -1}, dup: 10},
		realisticSpec(120),
		realisticSpec(400),
	}
	type goCase struct {
		out *Output
		in  *Input
	}
	var cases []refCase
	var want []goCase
	for mi, cfg := range models {
		m := newTestModel(t, cfg, uint64(mi+1))
		mp := filepath.Join(dir, fmt.Sprintf("m%d.safetensors", mi))
		if err := m.Save(mp); err != nil {
			t.Fatal(err)
		}
		for gi, spec := range specs {
			in := randomGraph(rng, cfg, spec)
			out, err := m.Forward(in)
			if err != nil {
				t.Fatalf("model %d graph %d: %v", mi, gi, err)
			}
			gp := filepath.Join(dir, fmt.Sprintf("m%d-g%d.json", mi, gi))
			writeJSON(t, gp, in)
			cases = append(cases, refCase{Model: mp, Graph: gp})
			want = append(want, goCase{out, in})
		}
	}
	res := runReference(t, dir, cases)
	var probE, logitE, explE maxErr
	for i, r := range res {
		g := want[i].out
		name := filepath.Base(cases[i].Graph)
		for c := range g.Logits {
			logitE.see(float64(g.Logits[c]), r.Logits[c], name)
			probE.see(float64(g.Probs[c]), r.Probs[c], name)
		}
		for ty := range g.NodeImportance {
			for j := range g.NodeImportance[ty] {
				explE.see(float64(g.NodeImportance[ty][j]), r.NodeImportance[ty][j], name+" importance")
			}
		}
		for rel := range g.EdgeAttention {
			for j := range g.EdgeAttention[rel] {
				explE.see(float64(g.EdgeAttention[rel][j]), r.EdgeAttention[rel][j], name+" edge attention")
			}
		}
	}
	t.Logf("max |Go - PyTorch| over %d cases: probs %.2e (%s), logits %.2e (%s), explanations %.2e (%s)",
		len(cases), probE.v, probE.where, logitE.v, logitE.where, explE.v, explE.where)
	if probE.v > 1e-4 || logitE.v > 1e-4 || explE.v > 1e-4 || math.IsNaN(probE.v+logitE.v+explE.v) {
		t.Fatalf("Go and PyTorch disagree beyond 1e-4")
	}
}

// TestGradientsMatchPyTorch compares the backward pass with torch autograd
// on the reference implementation (no dropout) for every parameter.
func TestGradientsMatchPyTorch(t *testing.T) {
	torchPython(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(8, 8))
	cfgs := []Config{testConfig(6, 16, 4, 3), testConfig(24, 128, 4, 3)}
	type want struct {
		m     *Model
		loss  float32
		grads *Grads
	}
	var cases []refCase
	var wants []want
	for mi, cfg := range cfgs {
		m := newTestModel(t, cfg, uint64(20+mi))
		mp := filepath.Join(dir, fmt.Sprintf("m%d.safetensors", mi))
		if err := m.Save(mp); err != nil {
			t.Fatal(err)
		}
		specs := []graphSpec{{nodes: []int{4, 3, 0, 2, 1}, edges: []int{3, 4, 0, 2, 0, 2, 2, 1}, dup: 2}, realisticSpec(60)}
		if cfg.Hidden > 16 {
			specs = specs[:1] // the full-size gradient dump is large; one graph suffices
		}
		for gi, spec := range specs {
			in := randomGraph(rng, cfg, spec)
			label := gi % 2
			cw := []float32{0.6, 2.2}
			loss, g, err := m.LossAndGrads(in, label, cw, nil)
			if err != nil {
				t.Fatal(err)
			}
			gp := filepath.Join(dir, fmt.Sprintf("m%d-g%d.json", mi, gi))
			writeJSON(t, gp, in)
			cases = append(cases, refCase{Model: mp, Graph: gp, Label: &label, ClassWeights: cw})
			wants = append(wants, want{m, loss, g})
		}
	}
	res := runReference(t, dir, cases)
	var worst maxErr
	for i, r := range res {
		w := wants[i]
		if d := math.Abs(float64(w.loss) - r.Loss); d > 1e-4 {
			t.Fatalf("case %d: loss %v, PyTorch %v", i, w.loss, r.Loss)
		}
		for pi, name := range w.m.ParamNames() {
			tg, ok := r.Grads[name]
			if !ok {
				t.Fatalf("PyTorch has no gradient for %s", name)
			}
			gg := w.grads.data[pi]
			if len(tg) != len(gg) {
				t.Fatalf("%s: %d gradient values, PyTorch %d", name, len(gg), len(tg))
			}
			var scale float64
			for _, v := range tg {
				scale = math.Max(scale, math.Abs(v))
			}
			for j := range gg {
				// Error relative to the tensor's largest gradient entry.
				d := math.Abs(float64(gg[j])-tg[j]) / (1e-3 + scale)
				if d > worst.v {
					worst.v, worst.where = d, fmt.Sprintf("case %d %s[%d]", i, name, j)
				}
			}
		}
	}
	t.Logf("max gradient error vs torch autograd (relative to each tensor's largest entry): %.2e (%s)", worst.v, worst.where)
	if worst.v > 1e-3 {
		t.Fatalf("gradients disagree with PyTorch")
	}
}

// TestImportPyTorchStateDict exports a state_dict from the reference
// implementation with torch.save and imports it back through gopickle.
func TestImportPyTorchStateDict(t *testing.T) {
	py := torchPython(t)
	dir := t.TempDir()
	cfg := testConfig(6, 16, 4, 2)
	m := newTestModel(t, cfg, 31)
	wp := filepath.Join(dir, "m.safetensors")
	if err := m.Save(wp); err != nil {
		t.Fatal(err)
	}
	pt := filepath.Join(dir, "m.pt")
	out, err := exec.Command(py, referenceScript(t), "export-pt", wp, pt).CombinedOutput()
	if err != nil {
		t.Fatalf("export-pt: %v\n%s", err, out)
	}
	got, err := ImportPyTorch(pt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.params {
		q := got.params[i]
		if q.name != p.name || len(q.data) != len(p.data) {
			t.Fatalf("param %d: %s vs %s", i, q.name, p.name)
		}
		for j := range p.data {
			if q.data[j] != p.data[j] {
				t.Fatalf("%s[%d]: imported %v, want %v", p.name, j, q.data[j], p.data[j])
			}
		}
	}
	// The wrong config is refused with the file named.
	bad := testConfig(6, 32, 4, 2)
	if _, err := ImportPyTorch(pt, bad); err == nil || !strings.Contains(err.Error(), pt) {
		t.Fatalf("import with mismatched config: %v", err)
	}
}

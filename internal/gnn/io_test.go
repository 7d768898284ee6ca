package gnn

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func saveTestModel(t *testing.T, dir string) (*Model, string) {
	t.Helper()
	m := newTestModel(t, testConfig(6, 16, 4, 2), 3)
	p := filepath.Join(dir, "model.safetensors")
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	return m, p
}

func TestSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, p := saveTestModel(t, dir)
	m.cfg.Training = Provenance{DataSHA256: "abc", Epochs: 3, Metrics: map[string]float64{"val_f1": 0.9}}
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	gc, mc := got.Config(), m.Config()
	if gc.WeightsSHA256 == "" || gc.WeightsSHA256 != mc.WeightsSHA256 || gc.Training.Metrics["val_f1"] != 0.9 || !slices.Equal(gc.Relations, mc.Relations) {
		t.Fatalf("config did not round-trip:\n got %+v\nwant %+v", gc, mc)
	}
	for i, p := range m.params {
		if !slices.Equal(p.data, got.params[i].data) {
			t.Fatalf("tensor %s differs after reload", p.name)
		}
	}
	in := gradTestGraph(m.cfg, 1)
	a, _ := m.Forward(in)
	b, _ := got.Forward(in)
	if !slices.Equal(a.Logits, b.Logits) {
		t.Fatalf("logits differ after reload: %v vs %v", a.Logits, b.Logits)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("weights file mode: %v %v", fi.Mode(), err)
	}
}

// rewriteSafetensors re-encodes a weights file after mutating its header
// and tensors, then fixes the config hash so only the intended defect is
// left.
func rewriteSafetensors(t *testing.T, path string, mutate func(header map[string]any, data []byte) []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	var header map[string]any
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	data := mutate(header, append([]byte(nil), raw[8+n:]...))
	hj, _ := json.Marshal(header)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hj)))
	out = append(append(out, hj...), data...)
	writeWithHash(t, path, out)
}

func writeWithHash(t *testing.T, path string, raw []byte) {
	t.Helper()
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	editConfig(t, path, func(c map[string]any) { c["weights_sha256"] = sha256Hex(raw) })
}

func editConfig(t *testing.T, weights string, edit func(map[string]any)) {
	t.Helper()
	cp := ConfigPath(weights)
	b, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	b, _ = json.Marshal(c)
	if err := os.WriteFile(cp, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRefusesBrokenModels covers every way the inference service must
// refuse to start: each error names the file and the problem.
func TestLoadRefusesBrokenModels(t *testing.T) {
	t.Parallel()
	const attSrc = "convs.0.convs.process__spawned__process.att_src"
	cases := []struct {
		name   string
		break_ func(t *testing.T, weights string)
		file   string // "weights" or "config": which path the error must name
		want   string
	}{
		{"missing weights", func(t *testing.T, w string) { os.Remove(w) }, "weights", "no such file"},
		{"missing config", func(t *testing.T, w string) { os.Remove(ConfigPath(w)) }, "config", "no such file"},
		{"config not JSON", func(t *testing.T, w string) { os.WriteFile(ConfigPath(w), []byte("{nope"), 0o644) }, "config", "not valid JSON"},
		{"hash mismatch", func(t *testing.T, w string) {
			b, _ := os.ReadFile(w)
			b[len(b)-1] ^= 0xff
			os.WriteFile(w, b, 0o644)
		}, "weights", "SHA-256"},
		{"no hash in config", func(t *testing.T, w string) {
			editConfig(t, w, func(c map[string]any) { delete(c, "weights_sha256") })
		}, "config", "weights_sha256 is missing"},
		{"unknown architecture", func(t *testing.T, w string) {
			editConfig(t, w, func(c map[string]any) { c["architecture"] = "hetero-gat-v9" })
		}, "config", "unknown architecture"},
		{"config changes shapes", func(t *testing.T, w string) {
			editConfig(t, w, func(c map[string]any) { c["hidden"] = 32 })
		}, "weights", "has shape"},
		{"missing tensor", func(t *testing.T, w string) {
			rewriteSafetensors(t, w, func(h map[string]any, d []byte) []byte {
				// Drop the last tensor in the data section so the rest stays tiled.
				var last string
				var end float64
				for k, v := range h {
					if k == "__metadata__" {
						continue
					}
					if e := v.(map[string]any)["data_offsets"].([]any)[1].(float64); e > end {
						last, end = k, e
					}
				}
				begin := h[last].(map[string]any)["data_offsets"].([]any)[0].(float64)
				delete(h, last)
				return d[:int(begin)]
			})
		}, "weights", "missing"},
		{"extra tensor", func(t *testing.T, w string) {
			rewriteSafetensors(t, w, func(h map[string]any, d []byte) []byte {
				h["readout.lin3.weight"] = map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{len(d), len(d) + 4}}
				return append(d, 0, 0, 0, 0)
			})
		}, "weights", "readout.lin3.weight"},
		{"wrong shape", func(t *testing.T, w string) {
			rewriteSafetensors(t, w, func(h map[string]any, d []byte) []byte {
				h[attSrc].(map[string]any)["shape"] = []int{1, 2, 8}
				return d
			})
		}, "weights", "has shape [1 2 8]"},
		{"not F32", func(t *testing.T, w string) {
			rewriteSafetensors(t, w, func(h map[string]any, d []byte) []byte {
				h[attSrc].(map[string]any)["dtype"] = "F16"
				return d
			})
		}, "weights", "dtype \"F16\""},
		{"NaN weight", func(t *testing.T, w string) {
			rewriteSafetensors(t, w, func(h map[string]any, d []byte) []byte {
				off := int(h[attSrc].(map[string]any)["data_offsets"].([]any)[0].(float64))
				binary.LittleEndian.PutUint32(d[off:], 0x7fc00000)
				return d
			})
		}, "weights", "NaN"},
		{"truncated", func(t *testing.T, w string) {
			b, _ := os.ReadFile(w)
			writeWithHash(t, w, b[:len(b)-8])
		}, "weights", "data_offsets"},
		{"tiny file", func(t *testing.T, w string) { writeWithHash(t, w, []byte{1, 2}) }, "weights", "too short"},
		{"header length lies", func(t *testing.T, w string) {
			b, _ := os.ReadFile(w)
			binary.LittleEndian.PutUint64(b, 1<<40)
			writeWithHash(t, w, b)
		}, "weights", "header length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, p := saveTestModel(t, t.TempDir())
			tc.break_(t, p)
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load accepted a broken model")
			}
			msg := err.Error()
			t.Log(msg)
			path := p
			if tc.file == "config" {
				path = ConfigPath(p)
			}
			if !strings.Contains(msg, path) || !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q should name %s and contain %q", msg, path, tc.want)
			}
		})
	}
}

func TestSafetensorsHeader(t *testing.T) {
	t.Parallel()
	m := newTestModel(t, testConfig(3, 8, 2, 1), 1)
	raw, err := encodeSafetensors(m.params, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	if (8+n)%8 != 0 {
		t.Fatalf("data section not 8-byte aligned (header %d)", n)
	}
	tensors, meta, err := decodeSafetensors(raw)
	if err != nil {
		t.Fatal(err)
	}
	if meta["k"] != "v" || len(tensors) != len(m.params) {
		t.Fatalf("meta %v, %d tensors", meta, len(tensors))
	}
}

func FuzzDecodeSafetensors(f *testing.F) {
	m := newTestModel(f, testConfig(2, 4, 2, 1), 1)
	raw, _ := encodeSafetensors(m.params[:3], nil)
	f.Add(raw)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeSafetensors(b) // must not panic
	})
}

package inference

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/graph"
	"github.com/logster/logster/internal/schema"
)

// The service refuses to start on a model it cannot trust, naming the
// config key, the file and the problem.
func TestStartupRefusesBadModels(t *testing.T) {
	t.Parallel()
	winCfg, _ := graph.ModelConfig(schema.PlatformWindows)
	winCfg.Version = "2026.11-test"
	linCfg, _ := graph.ModelConfig(schema.PlatformLinux)
	linCfg.Version = "2026.11-test"
	// Small hidden size: the checks do not depend on it and files stay small.
	for _, c := range []*gnn.Config{&winCfg, &linCfg} {
		c.Hidden, c.Heads, c.Layers = 8, 2, 1
	}

	cases := []struct {
		name string
		// setup writes files into dir and returns (windows path, linux path).
		setup func(t *testing.T, dir string) (string, string)
		want  []string
	}{
		{
			name: "both valid",
			setup: func(t *testing.T, dir string) (string, string) {
				return saveModel(t, dir, "win", winCfg), saveModel(t, dir, "lin", linCfg)
			},
		},
		{
			name: "windows model missing",
			setup: func(t *testing.T, dir string) (string, string) {
				return filepath.Join(dir, "absent.safetensors"), saveModel(t, dir, "lin", linCfg)
			},
			want: []string{"model.path", "absent.safetensors", "no such file"},
		},
		{
			name: "linux config json missing",
			setup: func(t *testing.T, dir string) (string, string) {
				lin := saveModel(t, dir, "lin", linCfg)
				if err := os.Remove(gnn.ConfigPath(lin)); err != nil {
					t.Fatal(err)
				}
				return saveModel(t, dir, "win", winCfg), lin
			},
			want: []string{"model.linux_model_path", "lin.safetensors", "lin.json"},
		},
		{
			name: "weights corrupted (hash mismatch)",
			setup: func(t *testing.T, dir string) (string, string) {
				win := saveModel(t, dir, "win", winCfg)
				b, err := os.ReadFile(win)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)-1] ^= 0xff
				if err := os.WriteFile(win, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return win, saveModel(t, dir, "lin", linCfg)
			},
			want: []string{"model.path", "win.safetensors", "SHA-256"},
		},
		{
			name: "feature schema of the other platform",
			setup: func(t *testing.T, dir string) (string, string) {
				return saveModel(t, dir, "lin-as-win", linCfg), saveModel(t, dir, "lin", linCfg)
			},
			want: []string{"model.path", "lin-as-win.safetensors", `feature schema "linux-v1"`, "windows-v1"},
		},
		{
			name: "older feature schema",
			setup: func(t *testing.T, dir string) (string, string) {
				old := winCfg
				old.FeatureSchema = "windows-v0"
				return saveModel(t, dir, "old", old), saveModel(t, dir, "lin", linCfg)
			},
			want: []string{"model.path", "old.safetensors", "windows-v0"},
		},
		{
			name: "feature width mismatch (shape)",
			setup: func(t *testing.T, dir string) (string, string) {
				narrow := linCfg
				narrow.FeatureDim = 32
				return saveModel(t, dir, "win", winCfg), saveModel(t, dir, "narrow", narrow)
			},
			want: []string{"model.linux_model_path", "narrow.safetensors", "feature_dim 32"},
		},
		{
			name: "tensor shape tampered",
			setup: func(t *testing.T, dir string) (string, string) {
				win := saveModel(t, dir, "win", winCfg)
				// The config claims another hidden size than the tensors have.
				cp := gnn.ConfigPath(win)
				b, err := os.ReadFile(cp)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				m["hidden"] = 16
				if b, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(cp, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return win, saveModel(t, dir, "lin", linCfg)
			},
			want: []string{"model.path", "win.safetensors", "shape"},
		},
		{
			name: "no version",
			setup: func(t *testing.T, dir string) (string, string) {
				nv := winCfg
				nv.Version = ""
				return saveModel(t, dir, "nv", nv), saveModel(t, dir, "lin", linCfg)
			},
			want: []string{"model.path", "nv.safetensors", "no version"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := testConfig()
			cfg.Model.Path, cfg.Model.LinuxModelPath = tc.setup(t, dir)
			s, err := NewService(cfg, nil, prometheus.NewRegistry())
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid models refused: %v", err)
				}
				if s.versions[schema.PlatformWindows] != "2026.11-test" {
					t.Fatalf("versions %v", s.versions)
				}
				return
			}
			if err == nil {
				t.Fatal("service started on a bad model")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// Injected models are held to the same checks.
func TestInjectedModelsAreChecked(t *testing.T) {
	t.Parallel()
	ms := randomModels(t)
	_, err := NewService(testConfig(), nil, prometheus.NewRegistry(), WithModels(Models{Windows: ms.Linux, Linux: ms.Linux}))
	if err == nil || !strings.Contains(err.Error(), "windows model") || !strings.Contains(err.Error(), "linux-v1") {
		t.Fatalf("err = %v", err)
	}
	_, err = NewService(testConfig(), nil, prometheus.NewRegistry(), WithModels(Models{Windows: ms.Windows}))
	if err == nil || !strings.Contains(err.Error(), "no linux model") {
		t.Fatalf("err = %v", err)
	}
}

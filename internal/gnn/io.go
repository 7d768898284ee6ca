package gnn

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ConfigPath returns the config file that belongs to a weights file: the
// same path with the extension replaced by ".json".
func ConfigPath(weightsPath string) string {
	return strings.TrimSuffix(weightsPath, filepath.Ext(weightsPath)) + ".json"
}

// Load reads a model saved by Save: weightsPath (safetensors) and its config
// (ConfigPath). It refuses, with an error naming the file and the problem, a
// missing or unreadable file, a config that does not validate, a SHA-256
// that does not match the config's weights_sha256, a tensor that is missing,
// unexpected, of the wrong shape or dtype, or not finite.
func Load(weightsPath string) (*Model, error) {
	cfgPath := ConfigPath(weightsPath)
	raw, err := os.ReadFile(weightsPath)
	if err != nil {
		return nil, fmt.Errorf("gnn: load model weights: %w", err)
	}
	cb, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("gnn: load model config for %s: %w", weightsPath, err)
	}
	var cfg Config
	if err := json.Unmarshal(cb, &cfg); err != nil {
		return nil, fmt.Errorf("gnn: load model config %s: not valid JSON: %w", cfgPath, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gnn: load model config %s: %w", cfgPath, err)
	}
	if cfg.WeightsSHA256 == "" {
		return nil, fmt.Errorf("gnn: load model config %s: weights_sha256 is missing", cfgPath)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, cfg.WeightsSHA256) {
		return nil, fmt.Errorf("gnn: load model weights %s: SHA-256 is %s but %s expects %s (file corrupt or config from another model)",
			weightsPath, got, cfgPath, cfg.WeightsSHA256)
	}
	tensors, _, err := decodeSafetensors(raw)
	if err != nil {
		return nil, fmt.Errorf("gnn: load model weights %s: %w", weightsPath, err)
	}
	m, err := fromTensors(cfg, tensors)
	if err != nil {
		return nil, fmt.Errorf("gnn: load model weights %s: %w", weightsPath, err)
	}
	return m, nil
}

// fromTensors builds a model from named tensors, requiring exactly the
// parameter set the config implies.
func fromTensors(cfg Config, tensors map[string]stTensor) (*Model, error) {
	m := newModel(cfg)
	var missing []string
	for _, p := range m.params {
		t, ok := tensors[p.name]
		if !ok {
			missing = append(missing, p.name)
			continue
		}
		if !slices.Equal(t.shape, p.shape) {
			return nil, fmt.Errorf("tensor %s has shape %v, the config requires %v", p.name, t.shape, p.shape)
		}
		for i, v := range t.data {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("tensor %s element %d is %v", p.name, i, v)
			}
		}
		copy(p.data, t.data)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%d tensors required by the config are missing: %s", len(missing), abbreviate(missing))
	}
	var extra []string
	for name := range tensors {
		if _, ok := m.byName[name]; !ok {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return nil, fmt.Errorf("%d tensors are not part of this architecture/config: %s", len(extra), abbreviate(extra))
	}
	m.repack()
	return m, nil
}

func abbreviate(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// Save writes the weights to weightsPath as safetensors and the config, with
// the weights' SHA-256, to ConfigPath(weightsPath). Each file is written to a
// temporary name and renamed, so a reader never sees a half-written file.
// The model's config records the new hash.
func (m *Model) Save(weightsPath string) error {
	meta := map[string]string{"format": "pt", "architecture": m.cfg.Architecture}
	if m.cfg.Version != "" {
		meta["version"] = m.cfg.Version
	}
	raw, err := encodeSafetensors(m.params, meta)
	if err != nil {
		return fmt.Errorf("gnn: save model %s: %w", weightsPath, err)
	}
	sum := sha256.Sum256(raw)
	cfg := m.cfg.clone()
	cfg.WeightsSHA256 = hex.EncodeToString(sum[:])
	var cb bytes.Buffer
	enc := json.NewEncoder(&cb)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&cfg); err != nil {
		return fmt.Errorf("gnn: save model config: %w", err)
	}
	if err := writeFileAtomic(weightsPath, raw); err != nil {
		return fmt.Errorf("gnn: save model weights: %w", err)
	}
	if err := writeFileAtomic(ConfigPath(weightsPath), cb.Bytes()); err != nil {
		return fmt.Errorf("gnn: save model config: %w", err)
	}
	m.cfg.WeightsSHA256 = cfg.WeightsSHA256
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	// CreateTemp makes the file 0600; model files are meant to be read by
	// the service user and by tooling, like any other release artefact.
	merr := f.Chmod(0o644)
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := firstErr(merr, werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

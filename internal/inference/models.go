package inference

import (
	"errors"
	"fmt"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/graph"
	"github.com/logster/logster/internal/schema"
)

// Models are the two classifiers the service scores windows with.
type Models struct {
	Windows, Linux *gnn.Model
}

func (m Models) forPlatform(p schema.Platform) *gnn.Model {
	switch p {
	case schema.PlatformWindows:
		return m.Windows
	case schema.PlatformLinux:
		return m.Linux
	}
	return nil
}

// LoadModels loads model.path (Windows) and model.linux_model_path (Linux)
// and checks each against this build's graph builder. Any problem — a
// missing or unreadable file, a hash or shape mismatch, another feature
// schema — is returned with the config key, the file and the problem:
// the service must never run on a model it cannot trust.
//
// There is deliberately no way to run without trained models: random
// weights produce scores that look like real ones, carry a model version,
// and would open alerts on noise.
func LoadModels(cfg config.Model) (Models, error) {
	var ms Models
	var errs []error
	for _, it := range []struct {
		key, path string
		platform  schema.Platform
		dst       **gnn.Model
	}{
		{"model.path", cfg.Path, schema.PlatformWindows, &ms.Windows},
		{"model.linux_model_path", cfg.LinuxModelPath, schema.PlatformLinux, &ms.Linux},
	} {
		m, err := gnn.Load(it.path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot use the %s model %s: %w", it.key, it.platform, it.path, err))
			continue
		}
		if err := CheckModel(m, it.platform); err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot use the %s model %s: %w", it.key, it.platform, it.path, err))
			continue
		}
		*it.dst = m
	}
	return ms, errors.Join(errs...)
}

// CheckModel reports why m cannot score platform p's windows.
func CheckModel(m *gnn.Model, p schema.Platform) error {
	if m == nil {
		return fmt.Errorf("no %s model", p)
	}
	cfg := m.Config()
	if err := graph.CheckModel(cfg, p); err != nil {
		return err
	}
	if cfg.Version == "" {
		return errors.New("the model has no version (results and their inference ids name it)")
	}
	return nil
}

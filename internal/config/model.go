package config

import "strings"

// Model names the trained models the inference service loads at startup.
type Model struct {
	Path           string `yaml:"path"`             // Windows model (.safetensors; its .json config beside it)
	LinuxModelPath string `yaml:"linux_model_path"` // Linux model
	Device         string `yaml:"device"`           // cpu (cuda is rejected: the runtime is pure Go)
}

func defaultModel() Model {
	return Model{
		Path:           "models/windows/model.safetensors",
		LinuxModelPath: "models/linux/model.safetensors",
		Device:         "cpu",
	}
}

func (m *Model) validate(es *errs) {
	if strings.TrimSpace(m.Path) == "" {
		es.add("model.path", "must not be empty")
	}
	if strings.TrimSpace(m.LinuxModelPath) == "" {
		es.add("model.linux_model_path", "must not be empty")
	}
	switch m.Device {
	case "cpu":
	case "cuda":
		es.add("model.device", "cuda is not supported: Logster's model runtime is pure Go on the CPU; set model.device: cpu")
	default:
		es.add("model.device", "%q is not cpu", m.Device)
	}
}

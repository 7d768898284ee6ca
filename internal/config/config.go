// Package config loads deploy/service-config.yaml into typed structs, applies
// LOGSTER_<SECTION>_<KEY> environment overrides, and validates the result.
// Every invalid value is reported with its dotted key and the reason, so a
// bad deployment fails at startup instead of misbehaving later.
//
// Each section lives in its own file (kafka.go, api.go, ...) with its
// defaults and its Validate method.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is the whole service configuration.
type Config struct {
	Kafka         Kafka         `yaml:"kafka"`
	API           API           `yaml:"api"`
	Dashboard     Dashboard     `yaml:"dashboard"`
	Model         Model         `yaml:"model"`
	Inference     Inference     `yaml:"inference"`
	Alerts        Alerts        `yaml:"alerts"`
	Normalizer    Normalizer    `yaml:"normalizer"`
	Redis         Redis         `yaml:"redis"`
	Elasticsearch Elasticsearch `yaml:"elasticsearch"`
	Search        Search        `yaml:"search"`
	Telemetry     Telemetry     `yaml:"telemetry"`
	Standalone    Standalone    `yaml:"standalone"`
}

// Default returns the configuration used when no file and no environment
// variable says otherwise. deploy/service-config.yaml repeats these values
// (a test keeps the two in step).
func Default() Config {
	return Config{
		Kafka:         defaultKafka(),
		API:           defaultAPI(),
		Dashboard:     defaultDashboard(),
		Model:         defaultModel(),
		Inference:     defaultInference(),
		Alerts:        defaultAlerts(),
		Normalizer:    defaultNormalizer(),
		Redis:         defaultRedis(),
		Elasticsearch: defaultElasticsearch(),
		Search:        defaultSearch(),
		Telemetry:     defaultTelemetry(),
		Standalone:    defaultStandalone(),
	}
}

// FieldError is one invalid configuration value.
type FieldError struct {
	Key    string // dotted key, e.g. inference.window
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("config %s: %s", e.Key, e.Reason) }

// errs collects field errors during validation.
type errs []error

func (es *errs) add(key, format string, args ...any) {
	*es = append(*es, &FieldError{Key: key, Reason: fmt.Sprintf(format, args...)})
}

func (es errs) err() error { return errors.Join(es...) }

// Validate checks every section and returns all problems at once.
func (c *Config) Validate() error {
	var es errs
	c.Kafka.validate(&es)
	c.API.validate(&es)
	c.Dashboard.validate(&es)
	c.Model.validate(&es)
	c.Inference.validate(&es)
	c.Alerts.validate(&es)
	c.Normalizer.validate(&es)
	c.Redis.validate(&es)
	c.Elasticsearch.validate(&es)
	c.Search.validate(&es)
	c.Telemetry.validate(&es)
	c.Standalone.validate(&es)
	return es.err()
}

// Load reads path (if non-empty), applies environment overrides from environ
// (os.Environ() form; nil means the process environment) and validates.
// Unknown keys in the file are errors: a typo must not silently fall back to
// a default.
func Load(path string, environ []string) (*Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := decodeYAML(b, &cfg); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if environ == nil {
		environ = os.Environ()
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func decodeYAML(b []byte, cfg *Config) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return humanizeYAMLError(err)
	}
	return nil
}

// humanizeYAMLError turns yaml.v3's "field x not found in type config.Foo"
// into a message naming the key.
func humanizeYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, 0, len(te.Errors))
		for _, m := range te.Errors {
			m = strings.Replace(m, "not found in type", "is not a known key of", 1)
			msgs = append(msgs, m)
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return err
}

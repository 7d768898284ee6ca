package config

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The shipped file must be exactly the defaults, so operators reading it see
// what the binary does without it.
func TestShippedFileEqualsDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "deploy", "service-config.yaml"), []string{})
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(normalizeEmpty(*cfg), normalizeEmpty(want)) {
		t.Fatalf("deploy/service-config.yaml differs from Default():\nfile: %+v\ndefault: %+v", *cfg, want)
	}
}

// Every key must appear in the shipped file with a comment.
func TestShippedFileDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "service-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, k := range Keys() {
		parts := strings.Split(k.Key, ".")
		last := parts[len(parts)-1]
		found := false
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(line, last+":") && strings.Contains(line, "#") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("key %s has no commented line in deploy/service-config.yaml", k.Key)
		}
	}
}

func normalizeEmpty(c Config) Config {
	if len(c.API.CORSOrigins) == 0 {
		c.API.CORSOrigins = nil
	}
	if len(c.Normalizer.TenantByHost) == 0 {
		c.Normalizer.TenantByHost = nil
	}
	if len(c.Normalizer.TenantByTopic) == 0 {
		c.Normalizer.TenantByTopic = nil
	}
	return c
}

func TestInvalidFilesNameTheirKey(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(b), "\n")
			want := strings.TrimSpace(strings.TrimPrefix(first, "# want:"))
			_, err = Load(f, []string{})
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want an error naming %q", f, want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not name %q", err, want)
			}
		})
	}
}

func TestValidOverrideFile(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "valid_override.yaml"), []string{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Inference.Window.D() != 5*time.Minute || cfg.Inference.Interval.D() != 30*time.Second {
		t.Fatalf("durations not applied: %v %v", cfg.Inference.Window, cfg.Inference.Interval)
	}
	if cfg.API.Port != 8081 || cfg.Normalizer.TenantByHost["ws1"] != "acme" {
		t.Fatalf("values not applied: %+v", cfg.API)
	}
	// Untouched keys keep their defaults.
	if cfg.Kafka.GroupID != "logster" {
		t.Fatalf("default lost: %q", cfg.Kafka.GroupID)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := []string{
		"LOGSTER_API_PORT=8081",
		"LOGSTER_KAFKA_BOOTSTRAP_SERVERS=a:9092, b:9093",
		"LOGSTER_INFERENCE_WINDOW=5m",
		"LOGSTER_KAFKA_SASL_MECHANISM=PLAIN",
		"LOGSTER_KAFKA_SASL_USERNAME=svc",
		"LOGSTER_NORMALIZER_MAX_RECORD_BYTES=2MiB",
		"LOGSTER_NORMALIZER_TENANT_BY_HOST=ws1=acme,ws2=globex",
		"LOGSTER_KAFKA_TLS_ENABLED=true",
		"LOGSTER_ALERTS_THRESHOLD=0.7",
		"LOGSTER_TEST_REDIS_URL=redis://ignored",
		"PATH=/usr/bin",
	}
	cfg, err := Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.API.Port != 8081 {
		t.Errorf("api.port = %d", cfg.API.Port)
	}
	if !reflect.DeepEqual(cfg.Kafka.BootstrapServers, []string{"a:9092", "b:9093"}) {
		t.Errorf("bootstrap = %v", cfg.Kafka.BootstrapServers)
	}
	if cfg.Inference.Window.D() != 5*time.Minute {
		t.Errorf("window = %v", cfg.Inference.Window)
	}
	if cfg.Normalizer.MaxRecordBytes != 2<<20 {
		t.Errorf("max_record_bytes = %d", cfg.Normalizer.MaxRecordBytes)
	}
	if cfg.Normalizer.TenantByHost["ws2"] != "globex" || !cfg.Kafka.TLS.Enabled || cfg.Alerts.Threshold != 0.7 {
		t.Errorf("overrides not applied: %+v %+v", cfg.Normalizer, cfg.Kafka.TLS)
	}
}

// The environment wins over the file.
func TestEnvOverridesFile(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "valid_override.yaml"), []string{"LOGSTER_API_PORT=9999"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.API.Port != 9999 {
		t.Fatalf("api.port = %d, want env value 9999", cfg.API.Port)
	}
}

func TestEnvErrorsNameTheKey(t *testing.T) {
	cases := map[string]string{
		"LOGSTER_API_PORT=eighty":             "api.port",
		"LOGSTER_INFERENCE_WINDOW=forever":    "inference.window",
		"LOGSTER_KAFKA_TLS_ENABLED=perhaps":   "kafka.tls.enabled",
		"LOGSTER_API_PORTT=1":                 "LOGSTER_API_PORTT",
		"LOGSTER_NORMALIZER_TENANT_BY_HOST=x": "normalizer.tenant_by_host",
		"LOGSTER_ALERTS_THRESHOLD=2":          "alerts.threshold",
	}
	for kv, want := range cases {
		_, err := Load("", []string{kv})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v does not name %s", kv, err, want)
		}
	}
}

// Environment names must be unambiguous (two keys never share one variable).
func TestEnvNamesUnique(t *testing.T) {
	seen := map[string]string{}
	for _, k := range Keys() {
		if other, dup := seen[k.Env]; dup {
			t.Fatalf("%s and %s both map to %s", k.Key, other, k.Env)
		}
		seen[k.Env] = k.Key
	}
}

func TestAllErrorsReportedTogether(t *testing.T) {
	_, err := Load("", []string{"LOGSTER_API_PORT=0", "LOGSTER_DASHBOARD_PORT=0"})
	if err == nil || !strings.Contains(err.Error(), "api.port") || !strings.Contains(err.Error(), "dashboard.port") {
		t.Fatalf("want both keys reported, got %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), []string{}); err == nil {
		t.Fatal("want error for missing file")
	}
}

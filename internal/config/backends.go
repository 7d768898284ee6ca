package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Redis holds window and alert-correlation state when those are set to redis.
type Redis struct {
	Addr      string `yaml:"addr"`
	Password  string `yaml:"password"`
	DB        int    `yaml:"db"`
	KeyPrefix string `yaml:"key_prefix"`
}

func defaultRedis() Redis { return Redis{Addr: "127.0.0.1:6379", KeyPrefix: "logster:"} }

func (r *Redis) validate(es *errs) {
	if !isHostPort(r.Addr) {
		es.add("redis.addr", "%q is not host:port", r.Addr)
	}
	if r.DB < 0 || r.DB > 15 {
		es.add("redis.db", "must be 0..15 (got %d)", r.DB)
	}
}

// Elasticsearch is the search index at scale.
type Elasticsearch struct {
	Addresses []string `yaml:"addresses"`
	Username  string   `yaml:"username"`
	Password  string   `yaml:"password"`
	// EventsIndex and InferencesIndex are fixed by the dashboards and Kibana
	// saved objects; change them only together.
	EventsIndex     string `yaml:"events_index"`
	InferencesIndex string `yaml:"inferences_index"`
}

func defaultElasticsearch() Elasticsearch {
	return Elasticsearch{
		Addresses:       []string{"http://127.0.0.1:9200"},
		EventsIndex:     "logster-events",
		InferencesIndex: "logster-inferences",
	}
}

func (e *Elasticsearch) validate(es *errs) {
	for _, a := range e.Addresses {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			es.add("elasticsearch.addresses", "%q is not an http(s) URL", a)
		}
	}
	if e.EventsIndex == "" || e.InferencesIndex == "" {
		es.add("elasticsearch.events_index", "index names must not be empty")
	}
}

// Search selects the dashboard's search index backend.
type Search struct {
	Backend    string `yaml:"backend"` // sqlite (embedded) or elasticsearch
	SQLitePath string `yaml:"sqlite_path"`
}

func defaultSearch() Search {
	return Search{Backend: "sqlite", SQLitePath: "logster-data/search.db"}
}

func (s *Search) validate(es *errs) {
	switch s.Backend {
	case "sqlite":
		if strings.TrimSpace(s.SQLitePath) == "" {
			es.add("search.sqlite_path", "required when search.backend is sqlite")
		}
	case "elasticsearch":
	default:
		es.add("search.backend", "%q is not sqlite or elasticsearch", s.Backend)
	}
}

// Telemetry configures logs, metrics and traces.
type Telemetry struct {
	LogLevel  string `yaml:"log_level"`  // debug, info, warn, error
	LogFormat string `yaml:"log_format"` // json or text
	// MetricsHost is the interface the per-service /metrics and /healthz
	// listeners bind (ports are fixed: normalizer 9101, inference 9102,
	// alerts 9103).
	MetricsHost string `yaml:"metrics_host"`
	// OTLPEndpoint enables tracing when set (host:port of an OTLP/HTTP
	// receiver, e.g. otel-collector:4318).
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	OTLPInsecure bool   `yaml:"otlp_insecure"`
	// SampleRatio is the fraction of new traces recorded (parent-based).
	SampleRatio float64 `yaml:"sample_ratio"`
}

func defaultTelemetry() Telemetry {
	return Telemetry{LogLevel: "info", LogFormat: "json", MetricsHost: "127.0.0.1", OTLPInsecure: true, SampleRatio: 1}
}

func (t *Telemetry) validate(es *errs) {
	switch t.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		es.add("telemetry.log_level", "%q is not debug, info, warn or error", t.LogLevel)
	}
	if t.LogFormat != "json" && t.LogFormat != "text" {
		es.add("telemetry.log_format", "%q is not json or text", t.LogFormat)
	}
	if t.OTLPEndpoint != "" {
		if !isHostPort(t.OTLPEndpoint) {
			es.add("telemetry.otlp_endpoint", "%q is not host:port (no scheme)", t.OTLPEndpoint)
		}
	}
	if t.SampleRatio < 0 || t.SampleRatio > 1 {
		es.add("telemetry.sample_ratio", "must be in [0,1] (got %g)", t.SampleRatio)
	}
}

// Standalone configures the single-process mode.
type Standalone struct {
	DataDir string `yaml:"data_dir"`
	// KafkaListen is where the embedded broker listens; bind 127.0.0.1 (the
	// broker advertises this address to clients).
	KafkaListen string `yaml:"kafka_listen"`
}

func defaultStandalone() Standalone {
	return Standalone{DataDir: "logster-data", KafkaListen: "127.0.0.1:9092"}
}

func (s *Standalone) validate(es *errs) {
	if strings.TrimSpace(s.DataDir) == "" {
		es.add("standalone.data_dir", "must not be empty")
	}
	host, _, err := net.SplitHostPort(s.KafkaListen)
	if err != nil {
		es.add("standalone.kafka_listen", "%q is not host:port", s.KafkaListen)
	} else if host == "0.0.0.0" || host == "::" || host == "" {
		es.add("standalone.kafka_listen", "bind a concrete address such as 127.0.0.1: the embedded broker advertises it to clients")
	}
}

// isHostPort reports whether s is host:port with a numeric port and no URL
// scheme or path.
func isHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || strings.ContainsAny(host, "/") {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536
}

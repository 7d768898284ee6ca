package config

import (
	"net/url"
	"strings"
)

// API configures the REST API service (:8080).
type API struct {
	Host        string   `yaml:"host"`
	Port        int      `yaml:"port"`
	CORSOrigins []string `yaml:"cors_origins"`
	// Store selects the alert store: sqlite (default, durable file), postgres
	// (shared by replicas) or memory (tests; loses everything on exit).
	Store       string `yaml:"store"`
	PostgresDSN string `yaml:"postgres_dsn"`
	SQLitePath  string `yaml:"sqlite_path"`
	// Auth is "enabled" (bearer tokens) or "disabled" (logged loudly).
	Auth           string   `yaml:"auth"`
	RequestTimeout Duration `yaml:"request_timeout"`
	MaxBodyBytes   ByteSize `yaml:"max_body_bytes"`
	// RateLimit is requests per second per token (0 = unlimited); RateBurst
	// is the bucket size.
	RateLimit float64 `yaml:"rate_limit"`
	RateBurst int     `yaml:"rate_burst"`
}

func defaultAPI() API {
	return API{
		Host:           "127.0.0.1",
		Port:           8080,
		Store:          "sqlite",
		SQLitePath:     "logster-data/alerts.db",
		Auth:           "enabled",
		RequestTimeout: Duration(15e9),
		MaxBodyBytes:   1 << 20,
		RateLimit:      50,
		RateBurst:      100,
	}
}

func (a *API) validate(es *errs) {
	validatePort(es, "api.port", a.Port)
	for _, o := range a.CORSOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			es.add("api.cors_origins", "%q is not an origin like https://soc.example.com (or *)", o)
		}
	}
	switch a.Store {
	case "sqlite":
		if strings.TrimSpace(a.SQLitePath) == "" {
			es.add("api.sqlite_path", "required when api.store is sqlite")
		}
	case "postgres":
		if strings.TrimSpace(a.PostgresDSN) == "" {
			es.add("api.postgres_dsn", "required when api.store is postgres")
		}
	case "memory":
	default:
		es.add("api.store", "%q is not sqlite, postgres or memory", a.Store)
	}
	if a.Auth != "enabled" && a.Auth != "disabled" {
		es.add("api.auth", "%q is not enabled or disabled", a.Auth)
	}
	if a.RequestTimeout <= 0 {
		es.add("api.request_timeout", "must be positive")
	}
	if a.MaxBodyBytes < 1024 {
		es.add("api.max_body_bytes", "must be at least 1KiB")
	}
	if a.RateLimit < 0 {
		es.add("api.rate_limit", "must not be negative")
	}
	if a.RateLimit > 0 && a.RateBurst < 1 {
		es.add("api.rate_burst", "must be at least 1 when api.rate_limit is set")
	}
}

func validatePort(es *errs, key string, p int) {
	if p < 1 || p > 65535 {
		es.add(key, "must be a TCP port 1..65535 (got %d)", p)
	}
}

// Dashboard configures the analyst dashboard (:5001).
type Dashboard struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
}

func defaultDashboard() Dashboard { return Dashboard{Host: "127.0.0.1", Port: 5001} }

func (d *Dashboard) validate(es *errs) { validatePort(es, "dashboard.port", d.Port) }

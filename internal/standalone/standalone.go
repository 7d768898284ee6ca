// Package standalone runs every Logster service in one process on embedded
// parts: the kfake Kafka-protocol broker (persisted under the data
// directory, listening on 127.0.0.1:9092 so real shippers can send to it),
// in-process window and alert-correlation state, SQLite for alerts. The
// services are the same code the separate `logster <service>` commands run;
// only the wiring differs.
package standalone

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/alerting"
	"github.com/logster/logster/internal/api"
	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/component"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/inference"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/store"
	"github.com/logster/logster/internal/telemetry"
)

// Options tune a System beyond the configuration.
type Options struct {
	Log *slog.Logger
	// Registry receives every service's metrics; nil creates one.
	Registry *prometheus.Registry
}

// System is the whole pipeline in one process.
type System struct {
	cfg    *config.Config
	log    *slog.Logger
	reg    *prometheus.Registry
	health *telemetry.Health
	broker *bus.Embedded
	group  *component.Group
	http   *telemetry.Server
	inf    *inference.Service
	api    *api.Service
}

// Prepare adjusts cfg for standalone mode: everything persisted under
// dataDir, clients pointed at the embedded broker, single-replica state in
// process, and API auth explicitly disabled (the API binds 127.0.0.1 by
// default; put a proxy with auth in front before exposing it).
func Prepare(cfg *config.Config, dataDir string) {
	cfg.Standalone.DataDir = dataDir
	cfg.Kafka.BootstrapServers = []string{cfg.Standalone.KafkaListen}
	cfg.API.SQLitePath = filepath.Join(dataDir, "alerts.db")
	cfg.Search.SQLitePath = filepath.Join(dataDir, "search.db")
	cfg.API.Auth = "disabled"
	cfg.Inference.Store = "memory"
	cfg.Alerts.State = "memory"
}

// New builds the system from a configuration already passed through Prepare.
func New(cfg *config.Config, opts Options) (*System, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = telemetry.NewRegistry()
	}
	if err := os.MkdirAll(cfg.Standalone.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", cfg.Standalone.DataDir, err)
	}
	s := &System{
		cfg:    cfg,
		log:    log,
		reg:    reg,
		health: telemetry.NewHealth(),
		broker: bus.NewEmbedded(cfg.Standalone.KafkaListen, filepath.Join(cfg.Standalone.DataDir, "kafka"), log.With("component", "broker")),
		group:  component.NewGroup(log),
	}
	return s, nil
}

// Start starts the broker, creates the topics, then the services in
// pipeline order. It returns once everything is listening.
func (s *System) Start(ctx context.Context) error {
	if err := s.broker.Start(ctx); err != nil {
		return err
	}
	// The broker may have picked a port (tests use :0); point clients at it.
	s.cfg.Kafka.BootstrapServers = s.broker.Addrs()
	if _, err := bus.InitTopics(ctx, s.cfg.Kafka); err != nil {
		_ = s.broker.Shutdown(ctx)
		return fmt.Errorf("create topics on the embedded broker: %w", err)
	}
	if err := s.build(ctx); err != nil {
		_ = s.broker.Shutdown(ctx)
		return err
	}
	if err := s.group.Start(ctx); err != nil {
		_ = s.broker.Shutdown(ctx)
		return err
	}
	return nil
}

func (s *System) build(ctx context.Context) error {
	svcLog := func(name string) *slog.Logger { return s.log.With("service", name) }

	norm, err := normalize.NewService(s.cfg, svcLog("normalizer"), telemetry.ServiceRegisterer(s.reg, "normalizer"))
	if err != nil {
		return fmt.Errorf("normalizer: %w", err)
	}
	s.group.Add("normalizer", norm)

	inf, err := inference.NewService(s.cfg, svcLog("inference"), telemetry.ServiceRegisterer(s.reg, "inference"))
	if err != nil {
		return fmt.Errorf("inference: %w", err)
	}
	s.group.Add("inference", inf)
	s.inf = inf
	s.health.Add("window_store", inf.Healthy)

	alerts, err := alerting.New(s.cfg, alerting.Deps{Log: svcLog("alerts"), Registerer: telemetry.ServiceRegisterer(s.reg, "alerts")})
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	s.group.Add("alerts", alerts)
	s.health.Add("alert_state", alerts.Check)

	// The API shares the :8080 listener with every service's /metrics and
	// the system-wide /healthz.
	apiSvc, err := api.NewService(ctx, s.cfg, api.ServiceOptions{
		Log:        svcLog("api"),
		Registerer: telemetry.ServiceRegisterer(s.reg, "api"),
		Gatherer:   s.reg,
		NoListener: true,
	})
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	s.group.Add("api", apiSvc)
	s.api = apiSvc
	s.health.Add("alert_store", apiSvc.Store.Ping)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", telemetry.MetricsHandler(s.reg))
	mux.Handle("GET /healthz", s.health.Handler())
	mux.Handle("/", apiSvc.Handler)
	s.http = telemetry.NewServer(net.JoinHostPort(s.cfg.API.Host, strconv.Itoa(s.cfg.API.Port)), mux, svcLog("http"))
	s.group.Add("http", s.http)
	return nil
}

// FinishInput tells the inference service that the input is a finite
// replay: quiet endpoints' remaining windows are scored at once.
func (s *System) FinishInput() { s.inf.FinishInput() }

// Drained reports whether the pipeline has caught up: every service's
// consumer group has committed everything on its topics and no endpoint
// has a window left to score. lag holds each group's remaining records.
func (s *System) Drained(ctx context.Context) (drained bool, lag map[string]int64, err error) {
	lag, err = bus.GroupLags(ctx, s.cfg.Kafka, s.cfg.Kafka.GroupID+"-")
	if err != nil {
		return false, nil, err
	}
	var total int64
	for _, l := range lag {
		total += l
	}
	return total == 0 && s.inf.ActiveEndpoints() == 0, lag, nil
}

// Store is the API's alert store (the alerts the pipeline produced).
func (s *System) Store() store.Store { return s.api.Store }

// BrokerAddrs returns the embedded broker's addresses.
func (s *System) BrokerAddrs() []string { return s.broker.Addrs() }

// HTTPAddr returns the address of the API/metrics listener.
func (s *System) HTTPAddr() string { return s.http.Addr() }

// Shutdown drains the services in reverse order, then closes the broker.
func (s *System) Shutdown(ctx context.Context) error {
	err := s.group.Shutdown(ctx)
	if berr := s.broker.Shutdown(ctx); berr != nil {
		err = fmt.Errorf("%w; broker: %v", err, berr)
	}
	return err
}

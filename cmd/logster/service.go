package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/logster/logster/internal/component"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/telemetry"
	"github.com/logster/logster/internal/version"
)

// serviceShutdownBudget bounds draining after SIGTERM/SIGINT.
const serviceShutdownBudget = 25 * time.Second

// serviceEnv is what a service's constructor gets from its command.
type serviceEnv struct {
	cfg    *config.Config
	log    *slog.Logger
	reg    *prometheus.Registry // the process registry (served at /metrics)
	sreg   prometheus.Registerer
	tracer trace.TracerProvider
	health *telemetry.Health
}

// serviceSpec describes one `logster <service>` command.
type serviceSpec struct {
	name, summary string
	// metricsPort serves /metrics and /healthz on telemetry.metrics_host;
	// 0 when the service serves them on its own listener (api).
	metricsPort int
	build       func(ctx context.Context, env serviceEnv) (component.Component, error)
}

// registerService adds a service command: flags, config, logs, metrics,
// tracing and the signal-driven lifecycle are the same for every service.
func registerService(s serviceSpec) {
	register(command{name: s.name, summary: s.summary, run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return runService(ctx, s, args, stdout, stderr)
	}})
}

func runService(ctx context.Context, s serviceSpec, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(s.name, stderr)
	cfgPath := fs.String("config", os.Getenv("LOGSTER_CONFIG"), "service config file (default: built-in defaults; env LOGSTER_CONFIG)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	cfg, err := config.Load(*cfgPath, nil)
	if err != nil {
		return die(stderr, "%v", err)
	}
	log := telemetry.NewLogger(cfg.Telemetry, stdout, s.name)
	reg := telemetry.NewRegistry()
	tracing, err := telemetry.NewTracing(cfg.Telemetry, "logster-"+s.name, version.String())
	if err != nil {
		return die(stderr, "%v", err)
	}
	env := serviceEnv{cfg: cfg, log: log, reg: reg, sreg: telemetry.ServiceRegisterer(reg, s.name), tracer: tracing.Provider, health: telemetry.NewHealth()}
	svc, err := s.build(ctx, env)
	if err != nil {
		return die(stderr, "%s: %v", s.name, err)
	}
	g := component.NewGroup(log)
	g.Add("tracing", tracing)
	if s.metricsPort != 0 {
		addr := net.JoinHostPort(cfg.Telemetry.MetricsHost, strconv.Itoa(s.metricsPort))
		g.Add("metrics", telemetry.NewMetricsServer(addr, reg, env.health, log))
	}
	g.Add(s.name, svc)
	if err := g.Start(ctx); err != nil {
		return die(stderr, "start %s: %v", s.name, err)
	}
	log.Info(s.name+" running", "version", version.String())
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), serviceShutdownBudget)
	defer cancel()
	if err := g.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "logster: %s shutdown: %v\n", s.name, err)
		return 1
	}
	return 0
}

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/component"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/telemetry"
)

func init() {
	register(command{
		name:    "normalizer",
		summary: "run the normalizer service (raw topics -> normalized-endpoint-events; metrics on :9101)",
		run:     runNormalizer,
	})
}

func runNormalizer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("normalizer", stderr)
	cfgPath := fs.String("config", os.Getenv("LOGSTER_CONFIG"), "service config file (default: built-in defaults; env LOGSTER_CONFIG)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	cfg, err := config.Load(*cfgPath, nil)
	if err != nil {
		return die(stderr, "%v", err)
	}
	log := telemetry.NewLogger(cfg.Telemetry, stdout, "normalizer")
	reg := telemetry.NewRegistry()
	sreg := telemetry.ServiceRegisterer(reg, "normalizer")
	tracing, err := telemetry.NewTracing(cfg.Telemetry, "normalizer", "")
	if err != nil {
		return die(stderr, "%v", err)
	}
	svc, err := normalize.NewService(cfg, log, sreg, normalize.WithConsumerConfig(func(cc *bus.ConsumerConfig) {
		cc.Tracer = tracing.Provider
	}))
	if err != nil {
		return die(stderr, "%v", err)
	}
	health := telemetry.NewHealth()
	addr := net.JoinHostPort(cfg.Telemetry.MetricsHost, strconv.Itoa(telemetry.PortNormalizer))
	g := component.NewGroup(log)
	g.Add("tracing", tracing)
	g.Add("metrics", telemetry.NewMetricsServer(addr, reg, health, log))
	g.Add("normalizer", svc)
	if err := g.Start(ctx); err != nil {
		return die(stderr, "start normalizer: %v", err)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "logster: normalizer shutdown: %v\n", err)
		return 1
	}
	return 0
}

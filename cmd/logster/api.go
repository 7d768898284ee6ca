package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/logster/logster/internal/api"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/telemetry"
)

func init() {
	register(command{
		name:    "api",
		summary: "run the REST API (alerts, triage, feedback; api.host:api.port, default :8080)",
		run:     runAPI,
	})
}

func runAPI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("api", stderr)
	cfgPath := fs.String("config", os.Getenv("LOGSTER_CONFIG"), "service config file (default: built-in defaults; env LOGSTER_CONFIG)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	cfg, err := config.Load(*cfgPath, nil)
	if err != nil {
		return die(stderr, "%v", err)
	}
	log := telemetry.NewLogger(cfg.Telemetry, stdout, "api")
	reg := telemetry.NewRegistry()
	tracing, err := telemetry.NewTracing(cfg.Telemetry, "api", "")
	if err != nil {
		return die(stderr, "%v", err)
	}
	svc, err := api.NewService(ctx, cfg, api.ServiceOptions{
		Log:        log,
		Registerer: telemetry.ServiceRegisterer(reg, "api"),
		Gatherer:   reg,
		Tracer:     tracing.Provider,
	})
	if err != nil {
		return die(stderr, "%v", err)
	}
	if err := tracing.Start(ctx); err != nil {
		return die(stderr, "%v", err)
	}
	if err := svc.Start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Shutdown(sctx)
		return die(stderr, "start api: %v", err)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = svc.Shutdown(sctx)
	if terr := tracing.Shutdown(sctx); terr != nil && err == nil {
		err = terr
	}
	if err != nil {
		fmt.Fprintf(stderr, "logster: api shutdown: %v\n", err)
		return 1
	}
	return 0
}

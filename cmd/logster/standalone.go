package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/standalone"
	"github.com/logster/logster/internal/telemetry"
	"github.com/logster/logster/internal/version"
)

func init() {
	register(command{name: "standalone", summary: "run every service in one process on embedded parts (Kafka on 127.0.0.1:9092, API :8080)", run: runStandalone})
}

// shutdownBudget bounds draining on SIGTERM/SIGINT (SPEC: exit within 10 s).
const shutdownBudget = 9 * time.Second

func runStandalone(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("standalone", stderr)
	cfgPath := fs.String("config", os.Getenv("LOGSTER_CONFIG"), "service config file (default: built-in defaults; env LOGSTER_CONFIG)")
	dataDir := fs.String("data-dir", "", "directory for everything standalone persists (default: standalone.data_dir, ./logster-data)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	cfg, err := config.Load(*cfgPath, nil)
	if err != nil {
		return die(stderr, "%v", err)
	}
	dir := cfg.Standalone.DataDir
	if *dataDir != "" {
		dir = *dataDir
	}
	standalone.Prepare(cfg, dir)
	log := telemetry.NewLogger(cfg.Telemetry, stdout, "")
	start := time.Now()
	sys, err := standalone.New(cfg, standalone.Options{Log: log})
	if err != nil {
		return die(stderr, "%v", err)
	}
	if err := sys.Start(ctx); err != nil {
		return die(stderr, "start: %v%s", err, portHint(err))
	}
	log.Info("logster standalone ready",
		"version", version.String(),
		"startup_ms", time.Since(start).Milliseconds(),
		"kafka", sys.BrokerAddrs(),
		"api", "http://"+sys.HTTPAddr(),
		"data_dir", dir)
	fmt.Fprintf(stderr, "Logster is running: Kafka %v, API http://%s — Ctrl-C to stop\n", sys.BrokerAddrs(), sys.HTTPAddr())
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownBudget)
	defer cancel()
	if err := sys.Shutdown(sctx); err != nil {
		log.Error("shutdown incomplete", "err", err)
		return 1
	}
	log.Info("stopped cleanly")
	return 0
}

// portHint adds advice when a port Logster needs is taken.
func portHint(err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return " (another Logster or Kafka running? choose other ports with LOGSTER_STANDALONE_KAFKA_LISTEN=127.0.0.1:19092 and LOGSTER_API_PORT=18080)"
	}
	return ""
}

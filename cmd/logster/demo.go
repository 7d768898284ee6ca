package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/standalone"
	"github.com/logster/logster/internal/telemetry"
)

// demoRecording is the bundled real lateral-movement recording (demo/README.md).
const demoRecording = "demo/empire_msbuild_dcerpc_wmi_smb.zip"

func init() {
	register(command{name: "demo", summary: "start standalone, replay a real lateral-movement recording, print the alerts", run: runDemo})
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", stderr)
	cfgPath := fs.String("config", os.Getenv("LOGSTER_CONFIG"), "service config file (default: built-in defaults; env LOGSTER_CONFIG)")
	dataDir := fs.String("data-dir", "", "where the demo's standalone keeps its data (default: a new temporary directory, removed on exit)")
	exit := fs.Bool("exit", false, "stop after printing the alerts instead of serving until Ctrl-C")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up if the pipeline has not drained by then")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: logster demo [--exit] [--data-dir DIR] [RECORDING...]")
		fmt.Fprintf(stderr, "\nReplays %s (or the recordings named) into a standalone Logster.\n", demoRecording)
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	recordings := fs.Args()
	if len(recordings) == 0 {
		recordings = []string{demoRecording}
	}
	for _, r := range recordings {
		if _, err := os.Stat(r); err != nil {
			return die(stderr, "recording %v (run the demo from the repository root, or name a recording)", err)
		}
	}
	cfg, err := config.Load(*cfgPath, nil)
	if err != nil {
		return die(stderr, "%v", err)
	}
	dir := *dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "logster-demo-"); err != nil {
			return die(stderr, "%v", err)
		}
		defer os.RemoveAll(dir)
	}
	standalone.Prepare(cfg, dir)
	standalone.PrepareDemo(cfg)
	// Service logs go to a file: the terminal shows the demo's own story.
	logFile, err := os.Create(filepath.Join(dir, "logster.log"))
	if err != nil {
		return die(stderr, "%v", err)
	}
	defer logFile.Close()
	log := telemetry.NewLogger(cfg.Telemetry, logFile, "")
	sys, err := standalone.New(cfg, standalone.Options{Log: log})
	if err != nil {
		return die(stderr, "%v", err)
	}
	fmt.Fprintf(stdout, "starting Logster standalone in %s (service logs: %s)\n", dir, logFile.Name())
	if err := sys.Start(ctx); err != nil {
		return die(stderr, "start: %v%s", err, portHint(err))
	}
	stop := func() int {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownBudget)
		defer cancel()
		if err := sys.Shutdown(sctx); err != nil {
			fmt.Fprintf(stderr, "logster: shutdown: %v\n", err)
			return 1
		}
		return 0
	}
	res, err := standalone.RunDemo(ctx, sys, standalone.DemoOptions{Recordings: recordings, Out: stdout, Timeout: *timeout, TTY: isTerminal(stdout)})
	if err != nil {
		stop()
		return die(stderr, "%v", err)
	}
	api := "http://" + sys.HTTPAddr()
	fmt.Fprintf(stdout, "\n%d records replayed, %d alerts, in %s.\n", res.Records, len(res.Alerts), res.Took.Round(time.Second))
	fmt.Fprintf(stdout, "\nExplore:\n  %s/alerts            alerts (JSON)\n  %s/endpoints         per-endpoint summary\n  %s/docs              API explorer\n  %s/metrics           every service's metrics\n  kafka %v          e.g. kcat -C -b %s -t logster-alerts\n",
		api, api, api, api, sys.BrokerAddrs(), sys.BrokerAddrs()[0])
	if *exit {
		return stop()
	}
	fmt.Fprintln(stdout, "\nServing until Ctrl-C.")
	<-ctx.Done()
	return stop()
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
)

func init() {
	register(command{name: "kafka-init", summary: "create the eight Kafka topics (idempotent)", run: runKafkaInit})
}

func runKafkaInit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("kafka-init", stderr)
	cfgPath := fs.String("config", os.Getenv("LOGSTER_CONFIG"), "service config file (env LOGSTER_CONFIG)")
	brokers := fs.String("bootstrap-servers", "", "comma-separated brokers (overrides kafka.bootstrap_servers)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long (brokers may still be starting)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	cfg, err := config.Load(*cfgPath, nil)
	if err != nil {
		return die(stderr, "%v", err)
	}
	if *brokers != "" {
		cfg.Kafka.BootstrapServers = strings.Split(*brokers, ",")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// Brokers in a fresh compose stack take a while; retry until the deadline.
	var acts []bus.TopicAction
	for {
		acts, err = bus.InitTopics(ctx, cfg.Kafka)
		if err == nil || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(stderr, "kafka-init: %v; retrying\n", err)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	if err != nil {
		return die(stderr, "kafka-init against %v: %v", cfg.Kafka.BootstrapServers, err)
	}
	for _, a := range acts {
		line := fmt.Sprintf("%-28s %3d partitions  %s", a.Topic, a.Partitions, a.Action)
		if a.Detail != "" {
			line += " (" + a.Detail + ")"
		}
		fmt.Fprintln(stdout, line)
	}
	return 0
}

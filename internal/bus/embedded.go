package bus

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is the in-process Kafka-protocol broker of standalone mode and
// tests (franz-go's kfake). Real clients — Winlogbeat, kcat, the services —
// talk to it over TCP exactly as to Kafka. With a data directory, topics,
// records and committed offsets survive a restart.
type Embedded struct {
	listen  string
	dataDir string
	log     *slog.Logger

	mu    sync.Mutex
	c     *kfake.Cluster
	addrs []string
}

// NewEmbedded prepares a broker listening on listen (host:port; port 0
// picks a free port) persisting under dataDir ("" = memory only).
func NewEmbedded(listen, dataDir string, log *slog.Logger) *Embedded {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Embedded{listen: listen, dataDir: dataDir, log: log}
}

// Start binds the listener and loads persisted state.
func (e *Embedded) Start(context.Context) error {
	host, portStr, err := net.SplitHostPort(e.listen)
	if err != nil {
		return fmt.Errorf("embedded broker address %q: %w", e.listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("embedded broker port %q: %w", portStr, err)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ClusterID("logster-standalone"),
		// kfake binds 127.0.0.1; rebind to the configured host. It
		// advertises the address it listens on, which is why the host
		// must be a concrete address clients can reach.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
		kfake.BrokerConfigs(map[string]string{"log.retention.ms": strconv.Itoa(RetentionMs)}),
	}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	if e.dataDir != "" {
		opts = append(opts, kfake.DataDir(e.dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start embedded broker on %s: %w", e.listen, err)
	}
	e.mu.Lock()
	e.c = c
	e.addrs = c.ListenAddrs()
	e.mu.Unlock()
	e.log.Info("embedded kafka broker listening", "addrs", e.addrs, "data_dir", e.dataDir)
	return nil
}

// Addrs returns the broker addresses clients should use.
func (e *Embedded) Addrs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.addrs...)
}

// Shutdown closes the listener and flushes persisted state.
func (e *Embedded) Shutdown(context.Context) error {
	e.mu.Lock()
	c := e.c
	e.c = nil
	e.mu.Unlock()
	if c != nil {
		c.Close()
	}
	return nil
}

package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Service metric ports (SPEC §8). The api and dashboard serve /metrics on
// their own ports.
const (
	PortNormalizer = 9101
	PortInference  = 9102
	PortAlerts     = 9103
)

// RegisterAll registers a component's collectors and reports the first
// failure, naming the component; a collector registered twice (two
// instances of one component on one registry) says so.
func RegisterAll(reg prometheus.Registerer, component string, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("register %s metrics: %w (one %s per registry)", component, err, component)
			}
			return fmt.Errorf("register %s metrics: %w", component, err)
		}
	}
	return nil
}

// NewRegistry returns a fresh registry with the Go runtime and process
// collectors. One registry per process; each service registers through
// ServiceRegisterer so metrics of several services can share it.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// ServiceRegisterer labels every metric registered through it with
// service=<name>, so standalone (all services, one registry) and a
// single-service process expose the same series.
func ServiceRegisterer(reg prometheus.Registerer, service string) prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{"service": service}, reg)
}

// HealthFunc reports nil when the component is healthy.
type HealthFunc func(ctx context.Context) error

// Health aggregates named checks for /healthz.
type Health struct {
	mu     sync.RWMutex
	checks map[string]HealthFunc
}

// NewHealth returns an empty set of checks (healthy).
func NewHealth() *Health { return &Health{checks: map[string]HealthFunc{}} }

// Add registers a named check.
func (h *Health) Add(name string, f HealthFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = f
}

// Check runs every check and returns the failures by name.
func (h *Health) Check(ctx context.Context) map[string]string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	failed := map[string]string{}
	for name, f := range h.checks {
		if err := f(ctx); err != nil {
			failed[name] = err.Error()
		}
	}
	return failed
}

// Handler serves /healthz: 200 {"status":"ok"} or 503 with the failures.
func (h *Health) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		failed := h.Check(ctx)
		w.Header().Set("Content-Type", "application/json")
		if len(failed) == 0 {
			_, _ = w.Write([]byte(`{"status":"ok"}`))
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = writeJSON(w, map[string]any{"status": "unhealthy", "failed": failed})
	})
}

// MetricsHandler serves the gatherer in Prometheus text/OpenMetrics format.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError})
}

// Server is an HTTP listener component (used for /metrics + /healthz of the
// normalizer, inference and alerts services, and by the API and dashboard).
type Server struct {
	addr string
	srv  *http.Server
	log  *slog.Logger

	mu   sync.Mutex
	ln   net.Listener
	done chan struct{}
}

// NewServer returns a server for handler on addr. It listens on Start.
func NewServer(addr string, handler http.Handler, log *slog.Logger) *Server {
	return &Server{
		addr: addr,
		log:  log,
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
		},
	}
}

// NewMetricsServer serves /metrics from g and /healthz from h on addr.
func NewMetricsServer(addr string, g prometheus.Gatherer, h *Health, log *slog.Logger) *Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", MetricsHandler(g))
	mux.Handle("GET /healthz", h.Handler())
	return NewServer(addr, mux, log)
}

// Start binds the address (so a port conflict fails startup) and serves in
// the background.
func (s *Server) Start(context.Context) error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.addr, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.done = make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "addr", s.addr, "err", err)
		}
	}()
	s.log.Info("listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the bound address (useful with port 0 in tests).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return s.addr
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	select {
	case <-done:
	case <-ctx.Done():
		_ = s.srv.Close()
	}
	return err
}

package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/component"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/store"
)

// ServiceOptions are what the API service takes from its process.
type ServiceOptions struct {
	Log *slog.Logger
	// Registerer receives the API's metrics (already labelled
	// service=api by the caller if it shares a registry).
	Registerer prometheus.Registerer
	// Gatherer is served at /metrics (standalone: every service's metrics).
	Gatherer prometheus.Gatherer
	Tracer   trace.TracerProvider
	// Store, when set, is used instead of opening api.store; the service
	// then does not close it.
	Store store.Store
	// NoListener skips the service's own HTTP server: the caller mounts
	// Service.Handler on a listener it owns (standalone serves the API and
	// every service's /metrics on one port).
	NoListener bool
}

// Service is the whole api service: alert store, HTTP server, the consumer
// of logster-alerts and the relay that publishes triage changes. Start order
// is producer, ingest, relay, HTTP; Shutdown reverses it, so no triage change
// is accepted after its relay stopped, the relay's last attempt still has a
// producer, and the store closes last.
type Service struct {
	Store   store.Store
	Handler http.Handler
	server  *Server
	group   *component.Group
	owns    bool
	closed  sync.Once
}

// NewService opens the store (applying migrations) and builds the
// components; nothing runs until Start.
func NewService(ctx context.Context, cfg *config.Config, o ServiceOptions) (*Service, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, owns := o.Store, false
	if st == nil {
		var err error
		if st, err = store.Open(ctx, cfg.API); err != nil {
			return nil, fmt.Errorf("open alert store (%s): %w", cfg.API.Store, err)
		}
		owns = true
	}
	fail := func(err error) (*Service, error) {
		if owns {
			st.Close()
		}
		return nil, err
	}
	if cfg.API.Store == "memory" {
		log.Warn("alert store is in memory: every alert, triage change and token is lost on exit")
	}
	prod, err := bus.NewProducer(cfg.Kafka, "api", log, o.Registerer)
	if err != nil {
		return fail(fmt.Errorf("api producer: %w", err))
	}
	ing, err := NewIngest(IngestConfig{Kafka: cfg.Kafka, Producer: prod, Tracer: o.Tracer}, st, log, o.Registerer)
	if err != nil {
		prod.Shutdown(ctx) //nolint:errcheck // nothing was produced
		return fail(err)
	}
	relay := NewTriageRelay(st, &Publisher{P: prod}, log, o.Registerer)
	h := New(Deps{Store: st, Config: cfg.API, Log: log, Registerer: o.Registerer, Gatherer: o.Gatherer, Relay: relay})
	g := component.NewGroup(log)
	g.Add("api-producer", prod)
	g.Add("api-ingest", ing)
	g.Add("api-triage-relay", relay)
	svc := &Service{Store: st, Handler: h, group: g, owns: owns}
	if !o.NoListener {
		svc.server = NewServer(cfg.API, h, log)
		g.Add("api-http", svc.server)
	}
	return svc, nil
}

// Start starts the components.
func (s *Service) Start(ctx context.Context) error { return s.group.Start(ctx) }

// Addr is the HTTP server's bound address ("" with NoListener).
func (s *Service) Addr() string {
	if s.server == nil {
		return ""
	}
	return s.server.Addr()
}

// Shutdown stops the components and closes the store if the service
// opened it.
func (s *Service) Shutdown(ctx context.Context) error {
	err := s.group.Shutdown(ctx)
	if s.owns {
		s.closed.Do(func() {
			if cerr := s.Store.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close alert store: %w", cerr))
			}
		})
	}
	return err
}

package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/logster/logster/internal/config"
)

// Server is the API's HTTP listener component.
type Server struct {
	cfg  config.API
	log  *slog.Logger
	srv  *http.Server
	mu   sync.Mutex
	ln   net.Listener
	done chan struct{}
}

// NewServer serves h on api.host:api.port with timeouts derived from
// api.request_timeout: slow clients cannot hold connections open, and a
// handler's deadline always fires before the write timeout cuts the answer.
func NewServer(cfg config.API, h http.Handler, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt := cfg.RequestTimeout.D()
	return &Server{
		cfg: cfg,
		log: log,
		srv: &http.Server{
			Addr:              net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       rt + 10*time.Second,
			WriteTimeout:      rt + 15*time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
}

// Start binds the port (a conflict fails startup) and serves in the
// background.
func (s *Server) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", s.srv.Addr, err)
	}
	s.ln = ln
	s.done = make(chan struct{})
	s.log.Info("API listening", "addr", ln.Addr().String(), "store", s.cfg.Store, "auth", s.cfg.Auth)
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("API server stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the bound address ("" before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.ln != nil
	done := s.done
	s.mu.Unlock()
	if !started {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	select {
	case <-done:
	case <-ctx.Done():
	}
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

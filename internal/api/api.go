// Package api is Logster's REST API (:8080): alerts, triage, feedback,
// endpoint summaries, tokens, health, metrics, the OpenAPI document and
// Swagger UI. It is a plain net/http handler over a store.Store; the Kafka
// side (ingest from logster-alerts, publishing triage changes) sits behind
// the Ingest component and the AlertPublisher interface, so handler tests
// need no broker.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

// ServiceName is the service field of /health.
const ServiceName = "logster-api"

// AlertPublisher tells the rest of the system about a triage change: the
// alerts service learns that an alert was closed (its next positive for the
// endpoint opens a new alert) and downstream integrations see the change.
type AlertPublisher interface {
	PublishAlert(ctx context.Context, a *schema.Alert) error
}

// Deps are what the API needs.
type Deps struct {
	Store  store.Store
	Config config.API
	Log    *slog.Logger
	// Registerer receives the API's metrics; nil means no metrics.
	Registerer prometheus.Registerer
	// Gatherer is served at /metrics (in standalone: every service's).
	Gatherer prometheus.Gatherer
	// Relay publishes triage changes (the service starts its retry loop).
	// When nil, a Publisher gets an unstarted relay of its own; with
	// neither, triage changes stay queued in the store.
	Relay     *TriageRelay
	Publisher AlertPublisher
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// route is one entry of the routing table. The OpenAPI conformance test
// walks this table, so a handler cannot exist without being documented.
type route struct {
	method string
	path   string // ServeMux pattern path, e.g. /alerts/{alert_id}
	// perm is the permission required; 0 = public (no token needed).
	perm    auth.Permission
	handler func(*server, http.ResponseWriter, *http.Request, *auth.Principal)
}

var routes = []route{
	{"GET", "/health", 0, (*server).health},
	{"GET", "/metrics", 0, (*server).metrics},
	{"GET", "/openapi.json", 0, (*server).openapi},
	{"GET", "/docs", 0, (*server).docsRedirect},
	{"GET", "/docs/{file...}", 0, (*server).docs},
	{"GET", "/alerts", auth.PermRead, (*server).listAlerts},
	{"GET", "/alerts/{alert_id}", auth.PermRead, (*server).getAlert},
	{"PATCH", "/alerts/{alert_id}", auth.PermTriage, (*server).patchAlert},
	{"GET", "/endpoints", auth.PermRead, (*server).listEndpoints},
	{"POST", "/feedback", auth.PermTriage, (*server).postFeedback},
	{"GET", "/feedback", auth.PermAdmin, (*server).listFeedback},
	{"GET", "/tokens", auth.PermAdmin, (*server).listTokens},
	{"POST", "/tokens", auth.PermAdmin, (*server).createToken},
	{"DELETE", "/tokens/{token_id}", auth.PermAdmin, (*server).revokeToken},
}

// server holds the handlers' shared state.
type server struct {
	st       store.Store
	cfg      config.API
	log      *slog.Logger
	now      func() time.Time
	started  time.Time
	authn    *auth.Authenticator
	authOn   bool
	limiter  *limiter
	relay    *TriageRelay
	gatherer prometheus.Gatherer
	m        *metrics
	cors     corsPolicy
}

// New returns the API handler. It logs (loudly) when auth is disabled.
func New(d Deps) http.Handler {
	s := &server{
		st:       d.Store,
		cfg:      d.Config,
		log:      d.Log,
		now:      d.Now,
		relay:    d.Relay,
		gatherer: d.Gatherer,
		authOn:   d.Config.Auth != "disabled",
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	// A zero Config (a caller that skipped config.Load) must not mean
	// "every request times out at once" or "every body is too large".
	def := config.Default().API
	if s.cfg.RequestTimeout <= 0 {
		s.cfg.RequestTimeout = def.RequestTimeout
	}
	if s.cfg.MaxBodyBytes <= 0 {
		s.cfg.MaxBodyBytes = def.MaxBodyBytes
	}
	s.started = s.now()
	s.authn = &auth.Authenticator{Tokens: d.Store, Now: s.now}
	s.limiter = newLimiter(s.cfg.RateLimit, s.cfg.RateBurst, s.now)
	s.m = newMetrics(d.Registerer, s.log)
	if s.relay == nil && d.Publisher != nil {
		s.relay = NewTriageRelay(d.Store, d.Publisher, s.log, d.Registerer)
	}
	s.cors = newCORS(d.Config.CORSOrigins)
	if !s.authOn {
		s.log.Warn("API AUTHENTICATION IS DISABLED: every caller can read and change every tenant's alerts; set api.auth: enabled outside a trusted single-user setup")
	}

	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routes {
		rt := rt
		mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			s.serveRoute(rt, w, r)
		})
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	// ServeMux answers a wrong method with a plain-text 405; register a
	// method-less pattern per path so the answer is JSON like every other.
	for path, methods := range allowed {
		if slices.Contains(methods, "GET") {
			methods = append(methods, "HEAD")
		}
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			setRoute(r, "method_not_allowed")
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed", map[string]any{"allowed": strings.Split(allow, ", ")})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route", map[string]any{"path": r.URL.Path})
	})
	return s.middleware(mux)
}

// serveRoute authenticates (for protected routes), rate-limits, checks the
// permission and calls the handler.
func (s *server) serveRoute(rt route, w http.ResponseWriter, r *http.Request) {
	setRoute(r, rt.method+" "+rt.path)
	if rt.perm == 0 {
		rt.handler(s, w, r, nil)
		return
	}
	p := &auth.Anonymous
	key := "ip:" + clientIP(r)
	if s.authOn {
		var err error
		p, err = s.authn.Authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			// Failed attempts are rate-limited per address too, so
			// guessing costs time.
			if !s.allow(w, key) {
				return
			}
			s.authFailure(w, r, err)
			return
		}
		key = "token:" + p.TokenID
	}
	if !s.allow(w, key) {
		return
	}
	if !p.Role.Allows(rt.perm) {
		writeError(w, http.StatusForbidden, "this token's role ("+string(p.Role)+") may not do that", nil)
		return
	}
	rt.handler(s, w, r, p)
}

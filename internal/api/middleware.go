package api

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

type ctxKey int

const routeKey ctxKey = iota

// routeLabel is filled in by the matched route so the outer middleware can
// label metrics with the pattern, not the raw path (bounded cardinality).
type routeLabel struct{ name string }

func setRoute(r *http.Request, name string) {
	if l, ok := r.Context().Value(routeKey).(*routeLabel); ok {
		l.name = name
	}
}

// statusRecorder remembers the status code for metrics and logs.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// middleware wraps the mux: panic recovery, metrics and logs, security
// headers, CORS, the per-request deadline and the body-size limit.
func (s *server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		label := &routeLabel{name: "unmatched"}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		ctx := context.WithValue(r.Context(), routeKey, label)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, http.StatusInternalServerError, "internal error", nil)
				}
			}
			elapsed := time.Since(start)
			code := strconv.Itoa(rec.status)
			s.m.requests.WithLabelValues(label.name, code).Inc()
			s.m.duration.WithLabelValues(label.name).Observe(elapsed.Seconds())
			level := slog.LevelDebug
			if rec.status >= 500 {
				level = slog.LevelWarn
			}
			s.log.Log(ctx, level, "request", "method", r.Method, "path", r.URL.Path, "route", label.name,
				"status", rec.status, "duration_ms", float64(elapsed.Microseconds())/1000, "remote", clientIP(r))
		}()

		h := rec.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		// API answers are data, never documents: forbid everything. The docs
		// handler replaces this with what Swagger UI needs.
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cache-Control", "no-store")

		if s.cors.handle(rec, r) {
			label.name = "preflight"
			return
		}
		ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout.D())
		defer cancel()
		r = r.WithContext(ctx)
		if r.Body != nil {
			r.Body = http.MaxBytesReader(rec, r.Body, int64(s.cfg.MaxBodyBytes))
		}
		next.ServeHTTP(rec, r)
	})
}

// corsPolicy answers cross-origin requests from the configured origins only.
// Tokens travel in the Authorization header, not cookies, so credentials
// are never allowed.
type corsPolicy struct {
	any     bool
	origins map[string]bool
}

func newCORS(origins []string) corsPolicy {
	p := corsPolicy{origins: map[string]bool{}}
	for _, o := range origins {
		if o == "*" {
			p.any = true
			continue
		}
		p.origins[strings.TrimSuffix(o, "/")] = true
	}
	return p
}

func (p corsPolicy) enabled() bool { return p.any || len(p.origins) > 0 }

// handle sets CORS headers; it returns true when it answered a preflight.
func (p corsPolicy) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if p.enabled() {
		w.Header().Add("Vary", "Origin")
	}
	if origin == "" {
		return false
	}
	allowed := p.any || p.origins[origin]
	if !allowed {
		if preflight {
			writeError(w, http.StatusForbidden, "origin not allowed", map[string]any{"origin": origin})
			return true
		}
		// A simple cross-origin request still runs (the browser withholds
		// the response from the page); it gets no CORS headers.
		return false
	}
	if p.any {
		w.Header().Set("Access-Control-Allow-Origin", "*")
	} else {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
	w.Header().Set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")
	if !preflight {
		return false
	}
	w.Header().Add("Vary", "Access-Control-Request-Method")
	w.Header().Add("Vary", "Access-Control-Request-Headers")
	w.Header().Set("Access-Control-Allow-Methods", "GET, PATCH, POST, DELETE")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// limiter is a token bucket per caller (token id, or client address for
// unauthenticated attempts and when auth is disabled).
type limiter struct {
	every rate.Limit
	burst int
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

// maxLimiters bounds the map; idle (full) buckets are dropped beyond it.
const maxLimiters = 10000

func newLimiter(perSec float64, burst int, now func() time.Time) *limiter {
	if perSec <= 0 {
		return nil
	}
	return &limiter{every: rate.Limit(perSec), burst: max(burst, 1), now: now, m: map[string]*rate.Limiter{}}
}

// take returns 0 when the request may proceed, otherwise how long to wait.
func (l *limiter) take(key string) time.Duration {
	if l == nil {
		return 0
	}
	now := l.now()
	l.mu.Lock()
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxLimiters {
			for k, v := range l.m {
				if v.TokensAt(now) >= float64(l.burst) {
					delete(l.m, k)
				}
			}
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// allow applies the rate limit for key, answering 429 when exhausted.
func (s *server) allow(w http.ResponseWriter, key string) bool {
	d := s.limiter.take(key)
	if d == 0 {
		return true
	}
	s.m.rateLimited.Inc()
	secs := int(math.Ceil(d.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	writeError(w, http.StatusTooManyRequests, "rate limit exceeded", map[string]any{"retry_after_seconds": max(secs, 1)})
	return false
}

// clientIP is the peer address. Forwarded headers are not trusted: behind a
// proxy every caller shares the proxy's bucket for unauthenticated requests.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures prometheus.Counter
	rateLimited  prometheus.Counter
	triage       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "api_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "api_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "api_auth_failures_total", Help: "Requests refused for a missing, malformed, unknown, expired or revoked token.",
		}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "api_rate_limited_total", Help: "Requests answered 429 by the per-token rate limit.",
		}),
		triage: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "api_triage_changes_total", Help: "Audited analyst changes by field (status, notes, assignee, feedback).",
		}, []string{"field"}),
	}
	if reg != nil {
		m.requests = reuse(reg, m.requests, log)
		m.duration = reuse(reg, m.duration, log)
		m.authFailures = reuse(reg, m.authFailures, log)
		m.rateLimited = reuse(reg, m.rateLimited, log)
		m.triage = reuse(reg, m.triage, log)
	}
	return m
}

// reuse registers c, or returns the collector already registered under its
// name, so two handlers on one registry (tests, several API handlers in one
// process) share their series instead of losing the second one's.
func reuse[T prometheus.Collector](reg prometheus.Registerer, c T, log *slog.Logger) T {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing
		}
	}
	log.Error("register API metric", "err", err)
	return c
}

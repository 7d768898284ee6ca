// Package telemetry sets up Logster's logs (log/slog), Prometheus metrics
// (per-process registry passed to every component, never the global one),
// the /metrics and /healthz listener, and OTLP tracing.
package telemetry

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/logster/logster/internal/config"
)

// NewLogger returns the process logger: JSON (or text) on w at the
// configured level, with the service name on every line (omitted when
// empty: standalone tags each line with the service that wrote it).
func NewLogger(cfg config.Telemetry, w io.Writer, service string) *slog.Logger {
	var lvl slog.Level
	switch cfg.LogLevel {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	if service == "" {
		return slog.New(h)
	}
	return slog.New(h).With("service", service)
}

// LogLimiter rate-limits repeated log lines by key (e.g. "parse_error:" +
// reason): a poison flood must not turn into a log flood. The first line for
// a key is logged; later ones within Every are counted and the count is
// attached to the next line that gets through.
type LogLimiter struct {
	Every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*limitState
}

type limitState struct {
	last       time.Time
	suppressed int
}

// maxLimiterKeys bounds the limiter's memory when keys come from input.
const maxLimiterKeys = 4096

// NewLogLimiter logs each key at most once per every.
func NewLogLimiter(every time.Duration) *LogLimiter {
	return &LogLimiter{Every: every, now: time.Now, keys: map[string]*limitState{}}
}

// Allow reports whether a line for key may be logged now, and how many were
// suppressed since the last one that was.
func (l *LogLimiter) Allow(key string) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	st, found := l.keys[key]
	if !found {
		if len(l.keys) >= maxLimiterKeys {
			// Forget everything rather than grow: worst case a few
			// duplicate lines, never unbounded memory.
			l.keys = map[string]*limitState{}
		}
		l.keys[key] = &limitState{last: now}
		return true, 0
	}
	if now.Sub(st.last) < l.Every {
		st.suppressed++
		return false, 0
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	return true, n
}

// Log logs msg at level if the limiter allows key, adding "suppressed".
func (l *LogLimiter) Log(log *slog.Logger, level slog.Level, key, msg string, args ...any) {
	ok, n := l.Allow(key)
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	log.Log(context.Background(), level, msg, args...)
}

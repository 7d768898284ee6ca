package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/logster/logster/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLogLimiterSuppressesRepeats(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := NewLogLimiter(10 * time.Second)
	l.now = func() time.Time { return now }
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("first line suppressed")
	}
	for i := 0; i < 5; i++ {
		if ok, _ := l.Allow("k"); ok {
			t.Fatal("repeat within the interval logged")
		}
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("keys must be independent")
	}
	now = now.Add(11 * time.Second)
	ok, n := l.Allow("k")
	if !ok || n != 5 {
		t.Fatalf("after the interval: ok=%v suppressed=%d, want true 5", ok, n)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	now = now.Add(11 * time.Second)
	l.Allow("k") // one suppressed below
	now = now.Add(time.Second)
	l.Log(log, slog.LevelWarn, "k", "dropped")
	now = now.Add(11 * time.Second)
	l.Log(log, slog.LevelWarn, "k", "dropped")
	if !strings.Contains(buf.String(), `"suppressed":1`) {
		t.Fatalf("suppressed count not attached: %s", buf.String())
	}
}

func TestLogLimiterBoundsKeys(t *testing.T) {
	t.Parallel()
	l := NewLogLimiter(time.Hour)
	for i := 0; i < 3*maxLimiterKeys; i++ {
		l.Allow(strings.Repeat("x", i%50) + string(rune(i)))
	}
	if len(l.keys) > maxLimiterKeys {
		t.Fatalf("limiter holds %d keys, bound %d", len(l.keys), maxLimiterKeys)
	}
}

func TestLoggerLevelsAndFormat(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := NewLogger(config.Telemetry{LogLevel: "warn", LogFormat: "json"}, &buf, "alerts")
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("not one JSON line: %q", buf.String())
	}
	if line["msg"] != "shown" || line["service"] != "alerts" {
		t.Fatalf("line %v", line)
	}
}

func TestMetricsServerServesMetricsAndHealth(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "raw_events_total", Help: "x"})
	ServiceRegisterer(reg, "normalizer").MustRegister(c)
	c.Add(3)
	h := NewHealth()
	var failing error
	h.Add("store", func(context.Context) error { return failing })
	srv := NewMetricsServer("127.0.0.1:0", reg, h, slog.New(slog.DiscardHandler))
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, `raw_events_total{service="normalizer"} 3`) || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics %d:\n%.400s", code, body)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz %d %s", code, body)
	}
	failing = errors.New("redis down")
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "redis down") {
		t.Fatalf("unhealthy /healthz %d %s", code, body)
	}
	// A port conflict fails Start instead of failing later.
	other := NewServer(srv.Addr(), http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if err := other.Start(context.Background()); err == nil {
		other.Shutdown(context.Background())
		t.Fatal("second listener on a busy port started")
	}
}

func TestTracingOffByDefaultAndFlushes(t *testing.T) {
	t.Parallel()
	tr, err := NewTracing(config.Telemetry{}, "svc", "v")
	if err != nil || tr.Shutdown(context.Background()) != nil {
		t.Fatalf("no-op tracing: %v", err)
	}
	exp := tracetest.NewInMemoryExporter()
	tr = NewTracingWithExporter(exp, 1, "svc", "v")
	_, span := tr.Provider.Tracer("t").Start(context.Background(), "op")
	span.End()
	// The batcher holds the span until flushed (the exporter forgets
	// everything on Shutdown, so look before).
	if err := tr.sdk.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(exp.GetSpans()) != 1 {
		t.Fatalf("spans flushed: %d", len(exp.GetSpans()))
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	otlp, err := NewTracing(config.Telemetry{OTLPEndpoint: "127.0.0.1:4318", OTLPInsecure: true, SampleRatio: 1}, "svc", "v")
	if err != nil {
		t.Fatalf("OTLP exporter: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = otlp.Shutdown(ctx) // nothing listens there; only the goroutines matter

}

func TestRegisterAllNamesTheComponent(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
	if err := RegisterAll(reg, "widget", c); err != nil {
		t.Fatal(err)
	}
	err := RegisterAll(reg, "widget", prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}))
	if err == nil || !strings.Contains(err.Error(), "register widget metrics") || !strings.Contains(err.Error(), "one widget per registry") {
		t.Fatalf("second registration: %v", err)
	}
}

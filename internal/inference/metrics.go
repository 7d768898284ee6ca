package inference

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/telemetry"
	"github.com/logster/logster/internal/window"
)

// metrics are the SPEC §4 series (inferences_run, active_endpoints,
// inference_time_ms) plus the window store's accounting. Label values come
// from fixed sets, never from input.
type metrics struct {
	runs       *prometheus.CounterVec
	active     prometheus.Gauge
	timeMs     prometheus.Histogram
	nodes      prometheus.Histogram
	events     *prometheus.CounterVec // window_events_total by outcome
	dropped    *prometheus.CounterVec // window_events_dropped_total by reason
	evicted    prometheus.Counter
	backlog    prometheus.Gauge
	pubRetries prometheus.Counter
	storeErrs  prometheus.Counter

	outcome [6]prometheus.Counter
	drop    map[string]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inferences_run",
			Help: "Model runs over endpoint windows, by prediction (attack, benign, error) and platform.",
		}, []string{"prediction", "platform"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "active_endpoints",
			Help: "Endpoints with a live window (events not yet evaluated) on this replica.",
		}),
		timeMs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "inference_time_ms",
			Help:    "Time to score one window: graph construction, features and the model's forward pass, in milliseconds.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000},
		}),
		nodes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "inference_graph_nodes",
			Help:    "Nodes of the graphs scored.",
			Buckets: prometheus.ExponentialBuckets(2, 4, 9),
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "window_events_total",
			Help: "Events offered to the window store, by outcome (added, duplicate, late, over_cap, future, invalid).",
		}, []string{"outcome"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "window_events_dropped_total",
			Help: "Events dropped from windows, by reason: late (older than watermark - late tolerance), over_cap (pane full), future (timestamp ahead of the clock), invalid (no usable timestamp), evicted (endpoint evicted at max_endpoints).",
		}, []string{"reason"}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "window_endpoints_evicted_total",
			Help: "Endpoints whose windows were dropped unevaluated because inference.max_endpoints was reached (least recently active first).",
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "inference_backlog",
			Help: "Endpoints with a due window waiting for or in a model run; consumption pauses when it reaches its bound.",
		}),
		pubRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inference_publish_retries_total",
			Help: "Failed attempts to publish an inference result (retried; the window is kept until published).",
		}),
		storeErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "window_store_errors_total",
			Help: "Window store operations that failed (retried).",
		}),
	}
	if err := telemetry.RegisterAll(reg, "inference", m.runs, m.active, m.timeMs, m.nodes, m.events, m.dropped, m.evicted, m.backlog, m.pubRetries, m.storeErrs); err != nil {
		return nil, err
	}
	for o := window.Added; o <= window.Invalid; o++ {
		m.outcome[o] = m.events.WithLabelValues(o.String())
	}
	m.drop = map[string]prometheus.Counter{}
	for _, r := range []string{"late", "over_cap", "future", "invalid", "evicted"} {
		m.drop[r] = m.dropped.WithLabelValues(r)
	}
	for _, p := range []schema.Prediction{schema.PredictionAttack, schema.PredictionBenign, schema.PredictionError} {
		for _, pl := range []schema.Platform{schema.PlatformWindows, schema.PlatformLinux} {
			m.runs.WithLabelValues(string(p), string(pl))
		}
	}
	return m, nil
}

// outcomeSeen counts one Add outcome.
func (m *metrics) outcomeSeen(o window.Outcome) {
	if int(o) < len(m.outcome) {
		m.outcome[o].Inc()
	}
	if o.Dropped() {
		if c := m.drop[o.String()]; c != nil {
			c.Inc()
		}
	}
}

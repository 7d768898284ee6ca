package alerting

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/telemetry"
)

// Inference outcomes (label of alerts_inference_results_total).
const (
	outcomeError       = "error_prediction" // prediction "error": never alerts
	outcomeBelow       = "not_positive"     // benign, or attack below alerts.threshold, without outbound evidence
	outcomeSource      = "source_evidence"  // not positive, kept as a possible lateral-movement source
	outcomeOpened      = "opened"           // opened a new endpoint alert
	outcomeMerged      = "merged"           // merged into the endpoint's open alert
	outcomeLateClosed  = "late_for_closed"  // positive inside a closed alert's span: not re-opened
	outcomeRedelivered = "redelivered"      // already processed: state unchanged
)

type metrics struct {
	created    *prometheus.CounterVec
	dedup      prometheus.Counter
	lateral    prometheus.Counter
	updated    *prometheus.CounterVec
	results    *prometheus.CounterVec
	triage     *prometheus.CounterVec
	stateReset prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alerts_created",
			Help: "New alerts opened, by alert_type (endpoint, lateral_movement).",
		}, []string{"alert_type"}),
		dedup: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deduplicated",
			Help: "Positive inference results merged into an endpoint's open alert instead of opening a new one.",
		}),
		lateral: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lateral_movement_detected",
			Help: "Lateral-movement incidents opened (a chain extended by new hops is not counted again).",
		}),
		updated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alerts_updated",
			Help: "Detection-side updates of existing alerts published (revision incremented), by alert_type.",
		}, []string{"alert_type"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alerts_inference_results_total",
			Help: "Inference results handled by the alerts engine, by outcome.",
		}, []string{"outcome"}),
		triage: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "alerts_triage_applied_total",
			Help: "Analyst changes from the API applied to dedup/correlation state, by alert_type and resulting status.",
		}, []string{"alert_type", "status"}),
		stateReset: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "alerts_state_corrupt_total",
			Help: "State documents that could not be decoded and were started afresh.",
		}),
	}
	// Export the SPEC metrics at zero from the start: a dashboard or an
	// alert rule must see alerts_created before the first alert.
	for _, k := range []schema.AlertKind{schema.AlertKindEndpoint, schema.AlertKindLateralMovement} {
		m.created.WithLabelValues(string(k))
		m.updated.WithLabelValues(string(k))
	}
	if reg == nil {
		return m, nil
	}
	if err := telemetry.RegisterAll(reg, "alerts engine", m.created, m.dedup, m.lateral, m.updated, m.results, m.triage, m.stateReset); err != nil {
		return nil, err
	}
	return m, nil
}

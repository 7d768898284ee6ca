package normalize

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/telemetry"
)

// metrics are the SPEC §4 counters. Label values come from fixed sets
// (Sources, Reasons), never from input, so cardinality is bounded. The
// counters are resolved once per label pair up front: WithLabelValues on
// the hot path costs a hash and a lock per call.
type metrics struct {
	rawVec, normVec, errVec *prometheus.CounterVec

	raw1  map[Source]prometheus.Counter
	norm1 map[Source]prometheus.Counter
	err1  map[Source]map[Reason]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rawVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "raw_events_total",
			Help: "Raw records read from the raw topics, by detected source format.",
		}, []string{"source"}),
		normVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "normalized_events_total",
			Help: "NormalizedEvents produced, by source format.",
		}, []string{"source"}),
		errVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parse_errors",
			Help: "Raw records (or auditd events) that produced no event, by source format and reason. A rising count means a shipper changed its format.",
		}, []string{"source", "reason"}),
	}
	if reg != nil {
		if err := telemetry.RegisterAll(reg, "normalizer", m.rawVec, m.normVec, m.errVec); err != nil {
			return nil, err
		}
	}
	all := append([]Source{SourceUnknown}, Sources...)
	m.raw1 = make(map[Source]prometheus.Counter, len(all))
	m.norm1 = make(map[Source]prometheus.Counter, len(all))
	m.err1 = make(map[Source]map[Reason]prometheus.Counter, len(all))
	for _, s := range all {
		m.raw1[s] = m.rawVec.WithLabelValues(string(s))
		m.norm1[s] = m.normVec.WithLabelValues(string(s))
		rs := make(map[Reason]prometheus.Counter, len(Reasons))
		for _, r := range Reasons {
			rs[r] = m.errVec.WithLabelValues(string(s), string(r))
		}
		m.err1[s] = rs
	}
	return m, nil
}

func (m *metrics) raw(s Source) {
	if c, ok := m.raw1[s]; ok {
		c.Inc()
	}
}

func (m *metrics) normalized(s Source) {
	if c, ok := m.norm1[s]; ok {
		c.Inc()
	}
}

func (m *metrics) errorf(s Source, r Reason) {
	if rs, ok := m.err1[s]; ok {
		if c, ok := rs[r]; ok {
			c.Inc()
		}
	}
}

package config

// Alerts configures thresholding, de-duplication and correlation.
type Alerts struct {
	// Threshold: an attack prediction opens/updates an alert only when
	// attack_prob >= Threshold.
	Threshold float64 `yaml:"threshold"`
	// DedupWindow: positives for an endpoint within this time of its open
	// alert's last_seen merge into it.
	DedupWindow Duration `yaml:"dedup_window"`
	// CorrelationWindow: positives on different endpoints of a tenant closer
	// than this may be linked into a lateral-movement alert.
	CorrelationWindow Duration `yaml:"correlation_window"`
	// State is memory (standalone, single replica) or redis (replicas).
	State string `yaml:"state"`
	// StateTTL is how long dedup and correlation state outlives its last
	// update (Redis key expiry; the memory store expires on the same rule).
	// It must cover both windows, or an open alert could be forgotten while
	// positives are still merging into it.
	StateTTL Duration `yaml:"state_ttl"`
}

func defaultAlerts() Alerts {
	return Alerts{
		Threshold:         0.5,
		DedupWindow:       Duration(60 * 60e9),
		CorrelationWindow: Duration(30 * 60e9),
		State:             "memory",
		StateTTL:          Duration(24 * 60 * 60e9),
	}
}

func (a *Alerts) validate(es *errs) {
	if a.Threshold <= 0 || a.Threshold > 1 {
		es.add("alerts.threshold", "must be in (0,1] (got %g)", a.Threshold)
	}
	if a.DedupWindow <= 0 {
		es.add("alerts.dedup_window", "must be positive")
	}
	if a.CorrelationWindow <= 0 {
		es.add("alerts.correlation_window", "must be positive")
	}
	if a.State != "memory" && a.State != "redis" {
		es.add("alerts.state", "%q is not memory or redis", a.State)
	}
	if a.StateTTL < a.DedupWindow || a.StateTTL < a.CorrelationWindow || a.StateTTL <= 0 {
		es.add("alerts.state_ttl", "must be positive and at least alerts.dedup_window (%s) and alerts.correlation_window (%s) (got %s)",
			a.DedupWindow, a.CorrelationWindow, a.StateTTL)
	}
}

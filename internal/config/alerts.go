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
}

func defaultAlerts() Alerts {
	return Alerts{
		Threshold:         0.5,
		DedupWindow:       Duration(60 * 60e9),
		CorrelationWindow: Duration(30 * 60e9),
		State:             "memory",
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
}

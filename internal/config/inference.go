package config

// Inference configures per-endpoint windows and model runs.
type Inference struct {
	// Window is the length of an endpoint window in event time.
	Window Duration `yaml:"window"`
	// Interval is the stride between consecutive windows of one endpoint.
	Interval Duration `yaml:"interval"`
	// IdleTimeout evaluates a window on wall-clock time when an endpoint
	// stops sending events before its event time passes the window end.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// LateTolerance: events up to this much older than the endpoint's
	// watermark still join their window; older ones are counted and dropped.
	LateTolerance Duration `yaml:"late_tolerance"`
	// MaxEventsPerWindow caps the events kept per endpoint window.
	MaxEventsPerWindow int `yaml:"max_events_per_window"`
	// MaxEndpoints caps endpoints with live windows per replica.
	MaxEndpoints int `yaml:"max_endpoints"`
	// Store is memory (standalone) or redis.
	Store string `yaml:"store"`
	// Threshold is the attack probability above which a window is
	// predicted "attack"; 0 means use the threshold in the model file.
	Threshold float64 `yaml:"threshold"`
	// Workers is the number of concurrent model runs (0 = number of CPUs).
	Workers int `yaml:"workers"`
}

func defaultInference() Inference {
	return Inference{
		Window:             Duration(3 * 60e9),
		Interval:           Duration(60e9),
		IdleTimeout:        Duration(30e9),
		LateTolerance:      Duration(30e9),
		MaxEventsPerWindow: 20000,
		MaxEndpoints:       50000,
		Store:              "memory",
	}
}

func (c *Inference) validate(es *errs) {
	if c.Window <= 0 {
		es.add("inference.window", "must be positive (got %s)", c.Window)
	}
	if c.Interval <= 0 {
		es.add("inference.interval", "must be positive (got %s)", c.Interval)
	} else if c.Interval > c.Window {
		es.add("inference.interval", "must not exceed inference.window (%s > %s): events between windows would never be scored", c.Interval, c.Window)
	}
	if c.IdleTimeout <= 0 {
		es.add("inference.idle_timeout", "must be positive")
	}
	if c.LateTolerance < 0 {
		es.add("inference.late_tolerance", "must not be negative")
	}
	if c.MaxEventsPerWindow < 10 {
		es.add("inference.max_events_per_window", "must be at least 10 (got %d)", c.MaxEventsPerWindow)
	}
	if c.MaxEndpoints < 1 {
		es.add("inference.max_endpoints", "must be at least 1 (got %d)", c.MaxEndpoints)
	}
	if c.Store != "memory" && c.Store != "redis" {
		es.add("inference.store", "%q is not memory or redis", c.Store)
	}
	if c.Threshold < 0 || c.Threshold >= 1 {
		es.add("inference.threshold", "must be in [0,1) (0 = model's own threshold), got %g", c.Threshold)
	}
	if c.Workers < 0 {
		es.add("inference.workers", "must not be negative")
	}
}

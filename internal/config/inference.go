package config

// Inference configures per-endpoint windows and model runs.
type Inference struct {
	// Window is the length of an endpoint window in event time.
	Window Duration `yaml:"window"`
	// Interval is the stride between consecutive windows of one endpoint:
	// a window closes every interval of event time. It must divide Window.
	// The default 1m with a 3m window means any activity lasting up to
	// window - interval = 2m lies wholly inside some window (the attack
	// recordings in the lab data last 1-6 minutes, median under 2), and a
	// result follows an event within about one interval; the price is that
	// each event is scored window/interval = 3 times.
	Interval Duration `yaml:"interval"`
	// IdleTimeout: an endpoint silent this long is idle, and from then on
	// its event time is taken to advance with the clock, so its windows
	// close as they would have with traffic. Silence is measured on its
	// partition's Kafka log time (advancing with the wall clock only while
	// the partition delivers nothing), so a lagging consumer's backlog is
	// not mistaken for silence.
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
	// StateTTL is how long an endpoint's window state outlives its last
	// event in the store (Redis key TTL): idle endpoints vanish, and a
	// restart shorter than this resumes every open window.
	StateTTL Duration `yaml:"state_ttl"`
}

func defaultInference() Inference {
	return Inference{
		Window:             Duration(3 * 60e9),
		Interval:           Duration(60e9),
		IdleTimeout:        Duration(30e9),
		LateTolerance:      Duration(3 * 60e9),
		MaxEventsPerWindow: 20000,
		MaxEndpoints:       50000,
		Store:              "memory",
		StateTTL:           Duration(30 * 60e9),
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
	} else if c.Interval < Duration(1e9) {
		es.add("inference.interval", "must be at least 1s (got %s)", c.Interval)
	} else if c.Window > 0 && c.Window%c.Interval != 0 {
		es.add("inference.interval", "must divide inference.window (%s is not a multiple of %s): windows are made of whole interval-long panes", c.Window, c.Interval)
	} else if c.Window/c.Interval > 1024 {
		es.add("inference.interval", "too small for inference.window (%s / %s > 1024 panes per window)", c.Window, c.Interval)
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
	if minTTL := c.Window + c.LateTolerance + c.IdleTimeout; c.StateTTL < minTTL {
		es.add("inference.state_ttl", "must be at least window + late_tolerance + idle_timeout (%s), or a quiet endpoint's last windows expire before they are scored (got %s)", minTTL, c.StateTTL)
	}
}

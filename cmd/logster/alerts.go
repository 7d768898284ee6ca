package main

import (
	"context"

	"github.com/logster/logster/internal/alerting"
	"github.com/logster/logster/internal/component"
	"github.com/logster/logster/internal/telemetry"
)

func init() {
	registerService(serviceSpec{
		name:        "alerts",
		summary:     "run the alerts service (logster-inference-results -> logster-alerts; metrics on :9103)",
		metricsPort: telemetry.PortAlerts,
		build: func(_ context.Context, env serviceEnv) (component.Component, error) {
			svc, err := alerting.New(env.cfg, alerting.Deps{Log: env.log, Registerer: env.sreg, Tracer: env.tracer})
			if err != nil {
				return nil, err
			}
			env.health.Add("alert_state", svc.Check)
			env.log.Info("alerts configuration", "state", env.cfg.Alerts.State, "threshold", env.cfg.Alerts.Threshold,
				"dedup_window", env.cfg.Alerts.DedupWindow.String(), "correlation_window", env.cfg.Alerts.CorrelationWindow.String())
			return svc, nil
		},
	})
}

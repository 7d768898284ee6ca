package main

import (
	"context"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/component"
	"github.com/logster/logster/internal/inference"
	"github.com/logster/logster/internal/telemetry"
)

// The inference service loads both models before connecting to anything: a
// missing, corrupt or mismatched model file ends the process with exit code
// 1 and a message naming the config key, the file and the problem.
func init() {
	registerService(serviceSpec{
		name:        "inference",
		summary:     "run the inference service (normalized-endpoint-events -> logster-inference-results; metrics on :9102)",
		metricsPort: telemetry.PortInference,
		build: func(_ context.Context, env serviceEnv) (component.Component, error) {
			svc, err := inference.NewService(env.cfg, env.log, env.sreg, inference.WithConsumerConfig(func(cc *bus.ConsumerConfig) {
				cc.Tracer = env.tracer
			}))
			if err != nil {
				return nil, err
			}
			env.health.Add("window_store", svc.Healthy)
			return svc, nil
		},
	})
}

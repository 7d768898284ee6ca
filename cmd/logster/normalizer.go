package main

import (
	"context"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/component"
	"github.com/logster/logster/internal/normalize"
	"github.com/logster/logster/internal/telemetry"
)

func init() {
	registerService(serviceSpec{
		name:        "normalizer",
		summary:     "run the normalizer service (raw topics -> normalized-endpoint-events; metrics on :9101)",
		metricsPort: telemetry.PortNormalizer,
		build: func(_ context.Context, env serviceEnv) (component.Component, error) {
			return normalize.NewService(env.cfg, env.log, env.sreg, normalize.WithConsumerConfig(func(cc *bus.ConsumerConfig) {
				cc.Tracer = env.tracer
			}))
		},
	})
}

package main

import (
	"context"

	"github.com/logster/logster/internal/api"
	"github.com/logster/logster/internal/component"
)

func init() {
	registerService(serviceSpec{
		name:    "api",
		summary: "run the REST API (alerts, triage, feedback; api.host:api.port, default :8080)",
		// The API serves /metrics on its own port.
		build: func(ctx context.Context, env serviceEnv) (component.Component, error) {
			return api.NewService(ctx, env.cfg, api.ServiceOptions{
				Log:        env.log,
				Registerer: env.sreg,
				Gatherer:   env.reg,
				Tracer:     env.tracer,
			})
		},
	})
}

package inference

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/logster/logster/internal/attack"
	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/gnn"
	"github.com/logster/logster/internal/graph"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/window"
)

// MinNodes is the smallest graph the service scores (SPEC §3): smaller
// graphs get prediction "error" instead of a guess.
const MinNodes = 3

// windowIdentity picks the platform (the majority of the events; ties go to
// the first event's) and the hostname (the latest event's) of a window.
func windowIdentity(evs []*schema.NormalizedEvent) (schema.Platform, string) {
	if len(evs) == 0 {
		return "", ""
	}
	win, lin := 0, 0
	for _, e := range evs {
		switch e.Platform {
		case schema.PlatformWindows:
			win++
		case schema.PlatformLinux:
			lin++
		}
	}
	p := evs[0].Platform
	switch {
	case win > lin:
		p = schema.PlatformWindows
	case lin > win:
		p = schema.PlatformLinux
	}
	return p, evs[len(evs)-1].Hostname
}

// evaluate scores one window with the service's models and records the
// run in the metrics. It never fails: a window that cannot be scored yields
// prediction "error" with the reason.
func (s *Service) evaluate(ctx context.Context, win *window.Window) *schema.InferenceResult {
	platform, _ := windowIdentity(win.Events)
	res := Score(s.models.forPlatform(platform), s.versions[platform], s.threshold, win, s.clock.Now())
	s.m.runs.WithLabelValues(string(res.Prediction), string(res.Platform)).Inc()
	if res.Prediction != schema.PredictionError {
		s.m.timeMs.Observe(res.InferenceTimeMs)
		s.m.nodes.Observe(float64(res.NumNodes))
	}
	trace.SpanFromContext(ctx).SetAttributes(
		attribute.Int("logster.graph.nodes", res.NumNodes),
		attribute.Int("logster.graph.edges", res.NumEdges),
		attribute.Float64("logster.attack_prob", res.AttackProb),
	)
	return res
}

// Score runs the whole per-window path — evidence extraction, graph
// construction, the model, thresholding, explanation — and returns the
// InferenceResult. The service and offline evaluation (`logster eval`) both
// call it, so a model is measured exactly as it runs in production.
// threshold overrides the model's own when > 0; model may be nil (no model
// for the window's platform: prediction "error").
func Score(model *gnn.Model, modelVersion string, threshold float64, win *window.Window, now time.Time) *schema.InferenceResult {
	platform, host := windowIdentity(win.Events)
	res := &schema.InferenceResult{
		SchemaVersion:        schema.Version,
		TenantID:             win.Key.Tenant,
		EndpointID:           win.Key.Endpoint,
		Hostname:             host,
		Platform:             platform,
		WindowStart:          win.Start,
		WindowEnd:            win.End,
		NumEvents:            len(win.Events),
		DroppedEvents:        win.Dropped,
		ContributingEventIDs: []string{},
		CreatedAt:            float64(now.UnixMilli()) / 1e3,
		ModelVersion:         modelVersion,
	}
	res.InferenceID = schema.InferenceID(res.TenantID, res.EndpointID, res.WindowStart, res.WindowEnd, res.ModelVersion)
	if model == nil {
		return fail(res, fmt.Sprintf("no model for platform %q", platform))
	}
	res.Threshold = model.Config().Threshold
	if threshold > 0 {
		res.Threshold = threshold
	}
	res.Evidence = attack.Extract(win.Events)

	start := time.Now()
	g, err := graph.Build(platform, win.Start, win.End, win.Events)
	if err != nil {
		return fail(res, fmt.Sprintf("build graph: %v", err))
	}
	res.NumNodes, res.NumEdges = g.NumNodes(), g.NumEdges()
	if res.NumNodes < MinNodes {
		res.InferenceTimeMs = ms(time.Since(start))
		res.ContributingEventIDs = firstIDs(win.Events, graph.MaxContributing)
		return fail(res, fmt.Sprintf("graph has %d nodes; at least %d are needed to score a window", res.NumNodes, MinNodes))
	}
	out, err := model.Forward(g.Input())
	res.InferenceTimeMs = ms(time.Since(start))
	if err != nil {
		return fail(res, fmt.Sprintf("model: %v", err))
	}
	p := float64(out.Probs[1])
	res.AttackProb = p
	if p >= res.Threshold {
		res.Prediction, res.Confidence = schema.PredictionAttack, p
	} else {
		res.Prediction, res.Confidence = schema.PredictionBenign, 1-p
	}
	res.Explanation, res.ContributingEventIDs = g.Explain(out)
	if res.ContributingEventIDs == nil {
		res.ContributingEventIDs = []string{}
	}
	return res
}

func fail(res *schema.InferenceResult, reason string) *schema.InferenceResult {
	res.Prediction = schema.PredictionError
	res.Error = reason
	res.AttackProb, res.Confidence = 0, 0
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

func firstIDs(evs []*schema.NormalizedEvent, n int) []string {
	out := make([]string, 0, min(n, len(evs)))
	for _, e := range evs[:min(n, len(evs))] {
		out = append(out, e.EventID)
	}
	return out
}

// publish sends a result and waits for the brokers' acknowledgement,
// retrying until it succeeds, the service stops or the endpoint is revoked
// (its new owner evaluates the window again). It reports success.
func (s *Service) publish(ctx context.Context, ep *endpoint, res *schema.InferenceResult) bool {
	ctx, span := s.tracer.Start(ctx, "publish inference "+bus.TopicInferenceResults,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("logster.endpoint", res.Key()),
			attribute.String("logster.inference_id", res.InferenceID),
			attribute.String("logster.prediction", string(res.Prediction)),
		))
	defer span.End()
	b, err := json.Marshal(res)
	if err != nil {
		// Cannot happen for this struct; never publish half a result.
		span.SetStatus(codes.Error, err.Error())
		s.log.Error("encoding inference result", "endpoint", res.Key(), "err", err)
		return false
	}
	backoff := 100 * time.Millisecond
	for {
		err := s.pub.Produce(ctx, bus.NewRecord(bus.TopicInferenceResults, res.Key(), b))
		if err == nil {
			return true
		}
		s.m.pubRetries.Inc()
		s.limiter.Log(s.log, slog.LevelWarn, "publish", "publishing inference result failed; retrying",
			"endpoint", res.Key(), "inference_id", res.InferenceID, "err", err)
		s.mu.Lock()
		revoked := ep.revoked
		s.mu.Unlock()
		if revoked || ctx.Err() != nil {
			span.SetStatus(codes.Error, "abandoned: "+err.Error())
			return false
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

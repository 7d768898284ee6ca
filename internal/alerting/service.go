package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

// ConsumerName is the consumer's name: group <kafka.group_id>-alerts.
const ConsumerName = "alerts"

// RecordKey returns the Kafka key of an alert on logster-alerts. Endpoint
// alerts use tenant:endpoint like every processed topic, so an endpoint's
// updates stay in order. A lateral-movement incident spans endpoints, so it
// is keyed by itself — tenant:incident:<alert_id> — which keeps all of one
// incident's revisions on one partition, in order.
func RecordKey(a *schema.Alert) string {
	if a.Kind == schema.AlertKindLateralMovement {
		return schema.EndpointKey(a.TenantID, "incident:"+a.AlertID)
	}
	return a.Key()
}

// Records encodes alerts as logster-alerts records.
func Records(alerts []*schema.Alert) ([]*kgo.Record, error) {
	recs := make([]*kgo.Record, 0, len(alerts))
	for _, a := range alerts {
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encode alert %s: %w", a.AlertID, err)
		}
		recs = append(recs, bus.NewRecord(bus.TopicAlerts, RecordKey(a), b))
	}
	return recs, nil
}

// Handler is the thin Kafka layer over the Engine: it decodes records,
// hands them to the engine and encodes what it decides.
type Handler struct {
	Engine *Engine
	Log    *slog.Logger
}

// Handle implements bus.Handler for both consumed topics.
func (h *Handler) Handle(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error) {
	switch rec.Topic {
	case bus.TopicInferenceResults:
		r, err := schema.DecodeInference(rec.Value)
		if err != nil {
			return nil, bus.Permanent(fmt.Errorf("alerts: %w", err))
		}
		alerts, err := h.Engine.Process(ctx, r)
		if err != nil {
			return nil, err
		}
		return Records(alerts)
	case bus.TopicAlerts:
		if bus.Header(rec, bus.HeaderOrigin) != bus.OriginAPI {
			return nil, nil // our own output coming back
		}
		a, err := schema.DecodeAlert(rec.Value)
		if err != nil {
			return nil, bus.Permanent(fmt.Errorf("alerts: triage record: %w", err))
		}
		return nil, h.Engine.ApplyTriage(ctx, a)
	default:
		return nil, bus.Permanent(fmt.Errorf("alerts: unexpected topic %q", rec.Topic))
	}
}

// Deps are the parts a Service shares with the rest of the process.
type Deps struct {
	Log        *slog.Logger
	Registerer prometheus.Registerer
	// Producer publishes alerts; nil lets the consumer create its own.
	Producer *bus.Producer
	Tracer   trace.TracerProvider
	// State overrides alerts.state (tests, standalone wiring); the Service
	// then does not close it.
	State State
	Now   func() time.Time
}

// Service is the alerts service: one consumer-group member reading
// logster-inference-results (and the API's triage changes on
// logster-alerts) and publishing alerts to logster-alerts.
type Service struct {
	consumer *bus.Consumer
	state    State
	ownState bool
	engine   *Engine
}

// New builds the service from the configuration. With alerts.state: redis it
// connects to Redis now, so a wrong address fails at startup.
func New(cfg *config.Config, d Deps) (*Service, error) {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, own := d.State, false
	if st == nil {
		switch cfg.Alerts.State {
		case "redis":
			rs, err := OpenRedisState(context.Background(), cfg.Redis)
			if err != nil {
				return nil, err
			}
			st, own = rs, true
		default:
			st, own = NewMemoryState(nil), true
		}
	}
	ecfg := ConfigFrom(cfg.Alerts, cfg.Redis)
	ecfg.Now = d.Now
	eng, err := NewEngine(ecfg, st, d.Registerer, log)
	if err != nil {
		if own {
			_ = st.Close()
		}
		return nil, err
	}
	c, err := bus.NewConsumer(bus.ConsumerConfig{
		Name:     ConsumerName,
		Topics:   []string{bus.TopicInferenceResults, bus.TopicAlerts},
		Kafka:    cfg.Kafka,
		Producer: d.Producer,
		Tracer:   d.Tracer,
	}, &Handler{Engine: eng, Log: log}, log, d.Registerer)
	if err != nil {
		if own {
			_ = st.Close()
		}
		return nil, fmt.Errorf("alerts consumer: %w", err)
	}
	return &Service{consumer: c, state: st, ownState: own, engine: eng}, nil
}

// Engine returns the service's decision engine.
func (s *Service) Engine() *Engine { return s.engine }

// Check reports whether the state store answers (for /healthz).
func (s *Service) Check(ctx context.Context) error {
	if p, ok := s.state.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}

// Start implements component.Component.
func (s *Service) Start(ctx context.Context) error { return s.consumer.Start(ctx) }

// Shutdown stops consuming (committing what was processed) and closes the
// state store if the service opened it.
func (s *Service) Shutdown(ctx context.Context) error {
	err := s.consumer.Shutdown(ctx)
	if s.ownState {
		err = errors.Join(err, s.state.Close())
	}
	return err
}

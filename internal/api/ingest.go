package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

// IngestHandler applies records from logster-alerts to the store. It is a
// bus.Handler: it returns an error for transient store failures (the record
// is retried, its offset not committed) and a bus.Permanent error for a
// record that can never be stored (counted, dead-lettered, skipped).
type IngestHandler struct {
	store store.Store
	log   *slog.Logger
	m     *ingestMetrics
}

type ingestMetrics struct {
	records *prometheus.CounterVec
}

// NewIngestHandler returns the handler; reg may be nil.
func NewIngestHandler(st store.Store, log *slog.Logger, reg prometheus.Registerer) (*IngestHandler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &ingestMetrics{records: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "api_alerts_ingested_total",
		Help: "Records from logster-alerts by outcome: created, updated, unchanged (redelivery, stale revision or the API's own echo), invalid.",
	}, []string{"result", "origin"})}
	if reg != nil {
		m.records = reuse(reg, m.records, log)
	}
	return &IngestHandler{store: st, log: log, m: m}, nil
}

// Handle implements bus.Handler.
func (h *IngestHandler) Handle(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error) {
	origin := "detection"
	if bus.Header(rec, bus.HeaderOrigin) == bus.OriginAPI {
		origin = bus.OriginAPI
	}
	a, err := schema.DecodeAlert(rec.Value)
	if err != nil {
		h.m.records.WithLabelValues("invalid", origin).Inc()
		return nil, bus.Permanent(fmt.Errorf("ingest alert: %w", err))
	}
	res, err := h.store.IngestAlert(ctx, a)
	if errors.Is(err, store.ErrInvalid) {
		h.m.records.WithLabelValues("invalid", origin).Inc()
		return nil, bus.Permanent(fmt.Errorf("ingest alert: %w", err))
	}
	if err != nil {
		return nil, fmt.Errorf("ingest alert %s: %w", a.AlertID, err)
	}
	h.m.records.WithLabelValues(res.String(), origin).Inc()
	if res != store.Unchanged {
		h.log.Debug("alert ingested", "alert_id", a.AlertID, "tenant_id", a.TenantID, "revision", a.Revision, "result", res.String(), "origin", origin)
	}
	return nil, nil
}

// Ingest is the component consuming logster-alerts into the store. Replicas
// sharing PostgreSQL share the consumer group <kafka.group_id>-api, so each
// record is applied by one of them; a rebalance may deliver a record twice,
// which the merge rules make harmless.
type Ingest struct {
	*bus.Consumer
}

// IngestConfig configures the consumer.
type IngestConfig struct {
	Kafka config.Kafka
	// Group overrides the consumer group (default <kafka.group_id>-api).
	Group string
	// Producer, when set, is shared for dead letters (else the consumer
	// owns one).
	Producer *bus.Producer
	// Tracer continues the trace of each record; nil disables tracing.
	Tracer trace.TracerProvider
}

// NewIngest creates the consumer; it joins its group on Start.
func NewIngest(ic IngestConfig, st store.Store, log *slog.Logger, reg prometheus.Registerer) (*Ingest, error) {
	h, err := NewIngestHandler(st, log, reg)
	if err != nil {
		return nil, err
	}
	c, err := bus.NewConsumer(bus.ConsumerConfig{
		Name: "api", Group: ic.Group, Topics: []string{bus.TopicAlerts}, Kafka: ic.Kafka,
		Producer: ic.Producer, Tracer: ic.Tracer,
	}, h, log, reg)
	if err != nil {
		return nil, fmt.Errorf("api ingest consumer: %w", err)
	}
	return &Ingest{Consumer: c}, nil
}

// Publisher publishes triage changes to logster-alerts, keyed like every
// alert (tenant_id:endpoint_id) so they stay ordered with detection records
// of the same endpoint.
type Publisher struct {
	P *bus.Producer
}

// PublishAlert implements AlertPublisher; it waits for the broker's ack.
func (p *Publisher) PublishAlert(ctx context.Context, a *schema.Alert) error {
	rec, err := TriageRecord(a)
	if err != nil {
		return err
	}
	return p.P.Produce(ctx, rec)
}

// TriageRecord is the logster-alerts record for an analyst's change.
func TriageRecord(a *schema.Alert) (*kgo.Record, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode alert %s: %w", a.AlertID, err)
	}
	rec := bus.NewRecord(bus.TopicAlerts, a.Key(), b)
	bus.SetHeader(rec, bus.HeaderOrigin, bus.OriginAPI)
	return rec, nil
}

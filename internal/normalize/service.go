package normalize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/telemetry"
)

// Service is the normalizer service (`logster normalizer`): a consumer of
// the five raw topics whose handler turns each raw record into zero or more
// NormalizedEvents on normalized-endpoint-events, keyed tenant_id:endpoint_id.
// It is stateless apart from the auditd assembler (assembler.go), whose
// pending events are flushed on a timer, and whose lines are not committed
// until their event is produced.
type Service struct {
	cfg     *config.Config
	log     *slog.Logger
	reg     prometheus.Registerer
	n       *Normalizer
	asm     *AuditAssembler
	limiter *telemetry.LogLimiter

	prod     *bus.Producer
	cons     *bus.Consumer
	consOpts []func(*bus.ConsumerConfig)

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
	stopped bool
}

// ServiceOption configures a Service.
type ServiceOption func(*Service)

// WithConsumerConfig adjusts the consumer configuration (tests, tracing).
func WithConsumerConfig(f func(*bus.ConsumerConfig)) ServiceOption {
	return func(s *Service) { s.consOpts = append(s.consOpts, f) }
}

// NewService builds the normalizer service from the configuration. reg
// receives the normalizer's and the Kafka clients' metrics.
func NewService(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer, opts ...ServiceOption) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	n, err := New(cfg.Normalizer, reg, WithLogger(log))
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: log, reg: reg, n: n, limiter: telemetry.NewLogLimiter(10 * time.Second)}
	if w := cfg.Normalizer.AuditdAssemblyWindow.D(); w > 0 {
		s.asm = NewAuditAssembler(w, cfg.Normalizer.AuditdMaxPending)
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Normalizer exposes the service's normalizer (tests, standalone).
func (s *Service) Normalizer() *Normalizer { return s.n }

// Handler returns the record handler (used by Start; exposed so the
// standalone mode and tests can drive it directly).
func (s *Service) Handler() bus.Handler { return bus.HandlerFunc(s.handle) }

// handle normalizes one raw record. A record that yields no event because
// it is malformed is returned as bus.Permanent (the runner counts it, logs
// it with topic/partition/offset and dead-letters it when configured); an
// unknown event type is expected traffic and is only counted.
func (s *Service) handle(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error) {
	in := Input{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Value: rec.Value, Key: rec.Key}
	if rec.Topic == bus.TopicAuditd {
		in.Audit = s.asm
	}
	var (
		outs   []*kgo.Record
		firstE *ParseError
		nErr   int
	)
	s.n.Normalize(in, func(ev *schema.NormalizedEvent, perr *ParseError) {
		if ev != nil {
			outs = append(outs, encodeRecord(ev))
			return
		}
		if perr.Reason == ReasonUnknownType || perr.Reason == ReasonPartialEvent {
			return
		}
		nErr++
		if firstE == nil {
			firstE = perr
		}
	})
	if firstE == nil {
		return outs, nil
	}
	if len(outs) == 0 {
		return nil, bus.Permanent(fmt.Errorf("normalize record: %w", firstE))
	}
	// A batch (several audit lines) with some bad lines: publish what was
	// good, log the rest.
	s.limiter.Log(s.log, slog.LevelWarn, "partial:"+string(firstE.Reason), "raw record partly malformed",
		"topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset,
		"errors", nErr, "reason", string(firstE.Reason), "err", firstE.Err)
	return outs, nil
}

// encodeRecord writes ev to a record keyed tenant_id:endpoint_id.
func encodeRecord(ev *schema.NormalizedEvent) *kgo.Record {
	return bus.NewRecord(bus.TopicNormalized, ev.Key(), AppendEvent(make([]byte, 0, 1024), ev))
}

// Start joins the consumer group and starts the assembler flusher. It
// returns once the components are started.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("normalizer: already started")
	}
	prod, err := bus.NewProducer(s.cfg.Kafka, "normalizer", s.log, s.reg)
	if err != nil {
		return fmt.Errorf("normalizer: create producer: %w", err)
	}
	cc := bus.ConsumerConfig{Name: "normalizer", Topics: bus.RawTopics, Kafka: s.cfg.Kafka, Producer: prod}
	if s.asm != nil {
		// Lines waiting for the rest of their audit event keep their
		// partition's commit below them; a partition taken away drops
		// them (the new owner re-reads them).
		cc.HeldFrom = s.asm.HeldFrom
		cc.OnDelivered = s.asm.Acked
		cc.OnRevoked = func(_ context.Context, revoked map[string][]int32) { s.asm.DropPartitions(revoked) }
	}
	for _, f := range s.consOpts {
		f(&cc)
	}
	cons, err := bus.NewConsumer(cc, s.Handler(), s.log, s.reg)
	if err != nil {
		prod.Shutdown(ctx)
		return fmt.Errorf("normalizer: create consumer: %w", err)
	}
	if err := cons.Start(ctx); err != nil {
		prod.Shutdown(ctx)
		return fmt.Errorf("normalizer: start consumer: %w", err)
	}
	s.prod, s.cons = prod, cons
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.done = make(chan struct{})
	s.started = true
	go s.flushLoop(fctx)
	s.log.Info("normalizer started", "topics", bus.RawTopics, "auditd_assembly_window", s.cfg.Normalizer.AuditdAssemblyWindow.String())
	return nil
}

// flushLoop emits audit events whose assembly window has passed.
func (s *Service) flushLoop(ctx context.Context) {
	defer close(s.done)
	if s.asm == nil {
		<-ctx.Done()
		return
	}
	tick := max(s.asm.window/4, 50*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.flush(ctx, now, false)
		}
	}
}

// flush produces the audit events the assembler releases, retrying until
// the brokers acknowledge them or ctx ends.
func (s *Service) flush(ctx context.Context, now time.Time, all bool) {
	var recs []*kgo.Record
	release := s.n.FlushAudit(s.asm, now, all, func(ev *schema.NormalizedEvent, perr *ParseError) {
		if ev != nil {
			recs = append(recs, encodeRecord(ev))
		}
	})
	backoff := 100 * time.Millisecond
	for {
		if len(recs) == 0 {
			release()
			return
		}
		err := s.prod.Produce(ctx, recs...)
		if err == nil {
			release()
			return
		}
		if errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) {
			// Retrying cannot help; holding them would pin the partition
			// forever. Counted and logged, then let go.
			s.n.fail(nil, &ParseError{Reason: ReasonOversized, Source: SourceAuditd, Err: err})
			s.log.Error("assembled audit events too large for the broker; dropped", "events", len(recs), "err", err)
			release()
			return
		}
		s.limiter.Log(s.log, slog.LevelWarn, "flush", "producing assembled audit events failed; retrying", "events", len(recs), "err", err)
		select {
		case <-ctx.Done():
			// Not released: their lines stay uncommitted and are re-read.
			s.log.Warn("assembled audit events not produced before shutdown; their lines will be read again", "events", len(recs))
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Shutdown stops consuming (committing what was handled, below any audit
// lines still being assembled) and closes the producer. It is safe
// without Start and more than once.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.stopped {
		return nil
	}
	s.stopped = true
	var errs []error
	if err := s.cons.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("normalizer: stop consumer: %w", err))
	}
	// Pending audit events are not flushed: leaving the group dropped
	// them (DropPartitions) and their lines stay uncommitted, so the next
	// owner assembles them whole instead of this run emitting them cut.
	s.cancel()
	<-s.done
	if err := s.prod.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("normalizer: close producer: %w", err))
	}
	return errors.Join(errs...)
}

package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/telemetry"
)

// Producer publishes records with idempotence and acks from all in-sync
// replicas (franz-go's defaults, stated explicitly here so nobody weakens
// them by accident). Records with the same key go to the same partition,
// so one endpoint's records stay ordered.
type Producer struct {
	cl  *kgo.Client
	log *slog.Logger

	produced *prometheus.CounterVec
	failed   *prometheus.CounterVec

	closeOnce sync.Once
}

// NewProducer creates a producer named name (used in the client id and in
// metric labels). It connects lazily on first use.
func NewProducer(k config.Kafka, name string, log *slog.Logger, reg prometheus.Registerer) (*Producer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	opts, err := ClientOpts(k, name+"-producer")
	if err != nil {
		return nil, err
	}
	creg := prometheus.WrapRegistererWith(prometheus.Labels{"client": name + "-producer"}, reg)
	opts = append(opts,
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond),
		// Bounded buffer: when the brokers are slow, Produce blocks instead
		// of growing memory (back-pressure to the consumer loop).
		kgo.MaxBufferedRecords(10_000),
		kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()),
		kgo.WithLogger(kgoLogger{log}),
		kgo.WithHooks(kprom.NewMetrics("kafka", kprom.Registerer(creg))),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("create kafka producer %s: %w", name, err)
	}
	p := &Producer{
		cl:  cl,
		log: log,
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_records_produced_total", Help: "Records acknowledged by the brokers, by topic.",
		}, []string{"topic"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_produce_errors_total", Help: "Records the brokers did not acknowledge, by topic.",
		}, []string{"topic"}),
	}
	preg := prometheus.WrapRegistererWith(prometheus.Labels{"producer": name}, reg)
	if err := telemetry.RegisterAll(preg, "kafka producer", p.produced, p.failed); err != nil {
		cl.Close()
		return nil, err
	}
	return p, nil
}

// Client exposes the underlying franz-go client (for the consumer runner,
// which produces outputs asynchronously and waits per partition).
func (p *Producer) Client() *kgo.Client { return p.cl }

// Produce publishes recs and waits until every one is acknowledged. The
// trace context of ctx is written into each record's headers.
func (p *Producer) Produce(ctx context.Context, recs ...*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	wg.Add(len(recs))
	for _, r := range recs {
		InjectTrace(ctx, r)
		p.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			p.observe(r, err)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("produce to %s: %w", r.Topic, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p *Producer) observe(r *kgo.Record, err error) {
	if err != nil {
		p.failed.WithLabelValues(r.Topic).Inc()
		return
	}
	p.produced.WithLabelValues(r.Topic).Inc()
}

// Start is a no-op: the client connects on first use, so a broker that comes
// up after the service does not fail startup.
func (p *Producer) Start(context.Context) error { return nil }

// Shutdown flushes buffered records (bounded by ctx) and closes the client.
func (p *Producer) Shutdown(ctx context.Context) error {
	var err error
	p.closeOnce.Do(func() {
		if ferr := p.cl.Flush(ctx); ferr != nil {
			err = fmt.Errorf("flush producer: %w", ferr)
		}
		p.cl.Close()
	})
	return err
}

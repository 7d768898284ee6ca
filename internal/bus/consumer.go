package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/plugin/kprom"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/telemetry"
)

// Handler processes one record and returns the records to publish because
// of it. The runner commits the input's offset only after every returned
// record is acknowledged by the brokers and the handler returned nil.
//
// Return Permanent(err) when the record itself is bad (poison): it is
// counted, logged with topic/partition/offset, sent to the dead-letter topic
// if one is configured, and skipped. Any other error is treated as transient
// (a store or broker is down): the record is retried with backoff and its
// partition waits, so nothing is lost and order is kept.
//
// Handle is called concurrently for different partitions and sequentially,
// in offset order, within one partition.
type Handler interface {
	Handle(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error) {
	return f(ctx, rec)
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as caused by the record itself: retrying cannot help.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err (or an error it wraps) was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Dead-letter headers record where a poison record came from and why.
const (
	HeaderDLQTopic     = "logster-dlq-topic"
	HeaderDLQPartition = "logster-dlq-partition"
	HeaderDLQOffset    = "logster-dlq-offset"
	HeaderDLQError     = "logster-dlq-error"
	HeaderDLQConsumer  = "logster-dlq-consumer"
)

// ConsumerConfig configures one consumer-group member.
type ConsumerConfig struct {
	// Name identifies the consumer: metric label, client id suffix, and the
	// group id <kafka.group_id>-<Name> unless Group is set.
	Name   string
	Topics []string
	Kafka  config.Kafka
	// Group overrides the consumer group id.
	Group string
	// Producer publishes handler outputs and dead letters. When nil the
	// consumer creates (and owns) one.
	Producer *Producer
	// Tracer records one span per record; nil disables tracing.
	Tracer trace.TracerProvider
	// RetryMin/RetryMax bound the backoff for transient handler errors.
	RetryMin, RetryMax time.Duration
	// OnAssigned/OnRevoked are called when partitions are assigned or taken
	// away (after their offsets are committed). Optional.
	OnAssigned func(ctx context.Context, assigned map[string][]int32)
	OnRevoked  func(ctx context.Context, revoked map[string][]int32)
	// HeldFrom, when set, reports the lowest offset of a partition whose
	// record the handler still holds unfinished work for (the normalizer's
	// auditd lines waiting for the rest of their event). Commits never go
	// past it, so a crash redelivers those records instead of losing them.
	// Optional.
	HeldFrom func(topic string, partition int32) (offset int64, held bool)
	// OnDelivered, when set, is told for each partition of a batch the
	// offset up to which every record's outputs are acknowledged, before
	// the commit is computed (so a handler can release what HeldFrom
	// reports). Optional.
	OnDelivered func(topic string, partition int32, through int64)
}

// Consumer is a consumer-group member running a Handler. It processes polled
// batches with one goroutine per partition, produces outputs asynchronously,
// waits for their acknowledgement, commits, and only then lets a rebalance
// proceed (BlockRebalanceOnPoll): a revoked partition is never processed
// again by this member after its offsets were handed over.
type Consumer struct {
	cc      ConsumerConfig
	h       Handler
	log     *slog.Logger
	limiter *telemetry.LogLimiter
	tracer  trace.Tracer

	cl        *kgo.Client
	prod      *Producer
	ownsProd  bool
	maxPoll   int
	cancel    context.CancelFunc
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once

	m consumerMetrics
}

type consumerMetrics struct {
	consumed  *prometheus.CounterVec
	poison    *prometheus.CounterVec
	dead      *prometheus.CounterVec
	retries   *prometheus.CounterVec
	lag       *prometheus.GaugeVec
	procTime  prometheus.Histogram
	endToEnd  prometheus.Histogram
	commitErr prometheus.Counter
}

// NewConsumer creates a consumer; it joins its group on Start.
func NewConsumer(cc ConsumerConfig, h Handler, log *slog.Logger, reg prometheus.Registerer) (*Consumer, error) {
	if cc.Name == "" || len(cc.Topics) == 0 || h == nil {
		return nil, errors.New("bus: consumer needs a name, topics and a handler")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if cc.RetryMin <= 0 {
		cc.RetryMin = 100 * time.Millisecond
	}
	if cc.RetryMax <= 0 {
		cc.RetryMax = 10 * time.Second
	}
	group := cc.Group
	if group == "" {
		group = cc.Kafka.GroupID + "-" + cc.Name
	}
	tp := cc.Tracer
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	c := &Consumer{
		cc:      cc,
		h:       h,
		log:     log.With("consumer", cc.Name, "group", group),
		limiter: telemetry.NewLogLimiter(10 * time.Second),
		tracer:  tp.Tracer("github.com/logster/logster/internal/bus"),
		maxPoll: cc.Kafka.MaxInFlight,
		prod:    cc.Producer,
	}
	creg := prometheus.WrapRegistererWith(prometheus.Labels{"consumer": cc.Name}, reg)
	c.m = consumerMetrics{
		consumed:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_records_consumed_total", Help: "Records handled (including poison records), by topic."}, []string{"topic"}),
		poison:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_poison_records_total", Help: "Records the handler rejected as permanently bad and skipped, by topic."}, []string{"topic"}),
		dead:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_dead_letter_records_total", Help: "Poison records written to the dead-letter topic, by source topic."}, []string{"topic"}),
		retries:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kafka_handler_retries_total", Help: "Transient handler failures retried with backoff, by topic."}, []string{"topic"}),
		lag:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kafka_consumer_lag", Help: "Records between the partition's high watermark and the last processed offset."}, []string{"topic", "partition"}),
		procTime:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "record_processing_seconds", Help: "Handler time per record.", Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10)}),
		endToEnd:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "record_latency_seconds", Help: "Time from the record's Kafka timestamp to the commit of its outputs.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}),
		commitErr: prometheus.NewCounter(prometheus.CounterOpts{Name: "kafka_commit_errors_total", Help: "Offset commits that failed (records will be redelivered)."}),
	}
	if err := telemetry.RegisterAll(creg, "kafka consumer", c.m.consumed, c.m.poison, c.m.dead, c.m.retries, c.m.lag, c.m.procTime, c.m.endToEnd, c.m.commitErr); err != nil {
		return nil, err
	}
	if c.prod == nil {
		p, err := NewProducer(cc.Kafka, cc.Name, log, reg)
		if err != nil {
			return nil, err
		}
		c.prod, c.ownsProd = p, true
	}
	opts, err := ClientOpts(cc.Kafka, cc.Name+"-consumer")
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(cc.Topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// A new group starts at the beginning: records produced before the
		// first deployment of a service are processed, not skipped.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(16<<20),
		kgo.FetchMaxWait(250*time.Millisecond),
		kgo.RebalanceTimeout(5*time.Minute),
		kgo.OnPartitionsAssigned(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			c.log.Info("partitions assigned", "partitions", m)
			if cc.OnAssigned != nil {
				cc.OnAssigned(ctx, m)
			}
		}),
		kgo.OnPartitionsRevoked(c.onLost),
		kgo.OnPartitionsLost(c.onLost),
		kgo.WithLogger(kgoLogger{c.log}),
		kgo.WithHooks(kprom.NewMetrics("kafka", kprom.Registerer(prometheus.WrapRegistererWith(prometheus.Labels{"client": cc.Name + "-consumer"}, reg)))),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("create kafka consumer %s: %w", cc.Name, err)
	}
	c.cl = cl
	return c, nil
}

// onLost runs when partitions are revoked or lost. Offsets of processed
// records are already committed at the end of every batch (rebalances are
// blocked while a batch is processed), so only the gauges and the caller's
// hook need updating.
func (c *Consumer) onLost(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
	c.log.Info("partitions revoked", "partitions", m)
	for t, ps := range m {
		for _, p := range ps {
			c.m.lag.DeleteLabelValues(t, strconv.Itoa(int(p)))
		}
	}
	if c.cc.OnRevoked != nil {
		c.cc.OnRevoked(ctx, m)
	}
}

// Start joins the group and starts the poll loop.
func (c *Consumer) Start(context.Context) error {
	c.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		c.cancel = cancel
		c.done = make(chan struct{})
		go c.loop(ctx)
	})
	return nil
}

// Shutdown stops polling, lets the batch in progress finish and commit
// (bounded by ctx), leaves the group and closes the clients.
func (c *Consumer) Shutdown(ctx context.Context) error {
	var err error
	c.stopOnce.Do(func() {
		if c.cancel != nil {
			c.cancel()
			select {
			case <-c.done:
			case <-ctx.Done():
				err = fmt.Errorf("consumer %s: batch did not finish before shutdown deadline: %w", c.cc.Name, ctx.Err())
			}
		}
		c.cl.Close() // leaves the group
		if c.ownsProd {
			err = errors.Join(err, c.prod.Shutdown(ctx))
		}
	})
	return err
}

func (c *Consumer) loop(ctx context.Context) {
	defer close(c.done)
	for {
		fetches := c.cl.PollRecords(ctx, c.maxPoll)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			c.cl.AllowRebalance()
			return
		}
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			c.limiter.Log(c.log, slog.LevelWarn, "fetch:"+t, "fetch error", "topic", t, "partition", p, "err", err)
		})
		c.processBatch(ctx, fetches)
		c.cl.AllowRebalance()
	}
}

// partResult is the outcome of one partition's slice of a batch.
type partResult struct {
	last *kgo.Record // last record whose processing and outputs succeeded
	hw   int64
}

func (c *Consumer) processBatch(ctx context.Context, fetches kgo.Fetches) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []partResult
	)
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.processPartition(ctx, p)
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}()
	})
	wg.Wait()

	if c.cc.OnDelivered != nil {
		for _, r := range results {
			if r.last != nil {
				c.cc.OnDelivered(r.last.Topic, r.last.Partition, r.last.Offset)
			}
		}
	}
	offsets := c.commitOffsets(results)
	if len(offsets) == 0 {
		return
	}
	// Commit even when ctx is cancelled (shutdown): the work is done and
	// acknowledged, and committing avoids needless redelivery.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.commit(cctx, offsets); err != nil {
		c.m.commitErr.Inc()
		c.limiter.Log(c.log, slog.LevelWarn, "commit", "offset commit failed; records will be redelivered", "err", err)
		return
	}
	now := time.Now()
	for _, r := range results {
		if r.last == nil {
			continue
		}
		c.m.lag.WithLabelValues(r.last.Topic, strconv.Itoa(int(r.last.Partition))).Set(float64(max(0, r.hw-(r.last.Offset+1))))
		c.m.endToEnd.Observe(now.Sub(r.last.Timestamp).Seconds())
	}
}

// commitOffsets returns, per partition, the offset to commit: the one after
// the last finished record, or the handler's HeldFrom floor when lower.
func (c *Consumer) commitOffsets(results []partResult) map[string]map[int32]kgo.EpochOffset {
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for _, r := range results {
		if r.last == nil {
			continue
		}
		eo := kgo.EpochOffset{Epoch: r.last.LeaderEpoch, Offset: r.last.Offset + 1}
		if c.cc.HeldFrom != nil {
			if held, ok := c.cc.HeldFrom(r.last.Topic, r.last.Partition); ok && held < eo.Offset {
				// The held record's leader epoch is not known here; -1
				// skips the truncation check rather than pairing it with
				// the wrong epoch.
				eo = kgo.EpochOffset{Epoch: -1, Offset: held}
			}
		}
		if offsets[r.last.Topic] == nil {
			offsets[r.last.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[r.last.Topic][r.last.Partition] = eo
	}
	return offsets
}

// commit commits offsets synchronously; any partition error fails it.
func (c *Consumer) commit(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	var rerr error
	c.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			rerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					rerr = fmt.Errorf("commit %s/%d: %w", t.Topic, p.Partition, err)
					return
				}
			}
		}
	})
	return rerr
}

// processPartition handles one partition's records in order. It stops at the
// first record it could not finish (shutdown during a retry, or a failed
// produce) and rewinds the partition to that record so it is fetched again.
func (c *Consumer) processPartition(ctx context.Context, p kgo.FetchTopicPartition) partResult {
	res := partResult{hw: p.HighWatermark}
	var (
		mu       sync.Mutex
		failedAt = int64(-1) // lowest offset whose outputs failed
		pending  sync.WaitGroup
		done     = make([]*kgo.Record, 0, len(p.Records))
	)
	markFailed := func(off int64) {
		mu.Lock()
		if failedAt < 0 || off < failedAt {
			failedAt = off
		}
		mu.Unlock()
	}
	for _, rec := range p.Records {
		outs, ok := c.handleOne(ctx, rec)
		if !ok {
			markFailed(rec.Offset)
			break
		}
		for _, out := range outs {
			pending.Add(1)
			off := rec.Offset
			// Outputs of a handled record are delivered even if shutdown
			// starts now; Shutdown's deadline bounds the wait.
			c.prod.cl.Produce(context.WithoutCancel(ctx), out, func(r *kgo.Record, err error) {
				defer pending.Done()
				c.prod.observe(r, err)
				if err != nil {
					c.limiter.Log(c.log, slog.LevelError, "produce:"+r.Topic, "publishing output failed; input will be reprocessed",
						"topic", r.Topic, "input_topic", rec.Topic, "input_partition", rec.Partition, "input_offset", off, "err", err)
					markFailed(off)
				}
			})
		}
		done = append(done, rec)
	}
	pending.Wait()
	for _, rec := range done {
		if failedAt >= 0 && rec.Offset >= failedAt {
			break
		}
		res.last = rec
	}
	if failedAt >= 0 && ctx.Err() == nil {
		// Rewind so the unfinished record is fetched again in this session.
		c.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{
			p.Topic: {p.Partition: {Epoch: -1, Offset: failedAt}},
		})
	}
	return res
}

// handleOne runs the handler on rec with retries. It returns the outputs to
// publish and false if the record could not be finished (shutdown).
func (c *Consumer) handleOne(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, bool) {
	rctx := ExtractTrace(ctx, rec)
	rctx, span := c.tracer.Start(rctx, "process "+rec.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.destination.name", rec.Topic),
			attribute.Int("messaging.destination.partition.id", int(rec.Partition)),
			attribute.Int64("messaging.kafka.offset", rec.Offset),
			attribute.String("messaging.consumer.group.name", c.cc.Name),
		))
	defer span.End()

	backoff := c.cc.RetryMin
	for {
		start := time.Now()
		outs, err := c.h.Handle(rctx, rec)
		c.m.procTime.Observe(time.Since(start).Seconds())
		if err == nil {
			c.m.consumed.WithLabelValues(rec.Topic).Inc()
			for _, o := range outs {
				InjectTrace(rctx, o)
			}
			return outs, true
		}
		if IsPermanent(err) {
			c.m.consumed.WithLabelValues(rec.Topic).Inc()
			c.m.poison.WithLabelValues(rec.Topic).Inc()
			span.SetStatus(codes.Error, err.Error())
			c.limiter.Log(c.log, slog.LevelWarn, "poison:"+rec.Topic, "skipping poison record",
				"topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "err", err)
			if dl := c.deadLetter(rec, err); dl != nil {
				return []*kgo.Record{dl}, true
			}
			return nil, true
		}
		c.m.retries.WithLabelValues(rec.Topic).Inc()
		c.limiter.Log(c.log, slog.LevelWarn, "retry:"+rec.Topic, "handler failed; retrying",
			"topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			span.SetStatus(codes.Error, "shutdown during retry")
			return nil, false
		case <-t.C:
		}
		backoff = min(backoff*2, c.cc.RetryMax)
	}
}

// deadLetter builds the dead-letter copy of rec, or nil when no dead-letter
// topic is configured.
func (c *Consumer) deadLetter(rec *kgo.Record, cause error) *kgo.Record {
	topic := c.cc.Kafka.DeadLetterTopic
	if topic == "" {
		return nil
	}
	c.m.dead.WithLabelValues(rec.Topic).Inc()
	msg := cause.Error()
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	dl := &kgo.Record{Topic: topic, Key: rec.Key, Value: rec.Value}
	dl.Headers = append(append(dl.Headers, rec.Headers...),
		kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(rec.Topic)},
		kgo.RecordHeader{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(int(rec.Partition)))},
		kgo.RecordHeader{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(rec.Offset, 10))},
		kgo.RecordHeader{Key: HeaderDLQError, Value: []byte(msg)},
		kgo.RecordHeader{Key: HeaderDLQConsumer, Value: []byte(c.cc.Name)},
	)
	return dl
}

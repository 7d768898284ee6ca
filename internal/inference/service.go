// Package inference is the inference service (`logster inference`): it
// consumes normalized-endpoint-events, keeps each endpoint's events in
// event-time sliding windows (internal/window), and when a window closes
// builds its graph (internal/graph), scores it with the platform's GNN
// (internal/gnn) and publishes an InferenceResult to
// logster-inference-results.
//
// Delivery: an event's offset is committed once the window store holds it;
// a window's result is published (and acknowledged) before the store trims
// the window; a crash in between re-evaluates the window, and the
// deterministic inference id makes the repeat a duplicate downstream.
//
// Ownership: the topic is keyed tenant:endpoint, so each endpoint belongs to
// one partition and the partition to one replica. On revocation the service
// stops evaluating that partition's endpoints (waiting for runs in flight);
// on assignment it resumes the partition's endpoints from the store.
//
// docs/inference.md explains the window semantics and their defaults.
package inference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/telemetry"
	"github.com/logster/logster/internal/window"
)

// Clock tells the wall time (injected in tests).
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Publisher publishes records and waits for their acknowledgement;
// *bus.Producer is one.
type Publisher interface {
	Produce(ctx context.Context, recs ...*kgo.Record) error
}

// Option configures a Service.
type Option func(*Service)

// WithStore makes the service use store instead of opening the one the
// configuration names. The caller keeps ownership (the service does not
// close it).
func WithStore(store window.Store) Option { return func(s *Service) { s.store = store } }

// WithModels injects the models instead of loading model.path and
// model.linux_model_path. They are still checked against the graph
// builder.
func WithModels(m Models) Option { return func(s *Service) { s.models, s.modelsSet = m, true } }

// WithClock replaces the wall clock (idle detection, TTLs).
func WithClock(c Clock) Option { return func(s *Service) { s.clock = c } }

// WithConsumerConfig adjusts the consumer configuration (tests, tracing).
// The tracer set here also traces window evaluations.
func WithConsumerConfig(f func(*bus.ConsumerConfig)) Option {
	return func(s *Service) { s.consOpts = append(s.consOpts, f) }
}

// WithPublisher publishes results through p instead of a producer of the
// service's own (standalone shares one; tests capture results).
func WithPublisher(p Publisher) Option { return func(s *Service) { s.pub = p } }

// WithTick sets how often the scheduler looks for windows closed by
// idleness (default 1s; tests use less).
func WithTick(d time.Duration) Option { return func(s *Service) { s.tick = d } }

// Service is the inference service. It implements component.Component.
type Service struct {
	cfg       *config.Config
	log       *slog.Logger
	reg       prometheus.Registerer
	spec      window.Spec
	clock     Clock
	tick      time.Duration
	workers   int
	maxQueue  int
	threshold float64 // inference.threshold; 0 = each model's own

	models    Models
	modelsSet bool
	versions  map[schema.Platform]string

	store     window.Store
	ownsStore bool
	pub       Publisher
	prod      *bus.Producer // owned when pub was not injected
	cons      *bus.Consumer
	consOpts  []func(*bus.ConsumerConfig)
	tracer    trace.Tracer

	m       *metrics
	limiter *telemetry.LogLimiter

	// mu guards the endpoint table, the run queue and partition progress.
	mu       sync.Mutex
	changed  *sync.Cond // queue, running or backlog changed
	eps      map[window.Key]*endpoint
	queue    []*endpoint
	parts    map[int32]*partition
	toLoad   map[int32]bool // assigned partitions whose endpoints are not loaded yet
	stalls   int            // handlers blocked by back-pressure or failing
	stallEnd time.Time      // when the last stall ended
	stopping bool
	// finishing: the input is finite and complete (FinishInput); quiet
	// endpoints' remaining windows are scored without waiting for event
	// time to pass their ends.
	finishing bool
	lifecycle sync.Mutex
	started   bool
	stopped   bool
	cancel    context.CancelFunc
	loops     sync.WaitGroup
	wake      chan struct{}
}

// endpoint is the scheduler's view of one endpoint with live windows.
type endpoint struct {
	key window.Key
	// mu serialises the endpoint's store writes with their meta updates.
	// meta is written holding mu and Service.mu, so either lock suffices
	// to read it.
	mu        sync.Mutex
	meta      window.Meta
	partition int32
	lastWall  time.Time // wall time of its last event (eviction order)
	queued    bool      // in the queue or running
	running   bool
	adding    int // handlers between admit and their store write: keep the entry
	revoked   bool
	retryAt   time.Time     // after a store failure: not before this
	backoff   time.Duration // current retry delay
}

// partition tracks a partition's progress in Kafka log time, the clock idle
// detection runs on (see frontier).
type partition struct {
	logTime    time.Time // largest record timestamp handled
	lastActive time.Time // wall time of the last record handled
	failing    bool      // the last handler call failed
}

// NewService builds the inference service: it loads and checks the models
// (unless injected), so a missing or mismatched model fails here, before
// anything connects.
func NewService(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer, opts ...Option) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Service{
		cfg:       cfg,
		log:       log,
		reg:       reg,
		spec:      window.SpecFromConfig(cfg.Inference),
		clock:     systemClock{},
		tick:      time.Second,
		threshold: cfg.Inference.Threshold,
		limiter:   telemetry.NewLogLimiter(10 * time.Second),
		eps:       map[window.Key]*endpoint{},
		parts:     map[int32]*partition{},
		toLoad:    map[int32]bool{},
		wake:      make(chan struct{}, 1),
		tracer:    noop.NewTracerProvider().Tracer(""),
	}
	s.changed = sync.NewCond(&s.mu)
	for _, o := range opts {
		o(s)
	}
	if err := s.spec.Validate(); err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	s.workers = cfg.Inference.Workers
	if s.workers <= 0 {
		s.workers = runtime.NumCPU()
	}
	// At most this many endpoints wait for a model run; beyond it the
	// consumer pauses (back-pressure) instead of piling up windows.
	s.maxQueue = max(64, 32*s.workers)
	if !s.modelsSet {
		ms, err := LoadModels(cfg.Model)
		if err != nil {
			return nil, err
		}
		s.models = ms
	}
	s.versions = map[schema.Platform]string{}
	for _, p := range []schema.Platform{schema.PlatformWindows, schema.PlatformLinux} {
		m := s.models.forPlatform(p)
		if err := CheckModel(m, p); err != nil {
			return nil, fmt.Errorf("inference: %s model: %w", p, err)
		}
		s.versions[p] = m.Config().Version
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s.m = m
	return s, nil
}

// Handler returns the record handler (Start uses it; tests and the
// standalone mode may drive it directly).
func (s *Service) Handler() bus.Handler { return bus.HandlerFunc(s.handle) }

// Start opens the window store (if not injected), starts the scheduler and
// the workers and joins the consumer group.
func (s *Service) Start(ctx context.Context) error {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	if s.started {
		return errors.New("inference: already started")
	}
	if s.store == nil {
		st, err := openStore(ctx, s.cfg, s.spec)
		if err != nil {
			return err
		}
		s.store, s.ownsStore = st, true
	}
	if s.pub == nil {
		prod, err := bus.NewProducer(s.cfg.Kafka, "inference", s.log, s.reg)
		if err != nil {
			s.closeStore()
			return fmt.Errorf("inference: create producer: %w", err)
		}
		s.prod, s.pub = prod, prod
	}
	cc := bus.ConsumerConfig{Name: "inference", Topics: []string{bus.TopicNormalized}, Kafka: s.cfg.Kafka, Producer: s.prod}
	for _, f := range s.consOpts {
		f(&cc)
	}
	if cc.Tracer != nil {
		s.tracer = cc.Tracer.Tracer("github.com/logster/logster/internal/inference")
	}
	userAssigned, userRevoked := cc.OnAssigned, cc.OnRevoked
	cc.OnAssigned = func(ctx context.Context, m map[string][]int32) {
		s.onAssigned(ctx, m)
		if userAssigned != nil {
			userAssigned(ctx, m)
		}
	}
	cc.OnRevoked = func(ctx context.Context, m map[string][]int32) {
		s.onRevoked(ctx, m)
		if userRevoked != nil {
			userRevoked(ctx, m)
		}
	}
	cons, err := bus.NewConsumer(cc, s.Handler(), s.log, s.reg)
	if err != nil {
		s.closeOwned(ctx)
		return fmt.Errorf("inference: create consumer: %w", err)
	}
	s.startLoops()
	if err := cons.Start(ctx); err != nil {
		s.stopLoops()
		s.closeOwned(ctx)
		return fmt.Errorf("inference: start consumer: %w", err)
	}
	s.cons = cons
	s.started = true
	s.log.Info("inference started", "window", s.spec.Window.String(), "interval", s.spec.Stride.String(),
		"late_tolerance", s.spec.Late.String(), "idle_timeout", s.cfg.Inference.IdleTimeout.String(),
		"workers", s.workers, "store", fmt.Sprintf("%T", s.store),
		"windows_model", s.versions[schema.PlatformWindows], "linux_model", s.versions[schema.PlatformLinux])
	return nil
}

func openStore(ctx context.Context, cfg *config.Config, spec window.Spec) (window.Store, error) {
	switch cfg.Inference.Store {
	case "redis":
		st, err := window.OpenRedis(ctx, cfg.Redis, spec)
		if err != nil {
			return nil, fmt.Errorf("inference.store is redis: %w", err)
		}
		return st, nil
	default:
		return window.NewMemory(spec)
	}
}

// startLoops starts the scheduler and the workers.
func (s *Service) startLoops() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.mu.Lock()
	s.stopping = false
	s.mu.Unlock()
	s.loops.Add(1)
	go s.scheduler(ctx)
	for range s.workers {
		s.loops.Add(1)
		go s.worker(ctx)
	}
}

// stopLoops stops the scheduler and workers and waits for them.
func (s *Service) stopLoops() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.mu.Lock()
	s.stopping = true
	s.changed.Broadcast()
	s.mu.Unlock()
	s.loops.Wait()
}

func (s *Service) closeStore() {
	if s.ownsStore && s.store != nil {
		if err := s.store.Close(); err != nil {
			s.log.Warn("closing window store", "err", err)
		}
	}
}

func (s *Service) closeOwned(ctx context.Context) {
	if s.prod != nil {
		_ = s.prod.Shutdown(ctx)
	}
	s.closeStore()
}

// Shutdown stops consuming (committing what the store holds), stops the
// scheduler and workers (a run in flight is abandoned and re-run after a
// restart: its window is still in the store), closes the producer and the
// store. Safe without Start and more than once.
func (s *Service) Shutdown(ctx context.Context) error {
	s.lifecycle.Lock()
	defer s.lifecycle.Unlock()
	if !s.started || s.stopped {
		return nil
	}
	s.stopped = true
	var errs []error
	if err := s.cons.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("inference: stop consumer: %w", err))
	}
	done := make(chan struct{})
	go func() { s.stopLoops(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("inference: workers did not stop before the shutdown deadline: %w", ctx.Err()))
	}
	if s.prod != nil {
		if err := s.prod.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("inference: close producer: %w", err))
		}
	}
	s.closeStore()
	return errors.Join(errs...)
}

// Healthy reports whether the window store answers (for /healthz).
func (s *Service) Healthy(ctx context.Context) error {
	if p, ok := s.store.(interface{ Ping(context.Context) error }); ok {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("window store: %w", err)
		}
	}
	return nil
}

// handle stores one normalized event in its endpoint's window. The offset
// is committed (by the runner) only after this returns nil: the store
// write is the event's durability point.
func (s *Service) handle(ctx context.Context, rec *kgo.Record) ([]*kgo.Record, error) {
	ev, err := schema.DecodeEvent(rec.Value)
	if err != nil {
		// Still progress on the partition's log clock.
		now := s.clock.Now()
		s.partitionDone(rec.Partition, rec.Timestamp, now)
		return nil, bus.Permanent(err)
	}
	if err := s.waitBacklog(ctx, rec.Partition); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	logTime := rec.Timestamp
	if logTime.IsZero() {
		logTime = now
	}
	ep, evictions := s.admit(window.KeyOf(ev), rec.Partition, now)
	for _, v := range evictions {
		s.evict(ctx, v)
	}
	ep.mu.Lock()
	outcome, meta, err := s.store.Add(ctx, rec.Partition, ev, logTime, now)
	s.mu.Lock()
	if err == nil {
		ep.meta = meta
		ep.backoff = 0
	}
	ep.adding--
	s.mu.Unlock()
	ep.mu.Unlock()
	s.m.outcomeSeen(outcome)
	if err != nil {
		s.m.storeErrs.Inc()
		s.partitionFailed(rec.Partition)
		return nil, fmt.Errorf("inference: store event %s of %s: %w", ev.EventID, window.KeyOf(ev), err)
	}
	if outcome.Dropped() {
		s.limiter.Log(s.log, slog.LevelWarn, "drop:"+outcome.String(), "event dropped from its window",
			"reason", outcome.String(), "endpoint", ev.Key(), "event_id", ev.EventID, "timestamp", ev.Timestamp,
			"watermark", meta.Watermark, "late_tolerance", s.spec.Late.String())
	}
	s.partitionDone(rec.Partition, logTime, now)
	s.schedule(ep, now)
	return nil, nil
}

// waitBacklog blocks while the run queue is full: consumption pauses until
// the workers catch up (the partition's lag grows in Kafka, not in memory).
// While any handler waits, idle detection is frozen (see frontier).
func (s *Service) waitBacklog(ctx context.Context, part int32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) < s.maxQueue {
		return nil
	}
	s.stalls++
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.changed.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	for len(s.queue) >= s.maxQueue && ctx.Err() == nil && !s.stopping {
		s.changed.Wait()
	}
	s.stalls--
	if s.stalls == 0 {
		s.stallEnd = s.clock.Now()
	}
	if p := s.parts[part]; p != nil {
		p.lastActive = s.clock.Now()
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("inference: waiting for model runs: %w", err)
	}
	return nil
}

// admit returns the endpoint's entry, creating it. At max_endpoints it
// evicts the least recently active idle endpoint among a sample (as Redis
// does for keys): O(1) per new endpoint, approximately LRU.
func (s *Service) admit(key window.Key, part int32, now time.Time) (*endpoint, []*endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.eps[key]
	if ep != nil {
		ep.lastWall = now
		ep.partition = part
		ep.adding++
		return ep, nil
	}
	var evicted []*endpoint
	if len(s.eps) >= s.cfg.Inference.MaxEndpoints {
		var victim *endpoint
		n := 0
		for _, c := range s.eps {
			if n++; n > 16 {
				break
			}
			if c.queued || c.running || c.adding > 0 {
				continue
			}
			if victim == nil || c.lastWall.Before(victim.lastWall) {
				victim = c
			}
		}
		if victim != nil {
			delete(s.eps, victim.key)
			evicted = append(evicted, victim)
		}
	}
	ep = &endpoint{key: key, partition: part, lastWall: now, adding: 1, meta: window.Meta{Key: key, Closed: window.NoWindow}}
	s.eps[key] = ep
	s.m.active.Set(float64(len(s.eps)))
	return ep, evicted
}

// evict drops an evicted endpoint's windows from the store.
func (s *Service) evict(ctx context.Context, ep *endpoint) {
	ep.mu.Lock()
	lost := ep.meta.Events()
	err := s.store.Delete(ctx, ep.key)
	ep.mu.Unlock()
	s.m.evicted.Inc()
	s.m.drop["evicted"].Add(float64(lost))
	s.limiter.Log(s.log, slog.LevelWarn, "evict", "endpoint evicted: inference.max_endpoints reached",
		"endpoint", ep.key.String(), "events_lost", lost, "max_endpoints", s.cfg.Inference.MaxEndpoints)
	if err != nil {
		s.log.Warn("deleting evicted endpoint's windows", "endpoint", ep.key.String(), "err", err)
	}
}

func (s *Service) partitionDone(part int32, logTime, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[part]
	if p == nil {
		p = &partition{}
		s.parts[part] = p
	}
	if logTime.After(p.logTime) {
		p.logTime = logTime
	}
	p.lastActive = now
	if p.failing {
		p.failing = false
		s.stalls--
		if s.stalls == 0 {
			s.stallEnd = now
		}
	}
}

func (s *Service) partitionFailed(part int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[part]
	if p == nil {
		p = &partition{lastActive: s.clock.Now()}
		s.parts[part] = p
	}
	if !p.failing {
		p.failing = true
		s.stalls++
	}
}

// frontier is a partition's progress in Kafka log time: the largest record
// timestamp handled, plus the wall time since the partition last delivered
// a record, but only while every handler runs freely. A consumer that lags
// keeps delivering old records, so its frontier stays in the past; one
// that is blocked (back-pressure, a failing store) or just restarted does
// not count the pause as silence. Endpoints are idle relative to their own
// partition's frontier, so replaying a recording at any speed does not make
// an endpoint look idle while its records are still queued behind others.
func (s *Service) frontier(p *partition, now time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	if s.stalls > 0 {
		return p.logTime
	}
	since := p.lastActive
	if s.stallEnd.After(since) {
		since = s.stallEnd
	}
	if d := now.Sub(since); d > 0 {
		return p.logTime.Add(d)
	}
	return p.logTime
}

// effectiveWatermark is the endpoint's watermark, advanced for idleness:
// once the endpoint has been silent for idle_timeout (in its partition's
// log time), its event time is assumed to have moved on with the clock, so
// its windows close as they would have with traffic. Advancing with the
// clock, not jumping to the end, means a quiet endpoint that resumes loses
// nothing. Callers hold s.mu.
func (s *Service) effectiveWatermark(ep *endpoint, now time.Time) float64 {
	wm := ep.meta.Watermark
	if ep.meta.LastLog.IsZero() {
		return wm
	}
	idle := s.frontier(s.parts[ep.partition], now).Sub(ep.meta.LastLog)
	if idle >= s.cfg.Inference.IdleTimeout.D() {
		wm = max(wm, ep.meta.MaxTS+idle.Seconds())
		if s.finishing {
			// Past every window that holds one of its events.
			wm = max(wm, ep.meta.MaxTS+(s.spec.Window+s.spec.Late+s.spec.Stride).Seconds())
		}
	}
	return wm
}

// FinishInput declares the input finite and complete — a replayed
// recording (`logster demo`), not live traffic: once an endpoint has been
// quiet for inference.idle_timeout, all its remaining windows are scored
// immediately instead of as event time would pass their ends (which, for an
// endpoint that never sends again, takes up to window + late_tolerance of
// wall-clock time).
func (s *Service) FinishInput() {
	s.mu.Lock()
	s.finishing = true
	s.mu.Unlock()
	s.poke()
}

// ActiveEndpoints is the number of endpoints with live windows (the
// active_endpoints gauge): 0 once every window has been scored.
func (s *Service) ActiveEndpoints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.eps)
}

// schedule queues the endpoint if one of its windows is due.
func (s *Service) schedule(ep *endpoint, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scheduleLocked(ep, now)
}

func (s *Service) scheduleLocked(ep *endpoint, now time.Time) bool {
	if ep.queued || ep.revoked || s.stopping || now.Before(ep.retryAt) || s.eps[ep.key] != ep {
		return false
	}
	if _, ok := ep.meta.Due(s.spec, s.effectiveWatermark(ep, now)); !ok {
		return false
	}
	ep.queued = true
	s.queue = append(s.queue, ep)
	s.m.backlog.Set(float64(len(s.queue)))
	s.changed.Broadcast()
	return true
}

// scheduler closes windows of idle endpoints, drops endpoints without live
// windows from the table, retries partition loads and sweeps the store.
func (s *Service) scheduler(ctx context.Context) {
	defer s.loops.Done()
	t := time.NewTicker(s.tick)
	defer t.Stop()
	lastSweep := s.clock.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		now := s.clock.Now()
		s.loadPending(ctx, now)
		s.mu.Lock()
		for k, ep := range s.eps {
			if ep.queued || ep.adding > 0 {
				continue
			}
			if !s.scheduleLocked(ep, now) && !ep.meta.Pending(s.spec) && ep.meta.Events() == 0 {
				// Nothing left to evaluate: the store keeps the
				// watermark (TTL) so late events stay late.
				delete(s.eps, k)
			}
		}
		s.m.active.Set(float64(len(s.eps)))
		s.mu.Unlock()
		if now.Sub(lastSweep) >= time.Minute {
			lastSweep = now
			if err := s.store.Sweep(ctx, now); err != nil && ctx.Err() == nil {
				s.limiter.Log(s.log, slog.LevelWarn, "sweep", "sweeping window store", "err", err)
			}
		}
	}
}

// poke wakes the scheduler (tests, after moving the clock).
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// worker runs queued endpoints, one at a time.
func (s *Service) worker(ctx context.Context) {
	defer s.loops.Done()
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.stopping {
			s.changed.Wait()
		}
		if s.stopping {
			s.mu.Unlock()
			return
		}
		ep := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		ep.running = true
		s.m.backlog.Set(float64(len(s.queue)))
		s.changed.Broadcast() // room in the queue for a waiting handler
		s.mu.Unlock()

		s.runEndpoint(ctx, ep)

		s.mu.Lock()
		ep.running = false
		ep.queued = false
		if !ep.revoked && s.eps[ep.key] == ep {
			s.scheduleLocked(ep, s.clock.Now())
		}
		s.changed.Broadcast()
		s.mu.Unlock()
	}
}

// runEndpoint evaluates the endpoint's due windows in order.
func (s *Service) runEndpoint(ctx context.Context, ep *endpoint) {
	for ctx.Err() == nil {
		now := s.clock.Now()
		s.mu.Lock()
		if ep.revoked {
			s.mu.Unlock()
			return
		}
		wm := s.effectiveWatermark(ep, now)
		s.mu.Unlock()

		ep.mu.Lock()
		meta := ep.meta
		if wm > meta.Watermark {
			m, err := s.store.Advance(ctx, ep.key, wm, now)
			if err != nil {
				ep.mu.Unlock()
				s.storeFailed(ep, "advance watermark", err)
				return
			}
			s.setMeta(ep, m)
			meta = m
		}
		ep.mu.Unlock()
		w, ok := meta.Due(s.spec, meta.Watermark)
		if !ok {
			return
		}
		win, err := s.store.Window(ctx, ep.key, w)
		if err != nil {
			s.storeFailed(ep, "read window", err)
			return
		}
		ectx, span := s.tracer.Start(ctx, "evaluate window",
			trace.WithAttributes(attribute.String("logster.endpoint", ep.key.String()), attribute.Int("logster.window.events", len(win.Events))))
		res := s.evaluate(ectx, win)
		s.mu.Lock()
		revoked := ep.revoked
		s.mu.Unlock()
		published := !revoked && s.publish(ectx, ep, res)
		span.End()
		if !published {
			return
		}
		ep.mu.Lock()
		m, err := s.store.Commit(ctx, ep.key, w, s.clock.Now())
		if err == nil {
			s.setMeta(ep, m)
		}
		ep.mu.Unlock()
		if err != nil {
			// The result is out; the window will be evaluated again (same
			// inference id) once the store answers.
			s.storeFailed(ep, "commit window", err)
			return
		}
	}
}

// setMeta records the endpoint's latest state; callers hold ep.mu.
func (s *Service) setMeta(ep *endpoint, m window.Meta) {
	s.mu.Lock()
	ep.meta = m
	ep.backoff = 0
	s.mu.Unlock()
}

func (s *Service) storeFailed(ep *endpoint, what string, err error) {
	if errors.Is(err, window.ErrUnknownEndpoint) {
		// Expired or deleted (eviction, Redis flushed): nothing to evaluate.
		s.mu.Lock()
		if s.eps[ep.key] == ep {
			delete(s.eps, ep.key)
		}
		s.mu.Unlock()
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	s.mu.Lock()
	ep.backoff = min(max(2*ep.backoff, time.Second), 30*time.Second)
	ep.retryAt = s.clock.Now().Add(ep.backoff)
	s.mu.Unlock()
	s.m.storeErrs.Inc()
	s.limiter.Log(s.log, slog.LevelWarn, "store:"+what, "window store failed; will retry", "op", what, "endpoint", ep.key.String(), "err", err)
}

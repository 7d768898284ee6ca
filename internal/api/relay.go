package api

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

// Relay timing. A triage change is normally published by the request that
// made it; the loop is the safety net for a broker outage, an API replica
// that crashed between commit and publish, or a request that timed out.
const (
	relayBatch       = 100
	relayPublishWait = 10 * time.Second // one publish by the loop
	relayFlushWait   = 2 * time.Second  // one publish on the request path
	relaySweep       = 5 * time.Second  // look for entries other replicas left behind
	relayBackoffMin  = 500 * time.Millisecond
	// The backoff tops out at the sweep interval: requests do not cut it
	// short, so a longer one would delay changes made after the broker
	// came back.
	relayBackoffMax = relaySweep
)

// TriageRelay publishes the triage outbox (store.DrainTriage) to
// logster-alerts, so an analyst's change reaches the alerts service even
// when the broker was unavailable at the time: the change and its outbox
// entry commit together, and the entry stays until a publish is
// acknowledged. Without this, a lost publish would let the alerts service
// keep merging new positives into an alert the analyst had resolved.
//
// Flush publishes synchronously (the request path); Start runs the retry
// loop. An unstarted relay still flushes, which is what handler tests use.
type TriageRelay struct {
	st  store.Store
	pub AlertPublisher
	log *slog.Logger

	published prometheus.Counter
	failures  prometheus.Counter
	dropped   prometheus.Counter
	pending   prometheus.Gauge

	kick     chan struct{}
	failing  atomic.Bool // the last attempt failed: requests do not wait on the broker
	started  atomic.Bool
	draining atomic.Bool // one drain at a time: requests never queue behind each other

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewTriageRelay builds a relay; nothing runs until Start.
func NewTriageRelay(st store.Store, pub AlertPublisher, log *slog.Logger, reg prometheus.Registerer) *TriageRelay {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &TriageRelay{
		st: st, pub: pub, log: log,
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "api_triage_published_total", Help: "Triage changes published to logster-alerts.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "api_triage_publish_errors_total", Help: "Failed attempts to publish queued triage changes to logster-alerts (they stay queued and are retried).",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "api_triage_publish_dropped_total", Help: "Triage changes that can never be published (too large for the broker) and were dropped from the outbox.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "api_triage_outbox_pending", Help: "Triage changes stored but not yet published to logster-alerts.",
		}),
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if reg != nil {
		r.published = reuse(reg, r.published, log)
		r.failures = reuse(reg, r.failures, log)
		r.dropped = reuse(reg, r.dropped, log)
		r.pending = reuse(reg, r.pending, log)
	}
	return r
}

// Flush publishes one batch of what is queued before returning, with a
// short deadline, so the analyst's change normally reaches the alerts
// service before their next click. It does not wait when the broker is
// known to be failing or another drain is running; the loop then owns the
// work, as it owns any backlog beyond one batch.
func (r *TriageRelay) Flush(ctx context.Context) {
	if r.failing.Load() && r.started.Load() {
		r.Kick()
		return
	}
	// Detached from the request deadline: the change is stored, and its
	// publish deserves its own (short, bounded as a whole) chance to finish.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*relayFlushWait)
	defer cancel()
	if more := r.drain(fctx, relayFlushWait, false); more {
		r.Kick()
	}
}

// Kick asks the loop to drain soon (ignored while it backs off).
func (r *TriageRelay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// drain publishes one batch (all: until the outbox is empty or a publish
// fails), each publish bounded by wait. It reports whether work is left
// that it did not do: a drain already running elsewhere, a failure, or
// (one batch only) more entries. Only one drain runs at a time per relay.
func (r *TriageRelay) drain(ctx context.Context, wait time.Duration, all bool) (more bool) {
	if !r.draining.CompareAndSwap(false, true) {
		return true
	}
	defer r.draining.Store(false)
	publish := func(ctx context.Context, a *schema.Alert) error {
		pctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		err := r.pub.PublishAlert(pctx, a)
		if permanentPublishError(err) {
			// Retrying cannot help, and this entry would block every
			// later one: counted, logged, and let go. The change itself is
			// stored; the alerts service misses it until the next one.
			r.dropped.Inc()
			r.log.Error("triage change cannot be published to logster-alerts (record too large); dropped from the outbox",
				"alert_id", a.AlertID, "tenant_id", a.TenantID, "err", err)
			return nil
		}
		return err
	}
	for {
		n, pending, err := r.st.DrainTriage(ctx, relayBatch, publish)
		r.published.Add(float64(n))
		if pending >= 0 {
			// Failed drains report the queue they left too; -1 means
			// the store could not count.
			r.pending.Set(float64(pending))
		}
		if err != nil {
			if ctx.Err() != nil {
				r.log.Info("triage publish interrupted (deadline or shutdown); changes stay queued", "err", err)
				return true
			}
			r.failures.Inc()
			r.failing.Store(true)
			r.log.Error("publish triage changes to logster-alerts; they stay queued and are retried",
				"published", n, "err", err)
			return true
		}
		r.failing.Store(false)
		if n == 0 || pending == 0 {
			return false
		}
		if !all {
			return true
		}
	}
}

// permanentPublishError reports errors that no retry can fix.
func permanentPublishError(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)
}

// Start runs the retry loop.
func (r *TriageRelay) Start(context.Context) error {
	r.started.Store(true)
	go r.loop()
	return nil
}

func (r *TriageRelay) loop() {
	defer close(r.done)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-r.stop
		cancel()
	}()
	wait := relaySweep
	backoff := relayBackoffMin
	t := time.NewTimer(0) // drain what earlier runs left behind right away
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.kick:
			if r.failing.Load() {
				continue // backing off: the timer decides when to retry
			}
		case <-t.C:
		}
		if more := r.drain(ctx, relayPublishWait, true); !more || !r.failing.Load() {
			wait, backoff = relaySweep, relayBackoffMin
		} else {
			wait, backoff = backoff, min(2*backoff, relayBackoffMax)
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}

// Shutdown stops the loop and makes one last attempt, bounded by ctx, so
// a clean stop leaves nothing queued when the broker is reachable.
func (r *TriageRelay) Shutdown(ctx context.Context) error {
	r.once.Do(func() { close(r.stop) })
	if r.started.Load() {
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.drain(ctx, relayPublishWait, true)
	return nil
}

package api

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

// A broker outage does not lose an analyst's change: the PATCH succeeds,
// waiting at most one short publish attempt, later PATCHes do not wait at
// all and do not hammer the broker, the queue shows in the gauge, and the
// relay publishes the alert's latest state once the broker is back.
func TestTriageRelayRetriesAfterBrokerOutage(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	pub := &fakePublisher{hang: true}
	reg := prometheus.NewRegistry()
	relay := NewTriageRelay(st, pub, nil, reg)
	if err := relay.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Shutdown(context.Background()) }) //nolint:errcheck // test cleanup
	e := newEnvOn(t, st)
	e.h = New(Deps{Store: st, Config: testConfig(), Registerer: e.reg, Gatherer: e.reg, Relay: relay, Now: e.clock.Now})
	a := alert("acme", "ws1", 1000)
	e.seed(a)
	start := time.Now()
	r := e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, as: "analyst", body: map[string]any{"status": "resolved", "comment": "reimaged"}})
	if r.Code != 200 || time.Since(start) > relayFlushWait+time.Second {
		t.Fatalf("patch during outage: %d after %v", r.Code, time.Since(start))
	}
	waitFor(t, 15*time.Second, "the failure to be counted", func() bool { return testutil.ToFloat64(relay.failures) >= 1 })
	pub.mu.Lock()
	before := pub.attempts
	pub.mu.Unlock()
	start = time.Now()
	for i := range 20 {
		r = e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, as: "analyst", body: map[string]any{"notes": fmt.Sprintf("root cause: phishing (%d)", i)}})
		if r.Code != 200 {
			t.Fatalf("patch %d during outage: %d", i, r.Code)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("20 patches during a known outage took %v", d)
	}
	pub.mu.Lock()
	extra := pub.attempts - before
	pub.mu.Unlock()
	if extra > 3 {
		t.Fatalf("%d publish attempts for 20 patches while backing off", extra)
	}
	waitFor(t, 15*time.Second, "the queue in the gauge", func() bool { return testutil.ToFloat64(relay.pending) >= 1 })
	if len(pub.published()) != 0 {
		t.Fatal("published while the broker was down")
	}

	pub.mu.Lock()
	pub.hang = false
	pub.mu.Unlock()
	waitFor(t, 40*time.Second, "the queued changes to be published", func() bool {
		return testutil.ToFloat64(relay.pending) == 0 && len(pub.published()) > 0
	})
	got := pub.published()
	last := got[len(got)-1]
	if last.AlertID != a.AlertID || last.Status != schema.StatusResolved || last.Notes != "root cause: phishing (19)" || len(last.History) != 21 {
		t.Fatalf("published %+v", last)
	}
	if testutil.ToFloat64(relay.published) < 1 {
		t.Fatal("published counter not moved")
	}
}

// Entries an earlier process left behind (it crashed between commit and
// publish) are published when the next relay starts.
func TestTriageRelayPublishesLeftoversAtStart(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	a := alert("acme", "ws1", 1000)
	if _, err := st.IngestAlert(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PatchAlert(context.Background(), auth.Everything, a.AlertID,
		store.Patch{Status: ptr(schema.StatusFalsePositive)}, "alice", time.Unix(2000, 0)); err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	relay := NewTriageRelay(st, pub, nil, nil)
	if err := relay.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the leftover change to be published", func() bool { return len(pub.published()) == 1 })
	if err := relay.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := pub.published()[0]; got.Status != schema.StatusFalsePositive {
		t.Fatalf("published %+v", got)
	}
	if n, pending, err := st.DrainTriage(context.Background(), 10, pub.PublishAlert); n != 0 || pending != 0 || err != nil {
		t.Fatalf("outbox after start: %d, %d, %v", n, pending, err)
	}
}

// Shutdown of a relay that never started returns at once after one
// attempt, and a second Shutdown is harmless.
func TestTriageRelayShutdownUnstarted(t *testing.T) {
	t.Parallel()
	relay := NewTriageRelay(store.NewMemory(), &fakePublisher{}, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := relay.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := relay.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// A change that can never be published (too large for the broker) is
// counted and dropped instead of blocking every later one.
func TestTriageRelayDropsUnpublishable(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	big, small := alert("acme", "ws1", 1000), alert("acme", "ws2", 1000)
	for _, a := range []*schema.Alert{big, small} {
		if _, err := st.IngestAlert(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.PatchAlert(context.Background(), auth.Everything, a.AlertID,
			store.Patch{Status: ptr(schema.StatusAcknowledged)}, "alice", time.Unix(2000, 0)); err != nil {
			t.Fatal(err)
		}
	}
	pub := &tooLarge{id: big.AlertID}
	relay := NewTriageRelay(st, pub, nil, nil)
	relay.Flush(context.Background())
	if testutil.ToFloat64(relay.dropped) != 1 || len(pub.ok) != 1 || pub.ok[0] != small.AlertID {
		t.Fatalf("dropped %v, published %v", testutil.ToFloat64(relay.dropped), pub.ok)
	}
	if n, pending, err := st.DrainTriage(context.Background(), 10, pub.PublishAlert); n != 0 || pending != 0 || err != nil {
		t.Fatalf("outbox after drain: %d, %d, %v", n, pending, err)
	}
}

type tooLarge struct {
	id string
	ok []string
}

func (p *tooLarge) PublishAlert(_ context.Context, a *schema.Alert) error {
	if a.AlertID == p.id {
		return fmt.Errorf("produce: %w", kerr.MessageTooLarge)
	}
	p.ok = append(p.ok, a.AlertID)
	return nil
}

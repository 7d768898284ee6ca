package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
)

// A broker outage does not lose an analyst's change: the PATCH succeeds
// without waiting on the broker, the change stays queued, and the relay
// publishes it (with the alert's state at that time) once the broker is
// back.
func TestTriageRelayRetriesAfterBrokerOutage(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	pub := &fakePublisher{fail: errors.New("broker down")}
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

	r := e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, as: "analyst", body: map[string]any{"status": "resolved", "comment": "reimaged"}})
	if r.Code != 200 {
		t.Fatalf("patch during outage: %d %s", r.Code, r.raw)
	}
	waitFor(t, 10*time.Second, "the failure to be counted", func() bool { return testutil.ToFloat64(relay.failures) >= 1 })
	if got := testutil.ToFloat64(relay.pending); got != 0 && got != 1 {
		t.Fatalf("pending gauge %v", got)
	}
	// While the broker is known to be down, requests do not wait on it.
	start := time.Now()
	r = e.do(req{method: "PATCH", path: "/alerts/" + a.AlertID, as: "analyst", body: map[string]any{"notes": "root cause: phishing"}})
	if r.Code != 200 || time.Since(start) > 2*time.Second {
		t.Fatalf("second patch during outage: %d after %v", r.Code, time.Since(start))
	}
	if len(pub.published()) != 0 {
		t.Fatal("published while the broker was down")
	}

	pub.mu.Lock()
	pub.fail = nil
	pub.mu.Unlock()
	waitFor(t, 10*time.Second, "the queued changes to be published", func() bool { return testutil.ToFloat64(relay.pending) == 0 && len(pub.published()) > 0 })
	got := pub.published()
	last := got[len(got)-1]
	if last.AlertID != a.AlertID || last.Status != schema.StatusResolved || last.Notes != "root cause: phishing" || len(last.History) != 2 {
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

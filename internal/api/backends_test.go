package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logster/logster/internal/schema"
	"github.com/logster/logster/internal/store"
	"github.com/logster/logster/internal/store/storetest"
)

// Two API replicas on one PostgreSQL see each other's ingest, triage and
// feedback, and concurrent triage through both is serialized.
func TestTwoInstancesShareOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	open := func() store.Store {
		st, err := store.OpenPostgres(ctx, dsn) // migrations run twice: must be idempotent
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stA, stB := open(), open()
	a := newEnvOn(t, stA)
	b := newEnvOn(t, stB)
	for name, secret := range a.tokens {
		b.tokens[name+"-a"] = secret // tokens minted via A work on B
	}
	hA, _ := NewIngestHandler(stA, nil, nil)
	hB, _ := NewIngestHandler(stB, nil, nil)
	al := alert("acme", "ws1", 1000)
	// Both replicas receive the same record (e.g. around a rebalance).
	if _, err := hA.Handle(ctx, record(t, al, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := hB.Handle(ctx, record(t, al, false)); err != nil {
		t.Fatal(err)
	}
	var l alertList
	b.do(req{method: "GET", path: "/alerts", as: "viewer-a"}).json(t, &l)
	if l.Total != 1 {
		t.Fatalf("B sees %d alerts", l.Total)
	}
	if r := a.do(req{method: "PATCH", path: "/alerts/" + al.AlertID, as: "analyst", body: map[string]any{"status": "acknowledged"}}); r.Code != 200 {
		t.Fatalf("patch via A: %d", r.Code)
	}
	var got schema.Alert
	b.do(req{method: "GET", path: "/alerts/" + al.AlertID, as: "viewer-a"}).json(t, &got)
	if got.Status != schema.StatusAcknowledged || len(got.History) != 1 {
		t.Fatalf("B sees %+v", got)
	}
	// The closure through B makes A's later reopen-less move a conflict.
	if r := b.do(req{method: "PATCH", path: "/alerts/" + al.AlertID, as: "analyst-a", body: map[string]any{"status": "resolved"}}); r.Code != 200 {
		t.Fatalf("resolve via B: %d", r.Code)
	}
	if r := a.do(req{method: "PATCH", path: "/alerts/" + al.AlertID, as: "analyst", body: map[string]any{"status": "investigating"}}); r.Code != 409 {
		t.Fatalf("A ignores B's closure: %d", r.Code)
	}
	// Concurrent notes through both replicas: every change audited once.
	done := make(chan int, 20)
	for i := range 20 {
		env := a
		if i%2 == 1 {
			env = b
		}
		as := "analyst"
		if env == b {
			as = "analyst-a"
		}
		go func() {
			r := env.do(req{method: "PATCH", path: "/alerts/" + al.AlertID, as: as, body: map[string]any{"notes": fmt.Sprintf("note %d", i)}})
			done <- r.Code
		}()
	}
	for range 20 {
		if code := <-done; code != 200 {
			t.Fatalf("concurrent patch: %d", code)
		}
	}
	a.do(req{method: "GET", path: "/alerts/" + al.AlertID, as: "viewer"}).json(t, &got)
	if len(got.History) != 22 {
		t.Fatalf("history %d entries, want 22", len(got.History))
	}
	// Feedback through A is exported through B.
	a.do(req{method: "POST", path: "/feedback", as: "analyst", body: map[string]any{"alert_id": al.AlertID, "is_true_positive": true}})
	var fl feedbackList
	b.do(req{method: "GET", path: "/feedback", as: "admin-a"}).json(t, &fl)
	if fl.Total != 1 {
		t.Fatalf("B exports %d feedback", fl.Total)
	}
}

// Restart durability through the API: alerts, history and tokens survive a
// close and reopen of the SQLite file.
func TestSQLiteRestartThroughAPI(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "alerts.db")
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, st)
	al := alert("acme", "ws1", 1000)
	e.seed(al)
	e.do(req{method: "PATCH", path: "/alerts/" + al.AlertID, as: "analyst", body: map[string]any{"status": "investigating", "notes": "n"}})
	before := e.do(req{method: "GET", path: "/alerts/" + al.AlertID, as: "viewer"}).raw
	st.Close()

	st2, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	e2 := &env{t: t, st: st2, pub: &fakePublisher{}, clock: e.clock, tokens: e.tokens}
	e2.h = New(Deps{Store: st2, Config: testConfig(), Now: e.clock.Now})
	after := e2.do(req{method: "GET", path: "/alerts/" + al.AlertID, as: "viewer"})
	if after.Code != 200 || string(after.raw) != string(before) {
		t.Fatalf("after restart:\n%s\nbefore:\n%s", after.raw, before)
	}
}

// The Server component on a real loopback port: start, serve, shut down.
func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Host, cfg.Port = "127.0.0.1", 0
	h := New(Deps{Store: store.NewMemory(), Config: cfg})
	s := NewServer(cfg, h, nil)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown before start: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + s.Addr() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var hb healthBody
	if err := json.Unmarshal(b, &hb); err != nil || hb.Status != "ok" || hb.Service != ServiceName {
		t.Fatalf("%s %v", b, err)
	}
	// A second server on the same port fails at Start.
	cfg2 := cfg
	cfg2.Port = portOf(t, s.Addr())
	if err := NewServer(cfg2, h, nil).Start(context.Background()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("port conflict: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	if _, err := http.Get("http://" + s.Addr() + "/health"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	var p int
	if _, err := fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &p); err != nil {
		t.Fatal(err)
	}
	return p
}

package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/auth"
	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// The whole service on an embedded broker: a detection record on
// logster-alerts shows up in the API; an analyst's PATCH is published back
// with logster-origin: api, and the service's own ingest of that echo
// changes nothing.
func TestServiceEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	broker := bus.NewEmbedded("127.0.0.1:0", "", nil)
	if err := broker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Shutdown(context.Background()) })
	cfg := config.Default()
	cfg.Kafka.BootstrapServers = broker.Addrs()
	cfg.Kafka.GroupID = "svc-test"
	if _, err := bus.InitTopics(ctx, cfg.Kafka); err != nil {
		t.Fatal(err)
	}
	cfg.API.Port = 0
	cfg.API.SQLitePath = filepath.Join(t.TempDir(), "alerts.db")
	reg := prometheus.NewRegistry()
	svc, err := NewService(ctx, &cfg, ServiceOptions{Registerer: reg, Gatherer: reg})
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, _ := auth.NewToken("e2e", auth.RoleAnalyst, []string{"acme"}, 0, time.Now())
	if err := svc.Store.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := svc.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	base := "http://" + svc.Addr()
	call := func(method, path string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		rq, _ := http.NewRequest(method, base+path, rd)
		rq.Header.Set("Authorization", "Bearer "+secret)
		rq.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}

	prod, err := bus.NewProducer(cfg.Kafka, "test", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Shutdown(context.Background()) })
	a := alert("acme", "ws1", 1000)
	b, _ := json.Marshal(a)
	if err := prod.Produce(ctx, bus.NewRecord(bus.TopicAlerts, a.Key(), b)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the alert to be ingested", func() bool {
		code, body := call("GET", "/alerts/"+a.AlertID, nil)
		return code == 200 && bytes.Contains(body, []byte(a.AlertID))
	})
	if code, body := call("PATCH", "/alerts/"+a.AlertID, map[string]any{"status": "resolved", "notes": "contained"}); code != 200 {
		t.Fatalf("patch: %d %s", code, body)
	}

	// The triage change is on the topic with the api origin header.
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.BootstrapServers...), kgo.ConsumeTopics(bus.TopicAlerts), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var echo *schema.Alert
	deadline := time.Now().Add(30 * time.Second)
	for echo == nil && time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			if bus.Header(r, bus.HeaderOrigin) == bus.OriginAPI {
				echo, _ = schema.DecodeAlert(r.Value)
			}
		})
	}
	if echo == nil || echo.Status != schema.StatusResolved || echo.Notes != "contained" || len(echo.History) != 2 {
		t.Fatalf("echo %+v", echo)
	}
	// The service consumes its own echo and leaves the alert as it is.
	waitFor(t, 30*time.Second, "the echo to be ingested", func() bool {
		return counterValue(t, reg, "api_alerts_ingested_total", map[string]string{"result": "unchanged", "origin": bus.OriginAPI}) >= 1
	})
	code, body := call("GET", "/alerts/"+a.AlertID, nil)
	var got schema.Alert
	_ = json.Unmarshal(body, &got)
	if code != 200 || got.Status != schema.StatusResolved || len(got.History) != 2 {
		t.Fatalf("after echo: %d %s", code, body)
	}
}

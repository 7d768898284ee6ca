package normalize

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

// startTopics starts an embedded broker with Logster's topics and returns a
// configuration pointing at it, adjusted by adjust.
func startTopics(t *testing.T, group string, adjust func(*config.Config)) config.Config {
	t.Helper()
	ctx := context.Background()
	broker := bus.NewEmbedded("127.0.0.1:0", "", nil)
	if err := broker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Shutdown(context.Background()) }) //nolint:errcheck // test teardown
	cfg := config.Default()
	cfg.Kafka.BootstrapServers = broker.Addrs()
	cfg.Kafka.GroupID = group
	adjust(&cfg)
	if _, err := bus.InitTopics(ctx, cfg.Kafka); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// End to end through the embedded broker: raw records on the raw topics
// become NormalizedEvents keyed tenant:endpoint; auditd lines sent one per
// record are assembled; a poison record goes to the dead-letter topic and
// does not stop the partition.
func TestServiceEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	ctx := context.Background()
	cfg := startTopics(t, "normtest", func(c *config.Config) {
		c.Kafka.DeadLetterTopic = "logster-dead-letters"
		c.Normalizer.AuditdAssemblyWindow = config.Duration(200 * time.Millisecond)
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.BootstrapServers...), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeTopics(bus.TopicNormalized, cfg.Kafka.DeadLetterTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	svc, err := NewService(&cfg, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			svc.Shutdown(ctx)
		}
	}()

	var raw []*kgo.Record
	add := func(topic, key string, v []byte) {
		raw = append(raw, &kgo.Record{Topic: topic, Key: []byte(key), Value: v})
	}
	for _, f := range []string{"winlogbeat8.input.jsonl", "tetragon.input.jsonl"} {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", f))
		if err != nil {
			t.Fatal(err)
		}
		topic := bus.TopicSysmon
		if strings.HasPrefix(f, "tetragon") {
			topic = bus.TopicEBPFProcess
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			add(topic, "", []byte(l))
		}
	}
	// One line per record, keyed by host, no EOE for the second event: the
	// window must release it.
	audit, _ := os.ReadFile(filepath.Join("testdata", "golden", "auditd.input.log"))
	for _, l := range strings.Split(strings.TrimSpace(string(audit)), "\n") {
		add(bus.TopicAuditd, "ubuntu5", []byte(l))
	}
	add(bus.TopicAuditd, "ubuntu5", []byte(`type=EOE msg=audit(1604994496.155:92733): `))
	add(bus.TopicSysmon, "", []byte(`{"this is":"poison"`))
	if err := cl.ProduceSync(ctx, raw...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// winlogbeat8: 3 events; tetragon: 6 (+1 unknown type); auditd: 2.
	const wantEvents = 3 + 6 + 2
	var (
		mu     sync.Mutex
		events []*schema.NormalizedEvent
		dead   int
	)
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		done := len(events) >= wantEvents && dead >= 1
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %d events, %d dead letters", len(events), dead)
		}
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			mu.Lock()
			defer mu.Unlock()
			if r.Topic != bus.TopicNormalized {
				dead++
				return
			}
			ev, err := schema.DecodeEvent(r.Value)
			if err != nil {
				t.Errorf("bad event on the wire: %v", err)
				return
			}
			if string(r.Key) != ev.Key() {
				t.Errorf("record key %q, want %q", r.Key, ev.Key())
			}
			events = append(events, ev)
		})
	}
	var exec int
	for _, ev := range events {
		if ev.Source == string(SourceAuditd) && ev.EventType == schema.EventProcessCreate && ev.Data.Process.CommandLine != "" {
			exec++
		}
	}
	if exec != 2 {
		t.Errorf("want 2 assembled auditd process_create events with command lines, got %d", exec)
	}
	stopped = true
	if err := svc.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Shutdown(ctx); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

func TestServiceShutdownWithoutStart(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	svc, err := NewService(&cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A crash while an audit event waits for its EOE loses nothing: the offset
// of its first line is not committed, so the next run re-reads the line and
// completes the event.
func TestServiceCrashKeepsPendingAuditLines(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	ctx := context.Background()
	cfg := startTopics(t, "crashtest", func(c *config.Config) {
		c.Normalizer.AuditdAssemblyWindow = config.Duration(time.Hour) // only EOE completes
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.BootstrapServers...),
		kgo.ConsumeTopics(bus.TopicNormalized), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func(lines ...string) {
		t.Helper()
		var recs []*kgo.Record
		for _, l := range lines {
			recs = append(recs, &kgo.Record{Topic: bus.TopicAuditd, Key: []byte("web1"), Value: []byte(l)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{} // event type -> count
	var seenMu sync.Mutex
	waitEvents := func(typ schema.EventType, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			seenMu.Lock()
			got := seen[string(typ)]
			seenMu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %d %s events (have %d)", n, typ, got)
			}
			pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
				ev, err := schema.DecodeEvent(r.Value)
				if err != nil {
					t.Errorf("bad event: %v", err)
					return
				}
				seenMu.Lock()
				seen[string(ev.EventType)]++
				seenMu.Unlock()
			})
			cancel()
		}
	}
	start := func() *Service {
		t.Helper()
		svc, err := NewService(&cfg, nil, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return svc
	}
	const exec = `node=web1 type=SYSCALL msg=audit(1604994496.155:7001): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 auid=1000 uid=1000 ses=1 comm="arp" exe="/usr/sbin/arp" key=(null)`
	const login = `node=web1 type=USER_LOGIN msg=audit(1604994497.000:7002): pid=1 uid=0 auid=1000 ses=5 msg='op=login acct="bob" exe="/usr/sbin/sshd" hostname=? addr=10.1.1.1 terminal=ssh res=success'`

	svc := start()
	produce(exec, login) // the exec waits for its EOE; the login is complete
	waitEvents(schema.EventLogon, 1)
	// Crash: the consumer stops (committing what it may), the assembler's
	// pending event is never produced.
	if err := svc.cons.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	svc.cancel()
	<-svc.done
	svc.prod.Shutdown(ctx) //nolint:errcheck // crash simulation

	svc2 := start()
	defer svc2.Shutdown(ctx)
	produce(`node=web1 type=EOE msg=audit(1604994496.155:7001):`)
	waitEvents(schema.EventProcessCreate, 1)
}

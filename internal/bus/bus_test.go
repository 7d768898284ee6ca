package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/logster/logster/internal/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// kfake and franz-go keep a few package-level timers and the
		// OpenTelemetry batcher may still be exiting; neither is ours.
		goleak.IgnoreTopFunction("github.com/twmb/franz-go/pkg/kfake.(*Cluster).run"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*broker).listen"),
	)
}

// startBroker runs an in-memory embedded broker on a free port.
func startBroker(t *testing.T, dataDir string) (*Embedded, config.Kafka) {
	t.Helper()
	e := NewEmbedded("127.0.0.1:0", dataDir, nil)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	k := config.Default().Kafka
	k.BootstrapServers = e.Addrs()
	k.GroupID = "test"
	k.MaxInFlight = 200
	return e, k
}

func admin(t *testing.T, k config.Kafka) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.BootstrapServers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInitTopicsCreatesCatalogueIdempotently(t *testing.T) {
	_, k := startBroker(t, "")
	ctx := context.Background()
	acts, err := InitTopics(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 8 {
		t.Fatalf("want 8 topic actions, got %d: %+v", len(acts), acts)
	}
	for _, a := range acts {
		if a.Action != "created" {
			t.Errorf("first run: %s %s", a.Topic, a.Action)
		}
	}
	topics, err := admin(t, k).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) != 8 {
		t.Fatalf("broker lists %d topics, want exactly 8: %v", len(topics), topics.Names())
	}
	for _, spec := range Catalogue {
		d, ok := topics[spec.Name]
		if !ok {
			t.Fatalf("topic %s missing", spec.Name)
		}
		if got := int32(len(d.Partitions)); got != spec.Partitions {
			t.Errorf("%s has %d partitions, want %d", spec.Name, got, spec.Partitions)
		}
	}
	// Second run: no-op.
	acts, err = InitTopics(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if a.Action != "exists" {
			t.Errorf("second run: %s %s", a.Topic, a.Action)
		}
	}
}

func TestInitTopicsAddsMissingPartitions(t *testing.T) {
	_, k := startBroker(t, "")
	ctx := context.Background()
	if _, err := admin(t, k).CreateTopic(ctx, 2, -1, nil, TopicAlerts); err != nil {
		t.Fatal(err)
	}
	acts, err := InitTopics(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range acts {
		if a.Topic == TopicAlerts {
			found = a.Action == "partitions-added"
		}
	}
	if !found {
		t.Fatalf("want partitions-added for %s: %+v", TopicAlerts, acts)
	}
}

// recorder collects what handlers saw, per key in processing order.
type recorder struct {
	mu     sync.Mutex
	seen   map[string][]int // key -> values in processing order (all members)
	total  atomic.Int64
	unique sync.Map
}

func newRecorder() *recorder { return &recorder{seen: map[string][]int{}} }

func (r *recorder) add(key string, v int) {
	r.mu.Lock()
	r.seen[key] = append(r.seen[key], v)
	r.mu.Unlock()
	r.total.Add(1)
	r.unique.Store(key+"/"+strconv.Itoa(v), true)
}

func (r *recorder) uniqueCount() int {
	n := 0
	r.unique.Range(func(any, any) bool { n++; return true })
	return n
}

func createTopic(t *testing.T, k config.Kafka, name string, parts int32) {
	t.Helper()
	resp, err := admin(t, k).CreateTopic(context.Background(), parts, -1, nil, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
}

func produceN(t *testing.T, k config.Kafka, topic string, keys, perKey int, poisonAt string) {
	t.Helper()
	p, err := NewProducer(k, "seed", nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	recs := make([]*kgo.Record, 0, keys*perKey)
	for i := 0; i < perKey; i++ {
		for kk := 0; kk < keys; kk++ {
			key := "k" + strconv.Itoa(kk)
			val := strconv.Itoa(i)
			if key+"/"+val == poisonAt {
				val = "poison"
			}
			recs = append(recs, NewRecord(topic, key, []byte(val)))
		}
	}
	if err := p.Produce(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
}

// The delivery test of the spine: 10k keyed records through a two-member
// group, a member joining mid-way (forced rebalance) and a member crashing
// without committing. Every record is processed at least once, per-key
// order holds, committed offsets end at the high watermarks, and a poison
// record is skipped and counted without stalling its partition.
func TestConsumerAtLeastOnceWithRebalanceAndCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("delivery test takes ~15s")
	}
	e, k := startBroker(t, "")
	const in, out = "in", "out"
	createTopic(t, k, in, 6)
	createTopic(t, k, out, 6)
	const keys, perKey = 100, 100
	produceN(t, k, in, keys, perKey, "k7/50")

	rec := newRecorder()
	var crasherDone atomic.Int64 // records the crasher finished
	var hung atomic.Bool
	handler := func(member string) Handler {
		return HandlerFunc(func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
			if string(r.Value) == "poison" {
				return nil, Permanent(errors.New("value is not a number"))
			}
			if member == "crasher" && crasherDone.Load() >= 1500 {
				hung.Store(true)
				return nil, errors.New("simulated hang before crash")
			}
			v, err := strconv.Atoi(string(r.Value))
			if err != nil {
				return nil, Permanent(err)
			}
			rec.add(string(r.Key), v)
			if member == "crasher" {
				crasherDone.Add(1)
			} else {
				time.Sleep(50 * time.Microsecond) // keep the run long enough for the rebalance to land mid-way
			}
			return []*kgo.Record{NewRecord(out, string(r.Key), r.Value)}, nil
		})
	}
	newMember := func(name string) (*Consumer, *prometheus.Registry) {
		reg := prometheus.NewRegistry()
		c, err := NewConsumer(ConsumerConfig{Name: "deliv", Group: "deliv", Topics: []string{in}, Kafka: k, RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond}, handler(name), nil, reg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return c, reg
	}

	// The crasher consumes alone, then hangs inside a batch with processed
	// but uncommitted records, and its process dies: no commit happens.
	crasher, regC := newMember("crasher")
	waitFor(t, 30*time.Second, "crasher to hang", hung.Load)
	// Its commits never reach the broker (the process is gone), so it
	// leaves the group with its last batch uncommitted.
	crasherID, _ := crasher.cl.GroupMetadata()
	e.c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.c.KeepControl()
		if r, ok := req.(*kmsg.OffsetCommitRequest); ok && r.MemberID == crasherID {
			return nil, errors.New("connection lost"), true
		}
		return nil, nil, false
	})
	if err := crasher.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := testutil.ToFloat64(crasher.m.commitErr); v < 1 {
		t.Fatalf("crasher commit errors = %v, want the lost commit counted", v)
	}

	a, regA := newMember("a")
	waitFor(t, 30*time.Second, "4000 records", func() bool { return rec.uniqueCount() >= 4000 })
	// Forced rebalance: a second member joins mid-way.
	b, regB := newMember("b")
	waitFor(t, 60*time.Second, "all records", func() bool { return rec.uniqueCount() >= keys*perKey-1 })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	// Every record at least once, per-key order by first occurrence.
	rec.mu.Lock()
	for kk := 0; kk < keys; kk++ {
		key := "k" + strconv.Itoa(kk)
		next := 0
		firstSeen := map[int]bool{}
		for _, v := range rec.seen[key] {
			if firstSeen[v] {
				continue
			}
			firstSeen[v] = true
			if key == "k7" && next == 50 {
				next++ // the poison record
			}
			if v != next {
				t.Fatalf("key %s: first occurrences out of order: got %d, want %d (all: %v)", key, v, next, rec.seen[key])
			}
			next++
		}
		if next != perKey {
			t.Fatalf("key %s: processed %d distinct values, want %d", key, next, perKey)
		}
	}
	rec.mu.Unlock()
	redelivered := rec.total.Load() - int64(rec.uniqueCount())
	t.Logf("processed %d records for %d distinct (redelivered %d)", rec.total.Load(), rec.uniqueCount(), redelivered)
	if redelivered == 0 {
		t.Fatal("the crashed member's uncommitted records were not redelivered (crash scenario did not happen)")
	}

	// Poison counted, and its partition went on (checked above: k7 is complete).
	poison := 0.0
	for _, reg := range []*prometheus.Registry{regA, regB, regC} {
		poison += counterSum(t, reg, "kafka_poison_records_total")
	}
	// At least once: a redelivered poison record may be counted again.
	if poison < 1 {
		t.Fatalf("poison records counted %v, want >= 1", poison)
	}

	// Committed offsets equal the end offsets.
	adm := admin(t, k)
	ends, err := adm.ListEndOffsets(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := adm.FetchOffsets(context.Background(), "deliv")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		c, ok := committed.Lookup(in, o.Partition)
		if !ok || c.At != o.Offset {
			t.Errorf("partition %d: committed %v, end %d", o.Partition, c.At, o.Offset)
		}
	})
	// Every distinct record reached the output topic.
	outEnds, err := adm.ListEndOffsets(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	var outTotal int64
	outEnds.Each(func(o kadm.ListedOffset) { outTotal += o.Offset })
	if outTotal < keys*perKey-1 {
		t.Fatalf("output topic holds %d records, want >= %d", outTotal, keys*perKey-1)
	}
}

func counterSum(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// A poison record goes to the dead-letter topic with its origin in headers.
func TestConsumerDeadLetter(t *testing.T) {
	_, k := startBroker(t, "")
	k.DeadLetterTopic = "dlq"
	createTopic(t, k, "in", 1)
	createTopic(t, k, "dlq", 1)
	produceN(t, k, "in", 1, 5, "k0/2")
	var handled atomic.Int64
	reg := prometheus.NewRegistry()
	c, err := NewConsumer(ConsumerConfig{Name: "dl", Topics: []string{"in"}, Kafka: k}, HandlerFunc(func(_ context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		handled.Add(1)
		if string(r.Value) == "poison" {
			return nil, Permanent(errors.New("bad record"))
		}
		return nil, nil
	}), nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Shutdown(context.Background()) }()
	waitFor(t, 20*time.Second, "5 records", func() bool { return handled.Load() >= 5 })

	cl, err := kgo.NewClient(kgo.SeedBrokers(k.BootstrapServers...), kgo.ConsumeTopics("dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got *kgo.Record
	for got == nil && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = r })
	}
	if got == nil {
		t.Fatal("no dead letter")
	}
	if string(got.Value) != "poison" || Header(got, HeaderDLQTopic) != "in" || Header(got, HeaderDLQOffset) != "2" || !strings.Contains(Header(got, HeaderDLQError), "bad record") {
		t.Fatalf("dead letter = %q headers %+v", got.Value, got.Headers)
	}
	if v := testutil.ToFloat64(c.m.dead.WithLabelValues("in")); v != 1 {
		t.Fatalf("dead-letter counter = %v", v)
	}
}

// A transient handler error is retried; the partition waits and nothing is skipped.
func TestConsumerRetriesTransientErrors(t *testing.T) {
	_, k := startBroker(t, "")
	createTopic(t, k, "in", 1)
	produceN(t, k, "in", 1, 10, "")
	var fails atomic.Int64
	var mu sync.Mutex
	var order []string
	c, err := NewConsumer(ConsumerConfig{Name: "rt", Topics: []string{"in"}, Kafka: k, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond},
		HandlerFunc(func(_ context.Context, r *kgo.Record) ([]*kgo.Record, error) {
			if string(r.Value) == "3" && fails.Add(1) <= 3 {
				return nil, errors.New("store unavailable")
			}
			mu.Lock()
			order = append(order, string(r.Value))
			mu.Unlock()
			return nil, nil
		}), nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Shutdown(context.Background()) }()
	waitFor(t, 20*time.Second, "10 records", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) >= 10 })
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "0,1,2,3,4,5,6,7,8,9" {
		t.Fatalf("order = %v", order)
	}
	if v := testutil.ToFloat64(c.m.retries.WithLabelValues("in")); v != 3 {
		t.Fatalf("retries = %v, want 3", v)
	}
}

// Trace context crosses a hop: the consumer's span continues the producer's
// trace, and outputs carry the same trace id onwards.
func TestTraceFollowsRecordAcrossHop(t *testing.T) {
	_, k := startBroker(t, "")
	createTopic(t, k, "in", 1)
	createTopic(t, k, "out", 1)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	ctx, root := tp.Tracer("test").Start(context.Background(), "ship")
	p, err := NewProducer(k, "tp", nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Produce(ctx, NewRecord("in", "k", []byte("v"))); err != nil {
		t.Fatal(err)
	}
	root.End()
	_ = p.Shutdown(context.Background())

	var handled atomic.Bool
	c, err := NewConsumer(ConsumerConfig{Name: "tr", Topics: []string{"in"}, Kafka: k, Tracer: tp},
		HandlerFunc(func(_ context.Context, r *kgo.Record) ([]*kgo.Record, error) {
			handled.Store(true)
			return []*kgo.Record{NewRecord("out", "k", r.Value)}, nil
		}), nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "handled", handled.Load)
	waitFor(t, 10*time.Second, "consumer span", func() bool { return len(exp.GetSpans()) >= 2 })
	_ = c.Shutdown(context.Background())

	want := root.SpanContext().TraceID()
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID() != want {
			t.Fatalf("span %s has trace %s, want %s", s.Name, s.SpanContext.TraceID(), want)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.BootstrapServers...), kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out *kgo.Record
	for out == nil && fctx.Err() == nil {
		cl.PollFetches(fctx).EachRecord(func(r *kgo.Record) { out = r })
	}
	if out == nil || !strings.Contains(Header(out, "traceparent"), want.String()) {
		t.Fatalf("output traceparent %q does not carry trace %s", Header(out, "traceparent"), want)
	}
}

// Records produced before a broker restart are consumable after it.
func TestEmbeddedBrokerPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e := NewEmbedded("127.0.0.1:0", dir, nil)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	k := config.Default().Kafka
	k.BootstrapServers = e.Addrs()
	if _, err := InitTopics(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	p, err := NewProducer(k, "persist", nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if err := p.Produce(context.Background(), NewRecord(TopicSysmon, "h"+strconv.Itoa(i%5), []byte(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.Shutdown(context.Background())
	addr := e.Addrs()[0]
	_ = e.Shutdown(context.Background())

	e2 := NewEmbedded(addr, dir, nil)
	if err := e2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e2.Shutdown(context.Background()) }()
	k.BootstrapServers = e2.Addrs()
	acts, err := InitTopics(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if a.Action != "exists" {
			t.Fatalf("after restart %s was %s, want exists", a.Topic, a.Action)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.BootstrapServers...), kgo.ConsumeTopics(TopicSysmon), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	n := 0
	for n < 50 && ctx.Err() == nil {
		n += len(cl.PollFetches(ctx).Records())
	}
	if n != 50 {
		t.Fatalf("read %d records after restart, want 50", n)
	}
}

func TestPermanentWrapping(t *testing.T) {
	base := errors.New("x")
	if !IsPermanent(fmt.Errorf("ctx: %w", Permanent(base))) || IsPermanent(base) || Permanent(nil) != nil {
		t.Fatal("Permanent wrapping broken")
	}
	if !errors.Is(Permanent(base), base) {
		t.Fatal("Permanent must unwrap")
	}
}

// A handler that holds records (HeldFrom) keeps the partition's commit below
// them; once it lets go, the commit catches up with the next batch.
func TestConsumerCommitFloor(t *testing.T) {
	_, k := startBroker(t, "")
	createTopic(t, k, "in", 1)
	produceN(t, k, "in", 1, 10, "")
	var held atomic.Int64
	held.Store(3)
	var handled atomic.Int64
	c, err := NewConsumer(ConsumerConfig{Name: "floor", Group: "floor", Topics: []string{"in"}, Kafka: k,
		HeldFrom: func(topic string, p int32) (int64, bool) {
			h := held.Load()
			return h, topic == "in" && p == 0 && h >= 0
		}},
		HandlerFunc(func(context.Context, *kgo.Record) ([]*kgo.Record, error) { handled.Add(1); return nil, nil }),
		nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Shutdown(context.Background()) }()
	adm := admin(t, k)
	committedAt := func() int64 {
		off, err := adm.FetchOffsets(context.Background(), "floor")
		if err != nil {
			return -1 // the group is not there yet
		}
		o, ok := off.Lookup("in", 0)
		if !ok {
			return -1
		}
		return o.At
	}
	waitFor(t, 20*time.Second, "10 records", func() bool { return handled.Load() >= 10 })
	waitFor(t, 10*time.Second, "the commit at the floor", func() bool { return committedAt() == 3 })
	held.Store(-1)
	produceN(t, k, "in", 1, 1, "")
	waitFor(t, 10*time.Second, "the commit to catch up", func() bool { return committedAt() == 11 })
}

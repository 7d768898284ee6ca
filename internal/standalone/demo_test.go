package standalone

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The one-command demo, end to end in process: the bundled real
// lateral-movement recording goes through the embedded broker, the
// normalizer, the shipped Windows model, the alerts service and the API
// store, and comes out as alerts on both hosts plus the incident linking
// them.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("replays a real recording through the whole pipeline")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	Prepare(&cfg, t.TempDir())
	PrepareDemo(&cfg)
	cfg.Standalone.KafkaListen = "127.0.0.1:0"
	cfg.API.Port = freePort(t)
	cfg.Model.Path = filepath.Join(root, "models", "windows", "model.safetensors")
	cfg.Model.LinuxModelPath = filepath.Join(root, "models", "linux", "model.safetensors")
	sys, err := New(&cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := sys.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := sys.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	var out bytes.Buffer
	res, err := RunDemo(ctx, sys, DemoOptions{
		Recordings: []string{filepath.Join(root, "demo", "empire_msbuild_dcerpc_wmi_smb.zip")},
		Out:        &out,
		Timeout:    3 * time.Minute,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("demo: %d records, %d alerts in %s", res.Records, len(res.Alerts), res.Took)
	if res.Records != 4559 {
		t.Errorf("replayed %d records, want the recording's 4559", res.Records)
	}
	var target, lateral bool
	for _, a := range res.Alerts {
		switch {
		case a.Kind == schema.AlertKindEndpoint && a.EndpointID == "workstation6":
			target = true
		case a.Kind == schema.AlertKindLateralMovement:
			for _, h := range a.Chain {
				if h.SourceEndpoint == "workstation5" && h.TargetEndpoint == "workstation6" {
					lateral = true
				}
			}
		}
	}
	if !target || !lateral {
		t.Fatalf("want an alert on the target workstation6 and the incident workstation5 -> workstation6:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "workstation5 -> workstation6") {
		t.Fatalf("the report does not show the chain:\n%s", out.String())
	}
	// Every normalized event reached normalized-endpoint-events, keyed
	// tenant:endpoint, each endpoint on one partition (so in order).
	cl, err := kgo.NewClient(kgo.SeedBrokers(sys.BrokerAddrs()...), kgo.ConsumeTopics(bus.TopicNormalized),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	partOf := map[string]int32{}
	lastTS := map[string]float64{}
	n, outOfOrder := 0, 0
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for n < 3557 && pctx.Err() == nil {
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			n++
			ev, err := schema.DecodeEvent(r.Value)
			if err != nil {
				t.Fatalf("record %d: %v", r.Offset, err)
			}
			if string(r.Key) != ev.Key() {
				t.Fatalf("record keyed %q, event is %s", r.Key, ev.Key())
			}
			if p, seen := partOf[ev.Key()]; seen && p != r.Partition {
				t.Fatalf("endpoint %s on partitions %d and %d", ev.Key(), p, r.Partition)
			}
			partOf[ev.Key()] = r.Partition
			if ev.Timestamp < lastTS[ev.Key()] {
				outOfOrder++ // collectors deliver channels out of order; the window store's late tolerance absorbs it
			}
			lastTS[ev.Key()] = max(lastTS[ev.Key()], ev.Timestamp)
		})
	}
	if n != 3557 {
		t.Fatalf("normalized-endpoint-events holds %d events, want the recording's 3557 (logster normalize)", n)
	}
	t.Logf("%d normalized events on %d endpoints; %d arrived behind their endpoint's newest (delivery order kept per partition)", n, len(partOf), outOfOrder)

	// The alerts are in the API's store, where analysts will see them.
	if n, err := sys.Store().CountAlerts(ctx, allTenants()); err != nil || n != len(res.Alerts) {
		t.Fatalf("store holds %d alerts (err %v), demo reported %d", n, err, len(res.Alerts))
	}
}

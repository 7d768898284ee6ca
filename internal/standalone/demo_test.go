package standalone

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	// The alerts are in the API's store, where analysts will see them.
	if n, err := sys.Store().CountAlerts(ctx, allTenants()); err != nil || n != len(res.Alerts) {
		t.Fatalf("store holds %d alerts (err %v), demo reported %d", n, err, len(res.Alerts))
	}
}

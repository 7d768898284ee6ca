package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logster/logster/internal/bus"
)

// buildBinary compiles the logster binary once per test process.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func logsterBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "logster-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "logster")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("build logster: %v\n%s", binErr, binPath)
	}
	return binPath
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runningStandalone is a standalone process started by a test.
type runningStandalone struct {
	cmd     *exec.Cmd
	kafka   string
	api     string
	started time.Duration
	exited  chan error
}

var readyLine = regexp.MustCompile(`Kafka \[([^\]]+)\], API http://(\S+)`)

func startStandalone(t *testing.T, dataDir string, kafkaPort, apiPort int) *runningStandalone {
	t.Helper()
	cmd := exec.Command(logsterBinary(t), "standalone", "--data-dir", dataDir)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(),
		"LOGSTER_MODEL_PATH="+filepath.Join(root, "models", "windows", "model.safetensors"),
		"LOGSTER_MODEL_LINUX_MODEL_PATH="+filepath.Join(root, "models", "linux", "model.safetensors"),
		"LOGSTER_STANDALONE_KAFKA_LISTEN=127.0.0.1:"+strconv.Itoa(kafkaPort),
		"LOGSTER_API_PORT="+strconv.Itoa(apiPort),
		"LOGSTER_DASHBOARD_PORT="+strconv.Itoa(freePort(t)),
		"LOGSTER_TELEMETRY_LOG_LEVEL=warn",
	)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rs := &runningStandalone{cmd: cmd, exited: make(chan error, 1)}
	ready := make(chan []string, 1)
	var tail strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m
			} else {
				tail.WriteString(sc.Text() + "\n")
			}
		}
		rs.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case m := <-ready:
		rs.kafka, rs.api, rs.started = m[1], m[2], time.Since(begin)
	case err := <-rs.exited:
		t.Fatalf("standalone exited before ready: %v\n%s", err, tail.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("standalone not ready after 60s\n%s", tail.String())
	}
	return rs
}

func (rs *runningStandalone) stop(t *testing.T) (time.Duration, int) {
	t.Helper()
	begin := time.Now()
	if err := rs.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rs.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("standalone did not exit within 20s of SIGTERM")
	}
	return time.Since(begin), rs.cmd.ProcessState.ExitCode()
}

// Black-box check of the spine's "done when": standalone starts, lists
// exactly the eight topics, serves /metrics, exits 0 on SIGTERM, and keeps
// records across a restart.
func TestStandaloneBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	kport, aport := freePort(t), freePort(t)
	rs := startStandalone(t, dir, kport, aport)
	t.Logf("standalone ready in %s", rs.started)

	// Exactly the eight topics, with their partition counts.
	cl, err := kgo.NewClient(kgo.SeedBrokers(rs.kafka))
	if err != nil {
		t.Fatal(err)
	}
	topics, err := kadm.NewClient(cl).ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) != len(bus.Catalogue) {
		t.Fatalf("broker lists %v, want the %d catalogue topics", topics.Names(), len(bus.Catalogue))
	}
	for _, spec := range bus.Catalogue {
		if got := len(topics[spec.Name].Partitions); got != int(spec.Partitions) {
			t.Errorf("%s: %d partitions, want %d", spec.Name, got, spec.Partitions)
		}
	}
	// kcat (a real, independent Kafka client) sees the same, when installed.
	if kcat, err := exec.LookPath("kcat"); err == nil {
		out, err := exec.Command(kcat, "-L", "-b", rs.kafka, "-m", "10").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat -L: %v\n%s", err, out)
		}
		if n := len(regexp.MustCompile(`(?m)^\s+topic "`).FindAll(out, -1)); n != 8 {
			t.Fatalf("kcat lists %d topics, want 8:\n%s", n, out)
		}
	} else {
		t.Log("kcat not installed; skipped the independent-client check")
	}

	// A raw record survives a restart.
	p, err := kgo.NewClient(kgo.SeedBrokers(rs.kafka))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(context.Background(), bus.NewRecord(bus.TopicSysmon, "ws1", []byte(`{"persist":"me"}`))).FirstErr(); err != nil {
		t.Fatal(err)
	}
	p.Close()
	cl.Close()

	resp, err := http.Get("http://" + rs.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "go_goroutines") || !strings.Contains(string(body), "raw_events_total") ||
		!strings.Contains(string(body), "inferences_run") || !strings.Contains(string(body), "alerts_created") {
		t.Fatalf("/metrics: %d\n%.500s", resp.StatusCode, body)
	}

	took, code := rs.stop(t)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if took > 10*time.Second {
		t.Fatalf("shutdown took %s, want < 10s", took)
	}

	rs2 := startStandalone(t, dir, kport, aport)
	c, err := kgo.NewClient(kgo.SeedBrokers(rs2.kafka), kgo.ConsumeTopics(bus.TopicSysmon), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	found := false
	for !found && ctx.Err() == nil {
		c.PollFetches(ctx).EachRecord(func(r *kgo.Record) { found = found || string(r.Value) == `{"persist":"me"}` })
	}
	if !found {
		t.Fatal("record produced before the restart is gone")
	}
	if _, code := rs2.stop(t); code != 0 {
		t.Fatalf("second exit code %d", code)
	}
}

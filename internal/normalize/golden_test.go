package normalize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden.jsonl from the current output")

// goldenConfig is the normalizer configuration of the golden tests: one
// host mapped to a tenant, so tenant resolution is covered too.
func goldenConfig() config.Normalizer {
	c := config.Default().Normalizer
	c.TenantByHost = map[string]string{"workstation6": "shire"}
	return c
}

// runFixture normalizes every line of a fixture the way `logster normalize`
// does (clock priming, cross-line audit assembly, flush at the end) and
// renders each outcome as one JSON line.
func runFixture(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(goldenConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	for _, l := range lines {
		n.Prime(path, l)
	}
	var out bytes.Buffer
	emit := func(ev *schema.NormalizedEvent, perr *ParseError) {
		if ev != nil {
			b := AppendEvent(nil, ev)
			if _, err := schema.DecodeEvent(b); err != nil {
				t.Errorf("%s: emitted event does not decode: %v\n%s", path, err, b)
			}
			out.Write(b)
		} else {
			b, _ := json.Marshal(map[string]any{"error": map[string]any{
				"source": perr.Source, "reason": perr.Reason, "channel": perr.Channel, "native_id": perr.NativeID}})
			out.Write(b)
		}
		out.WriteByte('\n')
	}
	asm := NewAuditAssembler(0, 1000)
	for _, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		// Raw audit logs name no host; the offline tool takes it from --host.
		n.Normalize(Input{Value: l, Scope: path, Audit: asm, HostHint: "ubuntu5"}, emit)
	}
	n.FlushAudit(asm, time.Now(), true, emit)
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.input.*"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.SplitN(filepath.Base(in), ".input.", 2)[0]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := runFixture(t, in)
			if again := runFixture(t, in); !bytes.Equal(got, again) {
				t.Fatalf("output is not deterministic")
			}
			golden := filepath.Join("testdata", "golden", name+".golden.jsonl")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := splitLines(got), splitLines(want)
				for i := 0; i < max(len(gl), len(wl)); i++ {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Fatalf("line %d differs (go test -run TestGolden -update rewrites)\n got: %s\nwant: %s", i+1, g, w)
					}
				}
			}
		})
	}
}

func splitLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

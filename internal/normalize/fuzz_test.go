package normalize

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

// Native fuzz targets, one per parser. Each checks the invariants of the
// trust boundary: no panic, and every emitted event encodes to valid JSON
// that validates and decodes back. Seeds are the golden fixtures; inputs
// that found bugs are kept under testdata/fuzz/<Target>/.

func fuzzParser(f *testing.F, src Source, fixture string) {
	data, err := os.ReadFile(filepath.Join("testdata", "golden", fixture))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			f.Add(l)
		}
	}
	cfg := config.Default().Normalizer
	cfg.MaxRecordBytes = 64 << 10
	n, err := New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		asm := NewAuditAssembler(time.Hour, 8)
		check := func(ev *schema.NormalizedEvent, perr *ParseError) {
			if ev == nil {
				if perr == nil || perr.Reason == "" {
					t.Fatalf("outcome with neither event nor reason")
				}
				return
			}
			b := AppendEvent(nil, ev)
			if !json.Valid(b) {
				t.Fatalf("invalid JSON: %q", b)
			}
			if _, err := schema.DecodeEvent(b); err != nil {
				t.Fatalf("event does not validate: %v\n%s", err, b)
			}
			std, err := json.Marshal(ev)
			if err != nil || !bytes.Equal(std, b) {
				t.Fatalf("AppendEvent differs from encoding/json:\n%s\n%s", b, std)
			}
		}
		n.Normalize(Input{Value: in, Source: src, HostHint: "h", Audit: asm}, check)
		n.FlushAudit(asm, time.Now(), true, check)
		n.RawWinlogbeat(Input{Value: in, Source: src})
	})
}

func FuzzDetect(f *testing.F)      { fuzzParser(f, SourceAuto, "nxlog.input.jsonl") }
func FuzzWinlogbeat(f *testing.F)  { fuzzParser(f, SourceWinlogbeat, "winlogbeat8.input.jsonl") }
func FuzzWinlogbeat6(f *testing.F) { fuzzParser(f, SourceWinlogbeat6, "winlogbeat6.input.jsonl") }
func FuzzNXLog(f *testing.F)       { fuzzParser(f, SourceNXLog, "nxlog.input.jsonl") }
func FuzzWindowsFlat(f *testing.F) { fuzzParser(f, SourceWindowsFlat, "windows_flat.input.jsonl") }
func FuzzSentinel(f *testing.F)    { fuzzParser(f, SourceSentinel, "sentinel.input.jsonl") }
func FuzzAuditd(f *testing.F)      { fuzzParser(f, SourceAuditd, "auditd.input.log") }
func FuzzAuditdJSON(f *testing.F)  { fuzzParser(f, SourceAuditd, "auditd_json.input.jsonl") }
func FuzzAUOMS(f *testing.F)       { fuzzParser(f, SourceAUOMS, "auoms.input.jsonl") }
func FuzzAuditbeat(f *testing.F)   { fuzzParser(f, SourceAuditbeat, "auditbeat.input.jsonl") }
func FuzzTetragon(f *testing.F)    { fuzzParser(f, SourceTetragon, "tetragon.input.jsonl") }
func FuzzLogsterEBPF(f *testing.F) { fuzzParser(f, SourceLogsterEBPF, "logster_ebpf.input.jsonl") }
func FuzzSysmonLinux(f *testing.F) { fuzzParser(f, SourceSysmonLinux, "sysmon_linux.input.jsonl") }

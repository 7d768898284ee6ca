package evtx

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestWinlogbeatGolden renders every fixture as Winlogbeat JSON lines and
// compares with testdata/<fixture>.golden.json.
func TestWinlogbeatGolden(t *testing.T) {
	t.Parallel()
	fixtures, err := filepath.Glob(filepath.Join("testdata", "*.evtx"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range fixtures {
		t.Run(filepath.Base(path), func(t *testing.T) {
			recs, _, _ := readAll(t, filepath.ToSlash(path))
			var out bytes.Buffer
			for _, rec := range recs {
				js, err := rec.WinlogbeatJSON()
				if err != nil {
					t.Fatal(err)
				}
				var indented bytes.Buffer
				if err := json.Indent(&indented, js, "", "  "); err != nil {
					t.Fatalf("invalid JSON: %v\n%s", err, js)
				}
				out.Write(indented.Bytes())
				out.WriteByte('\n')
			}
			golden := path + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update after checking):\n%s", golden, out.Bytes())
			}
		})
	}
}

// TestWinlogbeatShape checks field names and JSON types against what
// Winlogbeat 8 ships (its golden files in elastic/beats,
// x-pack/winlogbeat/module/*/test/testdata/collection).
func TestWinlogbeatShape(t *testing.T) {
	t.Parallel()
	recs, _, _ := readAll(t, filepath.Join("testdata", "sysmon-process-create.evtx"))
	js, err := recs[0].WinlogbeatJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var cur any = doc
		for _, k := range strings.Split(path, ".") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[k]
		}
		return cur
	}
	want := map[string]any{
		"@timestamp":                          "2026-04-20T10:00:35.6466242Z",
		"event.code":                          "1",
		"event.kind":                          "event",
		"event.provider":                      "Microsoft-Windows-Sysmon",
		"host.name":                           "swachchhanda",
		"log.level":                           "information",
		"winlog.api":                          "wineventlog",
		"winlog.channel":                      "Microsoft-Windows-Sysmon/Operational",
		"winlog.computer_name":                "swachchhanda",
		"winlog.event_id":                     "1",
		"winlog.opcode":                       "Info",
		"winlog.process.pid":                  float64(3208),
		"winlog.process.thread.id":            float64(1724),
		"winlog.provider_guid":                "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
		"winlog.provider_name":                "Microsoft-Windows-Sysmon",
		"winlog.record_id":                    float64(86918),
		"winlog.user.identifier":              "S-1-5-18",
		"winlog.user.name":                    "SYSTEM",
		"winlog.user.domain":                  "NT AUTHORITY",
		"winlog.user.type":                    "Well Known Group",
		"winlog.version":                      float64(5),
		"winlog.event_data.ProcessId":         "6180",
		"winlog.event_data.LogonId":           "0x33e8d150",
		"winlog.event_data.LogonGuid":         "{0197231E-7F52-69E4-50D1-E83300000000}",
		"winlog.event_data.RuleName":          "-",
		"winlog.event_data.TerminalSessionId": "2",
	}
	for path, w := range want {
		if got := get(path); !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", path, got, w)
		}
	}
	// Sysmon's keyword 0x8000000000000000 has no standard name, and task 1
	// has none without the publisher's metadata: both are omitted, as
	// Winlogbeat omits them.
	for _, path := range []string{"winlog.keywords", "winlog.task", "event.action", "event.outcome"} {
		if got := get(path); got != nil {
			t.Errorf("%s = %#v, want absent", path, got)
		}
	}
	for k, v := range get("winlog.event_data").(map[string]any) {
		if _, ok := v.(string); !ok {
			t.Errorf("event_data.%s is %T, Winlogbeat ships strings", k, v)
		}
	}
	ts, err := time.Parse(time.RFC3339Nano, get("@timestamp").(string))
	if err != nil || !ts.Equal(recs[0].Timestamp) {
		t.Errorf("@timestamp %v %v", ts, err)
	}
}

func TestWinlogbeatSecurityFields(t *testing.T) {
	t.Parallel()
	recs, _, _ := readAll(t, filepath.Join("testdata", "security-new-user.evtx"))
	var rec *Record
	for _, r := range recs {
		if r.System.EventID == 4720 {
			rec = r
		}
	}
	if rec == nil {
		t.Fatal("no 4720 record in the fixture")
	}
	js, _ := rec.WinlogbeatJSON()
	var doc struct {
		Event struct {
			Outcome string `json:"outcome"`
		} `json:"event"`
		Winlog struct {
			Keywords  []string          `json:"keywords"`
			EventData map[string]string `json:"event_data"`
		} `json:"winlog"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Event.Outcome != "success" || !reflect.DeepEqual(doc.Winlog.Keywords, []string{"Audit Success"}) {
		t.Errorf("outcome %q keywords %v", doc.Event.Outcome, doc.Winlog.Keywords)
	}
	// CRLF becomes LF and trailing newlines go, as in Winlogbeat.
	if got := doc.Winlog.EventData["UserAccountControl"]; got != "\n\t\t%%2080\n\t\t%%2082\n\t\t%%2084" {
		t.Errorf("UserAccountControl %q", got)
	}
	if got := doc.Winlog.EventData["SubjectLogonId"]; got != "0x3e7" {
		t.Errorf("SubjectLogonId %q", got)
	}
}

func TestKeywordNames(t *testing.T) {
	t.Parallel()
	cases := map[uint64][]string{
		0x8020000000000000: {"Audit Success"},
		0x8010000000000000: {"Audit Failure"},
		0x0080000000000000: {"Classic"},
		0x8000000000000000: nil,
		0x4000000000200800: nil,
		0x00a0000000000000: {"Audit Success", "Classic"},
	}
	for kw, want := range cases {
		if got := KeywordNames(kw); !reflect.DeepEqual(got, want) {
			t.Errorf("KeywordNames(%#x) = %v, want %v", kw, got, want)
		}
	}
	if LevelName(0) != "Information" || LevelName(2) != "Error" || LevelName(9) != "" {
		t.Errorf("LevelName")
	}
}

// String escaping is internal/jsonw's (tested there against encoding/json).
func TestCleanText(t *testing.T) {
	t.Parallel()
	if got := cleanText("a\r\nb\r\n\n"); got != "a\nb" {
		t.Errorf("cleanText %q", got)
	}
}

func TestWinlogbeatJSONEmptyRecord(t *testing.T) {
	t.Parallel()
	var r *Record
	if _, err := r.WinlogbeatJSON(); err == nil {
		t.Errorf("nil record rendered")
	}
	if _, err := (&Record{}).WinlogbeatJSON(); err == nil {
		t.Errorf("record without a tree rendered")
	}
}

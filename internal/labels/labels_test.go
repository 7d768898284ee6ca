package labels

import (
	"archive/zip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logster/logster/internal/schema"
)

func at(id, host string, t float64) schema.NormalizedEvent {
	return mk(id, host, t, schema.EventImageLoad, schema.EventData{Process: proc("{"+id+"}", 1, "x.exe", "")})
}

func TestEnumerateWindows(t *testing.T) {
	t.Parallel()
	var evs []schema.NormalizedEvent
	// short: a host recorded for 100 s -> one incomplete window.
	for _, ts := range []float64{1000, 1030, 1100} {
		evs = append(evs, at(fmt.Sprintf("s%.0f", ts), "short", ts))
	}
	// long: 10 minutes, an event every 10 s.
	for ts := 0.0; ts <= 600; ts += 10 {
		evs = append(evs, at(fmt.Sprintf("l%.0f", ts), "long", ts))
	}
	// sparse: two events hours apart (exports with stale records).
	evs = append(evs, at("p0", "sparse", 0), at("p1", "sparse", 10000))
	ws, err := EnumerateWindows(evs, 3*time.Minute, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		host     string
		start    float64
		complete bool
		n        int
	}
	var got []key
	for _, w := range ws {
		got = append(got, key{w.Host, w.Start, w.Complete, len(w.EventIDs)})
	}
	var want []key
	// long: starts 0..420 are complete (start+180 <= 600), 480 reaches
	// past the last event and ends the host.
	for s := 0.0; s <= 420; s += 60 {
		want = append(want, key{"long", s, true, 18})
	}
	want = append(want, key{"long", 480, false, 13})
	want = append(want, key{"short", 1000, false, 3})
	// sparse: [0,180) is complete (the host's span is longer); the window
	// that holds the second event starts at 9840 and is incomplete.
	want = append(want, key{"sparse", 0, true, 1}, key{"sparse", 9840, false, 1})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("windows:\n got %v\nwant %v", got, want)
	}
	if _, err := EnumerateWindows(evs, 0, time.Minute); err == nil {
		t.Fatal("zero window accepted")
	}
}

func TestLabel(t *testing.T) {
	t.Parallel()
	sf := seedFile(
		Seed{Host: "ws5", PID: 100, Why: "agent"},
		// Matches nothing: the attacker acted on ws6 in this span but no
		// record shows it.
		Seed{Host: "ws6", Service: "Nope", From: "1970-01-01T00:10:00Z", To: "1970-01-01T00:20:00Z", Why: "service"},
	)
	sf.Agents = []Agent{{Host: "dc", Name: "AG", From: "1970-01-01T01:00:00Z", Why: "alive from 01:00"}}
	evs := []schema.NormalizedEvent{
		mk("a", "ws5", 10, schema.EventImageLoad, schema.EventData{Process: proc("{A}", 100, psExe, "")}),
		at("b", "ws5", 20),
	}
	l := Apply(sf, evs)
	tests := []struct {
		host       string
		start, end float64
		ids        []string
		want       string
	}{
		{"ws5", 0, 180, []string{"a", "b"}, Attack},
		{"ws5", 200, 380, []string{"b"}, Benign},
		{"ws6", 0, 180, []string{"x"}, Benign},
		{"ws6", 500, 680, []string{"x"}, Excluded}, // overlaps the unmatched seed's span
		{"ws6", 1300, 1480, []string{"x"}, Benign},
		{"dc", 0, 180, []string{"y"}, Benign},
		{"dc", 3500, 3680, []string{"y"}, Excluded}, // agent alive from 3600
	}
	for _, tc := range tests {
		if got := l.Label(tc.host, tc.start, tc.end, tc.ids); got != tc.want {
			t.Errorf("Label(%s, %.0f, %.0f) = %s, want %s", tc.host, tc.start, tc.end, got, tc.want)
		}
	}
	if got := l.UnmatchedSeeds(); len(got) != 1 || !strings.Contains(got[0], "seeds[1] on ws6") {
		t.Errorf("UnmatchedSeeds = %v", got)
	}

	un := seedFile()
	un.Unlabelable = "no metadata"
	lu := Apply(un, evs)
	if got := lu.Label("ws5", 0, 180, []string{"a", "b"}); got != Excluded {
		t.Errorf("unlabelable recording: window labelled %s, want excluded", got)
	}
	if len(lu.AttackEvents()) != 0 {
		t.Error("unlabelable recording has attack events")
	}

	lm := seedFile(Seed{Host: "ws5", PID: 100, Why: "agent"})
	lm.LateralMovement = &LateralMovement{Source: "ws5", Targets: []string{"ws6"}}
	ll := Apply(lm, append(evs, at("c", "ws6", 30)))
	if got := ll.Label("ws6", 0, 180, []string{"c"}); got != Excluded {
		t.Errorf("target without attack events: window labelled %s, want excluded", got)
	}
	if len(ll.Warnings()) != 1 {
		t.Errorf("Warnings = %v, want one about the target", ll.Warnings())
	}
}

// TestLabelRecording runs the whole path — hash check, archive reader,
// normalizer, labels, windows, report — on a small synthetic recording.
func TestLabelRecording(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rel := "windows/test/synthetic.zip"
	archive := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(archive), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create("synthetic.json")
	if err != nil {
		t.Fatal(err)
	}
	// Winlogbeat 8 records: an agent spawns whoami on WS5; an unrelated
	// process runs on WS6.
	rec := func(host string, id int, utc, data string) string {
		return fmt.Sprintf(`{"@timestamp":"%s","host":{"name":"%s"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"%s.theshire.local","event_id":"1","record_id":%d,"event_data":{%s,"UtcTime":"%s"}}}`,
			strings.Replace(utc, " ", "T", 1)+"Z", host, host, id, data, utc)
	}
	lines := []string{
		rec("WORKSTATION5", 1, "2020-09-20 16:16:10.000", `"ProcessGuid":"{c}","ProcessId":"10","Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami","ParentProcessGuid":"{a}","ParentProcessId":"6404","ParentImage":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"`),
		rec("WORKSTATION6", 2, "2020-09-20 16:16:20.000", `"ProcessGuid":"{n}","ProcessId":"11","Image":"C:\\Windows\\notepad.exe","CommandLine":"notepad","ParentProcessGuid":"{e}","ParentProcessId":"50","ParentImage":"C:\\Windows\\explorer.exe"`),
	}
	if _, err := w.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sum, err := FileSHA256(archive)
	if err != nil {
		t.Fatal(err)
	}
	sf := &SeedFile{Recording: rel, SHA256: sum, Metadata: "SDWIN-TEST", Title: "synthetic", Lab: "test",
		Hosts: []Host{{Name: "workstation5", Role: RoleWorkstation}, {Name: "workstation6", Role: RoleWorkstation}},
		Seeds: []Seed{{Host: "workstation5", PID: 6404, Image: "powershell.exe", Why: "agent 6404"}}}
	if err := sf.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := LabelRecording(context.Background(), dir, sf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	if r.Events != 2 || r.LabelledEvents != 1 || r.Attack != 1 || r.Benign != 1 || r.Excluded != 0 {
		t.Fatalf("report = %+v", r)
	}
	if len(r.Warnings) != 0 || len(r.UnmatchedSeeds) != 0 {
		t.Fatalf("unexpected warnings: %v %v", r.Warnings, r.UnmatchedSeeds)
	}
	sum2 := Summarize([]RecordingReport{r}, 3*time.Minute, time.Minute)
	if sum2.ByRole[RoleWorkstation].Windows != 2 || sum2.Total.Attack != 1 {
		t.Fatalf("summary = %+v", sum2)
	}
	sf.SHA256 = strings.Repeat("1", 64)
	if _, err := LabelRecording(context.Background(), dir, sf, Options{}); err == nil {
		t.Fatal("a recording whose hash does not match was labelled")
	}
}

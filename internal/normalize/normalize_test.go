package normalize

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logster/logster/internal/bus"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

type outcome struct {
	events []*schema.NormalizedEvent
	errs   []*ParseError
}

func normalizeOne(t testing.TB, n *Normalizer, in Input) outcome {
	t.Helper()
	var o outcome
	n.Normalize(in, func(ev *schema.NormalizedEvent, e *ParseError) {
		if ev != nil {
			o.events = append(o.events, ev)
		} else {
			o.errs = append(o.errs, e)
		}
	})
	return o
}

func newTestNormalizer(t testing.TB) *Normalizer {
	t.Helper()
	n, err := New(config.Default().Normalizer, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const wlbProcess = `{"@timestamp":"2020-10-27T20:00:14.3242341Z","host":{"name":"vagrant"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"WS1.corp.example","event_data":{"Image":"C:\\x.exe","ProcessGuid":"{9F32B55F-7C4E-5F98-5803-000000000500}","ProcessId":"3616","UtcTime":"2020-10-27 20:00:14.320"},"event_id":"1","record_id":20}}`

// Hostile input never panics, never yields an invalid event, and is
// classified by reason.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, 400) + `1` + strings.Repeat(`}`, 400)
	huge := `{"winlog":{"channel":"Security","event_id":4688,"record_id":1,"computer_name":"h","event_data":{"CommandLine":"` + strings.Repeat("A", 2<<20) + `"}},"@timestamp":"2020-01-01T00:00:00Z"}`
	cases := []struct {
		name   string
		in     string
		reason Reason // "" = must produce an event
	}{
		{"empty", "", ReasonMissingField},
		{"whitespace", " \n\t", ReasonMissingField},
		{"truncated json", wlbProcess[:len(wlbProcess)/2], ReasonInvalidJSON},
		{"json array", `[1,2,3]`, ReasonUnknownFormat},
		{"json string", `"hello"`, ReasonUnknownFormat},
		{"not json", `hello world`, ReasonUnknownFormat},
		{"unknown shape", `{"foo":"bar"}`, ReasonUnknownFormat},
		{"deeply nested", deep, ReasonInvalidJSON},
		{"oversized", huge, ReasonOversized},
		{"huge string under the limit", strings.Replace(wlbProcess, `C:\\x.exe`, strings.Repeat("B", 900<<10), 1), ""},
		{"event id as string", strings.Replace(wlbProcess, `"event_id":"1"`, `"event_id":"one"`, 1), ReasonMissingField},
		{"event id as object", strings.Replace(wlbProcess, `"event_id":"1"`, `"event_id":{"x":1}`, 1), ReasonMissingField},
		{"event id huge", strings.Replace(wlbProcess, `"event_id":"1"`, `"event_id":99999999999999999999`, 1), ReasonMissingField},
		{"channel as number", strings.Replace(wlbProcess, `"channel":"Microsoft-Windows-Sysmon/Operational"`, `"channel":7`, 1), ReasonMissingField},
		{"event data as array", strings.Replace(wlbProcess, `"event_data":{`, `"event_data":[`, 1), ReasonInvalidJSON},
		{"event data array ok", strings.Replace(strings.Replace(wlbProcess, `"event_data":{"Image":"C:\\x.exe","ProcessGuid":"{9F32B55F-7C4E-5F98-5803-000000000500}","ProcessId":"3616","UtcTime":"2020-10-27 20:00:14.320"}`, `"event_data":["x"]`, 1), "x", "x", 1), ""},
		{"pid as number", strings.Replace(wlbProcess, `"ProcessId":"3616"`, `"ProcessId":3616`, 1), ""},
		{"pid as array", strings.Replace(wlbProcess, `"ProcessId":"3616"`, `"ProcessId":[1]`, 1), ""},
		{"record id as string", strings.Replace(wlbProcess, `"record_id":20`, `"record_id":"20"`, 1), ""},
		{"invalid utf8 in value", strings.Replace(wlbProcess, `C:\\x.exe`, "C:\\\\\xff\xfe.exe", 1), ""},
		{"control chars", strings.Replace(wlbProcess, `C:\\x.exe`, `C:\u0000\u001f\u2028.exe`, 1), ""},
		{"bad escape", strings.Replace(wlbProcess, `C:\\x.exe`, `C:\q.exe`, 1), ""},
		{"no host", strings.Replace(strings.Replace(wlbProcess, `"computer_name":"WS1.corp.example",`, ``, 1), `"host":{"name":"vagrant"},`, ``, 1), ReasonMissingField},
		{"host with quote", strings.Replace(wlbProcess, `WS1.corp.example`, `ws\"1`, 1), ReasonMissingField},
		{"no time", strings.Replace(strings.Replace(wlbProcess, `"@timestamp":"2020-10-27T20:00:14.3242341Z",`, ``, 1), `"UtcTime":"2020-10-27 20:00:14.320"`, `"UtcTime":"x"`, 1), ReasonBadTimestamp},
		{"time in 1900", strings.Replace(strings.Replace(wlbProcess, `2020-10-27T20:00:14.3242341Z`, `1900-01-01T00:00:00Z`, 1), `"UtcTime":"2020-10-27 20:00:14.320"`, `"UtcTime":"1900-01-01 00:00:00"`, 1), ReasonBadTimestamp},
		{"tenant with colon", strings.Replace(wlbProcess, `"@timestamp"`, `"tenant_id":"a:b","@timestamp"`, 1), ReasonInvalidField},
		{"tenant as number", strings.Replace(wlbProcess, `"@timestamp"`, `"tenant_id":5,"@timestamp"`, 1), ""},
		{"unknown event", strings.Replace(wlbProcess, `"event_id":"1"`, `"event_id":"255"`, 1), ReasonUnknownType},
		{"audit line garbage", "type=SYSCALL msg=audit(abc", ReasonInvalidField},
		{"audit no serial", "type=SYSCALL msg=audit(1.2): x=y", ReasonInvalidField},
		{"audit huge argc", "node=h type=EXECVE msg=audit(1604994496.155:1): argc=999999999 a0=\"x\"\nnode=h type=SYSCALL msg=audit(1604994496.155:1): arch=c000003e syscall=59 success=yes pid=1", ""},
		{"audit bad hex", "node=h type=SYSCALL msg=audit(1604994496.155:2): arch=c000003e syscall=59 exe=ZZZ pid=1", ""},
		{"audit bad time", "node=h type=SYSCALL msg=audit(99999999999999999999.1:3): syscall=59", ReasonBadTimestamp},
		{"audit aux only", "node=h type=CWD msg=audit(1604994496.155:4): cwd=\"/\"", ReasonMissingField},
		{"xml garbage", "<Event><System><EventID>1", ReasonInvalidField},
		{"xml no system", "<Event></Event>", ReasonMissingField},
		{"tetragon no process", `{"process_exec":{},"node_name":"n","time":"2022-05-11T12:54:45.615Z"}`, ReasonMissingField},
		{"tetragon args object", `{"process_kprobe":{"process":{"pid":1,"binary":"/x"},"function_name":"tcp_connect","args":{"a":1}},"node_name":"n","time":"2022-05-11T12:54:45.615Z"}`, ReasonInvalidField},
		{"ebpf pid string", `{"schema":"logster.ebpf/v1","kind":"exec","time":"2024-05-01T12:00:00Z","host":"h","process":{"pid":"12"}}`, ""},
		{"ebpf pid negative", `{"schema":"logster.ebpf/v1","kind":"exec","time":"2024-05-01T12:00:00Z","host":"h","process":{"pid":-3}}`, ReasonInvalidField},
		{"ebpf time nan", `{"schema":"logster.ebpf/v1","kind":"exec","time":"NaN","host":"h","process":{"pid":3}}`, ReasonBadTimestamp},
		{"nxlog numbers as strings", `{"EventID":"4624","Channel":"security","Hostname":"DC1.x","EventTime":"2020-09-04 03:08:02","@timestamp":"2020-09-04T07:08:06.075Z","RecordNumber":"12","LogonType":3,"IpPort":"x","TargetUserName":["a"]}`, ""},
	}
	n := newTestNormalizer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := normalizeOne(t, n, Input{Value: []byte(tc.in)})
			for _, ev := range o.events {
				b := AppendEvent(nil, ev)
				if !json.Valid(b) {
					t.Fatalf("invalid JSON emitted: %q", b)
				}
				if _, err := schema.DecodeEvent(b); err != nil {
					t.Fatalf("emitted event does not validate: %v", err)
				}
			}
			if tc.reason == "" {
				if len(o.events) == 0 {
					t.Fatalf("want an event, got errors %v", o.errs)
				}
				return
			}
			if len(o.events) != 0 {
				t.Fatalf("want %s, got an event", tc.reason)
			}
			if len(o.errs) == 0 || o.errs[0].Reason != tc.reason {
				t.Fatalf("want reason %s, got %v", tc.reason, o.errs)
			}
		})
	}
}

func TestHostnameCanonicalization(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"WORKSTATION5", "WORKSTATION5.theshire.local", "workstation5.mordor.local", " workstation5. "} {
		ep, _, ok := canonicalHost(h)
		if !ok || ep != "workstation5" {
			t.Errorf("canonicalHost(%q) = %q, %v; want workstation5", h, ep, ok)
		}
	}
	if ep, fq, _ := canonicalHost("WORKSTATION5.theshire.local"); ep != "workstation5" || fq != "WORKSTATION5.theshire.local" {
		t.Errorf("fqdn = %q", fq)
	}
	if ep, _, _ := canonicalHost("10.0.0.5"); ep != "10.0.0.5" {
		t.Errorf("IP host = %q", ep)
	}
}

// The same record read from different shippers gets the same event id.
func TestEventIDStableAcrossShippers(t *testing.T) {
	t.Parallel()
	n := newTestNormalizer(t)
	wlb := `{"@timestamp":"2020-09-04T07:08:02Z","winlog":{"channel":"Security","computer_name":"WORKSTATION5.theshire.local","event_id":4634,"record_id":777,"event_data":{"TargetUserName":"bob"}}}`
	nx := `{"EventID":4634,"Channel":"security","Hostname":"workstation5","EventTime":"2020-09-04 03:08:02","@timestamp":"2020-09-04T07:08:05.075Z","RecordNumber":777,"TargetUserName":"bob"}`
	a := normalizeOne(t, n, Input{Value: []byte(wlb)})
	b := normalizeOne(t, n, Input{Value: []byte(nx)})
	if len(a.events) != 1 || len(b.events) != 1 {
		t.Fatalf("events: %v %v", a.errs, b.errs)
	}
	if a.events[0].EventID != b.events[0].EventID {
		t.Fatalf("event ids differ: %s vs %s", a.events[0].EventID, b.events[0].EventID)
	}
	if a.events[0].Timestamp != b.events[0].Timestamp {
		t.Fatalf("NXLog local time not corrected: %v vs %v", a.events[0].Timestamp, b.events[0].Timestamp)
	}
}

// Security 4688's derived GUIDs link a process to its parent and its exit.
func TestDerivedProcessGUIDs(t *testing.T) {
	t.Parallel()
	n := newTestNormalizer(t)
	mk := func(id int, data string) string {
		return `{"@timestamp":"2020-09-04T07:08:02Z","winlog":{"channel":"Security","computer_name":"ws","event_id":` +
			itoa(id) + `,"record_id":` + itoa(id) + `,"event_data":{` + data + `}}}`
	}
	parent := normalizeOne(t, n, Input{Value: []byte(mk(4688, `"NewProcessId":"0x10","NewProcessName":"C:\\a.exe","SubjectLogonId":"0x3e7","TargetLogonId":"0x0","ProcessId":"0x4","ParentProcessName":"C:\\s.exe"`))})
	child := normalizeOne(t, n, Input{Value: []byte(mk(4688, `"NewProcessId":"0x20","NewProcessName":"C:\\b.exe","SubjectLogonId":"0x3e7","TargetLogonId":"0x0","ProcessId":"0x10","ParentProcessName":"C:\\A.EXE"`))})
	exit := normalizeOne(t, n, Input{Value: []byte(mk(4689, `"ProcessId":"0x10","ProcessName":"C:\\a.exe","SubjectLogonId":"0x3e7","Status":"0x0"`))})
	if len(parent.events)+len(child.events)+len(exit.events) != 3 {
		t.Fatalf("missing events: %v %v %v", parent.errs, child.errs, exit.errs)
	}
	g := parent.events[0].Data.Process.GUID
	if g == "" || child.events[0].Data.Parent.GUID != g || exit.events[0].Data.Process.GUID != g {
		t.Fatalf("GUIDs do not link: %s / %s / %s", g, child.events[0].Data.Parent.GUID, exit.events[0].Data.Process.GUID)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestTenantResolution(t *testing.T) {
	t.Parallel()
	cfg := config.Default().Normalizer
	cfg.TenantByHost = map[string]string{"ws1": "hosttenant"}
	cfg.TenantByTopic = map[string]string{bus.TopicSysmon: "topictenant"}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(host, extra string) []byte {
		return []byte(`{` + extra + `"@timestamp":"2020-09-04T07:08:02Z","winlog":{"channel":"Security","computer_name":"` + host + `","event_id":4634,"record_id":1}}`)
	}
	for _, tc := range []struct {
		host, extra, topic, want string
	}{
		{"WS1.corp", "", bus.TopicSysmon, "hosttenant"},
		{"ws2", "", bus.TopicSysmon, "topictenant"},
		{"ws2", "", "", "default"},
		{"ws1", `"tenant_id":"own",`, bus.TopicSysmon, "own"},
		{"ws1", `"fields":{"tenant_id":"beats"},`, "", "beats"},
	} {
		o := normalizeOne(t, n, Input{Value: rec(tc.host, tc.extra), Topic: tc.topic})
		if len(o.events) != 1 || o.events[0].TenantID != tc.want {
			t.Errorf("%+v: got %v %v", tc, o.events, o.errs)
		}
	}
}

func TestMetricsCountBySourceAndReason(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	n, err := New(config.Default().Normalizer, reg)
	if err != nil {
		t.Fatal(err)
	}
	normalizeOne(t, n, Input{Value: []byte(wlbProcess)})
	normalizeOne(t, n, Input{Value: []byte(`{"broken`)})
	normalizeOne(t, n, Input{Value: []byte(strings.Replace(wlbProcess, `"event_id":"1"`, `"event_id":"255"`, 1))})
	if v := testutil.ToFloat64(n.m.rawVec.WithLabelValues("winlogbeat")); v != 2 {
		t.Errorf("raw_events_total{winlogbeat} = %v", v)
	}
	if v := testutil.ToFloat64(n.m.normVec.WithLabelValues("winlogbeat")); v != 1 {
		t.Errorf("normalized_events_total{winlogbeat} = %v", v)
	}
	if v := testutil.ToFloat64(n.m.errVec.WithLabelValues("unknown", "invalid_json")); v != 1 {
		t.Errorf("parse_errors{unknown,invalid_json} = %v", v)
	}
	if v := testutil.ToFloat64(n.m.errVec.WithLabelValues("winlogbeat", "unknown_type")); v != 1 {
		t.Errorf("parse_errors{winlogbeat,unknown_type} = %v", v)
	}
	// A second normalizer on the same registry is a configuration error.
	if _, err := New(config.Default().Normalizer, reg); err == nil {
		t.Error("second registration succeeded")
	}
}

// AppendEvent writes exactly what encoding/json writes.
func TestAppendEventMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	tr, ex := true, int64(-3)
	evs := []*schema.NormalizedEvent{
		{SchemaVersion: 1, EventID: "id", TenantID: "t", EndpointID: "e", Hostname: "h", Platform: schema.PlatformLinux,
			Source: "s", EventType: schema.EventSyscall, Timestamp: 1652292621.986},
		{SchemaVersion: 1, EventID: "<&>\u2028\u2029\x00\x1f\"\\\xff", Timestamp: 1e-7, RawEvent: json.RawMessage(`{"a":"\u003c"}`),
			Data: schema.EventData{Channel: "c", NativeID: 4624, RecordID: math.MaxUint64, Outcome: "x",
				Process: &schema.Process{GUID: "g", PID: -1, ExitCode: &ex, StartTime: 1.5e21},
				Parent:  &schema.Process{}, Target: &schema.Process{GrantedAccess: "0x1010"},
				File: &schema.File{Path: "p", Signed: &tr}, Network: &schema.Network{SrcPort: 1, DstIP: "::1"},
				DNS: &schema.DNS{Query: "q"}, Registry: &schema.Registry{Key: "k"}, User: &schema.User{Name: "n"},
				Logon:   &schema.Logon{Type: 3, ElevatedToken: true, RestrictedAdmin: true, SourcePort: 5},
				Script:  &schema.Script{Text: "t\t\n\r\b\f", MessageNumber: 1, MessageTotal: 2},
				Syscall: &schema.Syscall{Name: "x", Args: []string{"a", "b"}, Success: &tr, Exit: &ex},
				Service: &schema.Service{Name: "s"}, Task: &schema.Task{Name: "t"}, Share: &schema.Share{Name: "s"},
				WMI: &schema.WMI{ClientPID: 7}, Group: &schema.Group{Member: "m"}}},
	}
	for i, ev := range evs {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendEvent(nil, ev); !bytes.Equal(got, want) {
			t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestAuditAssemblerAcrossRecords(t *testing.T) {
	t.Parallel()
	n := newTestNormalizer(t)
	asm := NewAuditAssembler(time.Hour, 10)
	lines := []string{
		`node=web1 type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 ppid=29002 pid=1631 auid=1000 uid=1000 ses=104 comm="arp" exe="/usr/sbin/arp" key=(null)`,
		`node=web1 type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1="-a"`,
		`node=web1 type=USER_LOGIN msg=audit(1604994497.000:92740): pid=1 uid=0 auid=1000 ses=5 msg='op=login acct="bob" exe="/usr/sbin/sshd" hostname=? addr=10.1.1.1 terminal=ssh res=success'`,
		`node=web1 type=CWD msg=audit(1604994496.155:92733): cwd="/home/wardog"`,
		`node=web1 type=PROCTITLE msg=audit(1604994496.155:92733): proctitle=617270002D61`,
	}
	var got []*schema.NormalizedEvent
	for i, l := range lines {
		o := normalizeOne(t, n, Input{Value: []byte(l), Topic: bus.TopicAuditd, Offset: int64(i), Audit: asm})
		got = append(got, o.events...)
	}
	if len(got) != 1 || got[0].EventType != schema.EventLogon {
		t.Fatalf("before EOE want only the single-record logon, got %d", len(got))
	}
	o := normalizeOne(t, n, Input{Value: []byte(`node=web1 type=EOE msg=audit(1604994496.155:92733):`), Topic: bus.TopicAuditd, Offset: int64(len(lines)), Audit: asm})
	if len(o.events) != 1 {
		t.Fatalf("EOE did not complete the event: %v", o.errs)
	}
	p := o.events[0].Data.Process
	if o.events[0].EventType != schema.EventProcessCreate || p.CommandLine != "arp -a" || p.CurrentDirectory != "/home/wardog" {
		t.Fatalf("assembled event wrong: %+v", p)
	}
	// Without EOE the window releases it; maxPending bounds memory.
	asm2 := NewAuditAssembler(time.Millisecond, 2)
	for i := 0; i < 5; i++ {
		line := strings.Replace(lines[0], "92733", itoa(100+i), 1)
		normalizeOne(t, n, Input{Value: []byte(line), Topic: bus.TopicAuditd, Offset: int64(i), Audit: asm2})
	}
	if asm2.Len() > 2 {
		t.Fatalf("assembler holds %d > maxPending", asm2.Len())
	}
	var flushed int
	n.FlushAudit(asm2, time.Now().Add(time.Second), false, func(ev *schema.NormalizedEvent, _ *ParseError) {
		if ev != nil {
			flushed++
		}
	})
	if flushed != 2 || asm2.Len() != 0 {
		t.Fatalf("flushed %d, left %d", flushed, asm2.Len())
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	n := newTestNormalizer(t)
	for _, tc := range []struct{ in, topic string }{
		{wlbProcess, bus.TopicSysmon},
		{`type=SYSCALL msg=audit(1.1:1): x=1`, bus.TopicAuditd},
		{`{"process_exec":{"process":{}},"node_name":"n"}`, bus.TopicEBPFProcess},
		{`{"process_kprobe":{"function_name":"tcp_connect"},"node_name":"n"}`, bus.TopicEBPFNetwork},
		{`{"process_kprobe":{"function_name":"security_file_permission"},"node_name":"n"}`, bus.TopicEBPFFile},
		{`{"schema":"logster.ebpf/v1","kind":"connect","host":"h"}`, bus.TopicEBPFNetwork},
		{`{"schema":"logster.ebpf/v1","kind":"file","host":"h"}`, bus.TopicEBPFFile},
	} {
		if got, _, ok := n.Route([]byte(tc.in), false); !ok || got != tc.topic {
			t.Errorf("Route(%.40s) = %q, want %q", tc.in, got, tc.topic)
		}
	}
	// The duplicated topic names match the catalogue.
	for _, tp := range []string{topicSysmon, topicAuditd, topicEBPFProcess, topicEBPFFile, topicEBPFNetwork} {
		if _, ok := bus.Spec(tp); !ok {
			t.Errorf("topic %s not in bus catalogue", tp)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"2020-10-27T20:00:14.3242341Z", 1603828814.3242341, true},
		{"2020-10-23 06:05:05.649", 1603433105.649, true},
		{"2020-10-23T06:05:05+02:00", 1603425905, true},
		{"2020-10-23T06:05:05", 1603433105, true},
		{"2020-13-23T06:05:05Z", 0, false},
		{"2020-10-23T06:05:05Zjunk", 0, false},
		{"", 0, false},
	} {
		got, _, ok := parseTimestamp(tc.in)
		if ok != tc.ok || ok && math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("parseTimestamp(%q) = %v, %v", tc.in, got, ok)
		}
	}
}

// NXLog spells the Windows Filtering Platform's ProcessID as ProcessId; both
// must give the connection its process.
func TestWFPConnectionProcessIDSpellings(t *testing.T) {
	t.Parallel()
	n := newTestNormalizer(t)
	for _, key := range []string{"ProcessID", "ProcessId"} {
		rec := `{"EventID":5156,"Channel":"Security","Hostname":"WS1.corp","EventTime":"2020-09-20 12:16:06","@timestamp":"2020-09-20T16:16:07.000Z","SourceName":"Microsoft-Windows-Security-Auditing","` + key +
			`":"1234","Application":"\\device\\harddiskvolume2\\windows\\system32\\svchost.exe","Direction":"%%14593","SourceAddress":"10.0.0.5","SourcePort":"50000","DestAddress":"10.0.0.6","DestPort":"445","Protocol":"6","RecordNumber":7}`
		o := normalizeOne(t, n, Input{Value: []byte(rec)})
		if len(o.errs) != 0 || len(o.events) != 1 || o.events[0].Data.Process == nil || o.events[0].Data.Process.PID != 1234 {
			t.Fatalf("%s: %+v", key, o)
		}
	}
}

func TestGUIDHelpers(t *testing.T) {
	const repl, all = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2", "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"
	cases := []struct {
		in   string
		max  int
		want []string
	}{
		{"%%7688\r\n\t\t{1131F6AA-9C07-11D1-F79F-00C04FC2DCD2}\r\n\t{" + all + "}\r\n", 16, []string{repl, all}},
		{"{" + repl + "}{" + repl + "}", 16, []string{repl}}, // duplicates
		{"{" + repl + "} {" + all + "}", 1, []string{repl}},  // capped
		{"{1131f6aa-9c07-11d1-f79f-00c04fc2dcd2", 16, nil},   // truncated
		{"{1131f6aa-9c07-11d1-f79f-00c04fc2dcdz}", 16, nil},  // not hex
		{"{{" + repl + "}}", 16, []string{repl}},             // nested braces
		{"{1131f6aa+9c07-11d1-f79f-00c04fc2dcd2}", 16, nil},  // wrong separator
		{"", 16, nil}, {"-", 16, nil}, {"{", 16, nil}, {"{}", 16, nil},
	}
	for _, c := range cases {
		if got := guidList(c.in, c.max); !slices.Equal(got, c.want) {
			t.Errorf("guidList(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
	for in, want := range map[string]string{
		"%{19195A5B-6DA0-11D0-AFD3-00C04FD930C9}": "19195a5b-6da0-11d0-afd3-00c04fd930c9",
		"{19195a5b-6da0-11d0-afd3-00c04fd930c9}":  "19195a5b-6da0-11d0-afd3-00c04fd930c9",
		" SecretObject ":                          "SecretObject",
		"%{not-a-guid}":                           "%{not-a-guid}",
		"CN=Users,DC=theshire,DC=local":           "CN=Users,DC=theshire,DC=local",
	} {
		if got := bareGUID(in); got != want {
			t.Errorf("bareGUID(%q) = %q, want %q", in, got, want)
		}
	}
}

// The assembler reports the lowest offset each partition still holds, so
// the consumer commits below lines whose event is not produced yet, and
// forgets the events of partitions taken away.
func TestAuditAssemblerHeldOffsets(t *testing.T) {
	t.Parallel()
	n := newTestNormalizer(t)
	asm := NewAuditAssembler(time.Hour, 10)
	feed := func(part int32, off int64, line string) int {
		o := normalizeOne(t, n, Input{Value: []byte(line), Topic: bus.TopicAuditd, Partition: part, Offset: off, Audit: asm})
		return len(o.events)
	}
	sys := func(serial string) string {
		return `node=web1 type=SYSCALL msg=audit(1604994496.155:` + serial + `): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 auid=1000 uid=1000 ses=1 comm="arp" exe="/usr/sbin/arp" key=(null)`
	}
	eoe := func(serial string) string { return `node=web1 type=EOE msg=audit(1604994496.155:` + serial + `):` }
	if _, ok := asm.HeldFrom(bus.TopicAuditd, 0); ok {
		t.Fatal("empty assembler holds offsets")
	}
	feed(0, 10, sys("1"))
	feed(0, 11, sys("2"))
	feed(1, 5, sys("3"))
	feed(0, 12, `node=web1 type=EXECVE msg=audit(1604994496.155:1): argc=1 a0="arp"`)
	if off, ok := asm.HeldFrom(bus.TopicAuditd, 0); !ok || off != 10 {
		t.Fatalf("partition 0 held from %d (%v), want 10", off, ok)
	}
	if n := feed(0, 13, eoe("1")); n != 1 {
		t.Fatalf("EOE produced %d events", n)
	}
	// Handed out but not acknowledged: still held.
	if off, ok := asm.HeldFrom(bus.TopicAuditd, 0); !ok || off != 10 {
		t.Fatalf("first event not acknowledged yet: held from %d (%v), want 10", off, ok)
	}
	asm.Acked(bus.TopicAuditd, 0, 13)
	if off, ok := asm.HeldFrom(bus.TopicAuditd, 0); !ok || off != 11 {
		t.Fatalf("after the first event: held from %d (%v), want 11", off, ok)
	}
	if off, ok := asm.HeldFrom(bus.TopicAuditd, 1); !ok || off != 5 {
		t.Fatalf("partition 1 held from %d (%v), want 5", off, ok)
	}
	if _, ok := asm.HeldFrom("other-topic", 0); ok {
		t.Fatal("another topic reported held")
	}
	asm.DropPartitions(map[string][]int32{bus.TopicAuditd: {1}})
	if _, ok := asm.HeldFrom(bus.TopicAuditd, 1); ok || asm.Len() != 1 {
		t.Fatalf("partition 1 not dropped: %d pending", asm.Len())
	}
	// Lines not read from Kafka (offline files) hold nothing.
	off := NewAuditAssembler(time.Hour, 10)
	normalizeOne(t, n, Input{Value: []byte(sys("9")), Audit: off})
	if _, ok := off.HeldFrom("", 0); ok || off.Len() != 1 {
		t.Fatal("an offline line reported a Kafka offset")
	}
}

// A record handled again (its outputs failed, the partition was rewound)
// hands out what it handed out the first time, adds no line twice, and
// repeats its single-line events.
func TestAuditAssemblerReplayedRecords(t *testing.T) {
	t.Parallel()
	n := newTestNormalizer(t)
	asm := NewAuditAssembler(time.Hour, 10)
	feed := func(off int64, line string) []*schema.NormalizedEvent {
		return normalizeOne(t, n, Input{Value: []byte(line), Topic: bus.TopicAuditd, Partition: 0, Offset: off, Audit: asm}).events
	}
	const (
		sys   = `node=web1 type=SYSCALL msg=audit(1604994496.155:5): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 auid=1000 uid=1000 ses=1 comm="arp" exe="/usr/sbin/arp" key=(null)`
		exec  = `node=web1 type=EXECVE msg=audit(1604994496.155:5): argc=2 a0="arp" a1="-a"`
		eoe   = `node=web1 type=EOE msg=audit(1604994496.155:5):`
		login = `node=web1 type=USER_LOGIN msg=audit(1604994497.000:6): pid=1 uid=0 auid=1000 ses=5 msg='op=login acct="bob" exe="/usr/sbin/sshd" hostname=? addr=10.1.1.1 terminal=ssh res=success'`
	)
	feed(0, sys)
	feed(1, exec)
	if got := feed(2, eoe); len(got) != 1 || got[0].Data.Process.CommandLine != "arp -a" {
		t.Fatalf("first pass: %+v", got)
	}
	if got := feed(3, login); len(got) != 1 {
		t.Fatalf("login: %d events", len(got))
	}
	// The outputs of offsets 1..3 failed: the partition is read again from 1.
	if got := feed(1, exec); len(got) != 0 {
		t.Fatalf("replayed EXECVE produced %d events", len(got))
	}
	got := feed(2, eoe)
	if len(got) != 1 || got[0].Data.Process.CommandLine != "arp -a" {
		t.Fatalf("replayed EOE: %+v", got)
	}
	if got := feed(3, login); len(got) != 1 || got[0].EventType != schema.EventLogon {
		t.Fatalf("replayed login: %+v", got)
	}
	asm.Acked(bus.TopicAuditd, 0, 3)
	if _, ok := asm.HeldFrom(bus.TopicAuditd, 0); ok || asm.Len() != 0 {
		t.Fatalf("state left after acknowledgement: %d pending", asm.Len())
	}
	// A record batching the lines of one event (same offset) is not a replay
	// of itself.
	batch := strings.Join([]string{strings.ReplaceAll(sys, ":5)", ":7)"), strings.ReplaceAll(exec, ":5)", ":7)"), strings.ReplaceAll(eoe, ":5)", ":7)")}, "\n")
	if got := feed(4, batch); len(got) != 1 || got[0].Data.Process.CommandLine != "arp -a" {
		t.Fatalf("batched record: %+v", got)
	}
}

// Events a flush takes, and events one partition's record evicts from
// another, keep their own partition's commit held until they are produced.
func TestAuditAssemblerHandOutsStayHeld(t *testing.T) {
	t.Parallel()
	n := newTestNormalizer(t)
	sys := func(serial string) string {
		return `node=web1 type=SYSCALL msg=audit(1604994496.155:` + serial + `): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 auid=1000 uid=1000 ses=1 comm="arp" exe="/usr/sbin/arp" key=(null)`
	}
	feed := func(asm *AuditAssembler, part int32, off int64, line string) int {
		return len(normalizeOne(t, n, Input{Value: []byte(line), Topic: bus.TopicAuditd, Partition: part, Offset: off, Audit: asm}).events)
	}
	// Flush: held until released.
	asm := NewAuditAssembler(time.Millisecond, 10)
	feed(asm, 0, 40, sys("1"))
	var flushed int
	release := n.FlushAudit(asm, time.Now().Add(time.Second), false, func(ev *schema.NormalizedEvent, _ *ParseError) {
		if ev != nil {
			flushed++
		}
	})
	if off, ok := asm.HeldFrom(bus.TopicAuditd, 0); flushed != 1 || !ok || off != 40 {
		t.Fatalf("flushed %d, held from %d (%v), want 40 until released", flushed, off, ok)
	}
	release()
	if _, ok := asm.HeldFrom(bus.TopicAuditd, 0); ok {
		t.Fatal("still held after release")
	}
	// Eviction across partitions: partition 1's record carries partition
	// 0's event; partition 0 stays held until partition 1 acknowledges.
	asm = NewAuditAssembler(time.Hour, 1)
	feed(asm, 0, 7, sys("2"))
	if got := feed(asm, 1, 3, sys("3")); got != 1 {
		t.Fatalf("eviction handed out %d events", got)
	}
	if off, ok := asm.HeldFrom(bus.TopicAuditd, 0); !ok || off != 7 {
		t.Fatalf("evicted event not held: %d (%v)", off, ok)
	}
	asm.Acked(bus.TopicAuditd, 0, 100) // the wrong partition's acknowledgement changes nothing
	if _, ok := asm.HeldFrom(bus.TopicAuditd, 0); !ok {
		t.Fatal("released by another partition's acknowledgement")
	}
	asm.Acked(bus.TopicAuditd, 1, 3)
	if _, ok := asm.HeldFrom(bus.TopicAuditd, 0); ok {
		t.Fatal("still held after the carrying record was acknowledged")
	}
	// The carrying partition is taken away before its outputs were
	// acknowledged: the event goes back to pending (nobody else would
	// re-read it) and stays held until flushed.
	asm = NewAuditAssembler(time.Hour, 1)
	feed(asm, 0, 7, sys("4"))
	feed(asm, 1, 3, sys("5"))
	asm.DropPartitions(map[string][]int32{bus.TopicAuditd: {1}})
	if off, ok := asm.HeldFrom(bus.TopicAuditd, 0); !ok || off != 7 || asm.Len() != 1 {
		t.Fatalf("evicted event lost with its carrier: held %d (%v), %d pending", off, ok, asm.Len())
	}
	if _, ok := asm.HeldFrom(bus.TopicAuditd, 1); ok {
		t.Fatal("the revoked partition is still held")
	}
	// The same, when more of the evicted event's lines arrived meanwhile:
	// they merge, earlier lines first, and the early offset stays held.
	asm = NewAuditAssembler(time.Hour, 1)
	feed(asm, 0, 7, sys("8"))
	feed(asm, 1, 3, sys("9")) // evicts serial 8, carried by partition 1
	feed(asm, 0, 8, `node=web1 type=PATH msg=audit(1604994496.155:8): item=0 name="/usr/sbin/arp" nametype=NORMAL`)
	asm.DropPartitions(map[string][]int32{bus.TopicAuditd: {1}})
	if off, ok := asm.HeldFrom(bus.TopicAuditd, 0); !ok || off != 7 {
		t.Fatalf("merged event held from %d (%v), want 7", off, ok)
	}
	for k, p := range asm.pending {
		if k.serial == 8 && (len(p.ev.records) != 2 || p.ev.records[0].typ != "SYSCALL") {
			t.Fatalf("merged event records: %+v", p.ev.records)
		}
	}
	// A runaway event is handed out at maxEventLines.
	asm = NewAuditAssembler(time.Hour, 10)
	feed(asm, 0, 0, sys("6"))
	handed := 0
	for i := 1; i < maxEventLines+5; i++ {
		handed += feed(asm, 0, int64(i), `node=web1 type=PATH msg=audit(1604994496.155:6): item=0 name="/x" nametype=NORMAL`)
	}
	if handed < 1 || asm.Len() > 1 {
		t.Fatalf("runaway event: %d handed out, %d pending", handed, asm.Len())
	}
}

package schema

import (
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestIDsAreDeterministicV5UUIDs(t *testing.T) {
	t.Parallel()
	a := EventID("default", "ws1", "Security", "42")
	if a != EventID("default", "ws1", "Security", "42") {
		t.Fatal("event id not deterministic")
	}
	if !uuidRe.MatchString(a) {
		t.Fatalf("%q is not a version-5 UUID", a)
	}
	// Length-prefixing keeps part boundaries: ("ab","c") != ("a","bc").
	if EventID("ab", "c") == EventID("a", "bc") {
		t.Fatal("ids collide across part boundaries")
	}
	i1 := InferenceID("t", "ws1", 100, 280, "m1")
	if i1 != InferenceID("t", "ws1", 100, 280, "m1") || i1 == InferenceID("t", "ws1", 160, 340, "m1") || i1 == InferenceID("t", "ws1", 100, 280, "m2") {
		t.Fatal("inference ids must depend on endpoint, window and model only")
	}
	// The namespaces keep kinds apart.
	if AlertID("x") == EventID("x") {
		t.Fatal("alert and event ids share a namespace")
	}
}

func validEvent() NormalizedEvent {
	return NormalizedEvent{SchemaVersion: Version, EventID: "e", TenantID: "t", EndpointID: "ws1", Hostname: "ws1",
		Platform: PlatformWindows, Source: "winlogbeat", EventType: EventProcessCreate, Timestamp: 1.7e9}
}

func TestDecodeEventValidates(t *testing.T) {
	t.Parallel()
	enc := func(mut func(*NormalizedEvent)) []byte {
		e := validEvent()
		mut(&e)
		b, _ := json.Marshal(e)
		return b
	}
	cases := []struct {
		name  string
		in    []byte
		field string // "" = valid
	}{
		{"valid", enc(func(*NormalizedEvent) {}), ""},
		{"no version is version 1", enc(func(e *NormalizedEvent) { e.SchemaVersion = 0 }), ""},
		{"newer version", enc(func(e *NormalizedEvent) { e.SchemaVersion = Version + 1 }), "unsupported"},
		{"no id", enc(func(e *NormalizedEvent) { e.EventID = "" }), "event_id"},
		{"no tenant", enc(func(e *NormalizedEvent) { e.TenantID = "" }), "tenant_id"},
		{"no endpoint", enc(func(e *NormalizedEvent) { e.EndpointID = "" }), "endpoint_id"},
		{"bad platform", enc(func(e *NormalizedEvent) { e.Platform = "macos" }), "platform"},
		{"bad type", enc(func(e *NormalizedEvent) { e.EventType = "teleport" }), "event_type"},
		{"negative time", enc(func(e *NormalizedEvent) { e.Timestamp = -1 }), "timestamp"},
		{"not json", []byte(`{"event_id":`), "decode"},
		{"wrong type", []byte(`{"event_id":5}`), "decode"},
		{"array", []byte(`[]`), "decode"},
	}
	for _, c := range cases {
		_, err := DecodeEvent(c.in)
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field != "" && (err == nil || !strings.Contains(err.Error(), c.field)):
			t.Errorf("%s: error %v does not name %q", c.name, err, c.field)
		}
	}
	_, err := DecodeEvent(enc(func(e *NormalizedEvent) { e.SchemaVersion = 99 }))
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("want ErrUnsupportedVersion, got %v", err)
	}
}

func TestDecodeInferenceAndAlert(t *testing.T) {
	t.Parallel()
	r := InferenceResult{InferenceID: "i", TenantID: "t", EndpointID: "e", Prediction: PredictionAttack, AttackProb: 0.9, Confidence: 0.9, WindowStart: 10, WindowEnd: 190}
	b, _ := json.Marshal(r)
	if _, err := DecodeInference(b); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*InferenceResult){
		"attack_prob": func(r *InferenceResult) { r.AttackProb = 1.5 },
		"prediction":  func(r *InferenceResult) { r.Prediction = "maybe" },
		"window_end":  func(r *InferenceResult) { r.WindowEnd = 1 },
		"confidence":  func(r *InferenceResult) { r.Confidence = math.NaN() },
	} {
		x := r
		mut(&x)
		if err := x.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	a := Alert{AlertID: "a", TenantID: "t", Kind: AlertKindEndpoint, Status: StatusOpen, Severity: SeverityHigh, AttackProb: 0.9}
	b, _ = json.Marshal(a)
	if _, err := DecodeAlert(b); err != nil {
		t.Fatal(err)
	}
	a.Status = "closed"
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "status") {
		t.Fatalf("invalid status accepted: %v", err)
	}
}

func TestEnums(t *testing.T) {
	t.Parallel()
	for _, s := range AllStatuses {
		if got, err := ParseStatus(string(s)); err != nil || got != s {
			t.Fatalf("ParseStatus(%s)", s)
		}
	}
	if _, err := ParseStatus("OPEN"); err == nil {
		t.Fatal("statuses are lower-case on the wire")
	}
	if !StatusResolved.Closed() || !StatusFalsePositive.Closed() || StatusInvestigating.Closed() {
		t.Fatal("Closed()")
	}
	if SeverityCritical.Rank() <= SeverityLow.Rank() || Severity("x").Rank() != 0 {
		t.Fatal("severity ranks")
	}
	seen := map[EventType]bool{}
	for _, et := range AllEventTypes {
		if seen[et] || !et.Valid() {
			t.Fatalf("event type %q duplicated or invalid", et)
		}
		seen[et] = true
	}
}

// The wire names are the contract (SPEC §3): a rename breaks consumers.
func TestWireFieldNames(t *testing.T) {
	t.Parallel()
	b, _ := json.Marshal(Alert{})
	for _, f := range []string{`"alert_id"`, `"tenant_id"`, `"status"`, `"severity"`, `"attack_prob"`, `"confidence"`, `"first_seen"`, `"last_seen"`, `"occurrence_count"`, `"inference_ids"`, `"ttp_techniques"`, `"notes"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("Alert JSON lacks %s", f)
		}
	}
	b, _ = json.Marshal(InferenceResult{})
	for _, f := range []string{`"prediction"`, `"attack_prob"`, `"confidence"`, `"threshold"`, `"model_version"`, `"inference_time_ms"`, `"contributing_event_ids"`, `"window_start"`, `"window_end"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("InferenceResult JSON lacks %s", f)
		}
	}
	b, _ = json.Marshal(validEvent())
	for _, f := range []string{`"event_id"`, `"tenant_id"`, `"endpoint_id"`, `"hostname"`, `"platform"`, `"source"`, `"event_type"`, `"timestamp"`, `"data"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("NormalizedEvent JSON lacks %s", f)
		}
	}
}

func FuzzDecodeEvent(f *testing.F) {
	b, _ := json.Marshal(validEvent())
	f.Add(b)
	f.Add([]byte(`{"schema_version":1e308}`))
	f.Add([]byte(`{"timestamp":"NaN"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := DecodeEvent(in)
		if err == nil && (e.Validate() != nil) {
			t.Fatal("decoded event does not validate")
		}
	})
}

package alerting

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logster/logster/internal/schema"
)

const (
	tBase  = 1600618616.0
	minute = 60.0
)

// newTestEngine returns an engine over a fresh memory state with a fake
// clock and its own registry.
func newTestEngine(t *testing.T) (*Engine, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	clk := newFakeClock()
	e, err := NewEngine(Config{
		Threshold: 0.5, DedupWindow: time.Hour, CorrelationWindow: 30 * time.Minute,
		StateTTL: 24 * time.Hour, KeyPrefix: "logster:", Now: clk.Now,
	}, NewMemoryState(clk.Now), reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, reg
}

// res builds an inference result of an endpoint window [start, start+3m].
func res(id, endpoint string, pred schema.Prediction, prob, start float64, ev *schema.Evidence) *schema.InferenceResult {
	conf := prob
	if pred != schema.PredictionAttack {
		conf = 1 - prob
	}
	return &schema.InferenceResult{
		SchemaVersion: schema.Version, InferenceID: id, TenantID: "acme", EndpointID: endpoint,
		Hostname: endpoint, Platform: schema.PlatformWindows, WindowStart: start, WindowEnd: start + 3*minute,
		Prediction: pred, AttackProb: prob, Confidence: conf, Threshold: 0.5, ModelVersion: "m1",
		NumNodes: 10, NumEdges: 12, Evidence: ev,
	}
}

func attackRes(id, endpoint string, prob, start float64) *schema.InferenceResult {
	return res(id, endpoint, schema.PredictionAttack, prob, start, &schema.Evidence{
		Techniques: []schema.TechniqueHit{{ID: "T1059.001", Name: "PowerShell", Count: 1, FirstSeen: start}},
	})
}

// step is one input of a scenario: an inference result or an analyst change.
type step struct {
	r      *schema.InferenceResult
	triage func(last map[string]*schema.Alert) *schema.Alert
	// want describes the alerts the step must publish: "opened", "merged",
	// "none", "same" (redelivery: the current version again, unchanged).
	want string
}

func closeAlert(endpoint string, status schema.AlertStatus) func(map[string]*schema.Alert) *schema.Alert {
	return func(last map[string]*schema.Alert) *schema.Alert {
		var a *schema.Alert
		for _, v := range last {
			if v.EndpointID == endpoint && v.Kind == schema.AlertKindEndpoint && (a == nil || v.CreatedAt >= a.CreatedAt && v.FirstSeen >= a.FirstSeen) {
				a = v
			}
		}
		c := a.Clone()
		c.Status = status
		c.Notes = "handled"
		c.History = append(c.History, schema.StatusChange{At: tBase, Actor: "analyst", Field: "status", From: "open", To: string(status)})
		return c
	}
}

func TestDedupScenarios(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		steps []step
		// checks on the final state
		alerts    int // distinct endpoint alert ids published
		count     int // occurrence count of the last published alert
		prevLinks int // alerts carrying previous_alert_id
		dedup     float64
	}{
		{
			name:   "one positive opens one alert",
			steps:  []step{{r: attackRes("i1", "ws6", 0.8, tBase), want: "opened"}},
			alerts: 1, count: 1,
		},
		{
			name: "benign, error and sub-threshold results never alert",
			steps: []step{
				{r: res("i1", "ws6", schema.PredictionBenign, 0.1, tBase, nil), want: "none"},
				{r: res("i2", "ws6", schema.PredictionError, 0, tBase, nil), want: "none"},
				{r: res("i3", "ws6", schema.PredictionAttack, 0.49, tBase, nil), want: "none"},
				{r: func() *schema.InferenceResult {
					r := res("i4", "ws6", schema.PredictionError, 0.99, tBase, nil)
					return r
				}(), want: "none"},
			},
		},
		{
			name: "positives within the dedup window merge",
			steps: []step{
				{r: attackRes("i1", "ws6", 0.7, tBase), want: "opened"},
				{r: attackRes("i2", "ws6", 0.95, tBase+minute), want: "merged"},
				{r: attackRes("i3", "ws6", 0.6, tBase+50*minute), want: "merged"},
			},
			alerts: 1, count: 3, dedup: 2,
		},
		{
			name: "a redelivered result changes nothing",
			steps: []step{
				{r: attackRes("i1", "ws6", 0.7, tBase), want: "opened"},
				{r: attackRes("i2", "ws6", 0.9, tBase+minute), want: "merged"},
				{r: attackRes("i1", "ws6", 0.7, tBase), want: "same"},
				{r: attackRes("i2", "ws6", 0.9, tBase+minute), want: "same"},
			},
			alerts: 1, count: 2, dedup: 1,
		},
		{
			name: "out-of-order results merge and widen the span",
			steps: []step{
				{r: attackRes("i3", "ws6", 0.7, tBase+10*minute), want: "opened"},
				{r: attackRes("i1", "ws6", 0.8, tBase), want: "merged"},
				{r: attackRes("i2", "ws6", 0.6, tBase+5*minute), want: "merged"},
			},
			alerts: 1, count: 3, dedup: 2,
		},
		{
			name: "a positive after the dedup window opens a new alert pointing back",
			steps: []step{
				{r: attackRes("i1", "ws6", 0.8, tBase), want: "opened"},
				{r: attackRes("i2", "ws6", 0.8, tBase+2*60*minute), want: "opened"},
			},
			alerts: 2, count: 1, prevLinks: 1,
		},
		{
			name: "closure by the API, then a new positive opens a new linked alert",
			steps: []step{
				{r: attackRes("i1", "ws6", 0.8, tBase), want: "opened"},
				{triage: closeAlert("ws6", schema.StatusResolved), want: "none"},
				{r: attackRes("i2", "ws6", 0.8, tBase+5*minute), want: "opened"},
				{r: attackRes("i3", "ws6", 0.8, tBase+6*minute), want: "merged"},
			},
			alerts: 2, count: 2, prevLinks: 1, dedup: 1,
		},
		{
			name: "false positive verdict is not re-opened silently",
			steps: []step{
				{r: attackRes("i1", "ws6", 0.8, tBase), want: "opened"},
				{r: attackRes("i2", "ws6", 0.8, tBase+3*minute), want: "merged"},
				{triage: closeAlert("ws6", schema.StatusFalsePositive), want: "none"},
				// Late result inside the closed alert's span: part of the closed case.
				{r: attackRes("i0", "ws6", 0.9, tBase-minute), want: "none"},
				// Redelivery of a merged result after closure: the closed alert, unchanged.
				{r: attackRes("i2", "ws6", 0.8, tBase+3*minute), want: "same"},
				// New activity after the closed span: a new alert.
				{r: attackRes("i3", "ws6", 0.8, tBase+30*minute), want: "opened"},
			},
			alerts: 2, count: 1, prevLinks: 1, dedup: 1,
		},
		{
			name: "acknowledged and investigating alerts keep merging",
			steps: []step{
				{r: attackRes("i1", "ws6", 0.8, tBase), want: "opened"},
				{triage: closeAlert("ws6", schema.StatusAcknowledged), want: "none"},
				{r: attackRes("i2", "ws6", 0.8, tBase+minute), want: "merged"},
				{triage: closeAlert("ws6", schema.StatusInvestigating), want: "none"},
				{r: attackRes("i3", "ws6", 0.8, tBase+2*minute), want: "merged"},
			},
			alerts: 1, count: 3, dedup: 2,
		},
		{
			name: "endpoints are deduplicated independently",
			steps: []step{
				{r: attackRes("i1", "ws6", 0.8, tBase), want: "opened"},
				{r: attackRes("i2", "ws7", 0.8, tBase), want: "opened"},
				{r: attackRes("i3", "ws6", 0.8, tBase+minute), want: "merged"},
			},
			alerts: 2, count: 2, dedup: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, reg := newTestEngine(t)
			ctx := context.Background()
			last := map[string]*schema.Alert{} // latest version per alert id
			var lastPublished *schema.Alert
			for i, s := range tc.steps {
				if s.triage != nil {
					if err := e.ApplyTriage(ctx, s.triage(last)); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					continue
				}
				out, err := e.Process(ctx, s.r)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				var eps []*schema.Alert
				for _, a := range out {
					if a.Kind == schema.AlertKindEndpoint {
						eps = append(eps, a)
					}
				}
				switch s.want {
				case "none":
					if len(eps) != 0 {
						t.Fatalf("step %d: published %+v, want nothing", i, eps)
					}
					continue
				case "opened":
					if len(eps) != 1 || eps[0].Revision != 1 || last[eps[0].AlertID] != nil || eps[0].Status != schema.StatusOpen {
						t.Fatalf("step %d: want a new alert, got %+v", i, eps)
					}
				case "merged":
					if len(eps) != 1 || last[eps[0].AlertID] == nil || eps[0].Revision != last[eps[0].AlertID].Revision+1 {
						t.Fatalf("step %d: want an update of a known alert, got %+v", i, eps)
					}
				case "same":
					if len(eps) != 1 || last[eps[0].AlertID] == nil || eps[0].Revision != last[eps[0].AlertID].Revision || eps[0].OccurrenceCount != last[eps[0].AlertID].OccurrenceCount {
						t.Fatalf("step %d: redelivery must republish the current version unchanged, got %+v", i, eps)
					}
				}
				if err := eps[0].Validate(); err != nil {
					t.Fatalf("step %d: invalid alert: %v", i, err)
				}
				last[eps[0].AlertID] = eps[0]
				lastPublished = eps[0]
			}
			if len(last) != tc.alerts {
				t.Fatalf("distinct alerts = %d, want %d", len(last), tc.alerts)
			}
			if lastPublished != nil && lastPublished.OccurrenceCount != tc.count {
				t.Fatalf("occurrence count = %d, want %d", lastPublished.OccurrenceCount, tc.count)
			}
			prev := 0
			for _, a := range last {
				if a.PreviousAlertID != "" {
					prev++
					if last[a.PreviousAlertID] == nil {
						t.Fatalf("previous_alert_id %s is not a published alert", a.PreviousAlertID)
					}
				}
			}
			if prev != tc.prevLinks {
				t.Fatalf("alerts with previous_alert_id = %d, want %d", prev, tc.prevLinks)
			}
			if got := testutil.ToFloat64(e.m.dedup); got != tc.dedup {
				t.Fatalf("deduplicated = %v, want %v", got, tc.dedup)
			}
			if got := testutil.ToFloat64(e.m.created.WithLabelValues("endpoint")); got != float64(tc.alerts) {
				t.Fatalf("alerts_created = %v, want %d", got, tc.alerts)
			}
			_ = reg
		})
	}
}

func TestMergedAlertFields(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	ctx := context.Background()
	r1 := attackRes("i1", "ws6", 0.7, tBase)
	r2 := res("i2", "ws6", schema.PredictionAttack, 0.96, tBase-2*minute, &schema.Evidence{
		Techniques: []schema.TechniqueHit{{ID: "T1003.001", Count: 1}, {ID: "T1021.002", Count: 2}},
	})
	out1, _ := e.Process(ctx, r1)
	out2, err := e.Process(ctx, r2)
	if err != nil || len(out1) != 1 || len(out2) != 1 {
		t.Fatalf("outputs %v %v %v", out1, out2, err)
	}
	a := out2[0]
	if a.AlertID != schema.AlertID("acme", "ws6", "i1") {
		t.Errorf("alert id %s is not derived from the opening inference", a.AlertID)
	}
	if a.FirstSeen != tBase-2*minute || a.LastSeen != tBase+3*minute || a.AttackProb != 0.96 || a.OccurrenceCount != 2 {
		t.Errorf("merged fields: %+v", a)
	}
	if strings.Join(a.InferenceIDs, ",") != "i1,i2" || strings.Join(a.TTPTechniques, ",") != "T1003.001,T1021.002,T1059.001" {
		t.Errorf("ids %v techniques %v", a.InferenceIDs, a.TTPTechniques)
	}
	// 0.96 -> high, +1 credential access, +1 lateral movement technique = capped +2.
	if out1[0].Severity != schema.SeverityMedium || a.Severity != schema.SeverityCritical {
		t.Errorf("severity %s -> %s", out1[0].Severity, a.Severity)
	}
	if !strings.Contains(a.Title, "ws6") || !strings.Contains(a.Title, "LSASS Memory") {
		t.Errorf("title %q", a.Title)
	}
}

func TestSeverityMapping(t *testing.T) {
	t.Parallel()
	inbound := []schema.EvidenceLink{{Kind: schema.LinkRemoteService, Direction: "inbound", PeerIP: "10.0.0.5"}}
	logonOnly := []schema.EvidenceLink{{Kind: schema.LinkRemoteLogon, Direction: "inbound", PeerIP: "10.0.0.5"}}
	cases := []struct {
		prob, conf float64
		techs      []string
		links      []schema.EvidenceLink
		want       schema.Severity
	}{
		{0.55, 0.55, nil, nil, schema.SeverityLow},
		{0.75, 0.75, nil, nil, schema.SeverityMedium},
		{0.95, 0.95, nil, nil, schema.SeverityHigh},
		{0.95, 0.95, []string{"T1003.001"}, nil, schema.SeverityCritical},
		{0.75, 0.75, []string{"T1003.001"}, nil, schema.SeverityHigh},
		{0.75, 0.75, []string{"T1003.001", "T1021.002", "T1070.001"}, nil, schema.SeverityCritical}, // +2 at most
		{0.55, 0.55, []string{"T1003.001", "T1021.002", "T1070.001"}, nil, schema.SeverityMedium},   // low +2 (capped by confidence)
		{0.55, 0.9, []string{"T1003.001", "T1021.002"}, nil, schema.SeverityHigh},
		{0.95, 0.55, []string{"T1003.001"}, nil, schema.SeverityMedium}, // unsure model: capped
		{0.75, 0.75, nil, inbound, schema.SeverityHigh},
		{0.75, 0.75, nil, logonOnly, schema.SeverityMedium}, // a network logon alone is routine
		{0.95, 0.95, []string{"T1059.001"}, nil, schema.SeverityHigh},
	}
	for _, c := range cases {
		if got := endpointSeverity(c.prob, c.conf, c.techs, c.links); got != c.want {
			t.Errorf("endpointSeverity(%v, %v, %v, %d links) = %s, want %s", c.prob, c.conf, c.techs, len(c.links), got, c.want)
		}
	}
	if got := incidentSeverity(2, []string{"T1021.002"}, []schema.Severity{schema.SeverityMedium}); got != schema.SeverityHigh {
		t.Errorf("two-host incident = %s", got)
	}
	if got := incidentSeverity(3, nil, nil); got != schema.SeverityCritical {
		t.Errorf("three-host incident = %s", got)
	}
	if got := incidentSeverity(2, []string{"T1003.006"}, nil); got != schema.SeverityCritical {
		t.Errorf("incident with credential access = %s", got)
	}
	if got := incidentSeverity(2, nil, []schema.Severity{schema.SeverityCritical}); got != schema.SeverityCritical {
		t.Errorf("incident linking a critical alert = %s", got)
	}
}

func TestTriageForUnknownAlertsIsHarmless(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	ctx := context.Background()
	for _, a := range []*schema.Alert{
		nil,
		{AlertID: "x", TenantID: "acme", Kind: schema.AlertKindEndpoint, EndpointID: "ws9", Status: schema.StatusResolved},
		{AlertID: "y", TenantID: "acme", Kind: schema.AlertKindLateralMovement, Status: schema.StatusResolved},
		{AlertID: "z", TenantID: "acme", Kind: schema.AlertKindEndpoint, Status: schema.StatusResolved},
	} {
		if err := e.ApplyTriage(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
}

// Triage records can arrive out of order (the API's relay republishes, two
// API replicas race): an older one must not undo a newer closure, or the
// next positive would merge silently into an alert the analyst resolved.
func TestStaleTriageIsIgnored(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	ctx := context.Background()
	out, err := e.Process(ctx, attackRes("i1", "ws6", 0.9, tBase))
	if err != nil || len(out) != 1 {
		t.Fatalf("open: %v %v", out, err)
	}
	opened := out[0]
	ack := opened.Clone()
	ack.Status = schema.StatusAcknowledged
	ack.History = []schema.StatusChange{{At: tBase + 60, Actor: "alice", Field: "status", From: "open", To: "acknowledged"}}
	resolved := ack.Clone()
	resolved.Status = schema.StatusResolved
	resolved.History = append(resolved.History, schema.StatusChange{At: tBase + 120, Actor: "alice", Field: "status", From: "acknowledged", To: "resolved"})
	for _, a := range []*schema.Alert{ack, resolved, ack} { // the last one is late
		if err := e.ApplyTriage(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	out, err = e.Process(ctx, attackRes("i2", "ws6", 0.9, tBase+10*minute))
	if err != nil || len(out) != 1 {
		t.Fatalf("after resolution: %v %v", out, err)
	}
	if out[0].AlertID == opened.AlertID || out[0].PreviousAlertID != opened.AlertID {
		t.Fatalf("positive after resolution merged or unlinked: %+v", out[0])
	}
}

// A corrupt state document is started afresh (and counted), not a reason to
// stall the partition forever.
func TestCorruptStateIsReset(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	st := NewMemoryState(clk.Now)
	e, err := NewEngine(Config{Threshold: 0.5, DedupWindow: time.Hour, CorrelationWindow: time.Hour, Now: clk.Now}, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	put(t, st, e.endpointKey("acme", "ws6"), "{not json", time.Hour)
	put(t, st, e.tenantKey("acme"), "[]", time.Hour)
	out, err := e.Process(context.Background(), attackRes("i1", "ws6", 0.9, tBase))
	if err != nil || len(out) != 1 {
		t.Fatalf("out %v err %v", out, err)
	}
	if got := testutil.ToFloat64(e.m.stateReset); got != 2 {
		t.Fatalf("corrupt documents counted = %v", got)
	}
}

func TestKeysKeepTenantInHashTag(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	if got := e.endpointKey("ev}il{", "ws6"); got != "logster:alerts:{ev%7Dil%7B}:ep:ws6" {
		t.Fatalf("key %s", got)
	}
	if got := e.tenantKey("acme"); got != "logster:alerts:{acme}:corr" {
		t.Fatalf("key %s", got)
	}
}

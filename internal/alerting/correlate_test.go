package alerting

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logster/logster/internal/attack"
	"github.com/logster/logster/internal/schema"
)

const (
	ipWS5 = "172.18.39.5"
	ipWS6 = "172.18.39.6"
	ipDC  = "172.18.38.5"
	pg    = `theshire\pgustavo`
)

func link(kind, dir, ip, host, acct string, port int, ts float64, tech string) schema.EvidenceLink {
	return schema.EvidenceLink{Kind: kind, Direction: dir, PeerIP: ip, PeerHost: host, Account: acct, Port: port, Timestamp: ts, Technique: tech}
}

func evid(addrs, accts []string, techs []string, links ...schema.EvidenceLink) *schema.Evidence {
	ev := &schema.Evidence{LocalAddresses: addrs, Accounts: accts, Links: links}
	for _, t := range techs {
		ev.Techniques = append(ev.Techniques, schema.TechniqueHit{ID: t, Count: 1})
	}
	return ev
}

// The source (ws5) and target (ws6) windows of Empire's Invoke-PsExec.
func psexecSource(id string, pred schema.Prediction, prob float64) *schema.InferenceResult {
	return res(id, "ws5", pred, prob, tBase, evid([]string{ipWS5}, []string{pg}, []string{"T1059.001"},
		link(schema.LinkOutboundConnect, "outbound", ipWS6, "", pg, 135, tBase+10, ""),
		link(schema.LinkOutboundConnect, "outbound", ipWS6, "", pg, 49726, tBase+11, ""),
	))
}

func psexecTarget(id string, prob float64) *schema.InferenceResult {
	return res(id, "ws6", schema.PredictionAttack, prob, tBase+minute, evid([]string{ipWS6}, []string{pg}, []string{"T1543.003", "T1569.002", "T1059.001"},
		link(schema.LinkInboundConnect, "inbound", ipWS5, "", "", 135, tBase+10, ""),
		link(schema.LinkRemoteLogon, "inbound", ipWS5, "", pg, 0, tBase+10.5, ""),
		link(schema.LinkRemoteService, "inbound", ipWS5, "", pg, 0, tBase+11, "T1569.002"),
	))
}

// ws6 moving on to the domain controller with explicit credentials.
func ws6ToDC(id string) *schema.InferenceResult {
	return res(id, "ws6", schema.PredictionAttack, 0.9, tBase+5*minute, evid([]string{ipWS6}, []string{pg}, []string{"T1059.001"},
		link(schema.LinkExplicitLogon, "outbound", "", "mordordc", pg, 0, tBase+5*minute+5, ""),
	))
}

func dcTarget(id string) *schema.InferenceResult {
	return res(id, "mordordc", schema.PredictionAttack, 0.97, tBase+5*minute, evid([]string{ipDC}, []string{pg}, []string{"T1003.006", "T1021.006"},
		link(schema.LinkWinRM, "inbound", ipWS6, "", pg, 5985, tBase+5*minute+6, "T1021.006"),
	))
}

func lateral(out []*schema.Alert) []*schema.Alert {
	var l []*schema.Alert
	for _, a := range out {
		if a.Kind == schema.AlertKindLateralMovement {
			l = append(l, a)
		}
	}
	return l
}

func process(t *testing.T, e *Engine, rs ...*schema.InferenceResult) []*schema.Alert {
	t.Helper()
	var all []*schema.Alert
	for _, r := range rs {
		out, err := e.Process(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out {
			if err := a.Validate(); err != nil {
				t.Fatalf("invalid alert %+v: %v", a, err)
			}
		}
		all = append(all, out...)
	}
	return all
}

func TestLateralMovementPsexecChain(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	out := process(t, e, psexecSource("s1", schema.PredictionAttack, 0.8), psexecTarget("t1", 0.9))
	lm := lateral(out)
	if len(lm) != 1 {
		t.Fatalf("want one lateral-movement alert, got %d: %+v", len(lm), out)
	}
	a := lm[0]
	if len(a.Chain) != 1 || a.Chain[0].SourceEndpoint != "ws5" || a.Chain[0].TargetEndpoint != "ws6" {
		t.Fatalf("chain %+v", a.Chain)
	}
	h := a.Chain[0]
	if got := strings.Join(h.Kinds, ","); got != "remote_logon,remote_service,inbound_connect,outbound_connect" {
		t.Errorf("kinds %s", got)
	}
	if strings.Join(h.Accounts, ",") != pg || !strings.Contains(strings.Join(h.Techniques, ","), "T1569.002") {
		t.Errorf("hop %+v", h)
	}
	if h.SourceAlertID != schema.AlertID("acme", "ws5", "s1") || h.TargetAlertID != schema.AlertID("acme", "ws6", "t1") {
		t.Errorf("hop alert ids %+v", h)
	}
	if strings.Join(a.LinkedEndpoints, ",") != "ws5,ws6" || len(a.LinkedAlerts) != 2 {
		t.Errorf("linked %v %v", a.LinkedEndpoints, a.LinkedAlerts)
	}
	// The ws6 alert is critical (0.9 and a remote service install), so is
	// the incident that links it.
	if a.EndpointID != "ws5" || a.Revision != 1 || a.Severity != schema.SeverityCritical || a.AttackProb != 0.9 {
		t.Errorf("incident %+v", a)
	}
	if a.Title != "Lateral movement across 2 endpoints: ws5 -> ws6" {
		t.Errorf("title %q", a.Title)
	}
	if got := testutil.ToFloat64(e.m.lateral); got != 1 {
		t.Errorf("lateral_movement_detected = %v", got)
	}

	// The chain grows: ws6 -> mordordc joins the same incident.
	out = process(t, e, ws6ToDC("t2"), dcTarget("d1"))
	lm = lateral(out)
	if len(lm) == 0 {
		t.Fatalf("no incident update: %+v", out)
	}
	last := lm[len(lm)-1]
	if last.AlertID != a.AlertID || last.Revision <= a.Revision || len(last.Chain) != 2 {
		t.Fatalf("want the incident extended, got %+v", last)
	}
	if last.Title != "Lateral movement across 3 endpoints: ws5 -> ws6 -> mordordc" || last.Severity != schema.SeverityCritical {
		t.Errorf("extended incident %q %s", last.Title, last.Severity)
	}
	hop := last.Chain[1]
	if hop.SourceEndpoint != "ws6" || hop.TargetEndpoint != "mordordc" || strings.Join(hop.Kinds, ",") != "explicit_logon,winrm" {
		t.Errorf("second hop %+v", hop)
	}
	if got := testutil.ToFloat64(e.m.lateral); got != 1 {
		t.Errorf("an extended chain is not a new detection: lateral_movement_detected = %v", got)
	}
	// Re-processing already-merged evidence changes nothing.
	out = process(t, e, ws6ToDC("t2"), dcTarget("d1"))
	for _, a := range lateral(out) {
		if a.Revision != last.Revision {
			t.Fatalf("redelivery changed the incident: %+v", a)
		}
	}
}

func TestLateralMovementCorrelationRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		rs    []*schema.InferenceResult
		hops  string // "src>dst/kinds;..." of the final incident, "" for none
		count int    // incidents
	}{
		{
			name: "psexec chain, target first",
			rs:   []*schema.InferenceResult{psexecTarget("t1", 0.9), psexecSource("s1", schema.PredictionAttack, 0.8)},
			hops: "ws5>ws6/remote_logon,remote_service,inbound_connect,outbound_connect", count: 1,
		},
		{
			name: "benign-scored source with outbound action links to a positive target",
			rs: []*schema.InferenceResult{
				psexecTarget("t1", 0.9),
				res("s1", "ws5", schema.PredictionBenign, 0.2, tBase, evid([]string{ipWS5}, []string{pg}, nil,
					link(schema.LinkRemoteService, "outbound", "", "ws6", pg, 0, tBase+11, "T1569.002"))),
			},
			hops: "ws5>ws6/remote_logon,remote_service,inbound_connect", count: 1,
		},
		{
			name: "benign-scored source with only system connections is not pulled in",
			rs: []*schema.InferenceResult{
				psexecTarget("t1", 0.9),
				res("s1", "ws5", schema.PredictionBenign, 0.2, tBase, evid([]string{ipWS5}, []string{pg}, nil,
					link(schema.LinkOutboundConnect, "outbound", ipWS6, "", "", 445, tBase+11, ""))),
			},
		},
		{
			name: "positive source, benign target recording only a network logon from it: no hop",
			rs: []*schema.InferenceResult{
				psexecSource("s1", schema.PredictionAttack, 0.9),
				res("t1", "ws6", schema.PredictionBenign, 0.1, tBase, evid([]string{ipWS6}, []string{pg}, nil,
					link(schema.LinkRemoteLogon, "inbound", ipWS5, "", pg, 0, tBase+10, ""))),
			},
		},
		{
			name: "positive source, benign target recording a remote service install from it: hop",
			rs: []*schema.InferenceResult{
				psexecSource("s1", schema.PredictionAttack, 0.9),
				res("t1", "ws6", schema.PredictionBenign, 0.3, tBase, evid([]string{ipWS6}, []string{pg}, nil,
					link(schema.LinkRemoteLogon, "inbound", ipWS5, "", pg, 0, tBase+10, ""),
					link(schema.LinkRemoteService, "inbound", ipWS5, "", pg, 0, tBase+11, "T1569.002"))),
			},
			hops: "ws5>ws6/remote_logon,remote_service,outbound_connect", count: 1,
		},
		{
			name: "benign target first, positive source later: hop",
			rs: []*schema.InferenceResult{
				res("t1", "ws6", schema.PredictionBenign, 0.3, tBase, evid([]string{ipWS6}, []string{pg}, nil,
					link(schema.LinkWinRM, "inbound", ipWS5, "", pg, 5985, tBase+12, "T1021.006"))),
				psexecSource("s1", schema.PredictionAttack, 0.9),
			},
			hops: "ws5>ws6/winrm,outbound_connect", count: 1,
		},
		{
			name: "benign source and benign target: nothing, whatever they record",
			rs: []*schema.InferenceResult{
				res("s1", "ws5", schema.PredictionBenign, 0.2, tBase, evid([]string{ipWS5}, []string{pg}, nil,
					link(schema.LinkRemoteService, "outbound", "", "ws6", pg, 0, tBase+11, "T1569.002"))),
				res("t1", "ws6", schema.PredictionBenign, 0.3, tBase, evid([]string{ipWS6}, []string{pg}, nil,
					link(schema.LinkRemoteService, "inbound", ipWS5, "", pg, 0, tBase+11, "T1569.002"))),
			},
		},
		{
			name: "benign target with a remote execution from another host: nothing",
			rs: []*schema.InferenceResult{
				psexecSource("s1", schema.PredictionAttack, 0.9),
				res("t1", "ws6", schema.PredictionBenign, 0.3, tBase, evid([]string{ipWS6}, []string{pg}, nil,
					link(schema.LinkRemoteService, "inbound", "172.18.39.50", "", pg, 0, tBase+11, "T1569.002"))),
			},
		},
		{
			name: "system connections alone between two positives do not link",
			rs: []*schema.InferenceResult{
				res("a1", "ws5", schema.PredictionAttack, 0.9, tBase, evid([]string{ipWS5}, []string{`theshire\alice`}, nil,
					link(schema.LinkOutboundConnect, "outbound", ipDC, "", "", 445, tBase+1, ""))),
				res("b1", "mordordc", schema.PredictionAttack, 0.9, tBase, evid([]string{ipDC}, []string{`theshire\bob`}, nil,
					link(schema.LinkInboundConnect, "inbound", ipWS5, "", "", 445, tBase+1, ""))),
			},
		},
		{
			name: "connections corroborated by a shared account link",
			rs: []*schema.InferenceResult{
				res("a1", "ws5", schema.PredictionAttack, 0.9, tBase, evid([]string{ipWS5}, []string{pg}, nil,
					link(schema.LinkOutboundConnect, "outbound", ipDC, "", "", 445, tBase+1, ""))),
				res("b1", "mordordc", schema.PredictionAttack, 0.9, tBase, evid([]string{ipDC}, []string{pg}, nil,
					link(schema.LinkInboundConnect, "inbound", ipWS5, "", "", 445, tBase+1, ""))),
			},
			hops: "ws5>mordordc/inbound_connect,outbound_connect,shared_account", count: 1,
		},
		{
			name: "the same account on two positives links earlier to later",
			rs: []*schema.InferenceResult{
				res("b1", "ws7", schema.PredictionAttack, 0.9, tBase+4*minute, evid([]string{"172.18.39.7"}, []string{pg}, nil)),
				res("a1", "ws5", schema.PredictionAttack, 0.9, tBase, evid([]string{ipWS5}, []string{pg}, nil)),
			},
			hops: "ws5>ws7/shared_account", count: 1,
		},
		{
			name: "different accounts and no network facts: nothing",
			rs: []*schema.InferenceResult{
				res("a1", "ws5", schema.PredictionAttack, 0.9, tBase, evid([]string{ipWS5}, []string{`theshire\alice`}, nil)),
				res("b1", "ws7", schema.PredictionAttack, 0.9, tBase, evid([]string{"172.18.39.7"}, []string{`theshire\bob`}, nil)),
			},
		},
		{
			name: "host names alone are not evidence",
			rs: []*schema.InferenceResult{
				res("a1", "ws5", schema.PredictionAttack, 0.9, tBase, nil),
				res("b1", "ws6", schema.PredictionAttack, 0.9, tBase, nil),
			},
		},
		{
			name: "outside the correlation window: nothing",
			rs: []*schema.InferenceResult{
				psexecSource("s1", schema.PredictionAttack, 0.9),
				func() *schema.InferenceResult {
					r := psexecTarget("t1", 0.9)
					r.WindowStart += 2 * 60 * minute
					r.WindowEnd += 2 * 60 * minute
					return r
				}(),
			},
		},
		{
			name: "another tenant: nothing",
			rs: []*schema.InferenceResult{
				psexecSource("s1", schema.PredictionAttack, 0.9),
				func() *schema.InferenceResult { r := psexecTarget("t1", 0.9); r.TenantID = "globex"; return r }(),
			},
		},
		{
			name: "a host name stated by the record (4648 target) names the peer",
			rs: []*schema.InferenceResult{
				ws6ToDC("t2"),
				res("d1", "mordordc", schema.PredictionAttack, 0.9, tBase+5*minute, evid([]string{ipDC}, nil, nil)),
			},
			hops: "ws6>mordordc/explicit_logon", count: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, _ := newTestEngine(t)
			incidents := map[string]*schema.Alert{}
			for _, a := range lateral(process(t, e, tc.rs...)) {
				incidents[a.AlertID] = a
			}
			if len(incidents) != tc.count {
				t.Fatalf("incidents = %d, want %d: %+v", len(incidents), tc.count, incidents)
			}
			for _, a := range incidents {
				var hops []string
				for _, h := range a.Chain {
					hops = append(hops, h.SourceEndpoint+">"+h.TargetEndpoint+"/"+strings.Join(h.Kinds, ","))
				}
				if got := strings.Join(hops, ";"); got != tc.hops {
					t.Fatalf("hops %q, want %q", got, tc.hops)
				}
			}
		})
	}
}

// An incident closed by an analyst is not extended; new movement involving
// its endpoints opens a new incident pointing back at it.
func TestLateralIncidentClosedThenNewHop(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	ctx := context.Background()
	lm := lateral(process(t, e, psexecSource("s1", schema.PredictionAttack, 0.8), psexecTarget("t1", 0.9)))
	if len(lm) != 1 {
		t.Fatalf("incidents %d", len(lm))
	}
	closed := lm[0].Clone()
	closed.Status = schema.StatusResolved
	if err := e.ApplyTriage(ctx, closed); err != nil {
		t.Fatal(err)
	}
	out := lateral(process(t, e, ws6ToDC("t2"), dcTarget("d1")))
	if len(out) == 0 {
		t.Fatal("no new incident")
	}
	n := out[len(out)-1]
	if n.AlertID == closed.AlertID || n.PreviousAlertID != closed.AlertID || n.Revision != 1 && len(out) == 1 {
		t.Fatalf("new incident %+v", n)
	}
	for _, h := range n.Chain {
		if h.SourceEndpoint == "ws5" {
			t.Fatalf("closed hop carried into the new incident: %+v", n.Chain)
		}
	}
	if got := testutil.ToFloat64(e.m.lateral); got != 2 {
		t.Fatalf("lateral_movement_detected = %v", got)
	}
}

// A false-positive verdict on an endpoint alert stops the evidence it covered
// from making that endpoint a lateral-movement target; newer evidence does.
func TestClosedEndpointIsNotATarget(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	ctx := context.Background()
	out := process(t, e, psexecTarget("t1", 0.9))
	fp := out[0].Clone()
	fp.Status = schema.StatusFalsePositive
	if err := e.ApplyTriage(ctx, fp); err != nil {
		t.Fatal(err)
	}
	if lm := lateral(process(t, e, psexecSource("s1", schema.PredictionAttack, 0.8))); len(lm) != 0 {
		t.Fatalf("closed endpoint used as a target: %+v", lm)
	}
	// New evidence after the verdict counts again: ws6, scored benign now,
	// records a fresh remote service install from the flagged ws5.
	later := res("t2", "ws6", schema.PredictionBenign, 0.3, tBase+10*minute, evid([]string{ipWS6}, []string{pg}, nil,
		link(schema.LinkRemoteService, "inbound", ipWS5, "", pg, 0, tBase+10*minute+30, "T1569.002")))
	lm := lateral(process(t, e, psexecSource("s2", schema.PredictionAttack, 0.8), later))
	if len(lm) != 1 || lm[0].Chain[0].TargetEndpoint != "ws6" || lm[0].Chain[0].TargetAlertID != "" {
		t.Fatalf("fresh evidence after the verdict: %+v", lm)
	}
}

// End to end through attack.Extract: evidence built from raw-looking events
// of both hosts links them.
func TestLateralMovementFromExtractedEvidence(t *testing.T) {
	t.Parallel()
	mk := func(host string, typ schema.EventType, ts float64, id string, d schema.EventData) *schema.NormalizedEvent {
		return &schema.NormalizedEvent{SchemaVersion: 1, EventID: id, TenantID: "acme", EndpointID: host, Hostname: host,
			Platform: schema.PlatformWindows, EventType: typ, Timestamp: ts, Data: d}
	}
	src := attack.Extract([]*schema.NormalizedEvent{
		mk("ws5", schema.EventProcessCreate, tBase+1, "a", schema.EventData{
			Process: &schema.Process{Image: `C:\Windows\System32\sc.exe`, CommandLine: `sc.exe \\ws6 create upd binPath= "cmd /c x"`, User: `THESHIRE\pgustavo`}}),
		mk("ws5", schema.EventNetworkConnect, tBase+2, "b", schema.EventData{
			Process: &schema.Process{Image: `C:\Windows\System32\sc.exe`, User: `THESHIRE\pgustavo`},
			Network: &schema.Network{Direction: "outbound", SrcIP: ipWS5, SrcPort: 50000, DstIP: ipWS6, DstPort: 135}}),
	})
	dst := attack.Extract([]*schema.NormalizedEvent{
		mk("ws6", schema.EventLogon, tBase+2, "c", schema.EventData{Logon: &schema.Logon{Type: 3, TargetUser: "pgustavo", TargetDomain: "THESHIRE.LOCAL", TargetLogonID: "0x99", SourceIP: ipWS5}}),
		mk("ws6", schema.EventServiceInstall, tBase+3, "d", schema.EventData{User: &schema.User{Name: "pgustavo", Domain: "THESHIRE", LogonID: "0x99"}, Service: &schema.Service{Name: "upd", ImagePath: "cmd /c x"}}),
		mk("ws6", schema.EventNetworkConnect, tBase+2, "e", schema.EventData{Process: &schema.Process{Image: "svchost.exe"},
			Network: &schema.Network{Direction: "inbound", SrcIP: ipWS5, SrcPort: 50000, DstIP: ipWS6, DstPort: 135}}),
	})
	e, _ := newTestEngine(t)
	rs := res("s", "ws5", schema.PredictionBenign, 0.3, tBase, src)
	rt := res("t", "ws6", schema.PredictionAttack, 0.93, tBase, dst)
	lm := lateral(process(t, e, rs, rt))
	if len(lm) != 1 {
		t.Fatalf("incidents %d\nsource evidence %+v\ntarget evidence %+v", len(lm), src, dst)
	}
	h := lm[0].Chain[0]
	if h.SourceEndpoint != "ws5" || h.TargetEndpoint != "ws6" || !strings.Contains(strings.Join(h.Kinds, ","), "remote_service") {
		t.Fatalf("hop %+v", h)
	}
	if h.SourceAlertID != "" || h.TargetAlertID == "" || len(lm[0].LinkedAlerts) != 1 {
		t.Fatalf("a benign source has no alert to link: %+v", lm[0])
	}
}

// A flagged source that runs things on many benign-scored hosts is a
// management or deployment server: it links to at most maxBenignTargets of
// them.
func TestBenignTargetFanOutIsCapped(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	rs := []*schema.InferenceResult{psexecSource("s1", schema.PredictionAttack, 0.9)}
	for i := range maxBenignTargets + 3 {
		host, ip := fmt.Sprintf("srv%d", i), fmt.Sprintf("172.18.40.%d", 10+i)
		rs = append(rs, res("b"+host, host, schema.PredictionBenign, 0.2, tBase, evid([]string{ip}, []string{pg}, nil,
			link(schema.LinkRemoteService, "inbound", ipWS5, "", pg, 0, tBase+20, "T1569.002"))))
	}
	latest := map[string]*schema.Alert{}
	for _, a := range lateral(process(t, e, rs...)) {
		latest[a.AlertID] = a
	}
	if len(latest) != 1 {
		t.Fatalf("%d incidents", len(latest))
	}
	for _, a := range latest {
		if len(a.Chain) != maxBenignTargets {
			t.Fatalf("chain of %d hops, want at most %d: %+v", len(a.Chain), maxBenignTargets, a.Chain)
		}
	}
}

// Observations past the tenant's cap are dropped benign-scored first, so a
// burst of benign targets does not push out the endpoint with an alert.
func TestPruneKeepsPositivesFirst(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	process(t, e, psexecTarget("t1", 0.9))
	var rs []*schema.InferenceResult
	for i := range maxObservations + 8 {
		host := fmt.Sprintf("host%d", i)
		rs = append(rs, res("b"+host, host, schema.PredictionBenign, 0.2, tBase+minute, evid([]string{fmt.Sprintf("10.9.%d.%d", i/250, i%250+1)}, nil, nil,
			link(schema.LinkAdminShare, "inbound", "10.200.0.1", "", `corp\deploy`, 445, tBase+minute+1, "T1021.002"))))
	}
	process(t, e, rs...)
	if lm := lateral(process(t, e, psexecSource("s1", schema.PredictionAttack, 0.8))); len(lm) != 1 {
		t.Fatalf("the positive target was pruned: %d incidents", len(lm))
	}
}

// An alert closed and then re-opened by an analyst gets its evidence back.
func TestReopenedEndpointIsATargetAgain(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	ctx := context.Background()
	a := process(t, e, psexecTarget("t1", 0.9))[0]
	fp := a.Clone()
	fp.Status = schema.StatusFalsePositive
	fp.History = []schema.StatusChange{{At: tBase, Actor: "alice", Field: "status", From: "open", To: "false_positive"}}
	reopened := fp.Clone()
	reopened.Status = schema.StatusOpen
	reopened.History = append(reopened.History, schema.StatusChange{At: tBase + 1, Actor: "bob", Field: "status", From: "false_positive", To: "open"})
	for _, x := range []*schema.Alert{fp, reopened} {
		if err := e.ApplyTriage(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if lm := lateral(process(t, e, psexecSource("s1", schema.PredictionAttack, 0.8))); len(lm) != 1 {
		t.Fatalf("re-opened target not linked: %d incidents", len(lm))
	}
}

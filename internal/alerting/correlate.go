package alerting

import (
	"fmt"
	"sort"
	"strings"

	"github.com/logster/logster/internal/attack"
	"github.com/logster/logster/internal/schema"
)

// KindSharedAccount is the hop evidence kind for "the same non-system
// account was active on both endpoints" (the other kinds are the
// schema.Link* evidence kinds).
const KindSharedAccount = "shared_account"

// findHop decides whether the evidence of s and t shows lateral movement
// from s to t, and describes the hop. The rules (docs/alerts.md):
//
//   - t must be positive (it has an open endpoint alert), and the two
//     observations must lie within the correlation window of each other.
//   - A strong fact connects them: t records an inbound remote logon,
//     remote service/task/WMI, WinRM, DCOM or admin-share access from one of
//     s's addresses (or a host name the record states that is s), or s
//     records such an outbound action, or an explicit logon, naming t.
//   - Or a connection on a lateral-movement port connects them and is
//     corroborated: made by a process running as a user (not System or a
//     service), or the same non-system account is active on both.
//   - Or, with no network fact at all, both endpoints are positive and the
//     same non-system account is active on both; the earlier one is taken
//     as the source.
//   - If s is not positive (its windows scored benign), s's own outbound
//     evidence must name t: a benign host is only pulled into a chain by
//     what it was seen doing, never by what the target says about it.
//   - If t is not positive, s must be, and t's own records must show a
//     remote execution from s (service, task, WMI, WinRM, DCOM, admin
//     share; not a bare logon): the attacker's payload often looks
//     ordinary on the target (a service started by services.exe), while
//     the flagged source and the target's own record of what came in
//     together make the hop. Evidence from before an analyst closed t's
//     alert does not count.
func findHop(s, t *observation, window float64) (schema.LateralHop, bool) {
	if s == nil || t == nil || s.Endpoint == t.Endpoint || (!s.Positive && !t.Positive) {
		return schema.LateralHop{}, false
	}
	if s.FirstSeen > t.LastSeen+window || t.FirstSeen > s.LastSeen+window {
		return schema.LateralHop{}, false
	}
	var (
		strong, weak       = map[string]bool{}, map[string]bool{}
		accounts, techs    []string
		first, last        float64
		userConn, srcNamed bool
		execOnTarget       bool // t records a remote execution from s
	)
	seen := func(l schema.EvidenceLink) {
		if first == 0 || l.Timestamp < first {
			first = l.Timestamp
		}
		last = max(last, l.Timestamp)
		techs = append(techs, l.Technique)
	}
	for _, l := range t.Links {
		if l.Direction != attack.DirInbound || !peerIs(l, s) {
			continue
		}
		if attack.IsStrongLink(l.Kind) {
			strong[l.Kind] = true
			accounts = append(accounts, l.Account)
			execOnTarget = execOnTarget || (attack.IsRemoteExecution(l.Kind) && l.Timestamp > t.ClosedThrough)
		} else {
			weak[l.Kind] = true
			userConn = userConn || l.Account != ""
		}
		seen(l)
	}
	for _, l := range s.Links {
		if l.Direction != attack.DirOutbound || !peerIs(l, t) {
			continue
		}
		if attack.IsStrongLink(l.Kind) {
			strong[l.Kind] = true
			accounts = append(accounts, l.Account)
			srcNamed = true
		} else {
			weak[l.Kind] = true
			if l.Account != "" {
				userConn, srcNamed = true, true
			}
		}
		seen(l)
	}
	shared := intersect(s.Accounts, t.Accounts)
	if (!s.Positive && !srcNamed) || (!t.Positive && !execOnTarget) {
		return schema.LateralHop{}, false
	}
	var kinds []string
	switch {
	case len(strong) > 0:
		kinds = orderKinds(append(sortedKeys(strong), sortedKeys(weak)...))
	case len(weak) > 0 && (userConn || len(shared) > 0):
		kinds = sortedKeys(weak)
		if !userConn {
			kinds = append(kinds, KindSharedAccount)
			accounts = append(accounts, shared...)
		}
	case len(weak) == 0 && len(shared) > 0 && s.Positive &&
		(s.FirstSeen < t.FirstSeen || (s.FirstSeen == t.FirstSeen && s.Endpoint < t.Endpoint)):
		kinds = []string{KindSharedAccount}
		accounts = append(accounts, shared...)
	default:
		return schema.LateralHop{}, false
	}
	for _, id := range t.Techniques {
		if attack.IsLateralMovement(id) {
			techs = append(techs, id)
		}
	}
	if first == 0 {
		// No timed fact (shared account only): anchor the hop where both
		// endpoints were first active, so later windows do not move it.
		first = max(s.FirstSeen, t.FirstSeen)
		last = first
	}
	h := schema.LateralHop{
		SourceEndpoint: s.Endpoint,
		TargetEndpoint: t.Endpoint,
		TargetAlertID:  t.AlertID,
		Accounts:       unionSorted(nil, accounts...),
		Kinds:          kinds,
		Techniques:     unionSorted(nil, techs...),
		FirstSeen:      first,
		LastSeen:       last,
	}
	if s.Positive {
		h.SourceAlertID = s.AlertID
	}
	return h, true
}

// orderKinds sorts evidence kinds for display: remote actions first, then
// connections, then the shared-account corroboration, each alphabetically.
func orderKinds(kinds []string) []string {
	rank := func(k string) int {
		switch {
		case attack.IsStrongLink(k):
			return 0
		case k == KindSharedAccount:
			return 2
		}
		return 1
	}
	out := unionSorted(nil, kinds...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// peerIs reports whether a link's peer is the observed endpoint x: one of
// x's own addresses, or a host name the record states that is x's.
func peerIs(l schema.EvidenceLink, x *observation) bool {
	if l.PeerIP != "" && containsStr(x.Addresses, l.PeerIP) {
		return true
	}
	if l.PeerHost != "" {
		h := shortHost(l.PeerHost)
		return h == shortHost(x.Endpoint) || (x.Hostname != "" && h == shortHost(x.Hostname))
	}
	return false
}

func intersect(a, b []string) []string {
	var out []string
	for _, v := range a {
		if v != "" && containsStr(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// correlate evaluates the updated observation of r's endpoint against every
// other observation of the tenant and folds the hops found into incidents.
func (e *Engine) correlate(td *tenantDoc, r *schema.InferenceResult, res *txResult, now float64) {
	x := td.Obs[r.EndpointID]
	win := e.cfg.CorrelationWindow.Seconds()
	var hops []schema.LateralHop
	for _, id := range sortedKeys(td.Obs) {
		if id == r.EndpointID {
			continue
		}
		y := td.Obs[id]
		if h, ok := findHop(x, y, win); ok {
			hops = append(hops, h)
		}
		if h, ok := findHop(y, x, win); ok {
			hops = append(hops, h)
		}
	}
	sort.Slice(hops, func(i, j int) bool {
		if hops[i].FirstSeen != hops[j].FirstSeen {
			return hops[i].FirstSeen < hops[j].FirstSeen
		}
		if hops[i].SourceEndpoint != hops[j].SourceEndpoint {
			return hops[i].SourceEndpoint < hops[j].SourceEndpoint
		}
		return hops[i].TargetEndpoint < hops[j].TargetEndpoint
	})
	fanout := map[string]int{}
	for _, h := range filterHops(td, hops) {
		if t := td.Obs[h.TargetEndpoint]; t != nil && !t.Positive {
			n, ok := fanout[h.SourceEndpoint]
			if !ok {
				n = benignTargetsOf(td, td.Obs[h.SourceEndpoint])
				fanout[h.SourceEndpoint] = n
			}
			if n > maxBenignTargets {
				continue // a management or deployment server, not a chain
			}
		}
		e.addHop(td, h, r, res, now)
	}
}

// benignTargetsOf counts the benign-scored endpoints whose own records show
// a remote execution from s (evidence after any closure of theirs).
func benignTargetsOf(td *tenantDoc, s *observation) int {
	if s == nil {
		return 0
	}
	n := 0
	for _, t := range td.Obs {
		if t.Positive || t.Endpoint == s.Endpoint {
			continue
		}
		for _, l := range t.Links {
			if l.Direction == attack.DirInbound && attack.IsRemoteExecution(l.Kind) && l.Timestamp > t.ClosedThrough && peerIs(l, s) {
				n++
				break
			}
		}
	}
	return n
}

// hopStrength ranks the evidence of a hop: 3 a remote action or logon
// (strong link), 2 a connection made by a user's process, 1 connections
// made by System or a service corroborated by a shared account, 0 a shared
// account alone. Hops of strength 0 and 1 are the weakest: a domain user
// active on many hosts plus their routine SMB/RPC traffic to a domain
// controller would otherwise link everything.
func hopStrength(h schema.LateralHop) int {
	for _, k := range h.Kinds {
		if attack.IsStrongLink(k) {
			return 3
		}
	}
	switch {
	case !containsStr(h.Kinds, KindSharedAccount):
		return 2
	case len(h.Kinds) > 1:
		return 1
	}
	return 0
}

// samePair reports whether two hops join the same two endpoints (either
// direction).
func samePair(a, b schema.LateralHop) bool {
	return (a.SourceEndpoint == b.SourceEndpoint && a.TargetEndpoint == b.TargetEndpoint) ||
		(a.SourceEndpoint == b.TargetEndpoint && a.TargetEndpoint == b.SourceEndpoint)
}

// supersedes reports whether hop p makes the weak hop h redundant: p has
// better evidence and explains how h's target was reached, or joins the same
// pair.
func supersedes(p, h schema.LateralHop) bool {
	return hopStrength(h) <= 1 && hopStrength(p) > hopStrength(h) &&
		(p.TargetEndpoint == h.TargetEndpoint || samePair(p, h))
}

// filterHops drops hops that would only add noise:
//   - a hop an analyst already closed, unless it carries newer evidence
//     (closed incidents are not re-opened silently);
//   - a hop resting on a shared account (hopStrength <= 1) when a hop with
//     better evidence explains the same target or joins the same pair (the
//     precise hop is the story).
func filterHops(td *tenantDoc, hops []schema.LateralHop) []schema.LateralHop {
	var open, closed []schema.LateralHop
	for _, id := range sortedKeys(td.Incidents) {
		a := &td.Incidents[id].Alert
		if a.Status.Closed() {
			closed = append(closed, a.Chain...)
		} else {
			open = append(open, a.Chain...)
		}
	}
	var out []schema.LateralHop
next:
	for _, h := range hops {
		for _, c := range closed {
			if c.SourceEndpoint == h.SourceEndpoint && c.TargetEndpoint == h.TargetEndpoint && h.LastSeen <= c.LastSeen {
				continue next
			}
		}
		if hopStrength(h) <= 1 {
			for _, p := range append(append([]schema.LateralHop(nil), hops...), open...) {
				if supersedes(p, h) {
					continue next
				}
			}
		}
		out = append(out, h)
	}
	return out
}

// dropSuperseded removes shared-account hops of a chain that a precise hop
// now explains.
func dropSuperseded(chain []schema.LateralHop) []schema.LateralHop {
	out := chain[:0]
	for _, h := range chain {
		keep := true
		if hopStrength(h) <= 1 {
			for _, p := range chain {
				if supersedes(p, h) {
					keep = false
					break
				}
			}
		}
		if keep {
			out = append(out, h)
		}
	}
	return out
}

func hasEndpoint(a *schema.Alert, endpoint string) bool {
	return containsStr(a.LinkedEndpoints, endpoint)
}

// findIncident returns the open incident a hop extends: the one holding its
// source (chains follow the attacker), else the one holding its target;
// the oldest when several qualify. Two incidents are never merged: each
// keeps the id analysts may already be working on.
func findIncident(td *tenantDoc, h schema.LateralHop) *incident {
	var best *incident
	bestRank := 3
	for _, id := range sortedKeys(td.Incidents) {
		inc := td.Incidents[id]
		if inc.Alert.Status.Closed() {
			continue
		}
		rank := 3
		switch {
		case hasEndpoint(&inc.Alert, h.SourceEndpoint):
			rank = 1
		case hasEndpoint(&inc.Alert, h.TargetEndpoint):
			rank = 2
		}
		if rank < bestRank || (rank == bestRank && best != nil && inc.Alert.FirstSeen < best.Alert.FirstSeen) {
			best, bestRank = inc, rank
		}
	}
	if bestRank == 3 {
		return nil
	}
	return best
}

// previousIncident returns the most recent closed incident that involved
// either endpoint of h, so a new incident can point back at it.
func previousIncident(td *tenantDoc, h schema.LateralHop) string {
	prev, at := "", 0.0
	for _, id := range sortedKeys(td.Incidents) {
		a := &td.Incidents[id].Alert
		if a.Status.Closed() && (hasEndpoint(a, h.SourceEndpoint) || hasEndpoint(a, h.TargetEndpoint)) && a.LastSeen >= at {
			prev, at = a.AlertID, a.LastSeen
		}
	}
	return prev
}

// addHop extends the incident the hop belongs to, or opens one.
func (e *Engine) addHop(td *tenantDoc, h schema.LateralHop, r *schema.InferenceResult, res *txResult, now float64) {
	inc := findIncident(td, h)
	if inc == nil {
		id := schema.AlertID(r.TenantID, string(schema.AlertKindLateralMovement), r.InferenceID, h.SourceEndpoint, h.TargetEndpoint)
		inc = &incident{Alert: schema.Alert{
			SchemaVersion:   schema.Version,
			AlertID:         id,
			TenantID:        r.TenantID,
			Kind:            schema.AlertKindLateralMovement,
			Status:          schema.StatusOpen,
			Chain:           []schema.LateralHop{h},
			PreviousAlertID: previousIncident(td, h),
			ModelVersion:    r.ModelVersion,
			Revision:        1,
			CreatedAt:       now,
			UpdatedAt:       now,
		}}
		td.Incidents[id] = inc
		e.derive(td, inc, r)
		res.incidents++
		res.created[schema.AlertKindLateralMovement]++
		res.emit(&inc.Alert)
		return
	}
	a := &inc.Alert
	changed := false
	found := false
	for i := range a.Chain {
		c := &a.Chain[i]
		if c.SourceEndpoint != h.SourceEndpoint || c.TargetEndpoint != h.TargetEndpoint {
			continue
		}
		found = true
		merged := *c
		merged.Kinds = orderKinds(unionSorted(c.Kinds, h.Kinds...))
		merged.Accounts = unionSorted(c.Accounts, h.Accounts...)
		merged.Techniques = unionSorted(c.Techniques, h.Techniques...)
		merged.FirstSeen = min(c.FirstSeen, h.FirstSeen)
		merged.LastSeen = max(c.LastSeen, h.LastSeen)
		if h.SourceAlertID != "" {
			merged.SourceAlertID = h.SourceAlertID
		}
		if h.TargetAlertID != "" {
			merged.TargetAlertID = h.TargetAlertID
		}
		if !hopEqual(*c, merged) {
			*c = merged
			changed = true
		}
		break
	}
	if !found {
		if len(a.Chain) >= maxHops {
			e.log.Warn("lateral-movement incident has too many hops; new hop not recorded",
				"alert_id", a.AlertID, "source", h.SourceEndpoint, "target", h.TargetEndpoint)
			return
		}
		a.Chain = append(a.Chain, h)
		changed = true
	}
	if !changed {
		return
	}
	e.derive(td, inc, r)
	a.Revision++
	a.UpdatedAt = now
	res.updated[schema.AlertKindLateralMovement]++
	res.emit(a)
}

func hopEqual(a, b schema.LateralHop) bool {
	return a.SourceEndpoint == b.SourceEndpoint && a.TargetEndpoint == b.TargetEndpoint &&
		a.SourceAlertID == b.SourceAlertID && a.TargetAlertID == b.TargetAlertID &&
		a.FirstSeen == b.FirstSeen && a.LastSeen == b.LastSeen &&
		strings.Join(a.Accounts, "\x00") == strings.Join(b.Accounts, "\x00") &&
		strings.Join(a.Kinds, "\x00") == strings.Join(b.Kinds, "\x00") &&
		strings.Join(a.Techniques, "\x00") == strings.Join(b.Techniques, "\x00")
}

// derive recomputes an incident's summary fields from its chain and the
// observations of its endpoints.
func (e *Engine) derive(td *tenantDoc, inc *incident, r *schema.InferenceResult) {
	a := &inc.Alert
	a.Chain = dropSuperseded(a.Chain)
	sort.SliceStable(a.Chain, func(i, j int) bool {
		if a.Chain[i].FirstSeen != a.Chain[j].FirstSeen {
			return a.Chain[i].FirstSeen < a.Chain[j].FirstSeen
		}
		if a.Chain[i].SourceEndpoint != a.Chain[j].SourceEndpoint {
			return a.Chain[i].SourceEndpoint < a.Chain[j].SourceEndpoint
		}
		return a.Chain[i].TargetEndpoint < a.Chain[j].TargetEndpoint
	})
	var endpoints, alerts, techs []string
	var severities []schema.Severity
	first, last := a.Chain[0].FirstSeen, a.Chain[0].LastSeen
	for _, h := range a.Chain {
		for _, ep := range []string{h.SourceEndpoint, h.TargetEndpoint} {
			if !containsStr(endpoints, ep) {
				endpoints = append(endpoints, ep)
			}
		}
		for _, id := range []string{h.SourceAlertID, h.TargetAlertID} {
			if id != "" && !containsStr(alerts, id) {
				alerts = append(alerts, id)
			}
		}
		techs = append(techs, h.Techniques...)
		first, last = min(first, h.FirstSeen), max(last, h.LastSeen)
	}
	// Alerts linked earlier stay linked (an endpoint's alert may have been
	// replaced by a newer one since).
	for _, id := range a.LinkedAlerts {
		if !containsStr(alerts, id) {
			alerts = append(alerts, id)
		}
	}
	prob, conf := a.AttackProb, a.Confidence
	names := map[string]string{}
	for _, ep := range endpoints {
		name := ep
		if o := td.Obs[ep]; o != nil {
			techs = append(techs, o.Techniques...)
			if o.Positive {
				prob, conf = max(prob, o.AttackProb), max(conf, o.Confidence)
				severities = append(severities, o.Severity)
			}
			if o.Hostname != "" {
				name = o.Hostname
			}
			if ep == a.Chain[0].SourceEndpoint {
				a.Hostname, a.Platform = name, o.Platform
			}
		}
		names[ep] = name
	}
	a.EndpointID = a.Chain[0].SourceEndpoint
	if a.Hostname == "" {
		a.Hostname = a.EndpointID
	}
	a.LinkedEndpoints = endpoints
	a.LinkedAlerts = alerts
	a.TTPTechniques = nonNil(unionSorted(nil, techs...))
	a.AttackProb, a.Confidence = prob, conf
	a.FirstSeen, a.LastSeen = first, last
	a.OccurrenceCount = len(a.Chain)
	a.InferenceIDs = appendUnique(a.InferenceIDs, maxAlertInferenceIDs, r.InferenceID)
	a.Severity = maxSeverity(a.Severity, incidentSeverity(len(endpoints), a.TTPTechniques, severities))
	a.Title = fmt.Sprintf("Lateral movement across %d endpoints: %s", len(endpoints), chainText(a.Chain, names))
	if r.ModelVersion != "" {
		a.ModelVersion = r.ModelVersion
	}
}

// chainText renders a chain for a title: "a -> b -> c" when the hops form a
// path, otherwise the hops themselves ("a -> b, a -> c").
func chainText(chain []schema.LateralHop, names map[string]string) string {
	name := func(ep string) string {
		if n := names[ep]; n != "" {
			return n
		}
		return ep
	}
	path := true
	for i := 1; i < len(chain); i++ {
		path = path && chain[i].SourceEndpoint == chain[i-1].TargetEndpoint
	}
	if path {
		parts := []string{name(chain[0].SourceEndpoint)}
		for _, h := range chain {
			parts = append(parts, name(h.TargetEndpoint))
		}
		return strings.Join(parts, " -> ")
	}
	const shown = 4
	var parts []string
	for i, h := range chain {
		if i == shown {
			parts = append(parts, fmt.Sprintf("+%d more", len(chain)-shown))
			break
		}
		parts = append(parts, name(h.SourceEndpoint)+" -> "+name(h.TargetEndpoint))
	}
	return strings.Join(parts, ", ")
}

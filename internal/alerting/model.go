package alerting

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/logster/logster/internal/attack"
	"github.com/logster/logster/internal/schema"
)

// State layout. Every key of a tenant carries the tenant as a Redis hash tag
// so that one update's keys share a cluster slot:
//
//	<prefix>alerts:{<tenant>}:ep:<endpoint>   endpointDoc (dedup)
//	<prefix>alerts:{<tenant>}:corr            tenantDoc (correlation)
//
// Both are JSON and expire alerts.state_ttl after their last write.

// Bounds that keep the documents small whatever the input does.
const (
	maxSeenPerEndpoint   = 512  // inference ids remembered for idempotency
	maxSeenPerTenant     = 2048 // benign-source inference ids remembered
	maxAlertInferenceIDs = 200  // ids listed on one alert (oldest dropped)
	maxObservations      = 512  // endpoints a tenant document tracks
	maxObsLinks          = 64   // evidence links kept per endpoint observation
	// maxBenignTargets bounds how many benign-scored targets one flagged
	// source is linked to: more than that is what deployment and
	// management servers do to the hosts they manage.
	maxBenignTargets   = 3
	maxIncidents       = 128 // open lateral-movement incidents per tenant
	maxHops            = 64  // hops listed on one incident
	maxAccountsPerObs  = 32
	maxAddressesPerObs = 32
)

// endpointDoc is the dedup state of one endpoint.
type endpointDoc struct {
	// Alert is the endpoint's current alert (open, or closed by an
	// analyst), as last published, triage fields included.
	Alert *schema.Alert `json:"alert,omitempty"`
	// Seen lists recently processed positive inference ids, oldest first:
	// a redelivered inference is recognised and changes nothing.
	Seen []string `json:"seen,omitempty"`
}

// observation is what the tenant document remembers of one endpoint for
// correlation: the union of its recent evidence.
type observation struct {
	Endpoint string          `json:"endpoint"`
	Hostname string          `json:"hostname,omitempty"`
	Platform schema.Platform `json:"platform,omitempty"`
	// Positive: the endpoint has an open alert (AlertID). An endpoint whose
	// windows scored benign is kept only when they show it acting on
	// another host (a possible source) or being acted on remotely (a
	// possible target of a flagged source); see findHop.
	Positive bool `json:"positive"`
	// ClosedThrough is the event time up to which an analyst closed this
	// endpoint's alert: evidence up to then no longer makes it a target.
	ClosedThrough float64 `json:"closed_through,omitempty"`
	// ClosedLinks are the inbound links the closure set aside; a re-opened
	// alert gets them back.
	ClosedLinks []schema.EvidenceLink `json:"closed_links,omitempty"`
	AlertID     string                `json:"alert_id,omitempty"`
	Severity    schema.Severity       `json:"severity,omitempty"`
	AttackProb  float64               `json:"attack_prob,omitempty"`
	Confidence  float64               `json:"confidence,omitempty"`
	FirstSeen   float64               `json:"first_seen"`
	LastSeen    float64               `json:"last_seen"`
	Addresses   []string              `json:"addresses,omitempty"`
	Accounts    []string              `json:"accounts,omitempty"`
	Links       []schema.EvidenceLink `json:"links,omitempty"`
	Techniques  []string              `json:"techniques,omitempty"`
	Inferences  []string              `json:"inferences,omitempty"` // latest few, for the incident's inference ids
}

// incident is one lateral-movement chain.
type incident struct {
	Alert schema.Alert `json:"alert"`
}

// tenantDoc is the correlation state of one tenant.
type tenantDoc struct {
	// Watermark is the latest window end seen in the tenant (event time);
	// observations and incidents older than the correlation window before
	// it are pruned.
	Watermark float64                 `json:"watermark"`
	Obs       map[string]*observation `json:"obs,omitempty"`
	Incidents map[string]*incident    `json:"incidents,omitempty"`
	// Seen lists benign-source inference ids already folded in.
	Seen []string `json:"seen,omitempty"`
}

func decodeEndpointDoc(b []byte) (*endpointDoc, error) {
	d := &endpointDoc{}
	if len(b) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(b, d); err != nil {
		return &endpointDoc{}, fmt.Errorf("decode endpoint state: %w", err)
	}
	return d, nil
}

func decodeTenantDoc(b []byte) (*tenantDoc, error) {
	d := &tenantDoc{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, d); err != nil {
			return initTenantDoc(&tenantDoc{}), fmt.Errorf("decode tenant state: %w", err)
		}
	}
	return initTenantDoc(d), nil
}

func initTenantDoc(d *tenantDoc) *tenantDoc {
	if d.Obs == nil {
		d.Obs = map[string]*observation{}
	}
	if d.Incidents == nil {
		d.Incidents = map[string]*incident{}
	}
	return d
}

// --- small set helpers (sorted string sets) -------------------------------------

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// unionSorted returns the sorted union of a and b without duplicates or
// empty strings.
func unionSorted(a []string, b ...string) []string {
	m := make(map[string]struct{}, len(a)+len(b))
	for _, s := range a {
		if s != "" {
			m[s] = struct{}{}
		}
	}
	for _, s := range b {
		if s != "" {
			m[s] = struct{}{}
		}
	}
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// appendBounded appends s to a ring of at most n entries (oldest dropped).
func appendBounded(list []string, n int, s ...string) []string {
	list = append(list, s...)
	if len(list) > n {
		list = append([]string(nil), list[len(list)-n:]...)
	}
	return list
}

// appendUnique appends the entries of s not yet in list, bounded to n
// (keeping the first entry and the most recent ones).
func appendUnique(list []string, n int, s ...string) []string {
	for _, v := range s {
		if v != "" && !containsStr(list, v) {
			list = append(list, v)
		}
	}
	if len(list) > n {
		// Keep the first (the opener) and the latest n-1.
		out := append([]string{list[0]}, list[len(list)-n+1:]...)
		list = out
	}
	return list
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// techniqueIDs lists the technique ids of an evidence summary.
func techniqueIDs(ev *schema.Evidence) []string {
	if ev == nil {
		return nil
	}
	ids := make([]string, 0, len(ev.Techniques))
	for _, t := range ev.Techniques {
		ids = append(ids, t.ID)
	}
	return unionSorted(nil, ids...)
}

// shortHost canonicalizes an endpoint or host name for comparison with a
// host name stated in evidence (lower-case short name).
func shortHost(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexByte(s, '.'); i > 0 {
		// Leave IP literals alone.
		if strings.Trim(s, "0123456789.") != "" {
			s = s[:i]
		}
	}
	return s
}

// mergeLinks unions evidence links by their identity (kind, direction,
// peer, account, port), keeping the earliest occurrence, bounded with strong
// kinds kept first.
func mergeLinks(old []schema.EvidenceLink, in []schema.EvidenceLink) []schema.EvidenceLink {
	type key struct {
		kind, dir, ip, host, acct string
		port                      int
	}
	m := map[key]schema.EvidenceLink{}
	for _, list := range [][]schema.EvidenceLink{old, in} {
		for _, l := range list {
			k := key{l.Kind, l.Direction, l.PeerIP, l.PeerHost, l.Account, l.Port}
			if cur, ok := m[k]; !ok || l.Timestamp < cur.Timestamp {
				m[k] = l
			}
		}
	}
	out := make([]schema.EvidenceLink, 0, len(m))
	for _, l := range m {
		out = append(out, l)
	}
	less := attack.LinkLess
	if len(out) > maxObsLinks {
		sort.Slice(out, func(i, j int) bool {
			si, sj := attack.IsStrongLink(out[i].Kind), attack.IsStrongLink(out[j].Kind)
			if si != sj {
				return si
			}
			return less(out[i], out[j])
		})
		out = out[:maxObsLinks]
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

// capSorted keeps the first n entries of a sorted list.
func capSorted(list []string, n int) []string {
	if len(list) > n {
		return list[:n]
	}
	return list
}

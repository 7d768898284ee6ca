package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logster/logster/internal/attack"
	"github.com/logster/logster/internal/config"
	"github.com/logster/logster/internal/schema"
)

// Config tunes the engine.
type Config struct {
	// Threshold: an "attack" prediction is positive when attack_prob >=
	// Threshold.
	Threshold float64
	// DedupWindow: a positive merges into the endpoint's open alert when
	// its window lies within this distance of the alert's span.
	DedupWindow time.Duration
	// CorrelationWindow: endpoints whose evidence lies closer than this in
	// event time may be linked into a lateral-movement incident.
	CorrelationWindow time.Duration
	// StateTTL: lifetime of state documents after their last write.
	StateTTL time.Duration
	// KeyPrefix starts every state key (redis.key_prefix).
	KeyPrefix string
	// Now is the wall clock for created_at/updated_at (nil: time.Now).
	Now func() time.Time
}

// ConfigFrom builds the engine configuration from the service configuration.
func ConfigFrom(a config.Alerts, r config.Redis) Config {
	return Config{
		Threshold:         a.Threshold,
		DedupWindow:       a.DedupWindow.D(),
		CorrelationWindow: a.CorrelationWindow.D(),
		StateTTL:          a.StateTTL.D(),
		KeyPrefix:         r.KeyPrefix,
	}
}

// Engine turns inference results into alerts. It is the whole decision
// logic of the alerts service — thresholding, de-duplication, closure
// handling and lateral-movement correlation — and holds no state of its own:
// everything lives in State, updated atomically per inference, so any number
// of engines (replicas) sharing one State behave as one.
type Engine struct {
	cfg Config
	st  State
	m   *metrics
	log *slog.Logger
}

// NewEngine returns an engine over st. reg receives the metrics (nil: not
// registered).
func NewEngine(cfg Config, st State, reg prometheus.Registerer, log *slog.Logger) (*Engine, error) {
	if st == nil {
		return nil, fmt.Errorf("alerts engine: no state store")
	}
	if cfg.Threshold <= 0 || cfg.Threshold > 1 || cfg.DedupWindow <= 0 || cfg.CorrelationWindow <= 0 {
		return nil, fmt.Errorf("alerts engine: invalid config %+v", cfg)
	}
	if cfg.StateTTL < max(cfg.DedupWindow, cfg.CorrelationWindow) {
		cfg.StateTTL = 2 * max(cfg.DedupWindow, cfg.CorrelationWindow)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, st: st, m: m, log: log}, nil
}

// escapeTag keeps a tenant from closing the Redis hash tag it is put in.
var escapeTag = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

func (e *Engine) endpointKey(tenant, endpoint string) string {
	return e.cfg.KeyPrefix + "alerts:{" + escapeTag.Replace(tenant) + "}:ep:" + endpoint
}

func (e *Engine) tenantKey(tenant string) string {
	return e.cfg.KeyPrefix + "alerts:{" + escapeTag.Replace(tenant) + "}:corr"
}

// txResult collects what one (possibly retried) state update decided.
type txResult struct {
	outcome   string
	out       []*schema.Alert
	created   map[schema.AlertKind]int
	updated   map[schema.AlertKind]int
	incidents int
	corrupt   int
}

func newTxResult() *txResult {
	return &txResult{created: map[schema.AlertKind]int{}, updated: map[schema.AlertKind]int{}}
}

// emit adds (or replaces, by id) an alert to publish.
func (r *txResult) emit(a *schema.Alert) {
	c := a.Clone()
	for i, o := range r.out {
		if o.AlertID == c.AlertID {
			r.out[i] = c
			return
		}
	}
	r.out = append(r.out, c)
}

// Process decides what one inference result means for the alerts: it
// returns the alerts to publish (new ones, and updated ones with a higher
// Revision), already committed to State. Errors are transient (the State is
// unavailable or contended); the caller retries the record. Redelivering a
// processed result changes nothing and returns the current version of the
// alerts it contributed to, so a crash between commit and publish cannot
// lose an update.
func (e *Engine) Process(ctx context.Context, r *schema.InferenceResult) ([]*schema.Alert, error) {
	if r == nil {
		return nil, nil
	}
	if r.Prediction == schema.PredictionError {
		e.m.results.WithLabelValues(outcomeError).Inc()
		return nil, nil
	}
	positive := r.Prediction == schema.PredictionAttack && r.AttackProb >= e.cfg.Threshold
	if !positive && !hasSourceEvidence(r.Evidence) && !hasTargetEvidence(r.Evidence) {
		e.m.results.WithLabelValues(outcomeBelow).Inc()
		return nil, nil
	}
	keys := []string{e.endpointKey(r.TenantID, r.EndpointID), e.tenantKey(r.TenantID)}
	var res *txResult
	err := e.st.Update(ctx, keys, func(cur [][]byte) ([]Write, error) {
		res = newTxResult()
		return e.apply(r, positive, cur, res)
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: inference %s of %s: %w", r.InferenceID, r.Key(), err)
	}
	// Count only what was committed (fn may have run several times).
	e.m.results.WithLabelValues(res.outcome).Inc()
	if res.outcome == outcomeMerged {
		e.m.dedup.Inc()
	}
	for k, n := range res.created {
		e.m.created.WithLabelValues(string(k)).Add(float64(n))
	}
	for k, n := range res.updated {
		e.m.updated.WithLabelValues(string(k)).Add(float64(n))
	}
	e.m.lateral.Add(float64(res.incidents))
	e.m.stateReset.Add(float64(res.corrupt))
	if res.corrupt > 0 {
		e.log.Error("alert state could not be decoded and was started afresh", "tenant_id", r.TenantID, "endpoint_id", r.EndpointID)
	}
	for _, a := range res.out {
		if a.Kind == schema.AlertKindLateralMovement && a.Revision == 1 && res.incidents > 0 {
			e.log.Info("lateral movement detected", "alert_id", a.AlertID, "tenant_id", a.TenantID, "endpoints", a.LinkedEndpoints)
		}
	}
	return res.out, nil
}

// hasSourceEvidence reports whether a non-positive window shows this host
// acting on another one — the outbound half of a lateral-movement hop whose
// target the model flagged. Only such windows are remembered; plain
// connections by System/svchost (SMB to file servers, RPC to domain
// controllers) are not enough.
func hasSourceEvidence(ev *schema.Evidence) bool {
	if ev == nil {
		return false
	}
	for _, l := range ev.Links {
		if l.Direction != attack.DirOutbound {
			continue
		}
		if attack.IsStrongLink(l.Kind) || l.Account != "" {
			return true
		}
	}
	return false
}

// hasTargetEvidence reports whether a non-positive window shows this host
// being acted on remotely (an inbound service, task, WMI, WinRM, DCOM or
// admin-share action from a known peer) — the inbound half of a hop whose
// source the model flagged. Inbound logons alone do not count: domain
// controllers and file servers record them from every host all day.
func hasTargetEvidence(ev *schema.Evidence) bool {
	if ev == nil {
		return false
	}
	for _, l := range ev.Links {
		if l.Direction == attack.DirInbound && attack.IsRemoteExecution(l.Kind) && (l.PeerIP != "" || l.PeerHost != "") {
			return true
		}
	}
	return false
}

func (e *Engine) nowEpoch() float64 {
	return float64(e.cfg.Now().UnixNano()) / 1e9
}

// apply is the body of one atomic update: cur holds the endpoint and the
// tenant document.
func (e *Engine) apply(r *schema.InferenceResult, positive bool, cur [][]byte, res *txResult) ([]Write, error) {
	now := e.nowEpoch()
	ep, err := decodeEndpointDoc(cur[0])
	if err != nil {
		res.corrupt++
	}
	td, err := decodeTenantDoc(cur[1])
	if err != nil {
		res.corrupt++
	}

	if positive {
		if containsStr(ep.Seen, r.InferenceID) {
			e.reemit(r, ep, td, res)
			return nil, nil
		}
		e.applyPositive(r, ep, res, now)
	} else {
		if containsStr(td.Seen, r.InferenceID) {
			e.reemit(r, ep, td, res)
			return nil, nil
		}
		td.Seen = appendBounded(td.Seen, maxSeenPerTenant, r.InferenceID)
		res.outcome = outcomeSource
	}

	if res.outcome != outcomeLateClosed {
		e.observe(td, r, ep, positive)
		e.prune(td)
		if _, ok := td.Obs[r.EndpointID]; ok {
			e.correlate(td, r, res, now)
		}
	}

	writes := make([]Write, 2)
	if positive {
		b, err := json.Marshal(ep)
		if err != nil {
			return nil, fmt.Errorf("encode endpoint state: %w", err)
		}
		writes[0] = Write{Value: b, TTL: e.cfg.StateTTL}
	}
	b, err := json.Marshal(td)
	if err != nil {
		return nil, fmt.Errorf("encode tenant state: %w", err)
	}
	if !bytes.Equal(b, cur[1]) {
		writes[1] = Write{Value: b, TTL: e.cfg.StateTTL}
	}
	return writes, nil
}

// reemit returns the current alerts a redelivered inference contributed to.
func (e *Engine) reemit(r *schema.InferenceResult, ep *endpointDoc, td *tenantDoc, res *txResult) {
	res.outcome = outcomeRedelivered
	if a := ep.Alert; a != nil && containsStr(a.InferenceIDs, r.InferenceID) {
		res.emit(a)
	}
	for _, id := range sortedKeys(td.Incidents) {
		a := &td.Incidents[id].Alert
		if containsStr(a.InferenceIDs, r.InferenceID) {
			res.emit(a)
		}
	}
}

// withinDedup reports whether a window lies within the dedup window of an
// alert's span (in either direction: results arrive out of order).
func (e *Engine) withinDedup(a *schema.Alert, r *schema.InferenceResult) bool {
	w := e.cfg.DedupWindow.Seconds()
	return r.WindowStart <= a.LastSeen+w && r.WindowEnd >= a.FirstSeen-w
}

func (e *Engine) applyPositive(r *schema.InferenceResult, ep *endpointDoc, res *txResult, now float64) {
	defer func() { ep.Seen = appendBounded(ep.Seen, maxSeenPerEndpoint, r.InferenceID) }()
	a := ep.Alert
	switch {
	case a != nil && !a.Status.Closed() && e.withinDedup(a, r):
		a.OccurrenceCount++
		a.FirstSeen = min(a.FirstSeen, r.WindowStart)
		if r.WindowEnd >= a.LastSeen {
			a.LastSeen = r.WindowEnd
			if r.ModelVersion != "" {
				a.ModelVersion = r.ModelVersion
			}
		}
		a.AttackProb = max(a.AttackProb, r.AttackProb)
		a.Confidence = max(a.Confidence, r.Confidence)
		a.InferenceIDs = appendUnique(a.InferenceIDs, maxAlertInferenceIDs, r.InferenceID)
		a.TTPTechniques = nonNil(unionSorted(a.TTPTechniques, techniqueIDs(r.Evidence)...))
		a.Severity = maxSeverity(a.Severity, endpointSeverity(a.AttackProb, a.Confidence, a.TTPTechniques, links(r.Evidence)))
		a.Title = endpointTitle(a.Hostname, a.TTPTechniques)
		a.Revision++
		a.UpdatedAt = now
		res.outcome = outcomeMerged
		res.updated[schema.AlertKindEndpoint]++
		res.emit(a)
	case a != nil && a.Status.Closed() && r.WindowEnd <= a.LastSeen:
		// The analyst closed an alert whose span already covers this
		// window: the result is late news about a closed case, not a new
		// positive. Opening a new alert for it would re-open the case
		// silently.
		res.outcome = outcomeLateClosed
	default:
		prev := ""
		if a != nil {
			// Either closed by an analyst, or open but quiet for longer than
			// the dedup window: the new alert points back at it.
			prev = a.AlertID
		}
		ep.Alert = newEndpointAlert(r, prev, now)
		res.outcome = outcomeOpened
		res.created[schema.AlertKindEndpoint]++
		res.emit(ep.Alert)
	}
}

func links(ev *schema.Evidence) []schema.EvidenceLink {
	if ev == nil {
		return nil
	}
	return ev.Links
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func newEndpointAlert(r *schema.InferenceResult, prev string, now float64) *schema.Alert {
	host := r.Hostname
	if host == "" {
		host = r.EndpointID
	}
	techs := nonNil(techniqueIDs(r.Evidence))
	return &schema.Alert{
		SchemaVersion: schema.Version,
		// Deterministic: the same opening inference always yields the same
		// alert id, so even a state loss cannot duplicate an alert.
		AlertID:         schema.AlertID(r.TenantID, r.EndpointID, r.InferenceID),
		TenantID:        r.TenantID,
		Kind:            schema.AlertKindEndpoint,
		EndpointID:      r.EndpointID,
		Hostname:        host,
		Platform:        r.Platform,
		Status:          schema.StatusOpen,
		Severity:        endpointSeverity(r.AttackProb, r.Confidence, techs, links(r.Evidence)),
		Title:           endpointTitle(host, techs),
		AttackProb:      r.AttackProb,
		Confidence:      r.Confidence,
		FirstSeen:       r.WindowStart,
		LastSeen:        r.WindowEnd,
		OccurrenceCount: 1,
		InferenceIDs:    []string{r.InferenceID},
		TTPTechniques:   techs,
		ModelVersion:    r.ModelVersion,
		PreviousAlertID: prev,
		Revision:        1,
		CreatedAt:       now,
		UpdatedAt:       now,
	}
}

// endpointTitle names the host and up to three techniques in analyst words.
func endpointTitle(host string, techniques []string) string {
	title := "Attack activity on " + host
	var names []string
	for _, id := range techniques {
		t, ok := attack.Lookup(id)
		if !ok {
			continue
		}
		n := t.Name
		if i := strings.LastIndex(n, ": "); i >= 0 {
			n = n[i+2:]
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return title
	}
	if len(names) > 3 {
		return fmt.Sprintf("%s: %s (+%d)", title, strings.Join(names[:3], ", "), len(names)-3)
	}
	return title + ": " + strings.Join(names, ", ")
}

// observe folds the inference's evidence into the endpoint's observation.
func (e *Engine) observe(td *tenantDoc, r *schema.InferenceResult, ep *endpointDoc, positive bool) {
	o := td.Obs[r.EndpointID]
	if o == nil {
		o = &observation{Endpoint: r.EndpointID, FirstSeen: r.WindowStart, LastSeen: r.WindowEnd}
		td.Obs[r.EndpointID] = o
	}
	if r.Hostname != "" {
		o.Hostname = r.Hostname
	}
	if r.Platform != "" {
		o.Platform = r.Platform
	}
	if positive && ep.Alert != nil && !ep.Alert.Status.Closed() {
		o.Positive = true
		o.AlertID = ep.Alert.AlertID
		o.Severity = ep.Alert.Severity
		o.AttackProb = max(o.AttackProb, ep.Alert.AttackProb)
		o.Confidence = max(o.Confidence, ep.Alert.Confidence)
	}
	o.FirstSeen = min(o.FirstSeen, r.WindowStart)
	o.LastSeen = max(o.LastSeen, r.WindowEnd)
	if ev := r.Evidence; ev != nil {
		o.Addresses = capSorted(unionSorted(o.Addresses, ev.LocalAddresses...), maxAddressesPerObs)
		o.Accounts = capSorted(unionSorted(o.Accounts, ev.Accounts...), maxAccountsPerObs)
		o.Links = mergeLinks(o.Links, ev.Links)
		o.Techniques = unionSorted(o.Techniques, techniqueIDs(ev)...)
	}
	o.Inferences = appendBounded(o.Inferences, 8, r.InferenceID)
	td.Watermark = max(td.Watermark, r.WindowEnd)
}

// prune drops observations and incidents that fell out of the correlation
// window, and bounds the document.
func (e *Engine) prune(td *tenantDoc) {
	cut := td.Watermark - e.cfg.CorrelationWindow.Seconds()
	for id, o := range td.Obs {
		if o.LastSeen < cut {
			delete(td.Obs, id)
		}
	}
	if len(td.Obs) > maxObservations {
		// Benign-scored observations (possible sources or targets) go
		// first, oldest first: a burst of them must not push out the
		// endpoints that have alerts.
		ids := sortedKeys(td.Obs)
		slices.SortStableFunc(ids, func(a, b string) int {
			if pa, pb := td.Obs[a].Positive, td.Obs[b].Positive; pa != pb {
				if pb {
					return -1
				}
				return 1
			}
			return cmpFloat(td.Obs[a].LastSeen, td.Obs[b].LastSeen)
		})
		for _, id := range ids[:len(ids)-maxObservations] {
			delete(td.Obs, id)
		}
	}
	for id, inc := range td.Incidents {
		if inc.Alert.LastSeen < cut {
			delete(td.Incidents, id)
		}
	}
	if len(td.Incidents) > maxIncidents {
		ids := sortedKeys(td.Incidents)
		slices.SortStableFunc(ids, func(a, b string) int {
			return cmpFloat(td.Incidents[a].Alert.LastSeen, td.Incidents[b].Alert.LastSeen)
		})
		for _, id := range ids[:len(ids)-maxIncidents] {
			delete(td.Incidents, id)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ApplyTriage records an analyst's change published by the API (status,
// notes, assignee) so that dedup and correlation respect it: a resolved or
// false-positive alert is not merged into any more, and the endpoint stops
// being a lateral-movement target until it is positive again.
func (e *Engine) ApplyTriage(ctx context.Context, a *schema.Alert) error {
	if a == nil || a.TenantID == "" || a.AlertID == "" {
		return nil
	}
	applied := false
	// The audit history only grows, so a record with fewer entries than the
	// state holds is older than what was applied (the API's triage relay
	// can republish, and two API replicas can publish out of order): it
	// must not roll a resolved alert back to acknowledged.
	stale := func(dst *schema.Alert) bool { return len(a.History) < len(dst.History) }
	copyTriage := func(dst *schema.Alert) {
		dst.Status, dst.Notes, dst.Assignee = a.Status, a.Notes, a.Assignee
		dst.History = slices.Clone(a.History)
		// The API does not bump revisions today; if it ever does, stay ahead
		// so our next update is still newer.
		dst.Revision = max(dst.Revision, a.Revision)
	}
	var err error
	switch a.Kind {
	case schema.AlertKindLateralMovement:
		err = e.st.Update(ctx, []string{e.tenantKey(a.TenantID)}, func(cur [][]byte) ([]Write, error) {
			applied = false
			td, derr := decodeTenantDoc(cur[0])
			if derr != nil || len(cur[0]) == 0 {
				return nil, nil
			}
			inc := td.Incidents[a.AlertID]
			if inc == nil || stale(&inc.Alert) {
				return nil, nil
			}
			copyTriage(&inc.Alert)
			applied = true
			b, err := json.Marshal(td)
			if err != nil {
				return nil, fmt.Errorf("encode tenant state: %w", err)
			}
			return []Write{{Value: b, TTL: e.cfg.StateTTL}}, nil
		})
	default:
		if a.EndpointID == "" {
			return nil
		}
		keys := []string{e.endpointKey(a.TenantID, a.EndpointID), e.tenantKey(a.TenantID)}
		err = e.st.Update(ctx, keys, func(cur [][]byte) ([]Write, error) {
			applied = false
			ep, derr := decodeEndpointDoc(cur[0])
			if derr != nil || ep.Alert == nil || ep.Alert.AlertID != a.AlertID || stale(ep.Alert) {
				return nil, nil
			}
			copyTriage(ep.Alert)
			applied = true
			writes := make([]Write, 2)
			b, err := json.Marshal(ep)
			if err != nil {
				return nil, fmt.Errorf("encode endpoint state: %w", err)
			}
			writes[0] = Write{Value: b, TTL: e.cfg.StateTTL}
			td, derr := decodeTenantDoc(cur[1])
			if derr == nil {
				if o := td.Obs[a.EndpointID]; o != nil {
					if a.Status.Closed() && o.AlertID == a.AlertID {
						o.Positive, o.AlertID = false, ""
						o.ClosedThrough = max(o.ClosedThrough, o.LastSeen, a.LastSeen)
						// What was done to it up to the verdict no longer
						// makes it a target; later windows add fresh links
						// (merged links keep their first timestamp). The
						// links are kept aside in case the alert is re-opened.
						closed := func(l schema.EvidenceLink) bool {
							return l.Direction == attack.DirInbound && l.Timestamp <= o.ClosedThrough
						}
						for _, l := range o.Links {
							if closed(l) {
								o.ClosedLinks = append(o.ClosedLinks, l)
							}
						}
						o.ClosedLinks = mergeLinks(nil, o.ClosedLinks)
						o.Links = slices.DeleteFunc(o.Links, closed)
					} else if !a.Status.Closed() && o.AlertID == "" {
						// Re-opened: its evidence counts again.
						o.Positive, o.AlertID = true, a.AlertID
						o.Links = mergeLinks(o.Links, o.ClosedLinks)
						o.ClosedLinks, o.ClosedThrough = nil, 0
					}
					if b, err := json.Marshal(td); err == nil && !bytes.Equal(b, cur[1]) {
						writes[1] = Write{Value: b, TTL: e.cfg.StateTTL}
					}
				}
			}
			return writes, nil
		})
	}
	if err != nil {
		return fmt.Errorf("alerts: apply triage of %s: %w", a.AlertID, err)
	}
	if applied {
		e.m.triage.WithLabelValues(string(a.Kind), string(a.Status)).Inc()
		e.log.Debug("triage applied", "alert_id", a.AlertID, "tenant_id", a.TenantID, "status", a.Status)
	}
	return nil
}

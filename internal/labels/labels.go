package labels

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/logster/logster/internal/schema"
)

// Window labels.
const (
	Attack   = "attack"
	Benign   = "benign"
	Excluded = "excluded"
)

// Labels is the outcome of Apply for one recording: the attack events with
// the reason for each, and what the window labeller needs besides them
// (live agents, hosts where evidence could not be attributed).
type Labels struct {
	Seed *SeedFile

	attack    map[string]Reason  // event id -> why
	hostOf    map[string]string  // event id -> host
	agents    map[string][]tspan // host -> live agent spans
	tainted   map[string][]tspan // host -> spans with unattributable attacker activity
	start     float64            // recording span (all hosts)
	end       float64
	unmatched []int // indexes of seeds that matched no event
	warnings  []string
}

type tspan struct{ lo, hi float64 }

func newLabels(sf *SeedFile, evs []*schema.NormalizedEvent) *Labels {
	l := &Labels{
		Seed:    sf,
		attack:  map[string]Reason{},
		hostOf:  make(map[string]string, len(evs)),
		agents:  map[string][]tspan{},
		tainted: map[string][]tspan{},
		start:   math.Inf(1),
		end:     math.Inf(-1),
	}
	for _, ev := range evs {
		l.hostOf[ev.EventID] = ev.Hostname
		l.start = math.Min(l.start, ev.Timestamp)
		l.end = math.Max(l.end, ev.Timestamp)
	}
	for _, a := range sf.Agents {
		lo, hi, err := span(a.From, a.To)
		if err != nil {
			lo, hi = negInf, posInf // unknown lifetime: alive throughout
		}
		l.agents[a.Host] = append(l.agents[a.Host], tspan{lo, hi})
	}
	return l
}

func (l *Labels) taint(host string, lo, hi float64) {
	l.tainted[host] = append(l.tainted[host], tspan{lo, hi})
}

func (l *Labels) attackCount(host string) int {
	n := 0
	for id := range l.attack {
		if l.hostOf[id] == host {
			n++
		}
	}
	return n
}

// IsAttack reports whether the event is labelled attack.
func (l *Labels) IsAttack(eventID string) bool {
	_, ok := l.attack[eventID]
	return ok
}

// Reason returns why an event is labelled attack.
func (l *Labels) Reason(eventID string) (Reason, bool) {
	r, ok := l.attack[eventID]
	return r, ok
}

// AttackEvents returns the ids of the attack events, sorted.
func (l *Labels) AttackEvents() []string {
	ids := make([]string, 0, len(l.attack))
	for id := range l.attack {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Chain returns the provenance of an attack event: its reason, the reason
// of the event it was derived from, and so on back to a seed. Empty for
// events that are not attack.
func (l *Labels) Chain(eventID string) []Reason {
	var out []Reason
	seen := map[string]bool{}
	for id := eventID; id != "" && !seen[id]; {
		seen[id] = true
		r, ok := l.attack[id]
		if !ok {
			break
		}
		out = append(out, r)
		id = r.Cause
	}
	return out
}

// UnmatchedSeeds describes the seeds that matched no event. Their hosts'
// windows over the seed's time span are excluded: the attacker acted there
// but the recording shows nothing we can attribute.
func (l *Labels) UnmatchedSeeds() []string {
	var out []string
	for _, k := range l.unmatched {
		sd := l.Seed.Seeds[k]
		out = append(out, fmt.Sprintf("seeds[%d] on %s: %s", k, sd.Host, sd.Why))
	}
	return out
}

// Warnings lists problems found while labelling other than unmatched
// seeds (a lateral-movement target without attack events).
func (l *Labels) Warnings() []string { return append([]string(nil), l.warnings...) }

// Label labels one host window [start, end) holding eventIDs:
//   - attack: it holds a labelled event;
//   - excluded: it holds none, but the recording is unlabelable, or an
//     attacker agent is alive on the host during the window, or the host
//     has attacker activity the labels could not attribute to events;
//   - benign: otherwise.
func (l *Labels) Label(host string, start, end float64, eventIDs []string) string {
	for _, id := range eventIDs {
		if _, ok := l.attack[id]; ok {
			return Attack
		}
	}
	if l.Seed.Unlabelable != "" {
		return Excluded
	}
	for _, s := range l.agents[host] {
		if s.lo < end && s.hi >= start {
			return Excluded
		}
	}
	for _, s := range l.tainted[host] {
		if s.lo < end && s.hi >= start {
			return Excluded
		}
	}
	return Benign
}

// Window is one host window of a recording.
type Window struct {
	Host  string  `json:"host"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Complete is false when the host's recording ends before the window
	// does (recordings are short: most hosts have no complete window).
	Complete bool     `json:"complete"`
	EventIDs []string `json:"event_ids"`
	Label    string   `json:"label,omitempty"`
}

// EnumerateWindows cuts each host's events (in event time) into windows of
// length window every stride, starting at the host's first event:
// [t0 + k*stride, t0 + k*stride + window) for k = 0, 1, ... up to and
// including the first window that reaches past the host's last event.
// Windows without events are skipped (some exports span days with gaps).
// A host whose recording is shorter than window yields one incomplete
// window holding all its events. Hosts come out sorted, windows by start.
func EnumerateWindows(events []schema.NormalizedEvent, window, stride time.Duration) ([]Window, error) {
	if window <= 0 || stride <= 0 {
		return nil, fmt.Errorf("enumerate windows: window %v and stride %v must be positive", window, stride)
	}
	w, st := window.Seconds(), stride.Seconds()
	type te struct {
		t  float64
		id string
	}
	byHost := map[string][]te{}
	for i := range events {
		ev := &events[i]
		byHost[ev.Hostname] = append(byHost[ev.Hostname], te{ev.Timestamp, ev.EventID})
	}
	hosts := make([]string, 0, len(byHost))
	for h := range byHost {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var out []Window
	for _, h := range hosts {
		evs := byHost[h]
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].t < evs[j].t })
		t0, tN := evs[0].t, evs[len(evs)-1].t
		lo := 0 // first event not before the current window start
		for k := 0; ; k++ {
			s := t0 + float64(k)*st
			e := s + w
			for lo < len(evs) && evs[lo].t < s {
				lo++
			}
			var ids []string
			for j := lo; j < len(evs) && evs[j].t < e; j++ {
				ids = append(ids, evs[j].id)
			}
			if len(ids) > 0 {
				out = append(out, Window{Host: h, Start: s, End: e, Complete: e <= tN, EventIDs: ids})
			}
			if e > tN {
				break
			}
		}
	}
	return out, nil
}

// Windows enumerates the recording's host windows (EnumerateWindows) and
// labels each one.
func (l *Labels) Windows(events []schema.NormalizedEvent, window, stride time.Duration) ([]Window, error) {
	ws, err := EnumerateWindows(events, window, stride)
	if err != nil {
		return nil, err
	}
	for i := range ws {
		ws[i].Label = l.Label(ws[i].Host, ws[i].Start, ws[i].End, ws[i].EventIDs)
	}
	return ws, nil
}

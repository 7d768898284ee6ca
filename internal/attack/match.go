package attack

import (
	"sort"

	"github.com/logster/logster/internal/schema"
)

// Hit is one technique evidenced by one event.
type Hit struct {
	Technique string `json:"technique"` // T1021.002
	Name      string `json:"name"`
	Tactic    string `json:"tactic"`
	Rule      string `json:"rule"` // the first rule (table order) that reported it
}

// Match returns the techniques ev evidences, one hit per technique, sorted by
// technique id. A technique the shipper already tagged (Data.Technique) is
// reported too when the catalogue knows it, under rule "source-tag".
// Match never panics on partial events; a nil event has no hits.
func Match(ev *schema.NormalizedEvent) []Hit {
	if ev == nil {
		return nil
	}
	return matchEvent(newEvent(ev))
}

func matchEvent(ev *event) []Hit {
	var hits []Hit
	seen := map[string]bool{}
	add := func(id, rule string) {
		if seen[id] {
			return
		}
		t, ok := techniques[id]
		if !ok {
			return
		}
		seen[id] = true
		hits = append(hits, Hit{Technique: id, Name: t.Name, Tactic: t.Tactic, Rule: rule})
	}
	for i := range Rules {
		r := &Rules[i]
		if r.matches(ev) {
			for _, id := range r.Techniques {
				add(id, r.ID)
			}
		}
	}
	if ev.Data.Technique != "" {
		add(ev.Data.Technique, "source-tag")
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].Technique < hits[j].Technique })
	return hits
}

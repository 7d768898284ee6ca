package api

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/logster/logster/internal/schema"
)

// params reads query parameters strictly: an unknown or repeated parameter
// is an error, so a typo ("stauts=open") is a 400 instead of silently
// returning every alert. Errors are collected and reported together.
type params struct {
	q    url.Values
	errs map[string]string
}

func newParams(u *url.URL, known ...string) *params {
	p := &params{q: u.Query(), errs: map[string]string{}}
	for k, vs := range p.q {
		switch {
		case !slices.Contains(known, k):
			p.errs[k] = "unknown parameter (known: " + strings.Join(known, ", ") + ")"
		case len(vs) > 1:
			p.errs[k] = "given more than once"
		}
	}
	return p
}

func (p *params) fail(name, format string, args ...any) {
	if _, dup := p.errs[name]; !dup {
		p.errs[name] = fmt.Sprintf(format, args...)
	}
}

func (p *params) str(name string, maxLen int) string {
	v := p.q.Get(name)
	if len(v) > maxLen {
		p.fail(name, "longer than %d bytes", maxLen)
		return ""
	}
	if !utf8.ValidString(v) || strings.ContainsAny(v, "\x00") {
		p.fail(name, "not valid text")
		return ""
	}
	return v
}

func (p *params) intIn(name string, def, lo, hi int) int {
	v := p.q.Get(name)
	if v == "" {
		if p.q.Has(name) {
			p.fail(name, "empty")
		}
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, "must be an integer between %d and %d", lo, hi)
		return def
	}
	return n
}

// list parses a comma-separated list, validating each item.
func list[T any](p *params, name string, parse func(string) (T, error)) []T {
	v := p.q.Get(name)
	if v == "" {
		return nil
	}
	var out []T
	for _, item := range strings.Split(v, ",") {
		t, err := parse(strings.TrimSpace(item))
		if err != nil {
			p.fail(name, "%v", err)
			return nil
		}
		out = append(out, t)
	}
	return out
}

func parseKind(s string) (schema.AlertKind, error) {
	switch k := schema.AlertKind(s); k {
	case schema.AlertKindEndpoint, schema.AlertKindLateralMovement:
		return k, nil
	}
	return "", fmt.Errorf("invalid alert_type %q: want endpoint or lateral_movement", s)
}

// timeParam accepts RFC 3339 ("2026-01-02T15:04:05Z") or Unix epoch seconds
// (fractions allowed) and returns epoch seconds.
func (p *params) timeParam(name string) float64 {
	v := p.q.Get(name)
	if v == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e11 {
			p.fail(name, "epoch seconds out of range")
			return 0
		}
		return f
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		p.fail(name, "must be RFC 3339 (2026-01-02T15:04:05Z) or Unix epoch seconds")
		return 0
	}
	if t.Unix() <= 0 {
		p.fail(name, "before 1970")
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func (p *params) timeRange() (since, until float64) {
	since, until = p.timeParam("since"), p.timeParam("until")
	if since != 0 && until != 0 && since > until {
		p.fail("until", "before since")
	}
	return since, until
}

// err returns the collected problems as an error detail, or nil.
func (p *params) err() map[string]string {
	if len(p.errs) == 0 {
		return nil
	}
	return p.errs
}

// Paging bounds (SPEC §4: limit 1..1000, default 100).
const (
	maxLimit  = 1000
	maxOffset = 10_000_000
)

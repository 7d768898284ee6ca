package normalize

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// Stats counts outcomes for the offline tool's summary and the dataset
// tests: records read, events, errors by reason, and per-channel coverage
// (the share of a channel's events mapped to a typed event_type).
type Stats struct {
	Records    int
	Events     int
	Errors     map[Reason]int
	Channels   map[string]*ChannelStats
	BySource   map[Source]int
	FirstError map[Reason]string // one example per reason
}

// ChannelStats counts one channel (Windows channel, audit record type,
// Tetragon event kind ...).
type ChannelStats struct {
	Mapped, Unknown, Failed int
	UnknownIDs              map[int]int
}

// NewStats returns empty stats.
func NewStats() *Stats {
	return &Stats{Errors: map[Reason]int{}, Channels: map[string]*ChannelStats{}, BySource: map[Source]int{}, FirstError: map[Reason]string{}}
}

func (s *Stats) channel(name string) *ChannelStats {
	name = strings.ToLower(name)
	if name == "" {
		name = "(none)"
	}
	cs := s.Channels[name]
	if cs == nil {
		cs = &ChannelStats{UnknownIDs: map[int]int{}}
		s.Channels[name] = cs
	}
	return cs
}

// Add counts one outcome.
func (s *Stats) Add(ev *schema.NormalizedEvent, err *ParseError) {
	if ev != nil {
		s.Events++
		s.BySource[Source(ev.Source)]++
		s.channel(ev.Data.Channel).Mapped++
		return
	}
	s.Errors[err.Reason]++
	if _, ok := s.FirstError[err.Reason]; !ok {
		s.FirstError[err.Reason] = err.Error()
	}
	cs := s.channel(err.Channel)
	if err.Reason == ReasonUnknownType {
		cs.Unknown++
		cs.UnknownIDs[err.NativeID]++
	} else {
		cs.Failed++
	}
}

// ParseErrors is the number of errors other than unknown types.
func (s *Stats) ParseErrors() int {
	n := 0
	for r, c := range s.Errors {
		if r != ReasonUnknownType {
			n += c
		}
	}
	return n
}

// Write prints the summary.
func (s *Stats) Write(w io.Writer) {
	fmt.Fprintf(w, "records read:   %d\n", s.Records)
	fmt.Fprintf(w, "normalized:     %d\n", s.Events)
	fmt.Fprintf(w, "unknown type:   %d\n", s.Errors[ReasonUnknownType])
	fmt.Fprintf(w, "parse errors:   %d\n", s.ParseErrors())
	for _, r := range Reasons {
		if r == ReasonUnknownType || s.Errors[r] == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-15s %d  (e.g. %s)\n", r, s.Errors[r], truncate(s.FirstError[r], 160))
	}
	if len(s.BySource) > 0 {
		fmt.Fprintln(w, "events by source:")
		srcs := make([]string, 0, len(s.BySource))
		for k := range s.BySource {
			srcs = append(srcs, string(k))
		}
		sort.Strings(srcs)
		for _, k := range srcs {
			fmt.Fprintf(w, "  %-18s %d\n", k, s.BySource[Source(k)])
		}
	}
	fmt.Fprintln(w, "coverage by channel (mapped / (mapped + unknown type)):")
	names := make([]string, 0, len(s.Channels))
	for k := range s.Channels {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := s.Channels[names[i]], s.Channels[names[j]]
		ta, tb := a.Mapped+a.Unknown+a.Failed, b.Mapped+b.Unknown+b.Failed
		if ta != tb {
			return ta > tb
		}
		return names[i] < names[j]
	})
	for _, k := range names {
		cs := s.Channels[k]
		tot := cs.Mapped + cs.Unknown
		cov := 0.0
		if tot > 0 {
			cov = 100 * float64(cs.Mapped) / float64(tot)
		}
		line := fmt.Sprintf("  %-55s %8d mapped %8d unknown %6.1f%%", truncate(k, 55), cs.Mapped, cs.Unknown, cov)
		if cs.Failed > 0 {
			line += fmt.Sprintf("  (%d errors)", cs.Failed)
		}
		if top := topIDs(cs.UnknownIDs, 5); top != "" {
			line += "  unmapped ids: " + top
		}
		fmt.Fprintln(w, line)
	}
}

func topIDs(m map[int]int, n int) string {
	type kc struct{ k, c int }
	var l []kc
	for k, c := range m {
		if k != 0 {
			l = append(l, kc{k, c})
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i].c > l[j].c || l[i].c == l[j].c && l[i].k < l[j].k })
	var parts []string
	for i := 0; i < len(l) && i < n; i++ {
		parts = append(parts, fmt.Sprintf("%d×%d", l[i].k, l[i].c))
	}
	return strings.Join(parts, " ")
}

// NeedsClockPriming reports whether data is a record whose local-time
// field needs a learned offset (the flat TimeCreated layout): the offline
// tool then reads such a file twice, first to learn the offset per file
// from Sysmon records (Prime), so that records before the first Sysmon
// event get the right time too.
func (n *Normalizer) NeedsClockPriming(data []byte) bool {
	b := bytes.TrimSpace(data)
	if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"TimeCreated"`)) {
		return false
	}
	p := n.parsers.Get()
	defer n.parsers.Put(p)
	v, err := p.ParseBytes(b)
	if err != nil {
		return false
	}
	o, err := v.Object()
	return err == nil && detectJSON(o) == SourceWindowsFlat
}

// Prime learns clock offsets from one record of scope (see NeedsClockPriming).
func (n *Normalizer) Prime(scope string, data []byte) {
	if !bytes.Contains(data, []byte(`"UtcTime"`)) || !bytes.Contains(data, []byte(`"TimeCreated"`)) {
		return
	}
	p := n.parsers.Get()
	defer n.parsers.Put(p)
	v, err := p.ParseBytes(bytes.TrimSpace(data))
	if err != nil {
		return
	}
	o, err := v.Object()
	if err != nil || detectJSON(o) != SourceWindowsFlat || !isSysmonChannel(strView(o, "Channel")) {
		return
	}
	lt, _, ok1 := parseTimestamp(strView(o, "TimeCreated"))
	ut, _, ok2 := parseTimestamp(strings.TrimSpace(strView(o, "UtcTime")))
	if ok1 && ok2 {
		n.clock.observe(scope, lt, ut)
	}
}

// RawWinlogbeat renders a Windows record of any shape in Winlogbeat 8 shape
// (`logster normalize --raw`), so anyone can see what Logster read. ok is
// false for non-Windows records and for records that do not parse.
func (n *Normalizer) RawWinlogbeat(in Input) (out []byte, ok bool) {
	b := bytes.TrimSpace(in.Value)
	if len(b) == 0 || b[0] != '{' {
		return nil, false
	}
	c := &ctx{n: n, in: &in}
	defer c.release()
	c.wlb = func(w *winRecord) {
		endpoint, _, _ := canonicalHost(w.computer)
		ts, tsOK := c.windowsTime(w, endpoint)
		out = appendWinlogbeat(nil, w, ts, tsOK)
		ok = true
	}
	// errors are not reported in --raw mode
	c.emit = nil
	src := in.Source
	if src == "" {
		src = SourceAuto
	}
	c.jsonRecord(src, b)
	return out, ok
}

func appendWinlogbeat(dst []byte, w *winRecord, ts float64, tsOK bool) []byte {
	o := open(dst)
	if tsOK {
		o.key("@timestamp")
		t := time.UnixMicro(int64(math.Round(ts * 1e6))).UTC()
		o.b = appendString(o.b, t.Format("2006-01-02T15:04:05.000000Z07:00"))
	}
	o.key("event")
	e := open(o.b)
	e.str("code", strconv.Itoa(w.eventID))
	e.str("kind", "event")
	e.str("provider", w.provider)
	o.b = e.close()
	o.key("host")
	h := open(o.b)
	h.str("name", w.computer)
	o.b = h.close()
	o.str("message", w.message())
	o.key("winlog")
	wl := open(o.b)
	wl.str("channel", canonicalChannel(w.channel))
	wl.str("computer_name", w.computer)
	wl.key("event_data")
	ed := open(wl.b)
	if w.obj != nil {
		w.obj.Visit(func(k []byte, v *fastjson.Value) {
			key := b2s(k)
			if w.envelope != nil && w.envelope(key, v) {
				return
			}
			ed.keyEscaped(key)
			if v.Type() == fastjson.TypeString {
				ed.b = appendValue(ed.b, v, 0)
			} else {
				// Winlogbeat writes every event data value as a string.
				ed.b = appendString(ed.b, valueString(v))
			}
		})
	}
	for _, p := range w.kvs {
		ed.keyEscaped(p.k)
		ed.b = appendString(ed.b, p.v)
	}
	wl.b = ed.close()
	wl.str("event_id", strconv.Itoa(w.eventID))
	wl.str("provider_name", w.provider)
	wl.u64("record_id", w.recordID)
	o.b = wl.close()
	return o.close()
}

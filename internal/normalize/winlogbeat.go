package normalize

import (
	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// winlogbeat reads Winlogbeat 7/8 JSON (winlog.*, @timestamp, host.name) as
// Elastic's collection test data shows it (x-pack/winlogbeat/module/*/test/
// testdata/collection), and records from the EVTX reader, which writes the
// same shape. Winlogbeat 8 writes winlog.event_id as a string, 7 as a
// number; @timestamp is the record's TimeCreated (event time, UTC).
func (c *ctx) winlogbeat(src Source, o *fastjson.Object, raw []byte) {
	wl := obj(o, "winlog")
	if wl == nil {
		c.failErr(perr(src, ReasonUnknownFormat, "no winlog object"))
		return
	}
	w := newWinRecord(src, schema.PlatformWindows, raw)
	w.channel = strView(wl, "channel")
	w.provider = internStr(strView(wl, "provider_name"))
	if w.channel == "" {
		// ETW trace logs (.etl converted to .evtx) have no channel; the
		// provider identifies the events then.
		w.channel = w.provider
	}
	id, ok := eventIDFrom(wl.Get("event_id"))
	if w.channel == "" || !ok {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: lowerCopy(w.channel),
			Err: errf("winlog.channel or winlog.event_id missing or not a number")})
		return
	}
	w.eventID = id
	w.recordID, _ = recordIDFrom(wl.Get("record_id"))
	w.computer = str(wl, "computer_name")
	if w.computer == "" {
		w.computer = str(obj(o, "host"), "name")
	}
	w.tenant = tenantField(o)
	w.obj = obj(wl, "event_data")
	if w.obj == nil {
		w.obj = obj(wl, "user_data")
	}
	if ts := strView(o, "@timestamp"); ts != "" {
		if t, _, ok := parseTimestamp(ts); ok {
			w.utc, w.hasUTC = t, true
		}
	}
	w.msgVal = o.Get("message")
	c.mapWindows(w)
}

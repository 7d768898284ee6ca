package normalize

import (
	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// winlogbeat6 reads Winlogbeat 6 JSON: event_data, log_name, event_id
// (number), record_number (string), computer_name (the event's host; host.name
// is the forwarding Winlogbeat, often a WEC collector) and @timestamp, which
// in this version is the event time.
func (c *ctx) winlogbeat6(o *fastjson.Object, raw []byte) {
	src := SourceWinlogbeat6
	w := newWinRecord(src, schema.PlatformWindows, raw)
	w.channel = strView(o, "log_name")
	id, ok := eventIDFrom(o.Get("event_id"))
	if w.channel == "" || !ok {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: lowerCopy(w.channel),
			Err: errf("log_name or event_id missing or not a number")})
		return
	}
	w.eventID = id
	w.recordID, _ = recordIDFrom(o.Get("record_number"))
	w.provider = internStr(strView(o, "source_name"))
	w.computer = str(o, "computer_name")
	w.tenant = tenantField(o)
	w.obj = obj(o, "event_data")
	if w.obj == nil {
		w.obj = obj(o, "user_data")
	}
	if t, _, ok := parseTimestamp(strView(o, "@timestamp")); ok {
		w.utc, w.hasUTC = t, true
	}
	w.msgVal = o.Get("message")
	c.mapWindows(w)
}

package normalize

import (
	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// sentinel reads Microsoft Sentinel / Log Analytics "WindowsEvent" rows
// (Computer, Channel, EventID, Provider, TimeGenerated and the event data as
// a JSON string in EventData), as in the Log4Shell recording. TenantId is
// the Log Analytics workspace, not a Logster tenant, and is ignored.
// TimeGenerated is ingestion time (UTC); Sysmon's UtcTime wins where present.
func (c *ctx) sentinel(o *fastjson.Object, raw []byte) {
	src := SourceSentinel
	w := newWinRecord(src, schema.PlatformWindows, raw)
	w.channel = str(o, "Channel")
	id, ok := eventIDFrom(o.Get("EventID"))
	if w.channel == "" || !ok {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: lowerCopy(w.channel),
			Err: errf("Channel or EventID missing or not a number")})
		return
	}
	w.eventID = id
	w.provider = internStr(strView(o, "Provider"))
	w.computer = str(o, "Computer")
	w.tenant = str(o, "tenant_id")
	if t, _, ok := parseTimestamp(strView(o, "TimeGenerated")); ok {
		w.ingest, w.hasIngest = t, true
	}
	ed := o.Get("EventData")
	switch {
	case ed == nil || ed.Type() == fastjson.TypeNull:
	case ed.Type() == fastjson.TypeObject:
		w.obj, _ = ed.Object()
	case ed.Type() == fastjson.TypeString:
		s, _ := ed.StringBytes()
		// A second parser: parsing with the first would invalidate o.
		p := c.n.parsers.Get()
		defer c.n.parsers.Put(p)
		v, err := p.ParseBytes(s)
		if err != nil {
			c.failErr(&ParseError{Reason: ReasonInvalidJSON, Source: src, Channel: lowerCopy(w.channel), NativeID: id,
				Err: errf("EventData is not JSON: %v", err)})
			return
		}
		if w.obj, err = v.Object(); err != nil {
			c.failErr(&ParseError{Reason: ReasonInvalidField, Source: src, Channel: lowerCopy(w.channel), NativeID: id,
				Err: errf("EventData is a JSON %s, not an object", v.Type())})
			return
		}
	default:
		c.failErr(&ParseError{Reason: ReasonInvalidField, Source: src, Channel: lowerCopy(w.channel), NativeID: id,
			Err: errf("EventData is a JSON %s", ed.Type())})
		return
	}
	c.mapWindows(w)
}

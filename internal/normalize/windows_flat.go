package normalize

import (
	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// windowsFlat reads the flat layout with TimeCreated, Hostname, Channel,
// EventID, the rendered Message and the event data fields at top level
// (exports made with PowerShell's Get-WinEvent). It has no record number.
// TimeCreated is written with a "Z" but, measured against Sysmon's UtcTime
// in the same recordings, is the exporting machine's local time (offsets
// of -4h to +8h occur): it is treated as a local time whose offset is
// learned per clock scope (docs/normalizer.md, "Time").
func (c *ctx) windowsFlat(o *fastjson.Object, raw []byte) {
	src := SourceWindowsFlat
	w := newWinRecord(src, schema.PlatformWindows, raw)
	w.obj, w.envelope = o, flatEnvelope
	w.channel = strView(o, "Channel")
	id, ok := eventIDFrom(o.Get("EventID"))
	if w.channel == "" || !ok {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: lowerCopy(w.channel),
			Err: errf("Channel or EventID missing or not a number")})
		return
	}
	w.eventID = id
	w.provider = internStr(strView(o, "SourceName"))
	w.computer = str(o, "Hostname")
	w.tenant = str(o, "tenant_id")
	if t, _, ok := parseTimestamp(strView(o, "TimeCreated")); ok {
		w.local, w.hasLocal = t, true
	}
	w.msgVal = o.Get("Message")
	c.mapWindows(w)
}

func flatEnvelope(k string, _ *fastjson.Value) bool {
	switch k {
	case "TimeCreated", "@timestamp", "Hostname", "Channel", "EventID", "SourceName", "ProviderGuid",
		"Level", "Keywords", "Task", "Opcode", "Message", "UserData", "tenant_id":
		return true
	}
	return false
}

package normalize

import (
	"strings"

	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// nxlog reads NXLog's flattened im_msvistalog JSON (as forwarded through
// Logstash): envelope fields (Hostname, Channel, EventID, RecordNumber,
// EventTime, ...) and the event data fields side by side at the top level.
// EventTime is the collector's local wall-clock time without a zone;
// @timestamp is the ingestion time, seconds late (windowsTime derives the
// offset from the two).
func (c *ctx) nxlog(o *fastjson.Object, raw []byte) {
	src := SourceNXLog
	w := newWinRecord(src, schema.PlatformWindows, raw)
	w.obj, w.envelope = o, nxlogEnvelope
	// One pass over the (typically 40) top-level fields picks up the
	// envelope; per-key lookups would each scan the whole object.
	w.index()
	var eventID, recordNumber *fastjson.Value
	for _, f := range w.fields {
		switch f.k {
		case "Channel":
			w.channel = strView1(f.v)
		case "EventID":
			eventID = f.v
		case "RecordNumber":
			recordNumber = f.v
		case "SourceName":
			w.provider = internStr(strView1(f.v))
		case "Hostname":
			w.computer = strings.Clone(strView1(f.v))
		case "tenant_id":
			w.tenant = strings.Clone(strView1(f.v))
		case "EventTime":
			if t, _, ok := parseTimestamp(strView1(f.v)); ok {
				w.local, w.hasLocal = t, true
			}
		case "@timestamp":
			if t, _, ok := parseTimestamp(strView1(f.v)); ok {
				w.ingest, w.hasIngest = t, true
			}
		case "Message":
			w.msgVal = f.v
		}
	}
	id, ok := eventIDFrom(eventID)
	if w.channel == "" || !ok {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: lowerCopy(w.channel),
			Err: errf("Channel or EventID missing or not a number")})
		w.release()
		return
	}
	w.eventID = id
	w.recordID, _ = recordIDFrom(recordNumber)
	c.mapWindows(w)
}

// nxlogEnvelope lists NXLog's own fields (and Logstash's), which are not
// event data and are left out of raw_event. EventType is NXLog's severity
// word unless it is Sysmon's registry operation (NXLog then renames its own
// to EventTypeOrignal).
func nxlogEnvelope(k string, v *fastjson.Value) bool {
	switch k {
	case "EventType":
		switch strView1(v) {
		case "INFO", "AUDIT_SUCCESS", "AUDIT_FAILURE", "WARNING", "ERROR", "VERBOSE", "CRITICAL":
			return true
		}
		return false
	case "EventTime", "EventReceivedTime", "SourceModuleName", "SourceModuleType", "@version", "@timestamp",
		"port", "tags", "host", "Hostname", "Channel", "EventID", "RecordNumber", "SourceName", "Message",
		"Severity", "SeverityValue", "Keywords", "Opcode", "OpcodeValue", "Task", "Version", "Category",
		"ThreadID", "ExecutionProcessID", "ProviderGuid", "EventTypeOrignal", "ActivityID", "RelatedActivityID",
		"AccountName", "AccountType", "Domain", "UserID", "ERROR_EVT_UNRESOLVED", "tenant_id", "type":
		return true
	}
	return false
}

// strView1 views a string value ("" for other types).
func strView1(v *fastjson.Value) string {
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	b, _ := v.StringBytes()
	return b2s(b)
}

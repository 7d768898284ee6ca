package evtx

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/logster/logster/internal/jsonw"
)

// Names Winlogbeat 8 uses when the publisher's metadata is not available
// (it is not: Logster reads files away from the machine that wrote them).
// They come from winmeta.xml in the Windows SDK, as in Winlogbeat's
// defaultWinMeta; keyword bits are listed in ascending order so that the
// output is deterministic.
var (
	winLevels  = map[uint8]string{0: "Information", 1: "Critical", 2: "Error", 3: "Warning", 4: "Information", 5: "Verbose"}
	winOpcodes = map[uint8]string{0: "Info", 1: "Start", 2: "Stop", 3: "DCStart", 4: "DCStop", 5: "Extension", 6: "Reply", 7: "Resume", 8: "Suspend", 9: "Send"}
	winTasks   = map[uint16]string{0: "None"}
	winKeyword = []struct {
		mask uint64
		name string
	}{
		{0x1000000000000, "Response Time"},
		{0x4000000000000, "WDI Diag"},
		{0x8000000000000, "SQM"},
		{0x10000000000000, "Audit Failure"},
		{0x20000000000000, "Audit Success"},
		{0x40000000000000, "Correlation Hint"},
		{0x80000000000000, "Classic"},
	}
	// Well-known SIDs Winlogbeat would resolve on any Windows machine.
	wellKnownSIDs = map[string][3]string{ // name, domain, type
		"S-1-5-18": {"SYSTEM", "NT AUTHORITY", "Well Known Group"},
		"S-1-5-19": {"LOCAL SERVICE", "NT AUTHORITY", "Well Known Group"},
		"S-1-5-20": {"NETWORK SERVICE", "NT AUTHORITY", "Well Known Group"},
	}
)

const (
	keywordAuditFailure = 0x10000000000000
	keywordAuditSuccess = 0x20000000000000
)

// KeywordNames returns the names of the well-known keyword bits set in kw,
// as Winlogbeat lists them in winlog.keywords.
func KeywordNames(kw uint64) []string {
	var names []string
	for _, k := range winKeyword {
		if kw&k.mask != 0 {
			names = append(names, k.name)
		}
	}
	return names
}

// LevelName returns the standard name of an event level ("" if none).
func LevelName(level uint8) string { return winLevels[level] }

// WinlogbeatJSON renders the record as one JSON object in the shape
// Winlogbeat 8 ships (see AppendWinlogbeatJSON).
func (r *Record) WinlogbeatJSON() ([]byte, error) {
	return r.AppendWinlogbeatJSON(make([]byte, 0, 2048))
}

// AppendWinlogbeatJSON appends the record to dst as one JSON object in the
// shape Winlogbeat 8 ships, so that files and live shippers take the same
// path through the normalizer:
//
//	@timestamp                 TimeCreated, RFC 3339 with up to 100 ns, UTC
//	event.code                 event id as a string; event.kind "event";
//	event.provider             provider name; event.action the task name;
//	event.outcome              success/failure from the audit keywords
//	host.name                  Computer
//	log.level                  level name, lower case; log.file.path the source
//	winlog.channel, computer_name, provider_name, provider_guid ({UPPER})
//	winlog.event_id            string; winlog.record_id, winlog.version numbers
//	winlog.process.pid, winlog.process.thread.id   numbers
//	winlog.user.identifier     SID (name/domain/type for well-known SIDs)
//	winlog.task, opcode, keywords   names from the Windows SDK defaults
//	winlog.activity_id, related_activity_id
//	winlog.event_data          name -> string, as Windows renders the values
//	winlog.user_data           name -> string, plus xml_name
//
// As in Winlogbeat, zero values are omitted, empty EventData values are
// dropped, the first of duplicate names wins, unnamed <Data> items are
// param1..N, and CRLF becomes LF with trailing newlines trimmed. Two
// deliberate differences keep data Winlogbeat would lose: array values are
// JSON arrays of strings (Windows would repeat the element and Winlogbeat
// keep the first), and UserData children that hold elements or attributes
// instead of text are nested objects (Winlogbeat drops them).
func (r *Record) AppendWinlogbeatJSON(dst []byte) ([]byte, error) {
	if r == nil || r.Root == nil {
		return dst, errors.New("evtx: WinlogbeatJSON of an empty record")
	}
	s := &r.System
	w := jsonWriter{b: dst}
	w.open()

	ts := r.Timestamp
	if ts.IsZero() {
		ts = r.Written
	}
	w.key("@timestamp")
	w.b = append(w.b, '"')
	w.b = ts.UTC().AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')

	eventID := strconv.FormatUint(uint64(s.EventID), 10)
	task := winTasks[s.Task]

	w.key("event")
	w.open()
	w.strField("action", task)
	w.strField("code", eventID)
	w.strField("kind", "event")
	switch {
	case s.Keywords&keywordAuditFailure != 0:
		w.strField("outcome", "failure")
	case s.Keywords&keywordAuditSuccess != 0:
		w.strField("outcome", "success")
	}
	w.strField("provider", s.ProviderName)
	w.close()

	if s.Computer != "" {
		w.key("host")
		w.open()
		w.strField("name", s.Computer)
		w.close()
	}

	level := strings.ToLower(winLevels[s.Level])
	if level != "" || r.source != "" {
		w.key("log")
		w.open()
		if r.source != "" {
			w.key("file")
			w.open()
			w.strField("path", r.source)
			w.close()
		}
		w.strField("level", level)
		w.close()
	}

	w.key("winlog")
	w.open()
	w.strField("activity_id", s.ActivityID)
	w.strField("api", "wineventlog")
	w.strField("channel", s.Channel)
	w.strField("computer_name", s.Computer)
	if hasValues(r.EventData) {
		w.eventData(r.EventData)
	}
	w.strField("event_id", eventID)
	if names := KeywordNames(s.Keywords); len(names) > 0 {
		w.key("keywords")
		w.b = append(w.b, '[')
		for i, n := range names {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = jsonw.AppendStringNoHTML(w.b, n)
		}
		w.b = append(w.b, ']')
	}
	if s.HasOpcode {
		w.strField("opcode", winOpcodes[s.Opcode])
	}
	if s.ProcessID != 0 || s.ThreadID != 0 {
		w.key("process")
		w.open()
		w.uintField("pid", uint64(s.ProcessID))
		if s.ThreadID != 0 {
			w.key("thread")
			w.open()
			w.uintField("id", uint64(s.ThreadID))
			w.close()
		}
		w.close()
	}
	w.strField("provider_guid", s.ProviderGUID)
	w.strField("provider_name", s.ProviderName)
	recordID := s.EventRecordID
	if recordID == 0 {
		recordID = r.ID
	}
	w.uintField("record_id", recordID)
	w.strField("related_activity_id", s.RelatedActivity)
	w.strField("task", task)
	if s.UserID != "" {
		w.key("user")
		w.open()
		wk, known := wellKnownSIDs[s.UserID]
		if known {
			w.strField("domain", wk[1])
		}
		w.strField("identifier", s.UserID)
		if known {
			w.strField("name", wk[0])
			w.strField("type", wk[2])
		}
		w.close()
	}
	if r.UserData != nil {
		w.userData(r.UserData)
	}
	w.uintField("version", uint64(s.Version))
	w.close() // winlog
	w.close()
	return w.b, nil
}

// jsonWriter appends a JSON object without reflection; it tracks whether a
// comma is needed at each nesting level.
type jsonWriter struct {
	b     []byte
	first []bool
}

func (w *jsonWriter) open() {
	w.b = append(w.b, '{')
	w.first = append(w.first, true)
}

func (w *jsonWriter) close() {
	w.b = append(w.b, '}')
	w.first = w.first[:len(w.first)-1]
}

func (w *jsonWriter) key(k string) {
	top := len(w.first) - 1
	if !w.first[top] {
		w.b = append(w.b, ',')
	}
	w.first[top] = false
	w.b = jsonw.AppendStringNoHTML(w.b, k)
	w.b = append(w.b, ':')
}

// strField writes a string member, omitting empty strings like Winlogbeat.
func (w *jsonWriter) strField(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = jsonw.AppendStringNoHTML(w.b, v)
}

// uintField writes a number member, omitting zero like Winlogbeat.
func (w *jsonWriter) uintField(k string, v uint64) {
	if v == 0 {
		return
	}
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

// hasValues reports whether any EventData item would be written; Winlogbeat
// omits an event_data without values.
func hasValues(items []Data) bool {
	for _, d := range items {
		if d.Name == "" {
			continue
		}
		if d.Value.typ.IsArray() && len(d.Value.arr()) > 0 {
			return true
		}
		if cleanText(d.Value.String()) != "" {
			return true
		}
	}
	return false
}

func (w *jsonWriter) eventData(items []Data) {
	w.key("event_data")
	w.open()
	seen := make(map[string]struct{}, len(items))
	for _, d := range items {
		if d.Name == "" {
			continue
		}
		if _, dup := seen[d.Name]; dup {
			continue
		}
		if w.value(d.Name, d.Value) {
			seen[d.Name] = struct{}{}
		}
	}
	w.close()
}

// value writes one event/user data member rendered as Windows renders it;
// empty values are skipped. It reports whether it wrote anything.
func (w *jsonWriter) value(name string, v Value) bool {
	if v.typ.IsArray() {
		if len(v.arr()) == 0 {
			return false
		}
		w.key(name)
		w.b = append(w.b, '[')
		for i, item := range v.arr() {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = jsonw.AppendStringNoHTML(w.b, cleanText(item.String()))
		}
		w.b = append(w.b, ']')
		return true
	}
	s := cleanText(v.String())
	if s == "" {
		return false
	}
	w.key(name)
	w.b = jsonw.AppendStringNoHTML(w.b, s)
	return true
}

// userData writes winlog.user_data: the children of the provider's element
// keyed by their Name attribute or element name, plus xml_name.
func (w *jsonWriter) userData(root *Element) {
	w.key("user_data")
	w.open()
	seen := map[string]struct{}{"xml_name": {}}
	for _, c := range root.Children {
		w.userDataMember(c, seen)
	}
	w.strField("xml_name", root.Name)
	w.close()
}

func (w *jsonWriter) userDataMember(c *Element, seen map[string]struct{}) {
	name := c.Name
	nameFromAttr := false
	if v, ok := c.Attr("Name"); ok && v.String() != "" {
		name, nameFromAttr = v.String(), true
	}
	if _, dup := seen[name]; dup {
		return
	}
	attrs := len(c.Attrs)
	if nameFromAttr {
		attrs--
	}
	if len(c.Children) == 0 && attrs == 0 {
		if w.value(name, c.Value) {
			seen[name] = struct{}{}
		}
		return
	}
	// Structured member: attributes, text and children as an object.
	seen[name] = struct{}{}
	w.key(name)
	w.open()
	inner := map[string]struct{}{}
	for _, a := range c.Attrs {
		if nameFromAttr && a.Name == "Name" {
			continue
		}
		if _, dup := inner[a.Name]; !dup && w.value(a.Name, a.Value) {
			inner[a.Name] = struct{}{}
		}
	}
	if _, dup := inner["#text"]; !dup && w.value("#text", c.Value) {
		inner["#text"] = struct{}{}
	}
	for _, cc := range c.Children {
		w.userDataMember(cc, inner)
	}
	w.close()
}

// cleanText applies Winlogbeat's RemoveWindowsLineEndings.
func cleanText(s string) string {
	if strings.Contains(s, "\r\n") {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return strings.TrimRight(s, "\n")
}

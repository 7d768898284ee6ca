package evtx

import (
	"strconv"
	"time"
)

// Record is one event record.
type Record struct {
	// ID is the event record identifier from the record header (the same
	// number as System/EventRecordID in well-formed records).
	ID uint64
	// Written is the time the record was written, from the record header.
	Written time.Time
	// Timestamp is System/TimeCreated/@SystemTime, or Written when the event
	// has none. Always UTC.
	Timestamp time.Time
	// Offset is the file offset of the record; Chunk is the index of its
	// chunk in file order.
	Offset int64
	Chunk  int

	System System
	// EventData holds the children of <EventData> in document order, named
	// by their Name attribute; unnamed <Data> items are named paramN after
	// their position (N from 1), as Winlogbeat names them. Nil when the
	// event has no EventData.
	EventData []Data
	// EventDataName is the Name attribute of <EventData> itself, if any.
	EventDataName string
	// UserData is the single child of <UserData> (the provider's own
	// element, e.g. LogFileCleared), or nil.
	UserData *Element
	// Root is the whole event, <Event> with all its descendants.
	Root *Element

	source string // file path, for log.file.path
}

// Data is one EventData item.
type Data struct {
	Name  string
	Value Value
}

// System holds the <System> fields Logster uses. Fields absent from the
// event are zero; strings are rendered as Windows renders them (GUIDs upper
// case with braces, SIDs as S-1-...).
type System struct {
	ProviderName    string
	ProviderGUID    string
	EventSourceName string
	EventID         uint32
	Qualifiers      uint16
	HasQualifiers   bool
	Version         uint8
	Level           uint8
	Task            uint16
	Opcode          uint8
	HasOpcode       bool
	Keywords        uint64
	TimeCreated     time.Time
	EventRecordID   uint64
	ActivityID      string
	RelatedActivity string
	ProcessID       uint32
	ThreadID        uint32
	Channel         string
	Computer        string
	UserID          string
}

// newRecord fills the System, EventData and UserData views from the tree.
func newRecord(root *Element) *Record {
	r := &Record{Root: root}
	sys := root.Child("System")
	if sys != nil {
		r.System = systemFields(sys)
	}
	if ed := root.Child("EventData"); ed != nil {
		r.EventData = eventData(ed)
		if v, ok := ed.Attr("Name"); ok {
			r.EventDataName = v.String()
		}
	}
	if ud := root.Child("UserData"); ud != nil && len(ud.Children) > 0 {
		r.UserData = ud.Children[0]
	}
	return r
}

func systemFields(sys *Element) System {
	var s System
	for _, c := range sys.Children {
		switch c.Name {
		case "Provider":
			s.ProviderName = attrString(c, "Name")
			s.ProviderGUID = guidString(attrValue(c, "Guid"))
			s.EventSourceName = attrString(c, "EventSourceName")
		case "EventID":
			s.EventID = uint32(uintOf(c.Value))
			if q, ok := c.Attr("Qualifiers"); ok {
				if n, ok := q.Uint(); ok {
					s.Qualifiers, s.HasQualifiers = uint16(n), true
				}
			}
		case "Version":
			s.Version = uint8(uintOf(c.Value))
		case "Level":
			s.Level = uint8(uintOf(c.Value))
		case "Task":
			s.Task = uint16(uintOf(c.Value))
		case "Opcode":
			if n, ok := c.Value.Uint(); ok {
				s.Opcode, s.HasOpcode = uint8(n), true
			}
		case "Keywords":
			s.Keywords = uintOf(c.Value)
		case "TimeCreated":
			if v, ok := c.Attr("SystemTime"); ok {
				s.TimeCreated = timeOf(v)
			}
		case "EventRecordID":
			s.EventRecordID = uintOf(c.Value)
		case "Correlation":
			s.ActivityID = guidString(attrValue(c, "ActivityID"))
			s.RelatedActivity = guidString(attrValue(c, "RelatedActivityID"))
		case "Execution":
			s.ProcessID = uint32(uintOf(attrValue(c, "ProcessID")))
			s.ThreadID = uint32(uintOf(attrValue(c, "ThreadID")))
		case "Channel":
			s.Channel = c.Value.String()
		case "Computer":
			s.Computer = c.Value.String()
		case "Security":
			s.UserID = attrString(c, "UserID")
		}
	}
	return s
}

func attrValue(e *Element, name string) Value {
	v, _ := e.Attr(name)
	return v
}

func attrString(e *Element, name string) string {
	v, _ := e.Attr(name)
	return v.String()
}

func uintOf(v Value) uint64 {
	n, _ := v.Uint()
	return n
}

// guidString renders GUID values, and GUIDs that templates carry as text,
// in the Windows form {UPPER-CASE}.
func guidString(v Value) string {
	if v.typ == TypeGUID || v.IsNull() {
		return v.s
	}
	s := v.String()
	if len(s) == 36 {
		s = "{" + s + "}"
	}
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		b := []byte(s)
		for i, c := range b {
			if c >= 'a' && c <= 'f' {
				b[i] = c - 'a' + 'A'
			}
		}
		return string(b)
	}
	return s
}

// timeOf returns FILETIME/SYSTEMTIME values, and parses ISO 8601 text.
func timeOf(v Value) time.Time {
	if t, ok := v.Time(); ok {
		return t
	}
	if v.typ == TypeString || v.typ == TypeAnsiString {
		if t, err := time.Parse(time.RFC3339Nano, v.s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func eventData(ed *Element) []Data {
	out := make([]Data, 0, len(ed.Children))
	for i, c := range ed.Children {
		name := c.Name
		if v, ok := c.Attr("Name"); ok && v.String() != "" {
			name = v.String()
		} else if name == "Data" {
			name = "param" + strconv.Itoa(i+1)
		}
		val := c.Value
		if val.IsNull() && len(c.Children) > 0 {
			// Data whose content is nested binary XML keeps it as XML.
			val = xmlValue(c.Children)
		}
		out = append(out, Data{Name: name, Value: val})
	}
	return out
}

// Get returns the EventData value with the given name.
func (r *Record) Get(name string) (Value, bool) {
	for _, d := range r.EventData {
		if d.Name == name {
			return d.Value, true
		}
	}
	return Value{}, false
}

// XML renders the whole event as XML text.
func (r *Record) XML() string {
	if r.Root == nil {
		return ""
	}
	return r.Root.XML()
}

package normalize

import (
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// winRecord is one Windows event log record (or Sysmon for Linux record)
// as every shipper shape reduces to it. windows.go maps it to a
// NormalizedEvent, so the meaning of an event never depends on the shipper.
type winRecord struct {
	src      Source
	platform schema.Platform
	channel  string // as spelled by the record
	provider string
	eventID  int
	recordID uint64
	computer string
	tenant   string // tenant named by the record itself

	// Time. utc is an event time known to be UTC; local is a wall-clock
	// time in the shipper's (unknown) zone; ingest is a UTC ingestion
	// time that is seconds-to-minutes late (NXLog's @timestamp).
	utc, local, ingest          float64
	hasUTC, hasLocal, hasIngest bool

	// Event data: a JSON object (possibly the whole flattened record, with
	// envelope keys mixed in) or name/value pairs from XML. The object's
	// fields are indexed once (index) so that each lookup is one pass over
	// a slice and "mapped" is a bit per field, not a list search.
	obj      *fastjson.Object
	kvs      []kv
	envelope func(key string, v *fastjson.Value) bool // envelope keys of a flattened obj
	msgVal   *fastjson.Value                          // rendered message, when the shape has one (copied on use)
	raw      []byte                                   // the record as received (content hash)

	fields  []field
	indexed bool
	usedBit [4]uint64 // fields[i] / kvs[i] (i < 256) was mapped
}

var winPool = sync.Pool{New: func() any { return &winRecord{fields: make([]field, 0, 64)} }}

// newWinRecord takes a record from the pool: the field index is the
// largest per-record allocation and is reused.
func newWinRecord(src Source, platform schema.Platform, raw []byte) *winRecord {
	w := winPool.Get().(*winRecord)
	f := w.fields[:0]
	*w = winRecord{src: src, platform: platform, raw: raw, fields: f}
	return w
}

// release returns w to the pool; nothing may use it afterwards (events
// hold copies of every string).
func (w *winRecord) release() {
	clear(w.fields)
	f := w.fields[:0]
	if cap(f) > 1024 {
		f = nil
	}
	*w = winRecord{fields: f}
	winPool.Put(w)
}

// message returns the rendered message (copied out of the parser).
func (w *winRecord) message() string {
	if w.msgVal == nil || w.msgVal.Type() != fastjson.TypeString {
		return ""
	}
	b, _ := w.msgVal.StringBytes()
	return string(b)
}

// internStr returns a constant for common values (provider names), and a
// copy of v otherwise: v may be a view into the parser's buffer.
func internStr(v string) string {
	switch v {
	case "":
		return ""
	case "Microsoft-Windows-Sysmon":
		return "Microsoft-Windows-Sysmon"
	case "Microsoft-Windows-Security-Auditing":
		return "Microsoft-Windows-Security-Auditing"
	case "Microsoft-Windows-PowerShell":
		return "Microsoft-Windows-PowerShell"
	case "PowerShell":
		return "PowerShell"
	case "Service Control Manager":
		return "Service Control Manager"
	case "Microsoft-Windows-WMI-Activity":
		return "Microsoft-Windows-WMI-Activity"
	case "Microsoft-Windows-Eventlog":
		return "Microsoft-Windows-Eventlog"
	case "Linux-Sysmon":
		return "Linux-Sysmon"
	}
	return strings.Clone(v)
}

type field struct {
	k string // view into the parser's buffer
	v *fastjson.Value
}

const maxIndexed = 256

func (w *winRecord) index() {
	if w.indexed {
		return
	}
	w.indexed = true
	if w.obj == nil {
		return
	}
	w.fields = w.fields[:0]
	w.obj.Visit(func(k []byte, v *fastjson.Value) {
		w.fields = append(w.fields, field{b2s(k), v})
	})
}

type kv struct{ k, v string }

// get returns the event data field name as a string ("" when absent) and
// marks it as mapped, so it is left out of raw_event. Numbers are returned
// in their JSON spelling (NXLog writes some fields as numbers).
func (w *winRecord) get(name string) string {
	if w.obj != nil {
		w.index()
		for i := range w.fields {
			if w.fields[i].k == name {
				w.mark(i)
				return valueString(w.fields[i].v)
			}
		}
		return ""
	}
	for i := range w.kvs {
		if w.kvs[i].k == name {
			w.mark(i)
			return w.kvs[i].v
		}
	}
	return ""
}

func (w *winRecord) mark(i int) {
	if i < maxIndexed {
		w.usedBit[i>>6] |= 1 << (i & 63)
	}
}

func (w *winRecord) marked(i int) bool {
	return i < maxIndexed && w.usedBit[i>>6]&(1<<(i&63)) != 0
}

// valueString renders a scalar JSON value as a string (copying it out of
// the parser's buffer). Objects and arrays give "": no Windows event data
// field is structured, so such a value is the wrong type and is left for
// raw_event.
func valueString(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNumber:
		return string(v.MarshalTo(nil))
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	}
	return ""
}

// rawEvent renders the data fields the mapping did not use, without the
// shape's envelope keys and rendered message, as a JSON object.
func (w *winRecord) rawEvent() []byte {
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	buf = append(buf, '{')
	n := 0
	if w.obj != nil {
		w.index()
		for i, f := range w.fields {
			if w.marked(i) || w.envelope != nil && w.envelope(f.k, f.v) {
				continue
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			buf = appendString(buf, f.k)
			buf = append(buf, ':')
			buf = appendValue(buf, f.v, 0)
		}
	} else {
		for i, p := range w.kvs {
			if w.marked(i) {
				continue
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			buf = appendString(buf, p.k)
			buf = append(buf, ':')
			buf = appendString(buf, p.v)
		}
	}
	var out []byte
	if n > 0 {
		buf = append(buf, '}')
		out = append([]byte(nil), buf...)
	}
	*bp = buf
	bufPool.Put(bp)
	return out
}

// Canonical spellings of the channels Logster maps. Channel names vary in
// case between shippers (NXLog writes "security" in some recordings).
const (
	chSysmon      = "Microsoft-Windows-Sysmon/Operational"
	chSysmonLinux = "Linux-Sysmon/Operational"
	chSecurity    = "Security"
	chSystem      = "System"
	chPowerShell  = "Microsoft-Windows-PowerShell/Operational"
	chPSClassic   = "Windows PowerShell"
	chPSCore      = "PowerShellCore/Operational"
	chWMI         = "Microsoft-Windows-WMI-Activity/Operational"
)

var knownChannels = []string{chSysmon, chSysmonLinux, chSecurity, chSystem, chPowerShell, chPSClassic, chPSCore, chWMI}

// canonicalChannel returns the canonical spelling of a known channel, or
// the channel as spelled.
func canonicalChannel(ch string) string {
	for _, k := range knownChannels {
		if len(k) == len(ch) && strings.EqualFold(k, ch) {
			return k
		}
	}
	return strings.Clone(ch) // ch may be a view into the parser's buffer
}

// eventIDFrom reads an event id written as a number or a string.
func eventIDFrom(v *fastjson.Value) (int, bool) {
	if v == nil {
		return 0, false
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		n, err := v.Int()
		if err != nil || n < 0 || n > 1<<20 {
			return 0, false
		}
		return n, true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		n, ok := atoiSmall(b2s(b))
		return n, ok && n <= 1<<20
	}
	return 0, false
}

// recordIDFrom reads a record number written as a number or a string.
func recordIDFrom(v *fastjson.Value) (uint64, bool) {
	if v == nil {
		return 0, false
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		n, err := v.Uint64()
		return n, err == nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		n, err := strconv.ParseUint(strings.TrimSpace(b2s(b)), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// str returns a string field of an object ("" when absent or not a string).
func str(o *fastjson.Object, key string) string {
	if o == nil {
		return ""
	}
	v := o.Get(key)
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	b, _ := v.StringBytes()
	return string(b)
}

// strView is str without the copy; valid until the parser is reused.
func strView(o *fastjson.Object, key string) string {
	if o == nil {
		return ""
	}
	v := o.Get(key)
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	b, _ := v.StringBytes()
	return b2s(b)
}

// obj returns an object field ("nil" when absent or not an object).
func obj(o *fastjson.Object, key string) *fastjson.Object {
	if o == nil {
		return nil
	}
	v := o.Get(key)
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	r, _ := v.Object()
	return r
}

// tenantField reads the tenant a record names for itself: a top-level
// tenant_id, or Beats' custom fields (fields.tenant_id, labels.tenant_id).
func tenantField(o *fastjson.Object) string {
	if t := str(o, "tenant_id"); t != "" {
		return t
	}
	if t := str(obj(o, "fields"), "tenant_id"); t != "" {
		return t
	}
	return str(obj(o, "labels"), "tenant_id")
}

package normalize

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// Sysmon for Linux writes Windows-style event XML to syslog
// (<Event><System>...<EventData><Data Name="...">). Its event ids and field
// names are Sysmon's, so the records go through the same mapping as
// Windows Sysmon (windows.go), with platform linux.

// sysmonLinuxJSON reads the XML from a syslog wrapper (Azure Monitor's
// SyslogMessage, or a shipper's message field).
func (c *ctx) sysmonLinuxJSON(o *fastjson.Object) {
	msg := strView(o, "SyslogMessage")
	if msg == "" {
		msg = strView(o, "message")
	}
	if msg == "" {
		c.failErr(perr(SourceSysmonLinux, ReasonMissingField, "no message with Sysmon XML"))
		return
	}
	c.sysmonLinuxXML([]byte(msg), o)
}

func (c *ctx) sysmonLinuxXML(b []byte, wrapper *fastjson.Object) {
	src := SourceSysmonLinux
	// Syslog may prefix the XML with a header; the event starts at <Event.
	if i := bytes.Index(b, []byte("<Event")); i > 0 {
		b = b[i:]
	}
	x, truncated, err := decodeEventXML(b)
	if err != nil {
		c.failErr(perr(src, ReasonInvalidField, "Sysmon XML: %v", err))
		return
	}
	id, ok := atoiSmall(x.eventID)
	if !ok || x.channel == "" {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: lower(x.channel),
			Err: errf("Sysmon XML without a numeric EventID or a Channel")})
		return
	}
	w := newWinRecord(src, schema.PlatformLinux, b)
	w.channel, w.provider, w.eventID, w.computer, w.kvs = x.channel, x.provider, id, strings.TrimSpace(x.computer), x.data
	w.recordID, _ = recordIDFromString(x.recordID)
	if w.computer == "" && wrapper != nil {
		w.computer = wrapperHost(wrapper)
	}
	if wrapper != nil {
		w.tenant = str(wrapper, "tenant_id")
	}
	if t, _, ok := parseTimestamp(strings.TrimSpace(x.systemTime)); ok {
		w.utc, w.hasUTC = t, true
	}
	if truncated {
		// Syslog cuts messages (often at 2 KiB): the System block and the
		// leading Data fields survive and the event is still worth having.
		w.kvs = append(w.kvs, kv{"_truncated", "true"})
	}
	c.mapWindows(w)
}

func recordIDFromString(s string) (uint64, bool) {
	v, ok := parseIntAuto(s)
	if !ok || v < 0 {
		return 0, false
	}
	return uint64(v), true
}

// eventXML is what Logster reads from an <Event> document.
type eventXML struct {
	provider, eventID, systemTime, recordID, channel, computer string
	data                                                       []kv
}

// maxXMLTokens bounds the work spent on one document.
const maxXMLTokens = 100_000

// decodeEventXML reads an event with a token decoder rather than
// xml.Unmarshal so that a document cut short still yields what precedes
// the cut; truncated reports that. A document without the System block is
// an error.
func decodeEventXML(b []byte) (x eventXML, truncated bool, err error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	var path []string
	var text strings.Builder
	dataName := ""
	inData := false
	sawSystem := false
	for i := 0; i < maxXMLTokens; i++ {
		tok, terr := d.Token()
		if terr != nil {
			if errors.Is(terr, io.EOF) && len(path) == 0 && sawSystem {
				return x, false, nil
			}
			if sawSystem && x.eventID != "" {
				if inData && dataName != "" {
					x.data = append(x.data, kv{dataName, text.String()})
				}
				return x, true, nil
			}
			return x, false, terr
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			text.Reset()
			switch t.Name.Local {
			case "System":
				sawSystem = true
			case "Provider":
				x.provider = attr(t, "Name")
			case "TimeCreated":
				x.systemTime = attr(t, "SystemTime")
			case "Data":
				inData, dataName = true, attr(t, "Name")
			}
		case xml.CharData:
			if text.Len() < 1<<20 {
				text.Write(t)
			}
		case xml.EndElement:
			v := text.String()
			switch t.Name.Local {
			case "EventID":
				x.eventID = strings.TrimSpace(v)
			case "EventRecordID":
				x.recordID = strings.TrimSpace(v)
			case "Channel":
				x.channel = strings.TrimSpace(v)
			case "Computer":
				x.computer = strings.TrimSpace(v)
			case "Data":
				if dataName != "" {
					x.data = append(x.data, kv{dataName, v})
				}
				inData, dataName = false, ""
			}
			text.Reset()
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
			if t.Name.Local == "Event" && len(path) == 0 {
				return x, false, nil
			}
		}
	}
	return x, false, errf("more than %d XML tokens", maxXMLTokens)
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

package normalize

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/valyala/fastjson"
)

func errf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// run detects the record's shape (unless forced) and dispatches it.
func (c *ctx) run(forced Source) {
	defer c.release()
	b := bytes.TrimSpace(c.in.Value)
	if len(b) == 0 {
		c.n.m.raw(SourceUnknown)
		c.failErr(perr(SourceUnknown, ReasonMissingField, "empty record"))
		return
	}
	switch forced {
	case SourceAuto:
	case SourceAuditd:
		if b[0] != '{' {
			c.n.m.raw(SourceAuditd)
			c.auditText(SourceAuditd, b, "")
			return
		}
	case SourceSysmonLinux:
		if b[0] == '<' {
			c.n.m.raw(SourceSysmonLinux)
			c.sysmonLinuxXML(b, nil)
			return
		}
	}
	switch b[0] {
	case '{':
		c.jsonRecord(forced, b)
	case '<':
		if forced != SourceAuto && forced != SourceSysmonLinux {
			c.n.m.raw(forced)
			c.failErr(perr(forced, ReasonUnknownFormat, "XML record is not %s", forced))
			return
		}
		c.n.m.raw(SourceSysmonLinux)
		c.sysmonLinuxXML(b, nil)
	default:
		if looksLikeAudit(b) && (forced == SourceAuto || forced == SourceAuditd || forced == SourceAUOMS) {
			src := SourceAuditd
			if bytes.HasPrefix(b, []byte("type=AUOMS_")) {
				src = SourceAUOMS
			}
			c.n.m.raw(src)
			c.auditText(src, b, "")
			return
		}
		src := forced
		if src == SourceAuto {
			src = SourceUnknown
		}
		c.n.m.raw(src)
		c.failErr(perr(src, ReasonUnknownFormat, "record is neither JSON, XML nor audit text (starts with %q)", truncate(string(b[:min(len(b), 16)]), 16)))
	}
}

// looksLikeAudit reports whether b starts like a Linux audit line
// ("type=SYSCALL msg=audit(...)", optionally "node=host type=...").
func looksLikeAudit(b []byte) bool {
	return bytes.HasPrefix(b, []byte("type=")) || bytes.HasPrefix(b, []byte("node="))
}

// jsonRecord parses a JSON record and dispatches on its shape.
func (c *ctx) jsonRecord(forced Source, b []byte) {
	v, err := c.parser().ParseBytes(b)
	if err != nil {
		src := forced
		if src == SourceAuto {
			src = SourceUnknown
		}
		c.n.m.raw(src)
		c.failErr(perr(src, ReasonInvalidJSON, "parse JSON: %v", err))
		return
	}
	o, err := v.Object()
	if err != nil {
		src := forced
		if src == SourceAuto {
			src = SourceUnknown
		}
		c.n.m.raw(src)
		c.failErr(perr(src, ReasonInvalidJSON, "record is a JSON %s, not an object", v.Type()))
		return
	}
	src := forced
	if src == SourceAuto {
		src = detectJSON(o)
	}
	c.n.m.raw(src)
	switch src {
	case SourceWinlogbeat, SourceEVTX:
		c.winlogbeat(src, o, b)
	case SourceWinlogbeat6:
		c.winlogbeat6(o, b)
	case SourceNXLog:
		c.nxlog(o, b)
	case SourceWindowsFlat:
		c.windowsFlat(o, b)
	case SourceSentinel:
		c.sentinel(o, b)
	case SourceAuditd:
		c.auditJSON(o)
	case SourceAUOMS:
		c.auomsJSON(o)
	case SourceAuditbeat:
		c.auditbeat(o, b)
	case SourceTetragon:
		c.tetragon(o, b)
	case SourceLogsterEBPF:
		c.logsterEBPF(o, b)
	case SourceSysmonLinux:
		c.sysmonLinuxJSON(o)
	default:
		c.failErr(perr(SourceUnknown, ReasonUnknownFormat, "JSON record matches no known shape"))
	}
}

// tetragonKinds are the top-level keys of Tetragon's JSON export
// (GetEventsResponse oneof names).
var tetragonKinds = []string{
	"process_exec", "process_exit", "process_kprobe", "process_tracepoint",
	"process_uprobe", "process_lsm", "process_loader", "process_throttle", "rate_limit_info",
}

// detectJSON names the shape of a JSON record. The checks are ordered
// from the most specific marker to the weakest; each is a key lookup.
func detectJSON(o *fastjson.Object) Source {
	// One pass over the top-level keys; Object.Get per marker would scan
	// the (often 40-key) object a dozen times.
	var (
		winlog, auditd, tetra, eventData, computerName, logName    bool
		eventID, channel, evData, computer, eventTime, timeCreated bool
		schemaV, syslogMsg, message                                *fastjson.Value
	)
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) {
		case "winlog":
			winlog = v.Type() == fastjson.TypeObject
		case "auditd":
			auditd = v.Type() == fastjson.TypeObject
		case "schema":
			schemaV = v
		case "process_exec", "process_exit", "process_kprobe", "process_tracepoint",
			"process_uprobe", "process_lsm", "process_loader", "process_throttle", "rate_limit_info":
			tetra = tetra || v.Type() == fastjson.TypeObject
		case "event_data":
			eventData = true
		case "computer_name":
			computerName = true
		case "log_name":
			logName = true
		case "SyslogMessage":
			syslogMsg = v
		case "EventID":
			eventID = true
		case "Channel":
			channel = true
		case "EventData":
			evData = true
		case "Computer":
			computer = true
		case "EventTime":
			eventTime = true
		case "TimeCreated":
			timeCreated = true
		case "message":
			message = v
		}
	})
	switch {
	case winlog:
		return SourceWinlogbeat
	case auditd:
		return SourceAuditbeat
	case strView1(schemaV) == ebpfSchemaV1:
		return SourceLogsterEBPF
	case tetra:
		return SourceTetragon
	case eventData || computerName && logName:
		return SourceWinlogbeat6
	}
	if sm := strView1(syslogMsg); sm != "" {
		return syslogPayload(sm)
	}
	if eventID && channel {
		switch {
		case evData && computer:
			return SourceSentinel
		case eventTime:
			return SourceNXLog
		case timeCreated:
			return SourceWindowsFlat
		}
	}
	if m := strView1(message); m != "" {
		switch p := syslogPayload(m); p {
		case SourceAuditd, SourceAUOMS, SourceSysmonLinux:
			return p
		}
	}
	return SourceUnknown
}

// syslogPayload names the format of a syslog message body.
func syslogPayload(m string) Source {
	switch {
	case len(m) >= 11 && m[:11] == "type=AUOMS_":
		return SourceAUOMS
	case len(m) >= 5 && (m[:5] == "type=" || m[:5] == "node="):
		return SourceAuditd
	case len(m) >= 6 && m[:6] == "<Event":
		return SourceSysmonLinux
	}
	return SourceUnknown
}

// Route names the raw topic a record belongs on and a partitioning key
// (its host, so one host's lines stay in order on one partition): Windows
// shapes go to sysmon-logs, auditd-family records to linux-auditd-logs,
// eBPF records to the process, file or network topic by their kind. ok is
// false when the record matches no known shape.
func (n *Normalizer) Route(data []byte, evtx bool) (topic, key string, ok bool) {
	b := bytes.TrimSpace(data)
	if len(b) == 0 {
		return "", "", false
	}
	if evtx {
		return topicSysmon, "", true
	}
	switch b[0] {
	case '<':
		return topicEBPFProcess, "", true
	case '{':
	default:
		if looksLikeAudit(b) {
			key := ""
			if bytes.HasPrefix(b, []byte("node=")) {
				if sp := bytes.IndexByte(b, ' '); sp > 5 {
					key = string(b[5:sp])
				}
			}
			return topicAuditd, key, true
		}
		return "", "", false
	}
	p := n.parsers.Get()
	defer n.parsers.Put(p)
	v, err := p.ParseBytes(b)
	if err != nil {
		return "", "", false
	}
	o, err := v.Object()
	if err != nil {
		return "", "", false
	}
	switch src := detectJSON(o); src {
	case SourceWinlogbeat:
		return topicSysmon, str(obj(o, "winlog"), "computer_name"), true
	case SourceWinlogbeat6:
		return topicSysmon, str(o, "computer_name"), true
	case SourceNXLog, SourceWindowsFlat:
		return topicSysmon, str(o, "Hostname"), true
	case SourceSentinel:
		return topicSysmon, str(o, "Computer"), true
	case SourceAuditd, SourceAUOMS, SourceAuditbeat:
		return topicAuditd, wrapperHost(o), true
	case SourceSysmonLinux:
		return topicEBPFProcess, wrapperHost(o), true
	case SourceLogsterEBPF:
		return EBPFKindTopic(str(o, "kind")), str(o, "host"), true
	case SourceTetragon:
		host := str(o, "node_name")
		for _, k := range []string{"process_kprobe", "process_lsm", "process_tracepoint"} {
			if ko := obj(o, k); ko != nil {
				hook := str(ko, "function_name")
				switch {
				case strings.Contains(hook, "tcp_") || strings.Contains(hook, "sock") || strings.Contains(hook, "connect") || strings.Contains(hook, "accept") || strings.Contains(hook, "udp_"):
					return topicEBPFNetwork, host, true
				case strings.Contains(hook, "file") || strings.Contains(hook, "path_") || strings.Contains(hook, "inode") || strings.Contains(hook, "open") || strings.Contains(hook, "unlink") || strings.Contains(hook, "rename") || strings.Contains(hook, "write") || strings.Contains(hook, "read") || hook == "fd_install":
					return topicEBPFFile, host, true
				}
			}
		}
		return topicEBPFProcess, host, true
	}
	return "", "", false
}

// Raw topic names (kept in step with internal/bus by a test; duplicated so
// the parsers do not depend on the Kafka client).
const (
	topicSysmon      = "sysmon-logs"
	topicAuditd      = "linux-auditd-logs"
	topicEBPFProcess = "linux-ebpf-process-logs"
	topicEBPFFile    = "linux-ebpf-file-logs"
	topicEBPFNetwork = "linux-ebpf-network-logs"
)

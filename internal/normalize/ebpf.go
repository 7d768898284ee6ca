package normalize

import (
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// ebpfSchemaV1 marks Logster's eBPF JSON schema for custom agents
// (docs/ebpf-schema.md).
const ebpfSchemaV1 = "logster.ebpf/v1"

// EBPFKindTopic returns the raw topic a Logster eBPF record of kind belongs
// on (replay and agents use it).
func EBPFKindTopic(kind string) string {
	switch kind {
	case "file":
		return topicEBPFFile
	case "connect", "accept":
		return topicEBPFNetwork
	}
	return topicEBPFProcess
}

// logsterEBPF reads one record of the Logster eBPF schema.
func (c *ctx) logsterEBPF(o *fastjson.Object, raw []byte) {
	src := SourceLogsterEBPF
	kind := str(o, "kind")
	endpoint, fqdn, ok := canonicalHost(str(o, "host"))
	if !ok {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: kind, Err: errf("host missing or unusable")})
		return
	}
	ts, ok := ebpfTime(o.Get("time"))
	if !ok {
		c.failErr(&ParseError{Reason: ReasonBadTimestamp, Source: src, Channel: kind, Err: errf("time missing or not RFC 3339 / epoch seconds")})
		return
	}
	ev := &schema.NormalizedEvent{EndpointID: endpoint, Hostname: endpoint, Platform: schema.PlatformLinux,
		Source: string(src), Timestamp: roundMicros(ts)}
	d := &ev.Data
	d.Channel, d.FQDN = kind, fqdn
	p, err := ebpfProcess(obj(o, "process"), endpoint)
	if err != nil {
		c.failErr(&ParseError{Reason: ReasonInvalidField, Source: src, Channel: kind, Err: err})
		return
	}
	if p == nil {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: kind, Err: errf("process missing")})
		return
	}
	d.Process = p
	if par, err := ebpfProcess(obj(o, "parent"), endpoint); err == nil && par != nil {
		d.Parent = par
	} else if ppid, ok := intField(obj(o, "process"), "ppid"); ok && ppid > 0 {
		d.Parent = &schema.Process{PID: ppid, GUID: derivedGUID("ebpf", endpoint, strconv.FormatInt(ppid, 10), "")}
	}
	switch kind {
	case "exec":
		ev.EventType = schema.EventProcessCreate
	case "exit":
		ev.EventType = schema.EventProcessTerminate
		if code, ok := intField(obj(o, "process"), "exit_code"); ok {
			p.ExitCode = &code
		}
	case "file":
		f := obj(o, "file")
		path := str(f, "path")
		if path == "" {
			c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: kind, Err: errf("file.path missing")})
			return
		}
		d.File = &schema.File{Path: path, PreviousPath: str(f, "old_path"), Mode: str(f, "mode")}
		switch op := str(f, "op"); op {
		case "read", "open":
			ev.EventType = schema.EventFileRead
		case "write", "truncate", "chmod", "chown":
			ev.EventType = schema.EventFileWrite
		case "create", "rename":
			ev.EventType = schema.EventFileCreate
		case "delete", "unlink":
			ev.EventType = schema.EventFileDelete
		default:
			c.failErr(&ParseError{Reason: ReasonUnknownType, Source: src, Channel: kind, Err: errf("file.op %q is not mapped", truncate(op, 32))})
			return
		}
	case "connect", "accept":
		nt := obj(o, "net")
		if nt == nil {
			c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: kind, Err: errf("net missing")})
			return
		}
		n := &schema.Network{Protocol: strings.ToLower(str(nt, "proto")), SrcIP: str(nt, "src_ip"), DstIP: str(nt, "dst_ip")}
		sp, _ := intField(nt, "src_port")
		dp, _ := intField(nt, "dst_port")
		n.SrcPort, n.DstPort = int(sp), int(dp)
		d.Network = n
		if kind == "connect" {
			n.Direction = "outbound"
			ev.EventType = schema.EventNetworkConnect
		} else {
			n.Direction = "inbound"
			ev.EventType = schema.EventNetworkAccept
		}
	case "syscall":
		so := obj(o, "syscall")
		s := &schema.Syscall{Name: str(so, "name")}
		if s.Name == "" {
			c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: kind, Err: errf("syscall.name missing")})
			return
		}
		if nr, ok := intField(so, "nr"); ok {
			s.Number = int(nr)
		}
		if ret, ok := intField(so, "ret"); ok {
			s.Exit = &ret
			ok := ret >= 0
			s.Success = &ok
		}
		for _, a := range arrayField(so, "args") {
			if b, err := a.StringBytes(); err == nil {
				s.Args = append(s.Args, string(b))
			}
		}
		d.Syscall = s
		ev.EventType = schema.EventSyscall
	default:
		c.failErr(&ParseError{Reason: ReasonUnknownType, Source: src, Channel: kind, Err: errf("kind %q is not mapped", truncate(kind, 32))})
		return
	}
	tenant, ok := c.n.tenantFor(str(o, "tenant_id"), endpoint, fqdn, c.in.Topic)
	if !ok {
		c.failErr(&ParseError{Reason: ReasonInvalidField, Source: src, Channel: kind, Err: errf("tenant_id is not a usable tenant")})
		return
	}
	ev.TenantID = tenant
	if id := str(o, "id"); id != "" {
		ev.EventID = schema.EventID(tenant, endpoint, string(src), id)
	} else {
		ev.EventID = contentID(tenant, endpoint, src, raw)
	}
	ev.RawEvent = ebpfRaw(o)
	c.ok(ev)
}

// ebpfTime accepts RFC 3339 text or epoch seconds.
func ebpfTime(v *fastjson.Value) (float64, bool) {
	if v == nil {
		return 0, false
	}
	var t float64
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil {
			return 0, false
		}
		t = f
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		var ok bool
		if t, _, ok = parseTimestamp(b2s(b)); !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	return t, validEpoch(t)
}

func intField(o *fastjson.Object, k string) (int64, bool) {
	if o == nil {
		return 0, false
	}
	v := o.Get(k)
	if v == nil {
		return 0, false
	}
	return numberOrString(v)
}

func arrayField(o *fastjson.Object, k string) []*fastjson.Value {
	if o == nil {
		return nil
	}
	v := o.Get(k)
	if v == nil || v.Type() != fastjson.TypeArray {
		return nil
	}
	a, _ := v.Array()
	return a
}

// ebpfProcess reads a process object. Its GUID is the agent's "guid" when
// given, else derived from (host, pid, start_time): a pid plus its start
// time identifies one process instance.
func ebpfProcess(p *fastjson.Object, endpoint string) (*schema.Process, error) {
	if p == nil {
		return nil, nil
	}
	pid, ok := intField(p, "pid")
	if !ok || pid <= 0 {
		return nil, errf("process.pid missing or not a positive integer")
	}
	out := &schema.Process{PID: pid, Image: str(p, "exe"), CurrentDirectory: str(p, "cwd"), User: str(p, "user")}
	if uid, ok := intField(p, "uid"); ok {
		out.UID = strconv.FormatInt(uid, 10)
	}
	var args []string
	for _, a := range arrayField(p, "args") {
		if b, err := a.StringBytes(); err == nil {
			args = append(args, string(b))
		}
	}
	out.CommandLine = strings.Join(args, " ")
	start := ""
	if st, ok := ebpfTime(p.Get("start_time")); ok {
		out.StartTime = roundMicros(st)
		start = strconv.FormatFloat(out.StartTime, 'f', 6, 64)
	}
	if g := str(p, "guid"); g != "" {
		out.GUID = g
	} else {
		out.GUID = derivedGUID("ebpf", endpoint, strconv.FormatInt(pid, 10), start)
	}
	return out, nil
}

// ebpfRaw keeps the fields outside the schema (agent extensions).
func ebpfRaw(o *fastjson.Object) []byte {
	buf := make([]byte, 0, 64)
	buf = append(buf, '{')
	n := 0
	o.Visit(func(key []byte, v *fastjson.Value) {
		switch string(key) {
		case "schema", "kind", "time", "host", "tenant_id", "id", "process", "parent", "file", "net", "syscall":
			return
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		buf = appendStringBytes(buf, key)
		buf = append(buf, ':')
		buf = appendValue(buf, v, 0)
	})
	if n == 0 {
		return nil
	}
	return append(buf, '}')
}

package normalize

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// Linux audit (auditd) records. One kernel event is several lines (SYSCALL,
// EXECVE, CWD, PATH..., PROCTITLE, EOE) sharing the serial number in
// msg=audit(<seconds>.<millis>:<serial>). Lines are grouped by (node,
// serial): within one raw record always, and across records by an
// AuditAssembler (assembler.go) when the shipper sends one line per record.
// The same lines may arrive bare (audit.log), with a node= prefix, or in a
// shipper's JSON ("message" field, e.g. Filebeat, Fluent Bit, Vector).

// auditRecord is one audit line.
type auditRecord struct {
	typ    string
	fields []kv // values as written, quotes removed; see auditValue
	quoted []bool
}

func (r *auditRecord) get(k string) (string, bool) {
	for i := range r.fields {
		if r.fields[i].k == k {
			return r.fields[i].v, r.quoted[i]
		}
	}
	return "", false
}

// str returns field k decoded: quoted values are literal, hex-encoded
// values (how auditd writes untrusted strings with spaces or odd bytes) are
// decoded, "(null)" and "?" mean absent.
func (r *auditRecord) str(k string) string {
	v, q := r.get(k)
	return auditValue(k, v, q)
}

// encodedFields are the fields auditd writes hex-encoded when their value
// has spaces, quotes or control characters (audit_log_untrustedstring).
// Other unquoted values are numbers or words and are never decoded:
// "1000" is a uid, not the bytes 0x10 0x00.
var encodedFields = map[string]bool{
	"comm": true, "exe": true, "cwd": true, "name": true, "proctitle": true, "key": true, "cmd": true,
	"acct": true, "path": true, "old": true, "new": true, "data": true, "cgroup": true, "dir": true,
}

func isEncodedField(k string) bool {
	if encodedFields[k] {
		return true
	}
	// EXECVE arguments: a0, a1, ..., and chunks a1[0], a1[1], ...
	if len(k) >= 2 && k[0] == 'a' && k[1] >= '0' && k[1] <= '9' {
		return true
	}
	return false
}

func auditValue(k, v string, quoted bool) string {
	if quoted {
		return v
	}
	switch v {
	case "(null)", "?", "(none)":
		return ""
	}
	if isHexString(v) && isEncodedField(k) {
		if b, err := hex.DecodeString(v); err == nil {
			return nulsToSpaces(b)
		}
	}
	return v
}

func isHexString(s string) bool {
	if len(s) < 2 || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// nulsToSpaces turns PROCTITLE's NUL-separated argv into one line.
func nulsToSpaces(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	for i := range b {
		if b[i] == 0 {
			b[i] = ' '
		}
	}
	return string(b)
}

// auditEvent is the records of one event.
type auditEvent struct {
	src     Source
	node    string // host from node= or the wrapper
	tenant  string
	tsText  string // "1604994496.155"
	ts      float64
	serial  uint64
	records []auditRecord
	eoe     bool
	sock    *sockAddr // pre-decoded socket address (Auditbeat)
	// assembled: grouped across records by the AuditAssembler
	assembled bool
}

func (e *auditEvent) rec(typ string) *auditRecord {
	for i := range e.records {
		if e.records[i].typ == typ {
			return &e.records[i]
		}
	}
	return nil
}

// parseAuditLine parses "[node=N ]type=T msg=audit(S.MS:SERIAL): k=v ...".
// Enriched logs (log_format=ENRICHED) append "\x1dNAME=value ..." with
// resolved names; those fields are kept with upper-case keys.
func parseAuditLine(line string) (node string, rec auditRecord, tsText string, serial uint64, err error) {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "node=") {
		sp := strings.IndexByte(line, ' ')
		if sp < 0 {
			return "", rec, "", 0, errf("audit line has nothing after node=")
		}
		node = line[5:sp]
		line = strings.TrimLeft(line[sp:], " ")
	}
	if !strings.HasPrefix(line, "type=") {
		return "", rec, "", 0, errf("audit line does not start with type=")
	}
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		return "", rec, "", 0, errf("audit line has no msg=audit(...)")
	}
	rec.typ = line[5:sp]
	rest := strings.TrimLeft(line[sp:], " ")
	// "msg=audit(" for auditd, "audit(" for AUOMS syslog messages.
	rest = strings.TrimPrefix(rest, "msg=")
	if !strings.HasPrefix(rest, "audit(") {
		return "", rec, "", 0, errf("audit line has no audit(...) header")
	}
	end := strings.IndexByte(rest, ')')
	if end < 0 {
		return "", rec, "", 0, errf("audit header not closed")
	}
	hdr := rest[6:end]
	colon := strings.LastIndexByte(hdr, ':')
	if colon < 0 {
		return "", rec, "", 0, errf("audit header %q has no serial", truncate(hdr, 40))
	}
	tsText = hdr[:colon]
	serial, perr := strconv.ParseUint(hdr[colon+1:], 10, 64)
	if perr != nil {
		return "", rec, "", 0, errf("audit serial %q: %w", truncate(hdr[colon+1:], 24), perr)
	}
	body := rest[end+1:]
	body = strings.TrimPrefix(body, ":")
	var enriched string
	if i := strings.IndexByte(body, 0x1d); i >= 0 {
		body, enriched = body[:i], body[i+1:]
	}
	rec.fields, rec.quoted = parseKV(body, rec.fields[:0], rec.quoted[:0], rec.typ)
	if enriched != "" {
		rec.fields, rec.quoted = parseKV(enriched, rec.fields, rec.quoted, "")
	}
	return node, rec, tsText, serial, nil
}

// parseKV splits "k=v k2="quoted v" k3='nested k=v'" into pairs. Values
// are not unescaped (audit never escapes inside quotes). A msg='...' field
// (user-space records) is flattened into the list. AUOMS writes a few
// values unquoted with spaces (proctitle) or with unescaped inner quotes
// (cmdline); for those types the value runs to the next " redactors=".
func parseKV(s string, fields []kv, quoted []bool, typ string) ([]kv, []bool) {
	auoms := strings.HasPrefix(typ, "AUOMS_")
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			break
		}
		key := s[:eq]
		if sp := strings.IndexByte(key, ' '); sp >= 0 {
			// a bare word without '=': skip it
			s = s[sp+1:]
			continue
		}
		s = s[eq+1:]
		var val string
		q := false
		if auoms && (key == "proctitle" || key == "cmdline") {
			if i := strings.Index(s, " redactors="); i >= 0 {
				val, s = s[:i], s[i:]
			} else {
				val, s = s, ""
			}
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			q = true
			fields = append(fields, kv{key, val})
			quoted = append(quoted, q)
			continue
		}
		switch {
		case len(s) > 0 && s[0] == '"':
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:1+end], s[2+end:]
			}
			q = true
		case len(s) > 0 && s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			inner := ""
			if end < 0 {
				inner, s = s[1:], ""
			} else {
				inner, s = s[1:1+end], s[2+end:]
			}
			if key == "msg" {
				fields, quoted = parseKV(inner, fields, quoted, "")
				continue
			}
			val, q = inner, true
		case len(s) > 0 && s[0] == '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				val, s = s, ""
			} else {
				val, s = s[:end+1], s[end+1:]
			}
			q = true
		default:
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				val, s = s, ""
			} else {
				val, s = s[:end], s[end:]
			}
		}
		fields = append(fields, kv{key, val})
		quoted = append(quoted, q)
	}
	return fields, quoted
}

// auditText handles a record holding one or more audit lines.
func (c *ctx) auditText(src Source, b []byte, wrapperHost string) {
	c.auditLines(src, b, wrapperHost, "")
}

// auditJSON handles audit lines wrapped in a shipper's JSON: the lines in
// "message" (Filebeat, Fluent Bit, Vector), the host in host.name /
// hostname / host.
func (c *ctx) auditJSON(o *fastjson.Object) {
	msg := strView(o, "message")
	if msg == "" {
		msg = strView(o, "SyslogMessage")
	}
	if msg == "" {
		c.failErr(perr(SourceAuditd, ReasonMissingField, "no message with audit lines"))
		return
	}
	c.auditLines(SourceAuditd, []byte(msg), wrapperHost(o), tenantField(o))
}

// wrapperHost finds the host a shipper's JSON names.
func wrapperHost(o *fastjson.Object) string {
	if h := str(obj(o, "host"), "name"); h != "" {
		return h
	}
	if h := str(obj(o, "host"), "hostname"); h != "" {
		return h
	}
	for _, k := range []string{"hostname", "host", "HostName", "Computer"} {
		if h := str(o, k); h != "" {
			return h
		}
	}
	return ""
}

// auditLines splits text into lines, groups them and emits the events.
func (c *ctx) auditLines(src Source, b []byte, wrapperHost, tenant string) {
	host := wrapperHost
	var local []*auditEvent // grouping within this record (no assembler)
	replay := false
	if c.in.Audit != nil {
		var again []*auditEvent
		replay, again = c.in.Audit.begin(c.in.Topic, c.in.Partition, c.in.kafkaOffset())
		for _, ev := range again {
			c.auditEvent(ev)
		}
	}
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		node, rec, tsText, serial, err := parseAuditLine(string(line))
		if err != nil {
			c.failErr(&ParseError{Reason: ReasonInvalidField, Source: src, Err: err})
			continue
		}
		if node == "" {
			node = host
		}
		if node == "" {
			node = c.hostFallback()
		}
		lsrc := src
		if strings.HasPrefix(rec.typ, "AUOMS_") {
			lsrc = SourceAUOMS
		}
		if c.in.Audit != nil {
			for _, ev := range c.in.Audit.add(lsrc, node, tenant, tsText, serial, rec, c.in.Partition, c.in.Topic, c.in.kafkaOffset(), replay) {
				c.auditEvent(ev)
			}
			continue
		}
		var ev *auditEvent
		for _, e := range local {
			if e.serial == serial && e.node == node && e.tsText == tsText {
				ev = e
				break
			}
		}
		if ev == nil {
			if len(local) >= maxLocalGroups {
				// A record holding thousands of interleaved events:
				// emit the oldest rather than grow.
				c.auditEvent(local[0])
				local = local[1:]
			}
			ev = &auditEvent{src: lsrc, node: node, tenant: tenant, tsText: tsText, serial: serial}
			local = append(local, ev)
		}
		if rec.typ == "EOE" {
			ev.eoe = true
			continue
		}
		ev.records = append(ev.records, rec)
	}
	for _, e := range local {
		c.auditEvent(e)
	}
}

const maxLocalGroups = 4096

// hostFallback names the host for audit lines without node=: the input's
// host hint (offline --host), else the Kafka record key when it is a usable
// host name (shippers key raw topics by host).
func (c *ctx) hostFallback() string {
	if c.in.HostHint != "" {
		return c.in.HostHint
	}
	if k := string(c.in.Key); k != "" {
		if _, _, ok := canonicalHost(k); ok {
			return k
		}
	}
	return ""
}

// auditEvent maps one grouped audit event.
func (c *ctx) auditEvent(e *auditEvent) {
	if len(e.records) == 0 {
		return // an EOE alone: its event was emitted already
	}
	chKey := e.records[0].typ
	endpoint, fqdn, ok := canonicalHost(e.node)
	if !ok {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: e.src, Channel: chKey,
			Err: errf("audit event %d names no host (no node=, no shipper host, no --host)", e.serial)})
		return
	}
	ts, err := strconv.ParseFloat(e.tsText, 64)
	if err != nil || !validEpoch(ts) {
		c.failErr(&ParseError{Reason: ReasonBadTimestamp, Source: e.src, Channel: chKey,
			Err: errf("audit time %q", truncate(e.tsText, 32))})
		return
	}
	ev := &schema.NormalizedEvent{EndpointID: endpoint, Hostname: endpoint, Platform: schema.PlatformLinux,
		Source: string(e.src), Timestamp: roundMicros(ts)}
	ev.Data.FQDN = fqdn
	ev.Data.RecordID = e.serial
	et, reason, err := mapAudit(e, ev)
	if err != nil {
		c.failErr(&ParseError{Reason: reason, Source: e.src, Channel: ev.Data.Channel, Err: err})
		return
	}
	ev.EventType = et
	tenant, ok := c.n.tenantFor(e.tenant, endpoint, fqdn, c.in.Topic)
	if !ok {
		c.failErr(&ParseError{Reason: ReasonInvalidField, Source: e.src, Channel: ev.Data.Channel,
			Err: errf("tenant_id %q is not a usable tenant", truncate(e.tenant, 64))})
		return
	}
	ev.TenantID = tenant
	// Raw auditd and AUOMS copies of one kernel event share host, serial and
	// time, hence the event id.
	ev.EventID = schema.EventID(tenant, endpoint, "audit", strconv.FormatUint(e.serial, 10), e.tsText)
	ev.RawEvent = auditRaw(e)
	c.ok(ev)
}

// auditMapped lists, per record type, the fields mapAudit uses; the rest
// go to raw_event.
var auditMapped = map[string]map[string]bool{
	"SYSCALL":   set("arch", "syscall", "success", "exit", "ppid", "pid", "auid", "uid", "ses", "comm", "exe", "key", "items", "SYSCALL", "AUID", "UID"),
	"EXECVE":    nil, // all mapped (argv)
	"PROCTITLE": nil,
	"CWD":       nil,
	"SOCKADDR":  nil,
	"PATH":      set("item", "name", "nametype", "mode", "ouid"),
}

var auomsMapped = set("arch", "syscall", "syscall_r", "success", "exit", "ppid", "pid", "auid", "uid", "ses", "comm",
	"exe", "key", "user", "cwd", "cmdline", "proctitle", "path_name", "path_nametype", "path_mode", "audit_user")

func set(ks ...string) map[string]bool {
	m := make(map[string]bool, len(ks))
	for _, k := range ks {
		m[k] = true
	}
	return m
}

func auditRaw(e *auditEvent) []byte {
	buf := make([]byte, 0, 256)
	buf = append(buf, '{')
	n := 0
	for i := range e.records {
		r := &e.records[i]
		mapped, known := auditMapped[r.typ]
		if strings.HasPrefix(r.typ, "AUOMS_") {
			mapped, known = auomsMapped, true
		}
		if known && mapped == nil {
			continue
		}
		m := 0
		for j, f := range r.fields {
			if mapped[f.k] {
				continue
			}
			if m == 0 {
				if n > 0 {
					buf = append(buf, ',')
				}
				n++
				buf = appendString(buf, r.typ+"#"+strconv.Itoa(i))
				buf = append(buf, ':', '{')
			} else {
				buf = append(buf, ',')
			}
			m++
			buf = appendString(buf, f.k)
			buf = append(buf, ':')
			buf = appendString(buf, auditValue(f.k, f.v, r.quoted[j]))
		}
		if m > 0 {
			buf = append(buf, '}')
		}
	}
	if n == 0 {
		return nil
	}
	return append(buf, '}')
}

// mapAudit maps the records of one audit event.
func mapAudit(e *auditEvent, ev *schema.NormalizedEvent) (schema.EventType, Reason, error) {
	d := &ev.Data
	sc := e.rec("SYSCALL")
	if sc == nil {
		for i := range e.records {
			if strings.HasPrefix(e.records[i].typ, "AUOMS_") {
				sc = &e.records[i]
				break
			}
		}
	}
	if sc == nil {
		first := e.records[0].typ
		d.Channel = first
		if et, ok := userAuditEvent(e, ev); ok {
			return et, "", nil
		}
		if isKernelAux(first) && e.assembled {
			return "", ReasonPartialEvent, errf("audit event %d has %s records but no SYSCALL record (its head was read before this run or this partition's owner)", e.serial, first)
		}
		if isKernelAux(first) {
			return "", ReasonMissingField, errf("audit event %d has %s records but no SYSCALL record (lines lost or split across records)", e.serial, first)
		}
		return "", ReasonUnknownType, errf("audit record type %s is not mapped", first)
	}
	d.Channel = sc.typ
	auoms := strings.HasPrefix(sc.typ, "AUOMS_")
	arch := sc.str("arch")
	name := sc.str("SYSCALL") // enriched
	num := -1
	if v, ok := atoiSmall(sc.str("syscall")); ok {
		num = v
	} else if name == "" {
		name = sc.str("syscall") // AUOMS writes the name
	}
	if v, ok := atoiSmall(sc.str("syscall_r")); ok && num < 0 {
		num = v
	}
	if name == "" && num >= 0 {
		name = syscallName(arch, num)
	}
	s := &schema.Syscall{Name: name, Arch: archName(arch), AUID: auditID(sc.str("auid")), Key: sc.str("key"), Comm: sc.str("comm")}
	if num >= 0 {
		s.Number = num
	}
	switch sc.str("success") {
	case "yes":
		t := true
		s.Success = &t
		d.Outcome = "success"
	case "no":
		f := false
		s.Success = &f
		d.Outcome = "failure"
	}
	if x, err := strconv.ParseInt(sc.str("exit"), 10, 64); err == nil {
		s.Exit = &x
	}
	d.Syscall = s

	host := ev.EndpointID
	ses := sc.str("ses")
	p := &schema.Process{Image: sc.str("exe"), UID: sc.str("uid"), User: sc.str("UID")}
	if p.User == "" && auoms {
		p.User = sc.str("user")
	}
	if pid, ok := parseIntAuto(sc.str("pid")); ok {
		p.PID = pid
	}
	cwd := sc.str("cwd") // AUOMS carries it inline
	if r := e.rec("CWD"); r != nil {
		cwd = r.str("cwd")
	}
	p.CurrentDirectory = cwd
	args := execArgs(e)
	if len(args) == 0 && auoms {
		if cl := sc.str("cmdline"); cl != "" {
			p.CommandLine = cl
		}
	}
	if len(args) > 0 {
		p.CommandLine = strings.Join(args, " ")
	} else if p.CommandLine == "" {
		if r := e.rec("PROCTITLE"); r != nil {
			p.CommandLine = r.str("proctitle")
		} else if auoms {
			p.CommandLine = sc.str("proctitle")
		}
	}
	// Linux has no process GUID: (host, pid, session) identifies a process
	// well enough to link a parent to its children within a login session
	// (an exec keeps the pid, so exec chains share one identity).
	p.GUID = linuxGUID(host, p.PID, ses)
	d.Process = p
	if ppid, ok := parseIntAuto(sc.str("ppid")); ok && ppid > 0 {
		d.Parent = &schema.Process{PID: ppid, GUID: linuxGUID(host, ppid, ses)}
	}
	if au := s.AUID; au != "" {
		d.User = &schema.User{Name: firstNonEmpty(sc.str("AUID"), sc.str("audit_user"), au), LogonID: ses}
	}

	paths := auditPaths(e, sc, auoms)
	switch name {
	case "execve", "execveat":
		if len(args) > 0 {
			s.Args = args
		}
		return schema.EventProcessCreate, "", nil
	case "connect", "accept", "accept4":
		if sa := sockaddr(e); sa != nil && sa.ip != "" {
			n := &schema.Network{Protocol: "", DstIP: sa.ip, DstPort: sa.port}
			d.Network = n
			if name == "connect" {
				n.Direction = "outbound"
				return schema.EventNetworkConnect, "", nil
			}
			n.Direction, n.SrcIP, n.SrcPort, n.DstIP, n.DstPort = "inbound", sa.ip, sa.port, "", 0
			return schema.EventNetworkAccept, "", nil
		}
		return schema.EventSyscall, "", nil
	case "open", "openat", "openat2", "creat":
		f := pickPath(paths, cwd)
		if f == nil {
			return schema.EventSyscall, "", nil
		}
		d.File = f
		flags := openFlags(name, sc)
		switch {
		case name == "creat" || flags&0o100 != 0 && createdPath(paths):
			return schema.EventFileCreate, "", nil
		case flags&0o3 != 0 || flags&0o1000 != 0:
			return schema.EventFileWrite, "", nil
		}
		return schema.EventFileRead, "", nil
	case "unlink", "unlinkat", "rmdir":
		if f := pickPath(paths, cwd); f != nil {
			d.File = f
			return schema.EventFileDelete, "", nil
		}
	case "rename", "renameat", "renameat2":
		if len(paths) > 0 {
			var old, nw *auditPath
			for i := range paths {
				switch paths[i].nametype {
				case "DELETE":
					old = &paths[i]
				case "CREATE":
					nw = &paths[i]
				}
			}
			if nw != nil {
				f := &schema.File{Path: joinCwd(cwd, nw.name)}
				if old != nil {
					f.PreviousPath = joinCwd(cwd, old.name)
				}
				d.File = f
				return schema.EventFileCreate, "", nil
			}
		}
	case "write", "pwrite64", "writev", "truncate", "ftruncate":
		if f := pickPath(paths, cwd); f != nil {
			d.File = f
			return schema.EventFileWrite, "", nil
		}
	}
	if f := pickPath(paths, cwd); f != nil {
		d.File = f
	}
	return schema.EventSyscall, "", nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// auditID turns 4294967295 / "unset" (no login uid) into "".
func auditID(s string) string {
	if s == "4294967295" || s == "-1" || s == "unset" {
		return ""
	}
	return s
}

func linuxGUID(host string, pid int64, ses string) string {
	if pid <= 0 {
		return ""
	}
	if ses == "4294967295" || ses == "-1" || ses == "unset" {
		ses = ""
	}
	return derivedGUID("linux", host, strconv.FormatInt(pid, 10), ses)
}

// execArgs returns EXECVE's argv (a0..aN, with long arguments split into
// aN[0], aN[1], ... chunks).
func execArgs(e *auditEvent) []string {
	r := e.rec("EXECVE")
	if r == nil {
		return nil
	}
	argc, ok := atoiSmall(r.str("argc"))
	if !ok || argc <= 0 {
		return nil
	}
	if argc > 1024 {
		argc = 1024
	}
	args := make([]string, 0, argc)
	var key [16]byte
	for i := 0; i < argc; i++ {
		k := append(append(key[:0], 'a'), strconv.Itoa(i)...)
		if v, q := r.get(string(k)); v != "" || q {
			args = append(args, auditValue("a0", v, q))
			continue
		}
		// aN_len=... aN[0]=hex aN[1]=hex
		var sb strings.Builder
		for j := 0; ; j++ {
			v, q := r.get(string(k) + "[" + strconv.Itoa(j) + "]")
			if v == "" && !q {
				break
			}
			sb.WriteString(auditValue("a0", v, q))
		}
		args = append(args, sb.String())
	}
	return args
}

type auditPath struct{ name, nametype, mode, ouid string }

func auditPaths(e *auditEvent, sc *auditRecord, auoms bool) []auditPath {
	var ps []auditPath
	for i := range e.records {
		r := &e.records[i]
		if r.typ != "PATH" {
			continue
		}
		ps = append(ps, auditPath{name: r.str("name"), nametype: r.str("nametype"), mode: r.str("mode"), ouid: r.str("ouid")})
	}
	if len(ps) == 0 && auoms {
		names := jsonishList(sc.str("path_name"))
		types := jsonishList(sc.str("path_nametype"))
		modes := jsonishList(sc.str("path_mode"))
		for i, n := range names {
			p := auditPath{name: n}
			if i < len(types) {
				p.nametype = types[i]
			}
			if i < len(modes) {
				p.mode = modes[i]
			}
			ps = append(ps, p)
		}
	}
	return ps
}

// jsonishList parses AUOMS's ["a","b"] lists.
func jsonishList(s string) []string {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil
	}
	var out []string
	for _, part := range strings.Split(s[1:len(s)-1], ",") {
		out = append(out, strings.Trim(strings.TrimSpace(part), `"`))
	}
	return out
}

// pickPath chooses the object path of a file syscall: the first item that
// is not the parent directory.
func pickPath(ps []auditPath, cwd string) *schema.File {
	for _, p := range ps {
		if p.nametype == "PARENT" || p.name == "" {
			continue
		}
		return &schema.File{Path: joinCwd(cwd, p.name), Mode: p.mode, Owner: p.ouid}
	}
	return nil
}

func createdPath(ps []auditPath) bool {
	for _, p := range ps {
		if p.nametype == "CREATE" {
			return true
		}
	}
	return false
}

func joinCwd(cwd, name string) string {
	if name == "" || strings.HasPrefix(name, "/") || cwd == "" {
		return name
	}
	return strings.TrimRight(cwd, "/") + "/" + strings.TrimPrefix(name, "./")
}

// openFlags returns the open(2) flags argument (hex in the SYSCALL record:
// a1 for open, a2 for openat).
func openFlags(name string, sc *auditRecord) uint64 {
	arg := "a1"
	if name == "openat" || name == "openat2" {
		arg = "a2"
	}
	v, err := strconv.ParseUint(sc.str(arg), 16, 64)
	if err != nil {
		return 0
	}
	return v
}

type sockAddr struct {
	family string
	ip     string
	port   int
	path   string
}

// sockaddr decodes the SOCKADDR record's saddr (a hex struct sockaddr).
func sockaddr(e *auditEvent) *sockAddr {
	if e.sock != nil {
		return e.sock
	}
	r := e.rec("SOCKADDR")
	if r == nil {
		return nil
	}
	raw, _ := r.get("saddr")
	b, err := hex.DecodeString(raw)
	if err != nil || len(b) < 2 {
		return nil
	}
	fam := int(b[0]) | int(b[1])<<8
	switch fam {
	case 2: // AF_INET
		if len(b) < 8 {
			return nil
		}
		return &sockAddr{family: "ipv4", port: int(b[2])<<8 | int(b[3]),
			ip: strconv.Itoa(int(b[4])) + "." + strconv.Itoa(int(b[5])) + "." + strconv.Itoa(int(b[6])) + "." + strconv.Itoa(int(b[7]))}
	case 10: // AF_INET6
		if len(b) < 24 {
			return nil
		}
		var a [16]byte
		copy(a[:], b[8:24])
		return &sockAddr{family: "ipv6", port: int(b[2])<<8 | int(b[3]), ip: ipv6String(a)}
	case 1: // AF_UNIX
		return &sockAddr{family: "unix", path: string(bytes.TrimRight(b[2:], "\x00"))}
	}
	return &sockAddr{family: strconv.Itoa(fam)}
}

// isKernelAux reports record types that only exist as parts of a syscall
// event.
func isKernelAux(t string) bool {
	switch t {
	case "EXECVE", "CWD", "PATH", "PROCTITLE", "SOCKADDR", "FD_PAIR", "BPRM_FCAPS", "CAPSET", "MMAP",
		"OBJ_PID", "IPC", "MQ_OPEN", "MQ_SENDRECV", "NETFILTER_CFG", "SOCKETCALL", "KERN_MODULE":
		return true
	}
	return false
}

// userAuditEvent maps user-space records (PAM, shadow-utils).
func userAuditEvent(e *auditEvent, ev *schema.NormalizedEvent) (schema.EventType, bool) {
	r := &e.records[0]
	d := &ev.Data
	res := r.str("res")
	if res == "" {
		res = r.str("success")
	}
	success := res == "success" || res == "yes" || res == "1"
	if success {
		d.Outcome = "success"
	} else if res != "" {
		d.Outcome = "failure"
	}
	acct := r.str("acct")
	if acct == "" {
		acct = r.str("ACCT")
	}
	if pid, ok := parseIntAuto(r.str("pid")); ok {
		d.Process = &schema.Process{PID: pid, Image: r.str("exe"), UID: r.str("uid"),
			GUID: linuxGUID(ev.EndpointID, pid, r.str("ses"))}
	}
	if au := auditID(r.str("auid")); au != "" {
		d.User = &schema.User{Name: firstNonEmpty(r.str("AUID"), au), LogonID: r.str("ses")}
	}
	l := &schema.Logon{TargetUser: acct, SourceIP: cleanAuditAddr(r.str("addr")), SourceHost: cleanAuditAddr(r.str("hostname")),
		LogonProcess: r.str("terminal")}
	switch r.typ {
	case "USER_LOGIN":
		d.Logon = l
		if success {
			return schema.EventLogon, true
		}
		return schema.EventLogonFailed, true
	case "USER_AUTH":
		if !success {
			d.Logon = l
			return schema.EventLogonFailed, true
		}
	case "USER_LOGOUT", "USER_END":
		d.Logon = l
		return schema.EventLogoff, true
	case "ADD_USER":
		if acct == "" {
			acct = r.str("id")
		}
		d.Logon = &schema.Logon{TargetUser: acct}
		return schema.EventUserCreate, true
	case "USER_MGMT", "GRP_MGMT":
		if op := r.str("op"); strings.Contains(op, "add") && strings.Contains(op, "group") && !strings.Contains(op, "add-group") {
			d.Group = &schema.Group{Name: r.str("grp"), Member: acct}
			return schema.EventGroupMemberAdd, true
		}
	}
	return "", false
}

func cleanAuditAddr(s string) string {
	if s == "?" || s == "(none)" {
		return ""
	}
	return s
}

func archName(hexArch string) string {
	switch strings.ToLower(hexArch) {
	case "c000003e", "x86_64":
		return "x86_64"
	case "c00000b7", "aarch64":
		return "aarch64"
	case "40000003", "i386":
		return "i386"
	case "40000028":
		return "arm"
	}
	return hexArch
}

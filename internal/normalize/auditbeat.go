package normalize

import (
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// auditbeat reads Auditbeat's auditd module JSON (auditd.*, process.*,
// user.*, @timestamp; documented in beats auditbeat/module/auditd/_meta and
// its golden files). Auditbeat has already joined the records of an event;
// they are turned back into the record model of auditd.go so both inputs
// share one mapping.
func (c *ctx) auditbeat(o *fastjson.Object, raw []byte) {
	src := SourceAuditbeat
	au := obj(o, "auditd")
	host := str(obj(o, "host"), "name")
	if host == "" {
		host = str(obj(o, "agent"), "hostname")
	}
	if host == "" {
		host = str(obj(o, "beat"), "hostname")
	}
	if host == "" {
		host = c.hostFallback()
	}
	ts, _, ok := parseTimestamp(strView(o, "@timestamp"))
	mt := strings.ToUpper(str(au, "message_type"))
	if !ok {
		c.failErr(&ParseError{Reason: ReasonBadTimestamp, Source: src, Channel: mt, Err: errf("@timestamp missing or unparsable")})
		return
	}
	seq, _ := intField(au, "sequence")
	ev := &auditEvent{src: src, node: host, tenant: tenantField(o), serial: uint64(max(seq, 0)),
		tsText: strconv.FormatFloat(ts, 'f', 3, 64)}
	data := obj(au, "data")
	proc := obj(o, "process")
	user := obj(o, "user")
	r := auditRecord{}
	add := func(k, v string) {
		if v != "" {
			r.fields = append(r.fields, kv{k, v})
			r.quoted = append(r.quoted, true)
		}
	}
	pid, _ := intField(proc, "pid")
	ppid, ok := intField(proc, "ppid")
	if !ok {
		ppid, _ = intField(obj(proc, "parent"), "pid")
	}
	exe := str(proc, "executable")
	if exe == "" {
		exe = str(proc, "exe")
	}
	uid := scalarString(user, "id")
	if uid == "" {
		uid = scalarString(user, "uid")
	}
	auid := scalarString(obj(user, "audit"), "id")
	if auid == "" {
		auid = scalarString(user, "auid")
	}
	if pid > 0 {
		add("pid", strconv.FormatInt(pid, 10))
	}
	if ppid > 0 {
		add("ppid", strconv.FormatInt(ppid, 10))
	}
	add("exe", exe)
	add("comm", str(proc, "name"))
	add("uid", uid)
	add("auid", auid)
	add("ses", scalarString(au, "session"))
	result := str(au, "result")
	if sc := str(data, "syscall"); sc != "" {
		r.typ = "SYSCALL"
		add("SYSCALL", sc)
		add("arch", str(data, "arch"))
		add("exit", scalarString(data, "exit"))
		for _, a := range []string{"a0", "a1", "a2", "a3"} {
			if v := str(data, a); v != "" {
				r.fields = append(r.fields, kv{a, v})
				r.quoted = append(r.quoted, false)
			}
		}
		switch result {
		case "success":
			add("success", "yes")
		case "fail", "failure":
			add("success", "no")
		}
		ev.records = append(ev.records, r)
		var args []string
		for _, a := range arrayField(proc, "args") {
			if b, err := a.StringBytes(); err == nil {
				args = append(args, string(b))
			}
		}
		if len(args) > 0 {
			x := auditRecord{typ: "EXECVE"}
			x.fields = append(x.fields, kv{"argc", strconv.Itoa(len(args))})
			x.quoted = append(x.quoted, true)
			for i, a := range args {
				x.fields = append(x.fields, kv{"a" + strconv.Itoa(i), a})
				x.quoted = append(x.quoted, true)
			}
			ev.records = append(ev.records, x)
		} else if t := str(proc, "title"); t != "" {
			ev.records = append(ev.records, auditRecord{typ: "PROCTITLE", fields: []kv{{"proctitle", t}}, quoted: []bool{true}})
		}
		if wd := str(proc, "working_directory"); wd != "" {
			ev.records = append(ev.records, auditRecord{typ: "CWD", fields: []kv{{"cwd", wd}}, quoted: []bool{true}})
		} else if wd := str(proc, "cwd"); wd != "" {
			ev.records = append(ev.records, auditRecord{typ: "CWD", fields: []kv{{"cwd", wd}}, quoted: []bool{true}})
		}
		for _, p := range arrayField(au, "paths") {
			po, err := p.Object()
			if err != nil {
				continue
			}
			pr := auditRecord{typ: "PATH"}
			for _, k := range []string{"item", "name", "nametype", "mode", "ouid"} {
				if v := scalarString(po, k); v != "" {
					pr.fields = append(pr.fields, kv{k, v})
					pr.quoted = append(pr.quoted, true)
				}
			}
			ev.records = append(ev.records, pr)
		}
		if so := obj(data, "socket"); so != nil {
			sa := &sockAddr{family: str(so, "family"), ip: str(so, "addr"), path: str(so, "path")}
			sa.port = port(scalarString(so, "port"))
			ev.sock = sa
		}
	} else {
		if mt == "" {
			c.failErr(perr(src, ReasonMissingField, "auditd.message_type and auditd.data.syscall both missing"))
			return
		}
		r.typ = mt
		for _, k := range []string{"acct", "addr", "hostname", "terminal", "op", "id", "grp"} {
			add(k, str(data, k))
		}
		if ip := str(obj(o, "source"), "ip"); ip != "" && !r.has("addr") {
			add("addr", ip)
		}
		switch result {
		case "success":
			add("res", "success")
		case "fail", "failure":
			add("res", "failed")
		}
		ev.records = append(ev.records, r)
	}
	c.auditEvent(ev)
}

func (r *auditRecord) has(k string) bool { _, q := r.get(k); return q }

// scalarString reads a field Beats writes as a string or a number.
func scalarString(o *fastjson.Object, k string) string {
	if o == nil {
		return ""
	}
	v := o.Get(k)
	if v == nil {
		return ""
	}
	return valueString(v)
}

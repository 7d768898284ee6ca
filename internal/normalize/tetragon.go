package normalize

import (
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/logster/logster/internal/schema"
)

// tetragon reads Cilium Tetragon's JSON export (one GetEventsResponse per
// line: {"process_exec": {...}, "node_name": ..., "time": ...}) as its
// documentation shows it. process_exec / process_exit map to process
// create / terminate; process_kprobe, process_lsm and process_tracepoint
// map by hook: file hooks (security_file_permission with MAY_READ=4 /
// MAY_WRITE=2, security_mmap_file, security_path_truncate, fd_install,
// unlink/rename hooks), network hooks (tcp_connect, inet_csk_accept, ...),
// and anything else becomes a syscall event named after the hook.
// Tetragon's exec_id is a unique process identity and is used as the GUID.
func (c *ctx) tetragon(o *fastjson.Object, raw []byte) {
	src := SourceTetragon
	var kind string
	var k *fastjson.Object
	for _, name := range tetragonKinds {
		if k = obj(o, name); k != nil {
			kind = name
			break
		}
	}
	if k == nil {
		c.failErr(perr(src, ReasonUnknownFormat, "no Tetragon event kind"))
		return
	}
	endpoint, fqdn, ok := canonicalHost(str(o, "node_name"))
	if !ok {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: kind, Err: errf("node_name missing")})
		return
	}
	ts, _, ok := parseTimestamp(strView(o, "time"))
	if !ok || !validEpoch(ts) {
		c.failErr(&ParseError{Reason: ReasonBadTimestamp, Source: src, Channel: kind, Err: errf("time %q", truncate(strView(o, "time"), 40))})
		return
	}
	ev := &schema.NormalizedEvent{EndpointID: endpoint, Hostname: endpoint, Platform: schema.PlatformLinux,
		Source: string(src), Timestamp: roundMicros(ts)}
	d := &ev.Data
	d.Channel, d.FQDN = kind, fqdn
	d.Process = tetragonProcess(obj(k, "process"))
	if par := obj(k, "parent"); par != nil {
		d.Parent = tetragonProcess(par)
	}
	if d.Process == nil {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: src, Channel: kind, Err: errf("%s without a process", kind)})
		return
	}
	switch kind {
	case "process_exec":
		ev.EventType = schema.EventProcessCreate
	case "process_exit":
		ev.EventType = schema.EventProcessTerminate
		if st := k.Get("status"); st != nil && st.Type() == fastjson.TypeNumber {
			if v, err := st.Int64(); err == nil {
				d.Process.ExitCode = &v
			}
		}
	case "process_kprobe", "process_lsm", "process_tracepoint", "process_uprobe":
		hook := str(k, "function_name")
		if hook == "" {
			hook = str(k, "event") // tracepoints: subsys/event
			if sub := str(k, "subsys"); sub != "" && hook != "" {
				hook = sub + "/" + hook
			}
		}
		et, err := mapTetragonHook(hook, k, ev)
		if err != nil {
			c.failErr(&ParseError{Reason: ReasonInvalidField, Source: src, Channel: kind, Err: err})
			return
		}
		ev.EventType = et
	default:
		c.failErr(&ParseError{Reason: ReasonUnknownType, Source: src, Channel: kind, Err: errf("Tetragon %s events are not mapped", kind)})
		return
	}
	tenant, ok := c.n.tenantFor(str(o, "tenant_id"), endpoint, fqdn, c.in.Topic)
	if !ok {
		c.failErr(&ParseError{Reason: ReasonInvalidField, Source: src, Channel: kind, Err: errf("tenant_id is not a usable tenant")})
		return
	}
	ev.TenantID = tenant
	ev.EventID = contentID(tenant, endpoint, src, raw)
	ev.RawEvent = tetragonRaw(k)
	c.ok(ev)
}

func tetragonProcess(p *fastjson.Object) *schema.Process {
	if p == nil {
		return nil
	}
	out := &schema.Process{
		GUID:             str(p, "exec_id"),
		Image:            str(p, "binary"),
		CurrentDirectory: str(p, "cwd"),
	}
	if v := p.Get("pid"); v != nil {
		if n, ok := numberOrString(v); ok {
			out.PID = n
		}
	}
	if v := p.Get("uid"); v != nil {
		if n, ok := numberOrString(v); ok {
			out.UID = strconv.FormatInt(n, 10)
		}
	}
	if args := str(p, "arguments"); args != "" {
		out.CommandLine = out.Image + " " + args
	} else {
		out.CommandLine = out.Image
	}
	if t, _, ok := parseTimestamp(strView(p, "start_time")); ok {
		out.StartTime = roundMicros(t)
	}
	if u := obj(p, "user"); u != nil {
		out.User = str(u, "name")
	}
	return out
}

// numberOrString reads integers Tetragon writes as JSON numbers (proto3
// JSON writes 64-bit ones as strings).
func numberOrString(v *fastjson.Value) (int64, bool) {
	switch v.Type() {
	case fastjson.TypeNumber:
		n, err := v.Int64()
		return n, err == nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		n, err := strconv.ParseInt(b2s(b), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// mapTetragonHook maps a kprobe/lsm/tracepoint by its hook and arguments.
func mapTetragonHook(hook string, k *fastjson.Object, ev *schema.NormalizedEvent) (schema.EventType, error) {
	d := &ev.Data
	args := k.Get("args")
	var list []*fastjson.Value
	if args != nil {
		if args.Type() != fastjson.TypeArray {
			return "", errf("args is a JSON %s, not an array", args.Type())
		}
		list, _ = args.Array()
	}
	var files []string
	var sock *fastjson.Object
	var ints []int64
	for _, a := range list {
		ao, err := a.Object()
		if err != nil {
			continue
		}
		if f := obj(ao, "file_arg"); f != nil {
			files = append(files, str(f, "path"))
		} else if f := obj(ao, "path_arg"); f != nil {
			files = append(files, str(f, "path"))
		} else if s := obj(ao, "sock_arg"); s != nil && sock == nil {
			sock = s
		} else if v := ao.Get("int_arg"); v != nil {
			if n, ok := numberOrString(v); ok {
				ints = append(ints, n)
			}
		} else if s := str(ao, "string_arg"); s != "" && strings.HasPrefix(s, "/") {
			files = append(files, s)
		}
	}
	name := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(hook, "__x64_"), "__arm64_"), "__")
	fileEvent := func(et schema.EventType) (schema.EventType, error) {
		if len(files) == 0 {
			d.Syscall = &schema.Syscall{Name: name}
			return schema.EventSyscall, nil
		}
		d.File = &schema.File{Path: files[0]}
		if len(files) > 1 && et == schema.EventFileCreate {
			d.File.PreviousPath, d.File.Path = files[0], files[1]
		}
		return et, nil
	}
	switch name {
	case "security_file_permission", "security_file_open", "security_mmap_file", "fd_install",
		"sys_open", "sys_openat", "sys_openat2", "do_sys_open", "file_open", "vfs_read":
		// MAY_WRITE (2) / MAY_APPEND (8) in the mask argument mean a write.
		for _, m := range ints {
			if name == "security_file_permission" && m&(2|8) != 0 {
				return fileEvent(schema.EventFileWrite)
			}
		}
		return fileEvent(schema.EventFileRead)
	case "security_path_truncate", "vfs_write", "sys_write", "ksys_write", "security_file_truncate":
		return fileEvent(schema.EventFileWrite)
	case "security_path_unlink", "security_inode_unlink", "do_unlinkat", "vfs_unlink", "sys_unlink", "sys_unlinkat", "security_path_rmdir":
		return fileEvent(schema.EventFileDelete)
	case "security_path_rename", "security_inode_rename", "vfs_rename", "sys_rename", "sys_renameat", "sys_renameat2":
		return fileEvent(schema.EventFileCreate)
	case "security_inode_create", "security_path_mknod", "vfs_create":
		return fileEvent(schema.EventFileCreate)
	case "tcp_connect", "tcp_v4_connect", "tcp_v6_connect", "ip4_datagram_connect", "sys_connect", "sys_enter_connect",
		"security_socket_connect", "inet_csk_accept", "security_socket_accept", "tcp_accept", "sys_accept", "sys_accept4":
		if sock != nil {
			n := &schema.Network{Protocol: tetragonProto(str(sock, "protocol")), SrcIP: str(sock, "saddr"), DstIP: str(sock, "daddr")}
			if v := sock.Get("sport"); v != nil {
				p, _ := numberOrString(v)
				n.SrcPort = int(p)
			}
			if v := sock.Get("dport"); v != nil {
				p, _ := numberOrString(v)
				n.DstPort = int(p)
			}
			d.Network = n
			if strings.Contains(name, "accept") {
				// An accepted socket's local end is saddr; the peer daddr.
				n.Direction = "inbound"
				n.SrcIP, n.DstIP, n.SrcPort, n.DstPort = n.DstIP, n.SrcIP, n.DstPort, n.SrcPort
				return schema.EventNetworkAccept, nil
			}
			n.Direction = "outbound"
			return schema.EventNetworkConnect, nil
		}
	}
	d.Syscall = &schema.Syscall{Name: strings.TrimPrefix(name, "sys_")}
	if ret := obj(k, "return"); ret != nil {
		if v := ret.Get("int_arg"); v != nil {
			if n, ok := numberOrString(v); ok {
				d.Syscall.Exit = &n
			}
		}
	}
	if len(files) > 0 {
		d.File = &schema.File{Path: files[0]}
	}
	return schema.EventSyscall, nil
}

func tetragonProto(p string) string {
	switch p {
	case "IPPROTO_TCP":
		return "tcp"
	case "IPPROTO_UDP":
		return "udp"
	}
	return strings.ToLower(strings.TrimPrefix(p, "IPPROTO_"))
}

// tetragonRaw keeps the event's own fields except the mapped process
// objects (args, policy, action, return value, pod metadata of the process).
func tetragonRaw(k *fastjson.Object) []byte {
	buf := make([]byte, 0, 256)
	buf = append(buf, '{')
	n := 0
	k.Visit(func(key []byte, v *fastjson.Value) {
		switch string(key) {
		case "process", "parent":
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
	if p := obj(k, "process"); p != nil {
		if pod := p.Get("pod"); pod != nil {
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			buf = append(buf, `"pod":`...)
			buf = appendValue(buf, pod, 0)
		}
	}
	if n == 0 {
		return nil
	}
	return append(buf, '}')
}

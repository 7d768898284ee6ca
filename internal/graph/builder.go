package graph

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/logster/logster/internal/schema"
)

// MaxNodeEvents bounds the event ids kept per node for explanations (the
// node still counts all of them).
const MaxNodeEvents = 32

// Node is one entity or operation of the window.
type Node struct {
	Type  NodeType
	Index int    // position among the nodes of its type
	Key   string // identity within the window (see docs/inference.md)
	// Label is what an analyst sees: image path, file path, destination,
	// script excerpt, operation. It may name hosts and users; it is never a
	// feature.
	Label string
	// First and Last are the event times of the first and last event that
	// touched the node.
	First, Last float64
	// EventIDs are the first MaxNodeEvents events that touched the node;
	// NumEvents counts all of them.
	EventIDs  []string
	NumEvents int

	text     [numFamilies][]string // raw field values, tokenized at finalize
	tokens   [numFamilies][]string // literal tokens (already normalized)
	evTypes  [numEventTypes]uint16
	flags    uint64 // numeric flag bits (features.go)
	success  int
	failure  int
	inDeg    int
	outDeg   int
	relDeg   [numForward]int
	pid      int64
	hasGUID  bool
	integrty int8 // 0 unknown, 1 low, 2 medium, 3 high, 4 system
}

// Edge is one de-duplicated edge of a forward relation: repeated events
// between the same two nodes make one edge that counts them.
type Edge struct {
	Rel         Rel
	Src, Dst    int // indices within the relation's source and destination types
	First, Last float64
	Count       int
	EventID     string // the event that created the edge
}

// Graph is one window's heterogeneous temporal graph.
type Graph struct {
	Platform      schema.Platform
	FeatureSchema string
	Start, End    float64
	Nodes         [numNodeTypes][]*Node
	Edges         [numForward][]Edge
	NumEvents     int // events the graph was built from
	// Unmapped counts events that produced no node (no entity to attach).
	Unmapped int

	mask *masker // identities named by the window's events
}

// NumNodes is the node count over all types.
func (g *Graph) NumNodes() int {
	n := 0
	for _, ns := range g.Nodes {
		n += len(ns)
	}
	return n
}

// NumEdges is the edge count over the forward relations (the reverse
// relations the model also sees carry the same edges).
func (g *Graph) NumEdges() int {
	n := 0
	for _, es := range g.Edges {
		n += len(es)
	}
	return n
}

// GlobalIndex numbers a node across types (process nodes first, then file,
// script, network, syscall): the node ids of explanations.
func (g *Graph) GlobalIndex(t NodeType, i int) int {
	off := 0
	for k := NodeType(0); k < t; k++ {
		off += len(g.Nodes[k])
	}
	return off + i
}

// builder holds the state of one Build.
type builder struct {
	g     *Graph
	byKey [numNodeTypes]map[string]*Node
	byPID map[int64]*Node  // processes by pid (GUID-identified ones win)
	byCmd map[string]*Node // processes by normalized command line (PowerShell host lookup)
	// hostApps caches normCmd of PowerShell host applications (one per
	// PowerShell record, few distinct).
	hostApps map[string]string
	edges    map[edgeKey]int
	mask     *masker
	events   []*schema.NormalizedEvent
	cur      *schema.NormalizedEvent
}

type edgeKey struct {
	rel      Rel
	src, dst int
}

// Build constructs the graph of one window. events must be in (timestamp,
// event_id) order (the window store's order), so the result is a pure
// function of the window's content. Events of another platform than
// platform are ignored (counted as unmapped).
func Build(platform schema.Platform, start, end float64, events []*schema.NormalizedEvent) (*Graph, error) {
	fs, err := FeatureSchema(platform)
	if err != nil {
		return nil, err
	}
	b := &builder{
		g:        &Graph{Platform: platform, FeatureSchema: fs, Start: start, End: end, NumEvents: len(events)},
		byPID:    map[int64]*Node{},
		byCmd:    map[string]*Node{},
		hostApps: map[string]string{},
		edges:    map[edgeKey]int{},
		mask:     newMasker(),
		events:   events,
	}
	for t := range b.byKey {
		b.byKey[t] = map[string]*Node{}
	}
	b.g.mask = b.mask
	for _, ev := range events {
		if ev == nil || ev.Platform != platform {
			b.g.Unmapped++
			continue
		}
		b.mask.collect(ev)
		b.cur = ev
		if !b.event(ev) {
			b.g.Unmapped++
		}
	}
	return b.g, nil
}

// node returns the node of type t with key, creating it; the current event
// is attributed to it.
func (b *builder) node(t NodeType, key, label string) *Node {
	return b.nodeL(t, key, func() string { return label })
}

// nodeL is node with a label computed only when the node is new.
func (b *builder) nodeL(t NodeType, key string, label func() string) *Node {
	n := b.byKey[t][key]
	if n == nil {
		n = &Node{Type: t, Index: len(b.g.Nodes[t]), Key: key, Label: label(), First: b.cur.Timestamp}
		b.byKey[t][key] = n
		b.g.Nodes[t] = append(b.g.Nodes[t], n)
	}
	b.touch(n)
	return n
}

// touch attributes the current event to n once.
func (b *builder) touch(n *Node) {
	ev := b.cur
	if n.NumEvents > 0 && len(n.EventIDs) > 0 && n.EventIDs[len(n.EventIDs)-1] == ev.EventID {
		return
	}
	if n.NumEvents == 0 || ev.Timestamp < n.First {
		n.First = ev.Timestamp
	}
	n.Last = max(n.Last, ev.Timestamp)
	n.NumEvents++
	if len(n.EventIDs) < MaxNodeEvents {
		n.EventIDs = append(n.EventIDs, ev.EventID)
	}
	if i, ok := eventTypeIndex[ev.EventType]; ok {
		n.evTypes[i]++
	} else {
		n.evTypes[numEventTypes-1]++
	}
	switch ev.Data.Outcome {
	case "success":
		n.success++
	case "failure":
		n.failure++
	}
}

// edge adds (or counts) an edge of rel from src to dst at the current
// event's time.
func (b *builder) edge(rel Rel, src, dst *Node) {
	if src == nil || dst == nil {
		return
	}
	d := forwardDefs[rel]
	if src.Type != d.src || dst.Type != d.dst {
		return // a mapping bug must not corrupt the graph
	}
	k := edgeKey{rel, src.Index, dst.Index}
	ts := b.cur.Timestamp
	if i, ok := b.edges[k]; ok {
		e := &b.g.Edges[rel][i]
		e.Count++
		e.First = min(e.First, ts)
		e.Last = max(e.Last, ts)
		return
	}
	b.edges[k] = len(b.g.Edges[rel])
	b.g.Edges[rel] = append(b.g.Edges[rel], Edge{Rel: rel, Src: src.Index, Dst: dst.Index, First: ts, Last: ts, Count: 1, EventID: b.cur.EventID})
	src.outDeg++
	dst.inDeg++
	src.relDeg[rel]++
	dst.relDeg[rel]++
}

func normGUID(g string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(g), "{}"))
}

// process returns the node of a process reference, nil if it names none.
// Identity: the GUID (Sysmon's ProcessGuid, or the normalizer's derived
// one); else (pid, start time); else the pid, resolved to the GUID-named
// process holding that pid in this window if there is one; else the image.
func (b *builder) process(p *schema.Process) *Node {
	if p == nil {
		return nil
	}
	var key string
	guid := normGUID(p.GUID)
	switch {
	case guid != "" && guid != "00000000-0000-0000-0000-000000000000":
		key = "guid:" + guid
		if n := b.byKey[Process][key]; n == nil && p.PID > 0 {
			// A process first referenced by pid only (a parent seen
			// before its own events) is the same process.
			if pn := b.byKey[Process]["pid:"+strconv.FormatInt(p.PID, 10)]; pn != nil && !pn.hasGUID {
				b.byKey[Process][key] = pn
				pn.hasGUID = true
			}
		}
	case p.PID > 0 && p.StartTime > 0:
		key = "pidstart:" + strconv.FormatInt(p.PID, 10) + ":" + strconv.FormatFloat(p.StartTime, 'f', 3, 64)
	case p.PID > 0:
		if n := b.byPID[p.PID]; n != nil {
			b.touch(n)
			b.fillProcess(n, p)
			return n
		}
		key = "pid:" + strconv.FormatInt(p.PID, 10)
	case p.Image != "":
		key = "image:" + b.pathKey(p.Image)
	default:
		return nil
	}
	n := b.node(Process, key, "")
	if guid != "" {
		n.hasGUID = true
	}
	if p.PID > 0 {
		n.pid = p.PID
		// A GUID-identified process claims its pid (the latest one wins
		// on pid reuse); a pid-only node only takes a free pid.
		if n.hasGUID || b.byPID[p.PID] == nil {
			b.byPID[p.PID] = n
		}
	}
	b.fillProcess(n, p)
	return n
}

// fillProcess completes a process node's attributes (first value wins: a
// process's image does not change; a parent reference often lacks it).
func (b *builder) fillProcess(n *Node, p *schema.Process) {
	if p.Image != "" && len(n.text[famImage]) == 0 {
		n.text[famImage] = append(n.text[famImage], p.Image)
	}
	if p.CommandLine != "" && len(n.text[famCmd]) == 0 {
		n.text[famCmd] = append(n.text[famCmd], p.CommandLine)
		b.byCmd[normCmd(p.CommandLine)] = n
	}
	if n.Label == "" || strings.HasPrefix(n.Label, "pid ") {
		switch {
		case p.Image != "":
			n.Label = p.Image
		case p.PID > 0:
			n.Label = "pid " + strconv.FormatInt(p.PID, 10)
		}
	}
	if n.integrty == 0 {
		n.integrty = integrityLevel(p.IntegrityLevel)
	}
	if n.flags&(flagSystemAccount|flagUserAccount) == 0 {
		switch {
		case p.User != "" && isSystemAccount(p.User):
			n.flags |= flagSystemAccount
		case p.User != "":
			n.flags |= flagUserAccount
		case p.UID != "":
			// Linux convention: uid 0 and uids below 1000 are the system's
			// own accounts, 1000 and up are people.
			if uid, err := strconv.Atoi(p.UID); err == nil && uid >= 0 && uid != 4294967295 {
				if uid < 1000 {
					n.flags |= flagSystemAccount
				} else {
					n.flags |= flagUserAccount
				}
			}
		}
	}
}

func integrityLevel(s string) int8 {
	switch strings.ToLower(s) {
	case "low", "untrusted":
		return 1
	case "medium", "mediumplus":
		return 2
	case "high":
		return 3
	case "system", "protected":
		return 4
	}
	return 0
}

// isSystemAccount reports well-known service accounts (a role, not a
// person): SYSTEM, LOCAL/NETWORK SERVICE, machine accounts, root and uid 0.
func isSystemAccount(a string) bool {
	a = strings.ToLower(strings.TrimSpace(a))
	if _, u, ok := strings.Cut(a, `\`); ok {
		a = u
	}
	switch a {
	case "system", "local service", "network service", "localsystem", "root", "0", "anonymous logon":
		return true
	}
	return strings.HasSuffix(a, "$") || strings.HasPrefix(a, "dwm-") || strings.HasPrefix(a, "umfd-")
}

// pathKey is a path's identity: Windows paths are case-insensitive.
func (b *builder) pathKey(p string) string {
	p = strings.TrimSpace(p)
	if b.g.Platform == schema.PlatformWindows {
		return strings.ToLower(p)
	}
	return p
}

// file returns the node of a file-system path with the given flags.
func (b *builder) file(path string, flags uint64) *Node {
	if strings.TrimSpace(path) == "" {
		return nil
	}
	n := b.node(File, "file:"+b.pathKey(path), path)
	if len(n.text[famPath]) == 0 {
		n.text[famPath] = append(n.text[famPath], path)
	}
	if isPipe(path) {
		flags |= flagPipe
	}
	n.flags |= flags
	return n
}

func isPipe(p string) bool {
	l := strings.ToLower(p)
	return strings.HasPrefix(l, `\\.\pipe\`) || strings.HasPrefix(l, `\pipe\`) || strings.HasPrefix(l, `\\?\pipe\`)
}

// registry returns the file-like node of a registry key.
func (b *builder) registry(r *schema.Registry) *Node {
	if r == nil || strings.TrimSpace(r.Key) == "" {
		return nil
	}
	n := b.node(File, "reg:"+strings.ToLower(strings.TrimSpace(r.Key)), r.Key)
	if len(n.text[famPath]) == 0 {
		n.text[famPath] = append(n.text[famPath], r.Key)
	}
	if r.Value != "" && len(n.text[famCmd]) < 4 {
		// Data written to a value (a Run key's command line) is what
		// persistence looks like.
		n.text[famCmd] = append(n.text[famCmd], r.Value)
	}
	n.flags |= flagRegistry | flagWritten
	return n
}

// op returns an operation (syscall-type) node. kind and attrs form its
// identity, so repeated identical operations (fifty network logons of one
// type) are one node that counts them; attrs are also its op tokens.
func (b *builder) op(kind string, attrs ...string) *Node {
	return b.opKeyed(kind, "", attrs...)
}

// opKeyed is op with an extra identity part that is not an op token (the
// path of a read, hashed as a path).
func (b *builder) opKeyed(kind, extra string, attrs ...string) *Node {
	key := "op:" + kind + "|" + extra + "|" + strings.Join(attrs, "|")
	label := kind
	if extra != "" {
		label += " " + extra
	}
	if len(attrs) > 0 {
		label += " " + strings.Join(nonEmpty(attrs), " ")
	}
	n := b.node(Syscall, key, label)
	if len(n.tokens[famOp]) == 0 {
		n.tokens[famOp] = append(n.tokens[famOp], "kind:"+kind)
		for _, a := range attrs {
			if a != "" {
				n.tokens[famOp] = append(n.tokens[famOp], a)
			}
		}
	}
	return n
}

func nonEmpty(ss []string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func attr(name, v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" || v == "-" {
		return ""
	}
	return name + ":" + v
}

// peer returns the network node of a remote address seen behind an
// operation or a connection.
func (b *builder) peer(direction, ip string, port int, proto string) *Node {
	ip = strings.TrimSpace(ip)
	if ip == "" || ip == "-" {
		return nil
	}
	label := ip
	if port > 0 {
		label = netip.AddrPortFrom(parseAddr(ip), uint16(port)).String()
		if !parseAddr(ip).IsValid() {
			label = ip + ":" + strconv.Itoa(port)
		}
	}
	key := "net:" + direction + "|" + strings.ToLower(ip) + "|" + strconv.Itoa(port) + "|" + strings.ToLower(proto)
	n := b.node(Network, key, strings.TrimSpace(proto+" "+label+" ("+direction+")"))
	if len(n.tokens[famDest]) == 0 {
		n.tokens[famDest] = destTokens(direction, ip, port, proto)
	}
	switch direction {
	case "inbound":
		n.flags |= flagInbound
	case "outbound":
		n.flags |= flagOutbound
	}
	if a := parseAddr(ip); !a.IsValid() || !a.IsLoopback() {
		n.flags |= flagRemote
	}
	return n
}

func parseAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(s), "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// hostPeer is the network node of a peer known by name only (a 4648 target
// server, a WMI client machine).
func (b *builder) hostPeer(direction, host string) *Node {
	host = strings.ToLower(strings.TrimSpace(host))
	if host == "" || host == "-" || host == "localhost" || host == "." {
		return nil
	}
	if parseAddr(host).IsValid() {
		return b.peer(direction, host, 0, "")
	}
	n := b.node(Network, "host:"+direction+"|"+host, host+" ("+direction+")")
	if len(n.tokens[famDest]) == 0 {
		n.tokens[famDest] = []string{"dir:" + direction, "named_host"}
	}
	n.flags |= flagRemote
	if direction == "inbound" {
		n.flags |= flagInbound
	} else {
		n.flags |= flagOutbound
	}
	return n
}

// script returns the node of a PowerShell script block or pipeline record.
func (b *builder) script(s *schema.Script) *Node {
	if s == nil || (s.Text == "" && s.Path == "" && s.BlockID == "") {
		return nil
	}
	var key string
	if id := normGUID(s.BlockID); id != "" {
		key = "block:" + id
	} else {
		h := sha1.Sum([]byte(s.Path + "\x00" + s.Text))
		key = "text:" + hex.EncodeToString(h[:10])
	}
	n := b.nodeL(Script, key, func() string { return scriptLabel(s) })
	if len(n.text[famScript]) < 8 && s.Text != "" {
		// Multi-part blocks (4104 "message n of m") add their parts.
		n.text[famScript] = append(n.text[famScript], s.Text)
	}
	if s.Path != "" && len(n.text[famPath]) == 0 {
		n.text[famPath] = append(n.text[famPath], s.Path)
	}
	return n
}

func scriptLabel(s *schema.Script) string {
	t := strings.Join(strings.Fields(s.Text), " ")
	if len(t) > 120 {
		t = clip(t, 117) + "..."
	}
	if t == "" {
		t = s.Path
	}
	return t
}

// hostApp finds the process a PowerShell record ran in. The record's
// ExecutionProcessID is not trustworthy (it names the Sysmon service on
// some shapes), so the link is made by content: the latest process of the
// window so far whose command line is the record's host application. If
// none matches, the host application becomes a process node of its own.
func (b *builder) hostApp(s *schema.Script) *Node {
	if s == nil || strings.TrimSpace(s.HostApp) == "" {
		return nil
	}
	want, ok := b.hostApps[s.HostApp]
	if !ok {
		want = normCmd(s.HostApp)
		b.hostApps[s.HostApp] = want
	}
	if p := b.byCmd[want]; p != nil {
		b.touch(p)
		return p
	}
	n := b.node(Process, "hostapp:"+want, firstWord(s.HostApp))
	if len(n.text[famCmd]) == 0 {
		n.text[famCmd] = append(n.text[famCmd], s.HostApp)
		if img := firstWord(s.HostApp); img != "" {
			n.text[famImage] = append(n.text[famImage], img)
		}
	}
	return n
}

// normCmd is a command line's identity for host-application matching:
// lower-case, whitespace collapsed, bounded.
func normCmd(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(clip(s, maxFieldBytes)), " "))
}

// firstWord returns the program of a command line (quoted or not).
func firstWord(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if strings.HasPrefix(cmd, `"`) {
		if end := strings.IndexByte(cmd[1:], '"'); end >= 0 {
			return cmd[1 : end+1]
		}
		return strings.Trim(cmd, `"`)
	}
	if i := strings.IndexAny(cmd, " \t"); i >= 0 {
		return cmd[:i]
	}
	return cmd
}

// accountClass describes an operation's subject or target account by role.
func accountClass(name string) string {
	switch {
	case name == "" || name == "-":
		return ""
	case isSystemAccount(name):
		return "system"
	default:
		return "user"
	}
}

// event maps one event; it reports whether the event produced a node.
func (b *builder) event(ev *schema.NormalizedEvent) bool {
	d := &ev.Data
	subject := b.process(d.Process)
	switch ev.EventType {
	case schema.EventProcessCreate:
		if subject == nil {
			return false
		}
		subject.flags |= flagStarted
		if parent := b.process(d.Parent); parent != nil && parent != subject {
			b.edge(RelSpawned, parent, subject)
			subject.flags |= flagParentSeen
		}
		if d.Process.Image != "" {
			b.edge(RelExecutedFile, subject, b.file(d.Process.Image, flagImage))
		}
	case schema.EventProcessTerminate:
		if subject == nil {
			return false
		}
		subject.flags |= flagTerminated
	case schema.EventProcessAccess, schema.EventCreateRemoteThread, schema.EventProcessTamper:
		var attrs []string
		if t := d.Target; t != nil {
			attrs = append(attrs, "target:"+strings.ToLower(baseName(t.Image)), attr("access", t.GrantedAccess))
		}
		b.edge(RelPerformed, subject, b.op(string(ev.EventType), attrs...))
	case schema.EventImageLoad, schema.EventDriverLoad:
		if d.File == nil || d.File.Path == "" {
			return subject != nil
		}
		f := b.file(d.File.Path, flagImage)
		if d.File.Signed != nil && !*d.File.Signed {
			f.flags |= flagUnsigned
		}
		b.edge(RelExecutedFile, subject, f)
	case schema.EventFileCreate, schema.EventFileWrite, schema.EventFileTimestomp:
		if d.File == nil {
			return subject != nil
		}
		b.edge(RelWrote, subject, b.file(d.File.Path, flagWritten))
	case schema.EventFileDelete:
		if d.File == nil {
			return subject != nil
		}
		b.edge(RelWrote, subject, b.file(d.File.Path, flagDeleted))
	case schema.EventPipeCreate, schema.EventPipeConnect:
		if d.File == nil {
			return subject != nil
		}
		b.edge(RelWrote, subject, b.file(d.File.Path, flagPipe))
	case schema.EventFileRead, schema.EventRawAccessRead:
		// Reads are operations on a path (there is no "read" edge type):
		// the operation node carries the path's tokens.
		path := ""
		if d.File != nil {
			path = d.File.Path
		}
		o := b.opKeyed(string(ev.EventType), b.pathKey(path))
		if len(o.text[famPath]) == 0 && path != "" {
			o.text[famPath] = append(o.text[famPath], path)
		}
		o.flags |= flagRead
		b.edge(RelPerformed, subject, o)
	case schema.EventRegistryCreate, schema.EventRegistryDelete, schema.EventRegistrySet, schema.EventRegistryRename:
		r := b.registry(d.Registry)
		if r == nil {
			return subject != nil
		}
		if ev.EventType == schema.EventRegistryDelete {
			r.flags |= flagDeleted
		}
		b.edge(RelWrote, subject, r)
	case schema.EventNetworkConnect, schema.EventNetworkAccept:
		n := d.Network
		if n == nil {
			return subject != nil
		}
		dir := strings.ToLower(n.Direction)
		if dir == "" {
			dir = "outbound"
			if ev.EventType == schema.EventNetworkAccept {
				dir = "inbound"
			}
		}
		remote := n.DstIP
		if dir == "inbound" {
			remote = n.SrcIP
		}
		if remote == "" {
			remote = n.DstHostname
		}
		b.edge(RelConnectedTo, subject, b.peer(dir, remote, n.DstPort, n.Protocol))
	case schema.EventDNSQuery:
		q := ""
		if d.DNS != nil {
			q = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d.DNS.Query), "."))
		}
		if q == "" {
			return subject != nil
		}
		n := b.node(Network, "dns:"+q, q+" (dns)")
		if len(n.tokens[famDest]) == 0 {
			n.tokens[famDest] = dnsTokens(q)
		}
		n.flags |= flagDNS | flagOutbound
		b.edge(RelConnectedTo, subject, n)
	case schema.EventLogon, schema.EventLogonFailed, schema.EventLogoff, schema.EventSpecialPrivs:
		l := d.Logon
		if l == nil {
			l = &schema.Logon{}
		}
		o := b.op(string(ev.EventType),
			attr("logon_type", strconv.Itoa(l.Type)), attr("auth", l.AuthPackage), attr("logon_process", l.LogonProcess),
			attr("account", accountClass(l.TargetUser)), attr("status", l.Status))
		if l.ElevatedToken {
			o.flags |= flagElevated
		}
		b.edge(RelPerformed, subject, o)
		if l.SourceIP != "" {
			if p := b.peer("inbound", l.SourceIP, 0, ""); p != nil && !parseAddr(l.SourceIP).IsLoopback() {
				b.edge(RelPeerConnectedTo, p, o)
				o.flags |= flagRemote
			}
		}
	case schema.EventExplicitLogon:
		l := d.Logon
		if l == nil {
			l = &schema.Logon{}
		}
		o := b.op(string(ev.EventType), attr("account", accountClass(l.TargetUser)))
		b.edge(RelPerformed, subject, o)
		if p := b.hostPeer("outbound", l.TargetServer); p != nil {
			b.edge(RelPeerConnectedTo, p, o)
			o.flags |= flagRemote
		}
	case schema.EventKerberosTGT, schema.EventKerberosService, schema.EventNTLMAuth:
		l := d.Logon
		if l == nil {
			l = &schema.Logon{}
		}
		o := b.op(string(ev.EventType), attr("account", accountClass(l.TargetUser)), attr("auth", l.AuthPackage),
			attr("service", serviceClass(l.ServiceName)), attr("status", l.Status))
		b.edge(RelPerformed, subject, o)
		if l.SourceIP != "" && !parseAddr(l.SourceIP).IsLoopback() {
			if p := b.peer("inbound", l.SourceIP, 0, ""); p != nil {
				b.edge(RelPeerConnectedTo, p, o)
				o.flags |= flagRemote
			}
		}
	case schema.EventUserCreate, schema.EventGroupMemberAdd:
		var attrs []string
		if g := d.Group; g != nil {
			attrs = append(attrs, attr("group", g.Name))
		}
		b.edge(RelPerformed, subject, b.op(string(ev.EventType), attrs...))
	case schema.EventServiceInstall:
		s := d.Service
		if s == nil {
			s = &schema.Service{}
		}
		o := b.op(string(ev.EventType), attr("start", s.StartType), attr("service_type", s.ServiceType), attr("account", accountClass(s.Account)))
		if s.ImagePath != "" && len(o.text[famCmd]) < 4 {
			o.text[famCmd] = append(o.text[famCmd], s.ImagePath)
		}
		b.edge(RelPerformed, subject, o)
		if img := firstWord(s.ImagePath); img != "" {
			b.edge(RelOpExecuted, o, b.file(img, flagImage))
		}
	case schema.EventTaskCreate, schema.EventTaskUpdate:
		t := d.Task
		if t == nil {
			t = &schema.Task{}
		}
		o := b.op(string(ev.EventType))
		if t.Command != "" && len(o.text[famCmd]) < 4 {
			o.text[famCmd] = append(o.text[famCmd], t.Command)
		}
		if t.Name != "" && len(o.text[famPath]) < 4 {
			o.text[famPath] = append(o.text[famPath], t.Name)
		}
		b.edge(RelPerformed, subject, o)
		if img := firstWord(t.Command); img != "" {
			b.edge(RelOpExecuted, o, b.file(img, flagImage))
		}
	case schema.EventShareAccess:
		s := d.Share
		if s == nil {
			s = &schema.Share{}
		}
		o := b.op(string(ev.EventType), attr("share", shareName(s.Name)), attr("access", s.AccessMask))
		if s.RelativeName != "" && len(o.text[famPath]) < 4 {
			o.text[famPath] = append(o.text[famPath], s.RelativeName)
		}
		b.edge(RelPerformed, subject, o)
		if n := d.Network; n != nil && n.SrcIP != "" && !parseAddr(n.SrcIP).IsLoopback() {
			if p := b.peer("inbound", n.SrcIP, 0, ""); p != nil {
				b.edge(RelPeerConnectedTo, p, o)
				o.flags |= flagRemote
			}
		}
	case schema.EventWMIActivity, schema.EventWMISubscription:
		w := d.WMI
		if w == nil {
			w = &schema.WMI{}
		}
		o := b.op(string(ev.EventType), attr("wmi_op", firstWord(w.Operation)), attr("namespace", w.Namespace))
		for _, s := range []string{w.Consumer, w.Filter, w.Query} {
			if s != "" && len(o.text[famCmd]) < 4 {
				o.text[famCmd] = append(o.text[famCmd], s)
			}
		}
		b.edge(RelPerformed, subject, o)
		if p := b.hostPeer("inbound", w.ClientMachine); p != nil && !b.isLocalHost(w.ClientMachine) {
			b.edge(RelPeerConnectedTo, p, o)
			o.flags |= flagRemote
		}
	case schema.EventScriptBlock, schema.EventPowerShellInvoke:
		s := b.script(d.Script)
		if s == nil {
			return subject != nil
		}
		host := subject
		if host == nil {
			host = b.hostApp(d.Script)
		}
		b.edge(RelExecutedScript, host, s)
	case schema.EventSyscall:
		sc := d.Syscall
		if sc == nil {
			return subject != nil
		}
		ok := ""
		if sc.Success != nil {
			ok = "success:" + strconv.FormatBool(*sc.Success)
		}
		o := b.op(string(ev.EventType), attr("name", sc.Name), attr("arch", sc.Arch), ok, exitClass(sc.Exit))
		b.edge(RelPerformed, subject, o)
	case schema.EventLogCleared:
		b.edge(RelPerformed, subject, b.op(string(ev.EventType), attr("channel", d.Channel)))
	default:
		return subject != nil
	}
	return true
}

func (b *builder) isLocalHost(h string) bool {
	h = strings.ToLower(strings.TrimSpace(h))
	if h == "" {
		return true
	}
	short, _, _ := strings.Cut(h, ".")
	cur := b.cur
	return short == strings.ToLower(cur.EndpointID) || h == strings.ToLower(cur.Hostname) || short == strings.ToLower(cur.Hostname)
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// shareName keeps a share's name without the host (\\*\ADMIN$ -> admin$).
func shareName(s string) string {
	return strings.ToLower(baseName(strings.TrimSpace(s)))
}

// serviceClass reduces a Kerberos service name to its role: krbtgt, a
// machine account, or another service.
func serviceClass(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return ""
	case s == "krbtgt" || strings.HasPrefix(s, "krbtgt/"):
		return "krbtgt"
	case strings.HasSuffix(s, "$"):
		return "machine"
	}
	return "other"
}

// exitClass buckets a syscall's return value: 0, positive, or an errno.
func exitClass(e *int64) string {
	switch {
	case e == nil:
		return ""
	case *e == 0:
		return "exit:0"
	case *e > 0:
		return "exit:positive"
	case *e >= -200:
		return "exit:errno" + strconv.FormatInt(-*e, 10)
	}
	return "exit:negative"
}

// String renders a node for logs and test failures.
func (n *Node) String() string {
	return fmt.Sprintf("%s#%d %q", n.Type, n.Index, n.Label)
}

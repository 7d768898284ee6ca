package attack

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/logster/logster/internal/schema"
)

// Bounds on the evidence of one window. A busy file server can hold
// thousands of remote logons in three minutes; the alerts service needs the
// distinct facts, not every repetition, and the record must stay small.
const (
	MaxLinks          = 64
	MaxAccounts       = 32
	MaxAddresses      = 32
	MaxSampleEventIDs = 5
	// maxPeersPerFact bounds how many peers one target-side fact (a
	// wsmprovhost.exe start, a DCOM launch) is attributed to.
	maxPeersPerFact = 4
)

// strongKinds are link kinds that by themselves show one host acting on
// another; connections only show that two hosts talked.
var strongKinds = map[string]bool{
	schema.LinkRemoteLogon: true, schema.LinkExplicitLogon: true, schema.LinkRemoteService: true,
	schema.LinkRemoteTask: true, schema.LinkRemoteWMI: true, schema.LinkWinRM: true,
	schema.LinkDCOM: true, schema.LinkAdminShare: true,
}

// IsStrongLink reports whether a link kind shows remote action (as opposed
// to a bare connection).
func IsStrongLink(kind string) bool { return strongKinds[kind] }

// IsRemoteExecution reports whether a link kind shows one host running or
// managing something on another (service, task, WMI, WinRM, DCOM, admin
// share): the strong kinds without the logons, which on their own are what
// every domain member does to file servers and domain controllers.
func IsRemoteExecution(kind string) bool {
	return strongKinds[kind] && kind != schema.LinkRemoteLogon && kind != schema.LinkExplicitLogon
}

// session is a network logon seen on this host: who came from where.
type session struct {
	peer    netip.Addr
	host    string
	account string
}

// extractor holds the per-window indexes Extract builds in its first pass.
type extractor struct {
	self      map[string]bool // this host's own names (short, lower)
	local     map[netip.Addr]bool
	sessions  map[string]session             // target logon id -> session
	byAccount map[string]map[netip.Addr]bool // account -> peers it logged on from
	// Inbound connection peers per service port, and outbound peers on 135,
	// used to attribute target-side facts and to accept dynamic RPC ports.
	inboundPeers  map[int]map[netip.Addr]bool
	outboundPeers map[int]map[netip.Addr]bool

	links map[linkKey]*schema.EvidenceLink
}

type linkKey struct {
	kind, dir, ip, host, account string
	port                         int
}

// Extract summarises one endpoint window into Evidence. The output depends
// only on the set of events (not their order): events are processed in
// (timestamp, event id) order and every list is sorted. Sizes are bounded
// (MaxLinks, MaxAccounts, MaxAddresses, MaxSampleEventIDs). Extract returns
// an empty, non-nil Evidence for an empty window.
func Extract(events []*schema.NormalizedEvent) *schema.Evidence {
	evs := make([]*schema.NormalizedEvent, 0, len(events))
	for _, e := range events {
		if e != nil {
			evs = append(evs, e)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].Timestamp != evs[j].Timestamp {
			return evs[i].Timestamp < evs[j].Timestamp
		}
		return evs[i].EventID < evs[j].EventID
	})

	x := &extractor{
		self:          map[string]bool{},
		local:         map[netip.Addr]bool{},
		sessions:      map[string]session{},
		byAccount:     map[string]map[netip.Addr]bool{},
		inboundPeers:  map[int]map[netip.Addr]bool{},
		outboundPeers: map[int]map[netip.Addr]bool{},
		links:         map[linkKey]*schema.EvidenceLink{},
	}
	x.firstPass(evs)

	accounts := map[string]int{}
	techs := map[string]*schema.TechniqueHit{}
	for _, raw := range evs {
		ev := newEvent(raw)
		hits := matchEvent(ev)
		for _, h := range hits {
			th := techs[h.Technique]
			if th == nil {
				th = &schema.TechniqueHit{ID: h.Technique, Name: h.Name, FirstSeen: ev.Timestamp}
				techs[h.Technique] = th
			}
			th.Count++
			if ev.Timestamp < th.FirstSeen {
				th.FirstSeen = ev.Timestamp
			}
			if len(th.EventIDs) < MaxSampleEventIDs && ev.EventID != "" {
				th.EventIDs = append(th.EventIDs, ev.EventID)
			}
		}
		for _, a := range eventAccounts(raw) {
			accounts[a]++
		}
		x.linksOf(ev, hits)
	}

	out := &schema.Evidence{
		LocalAddresses: x.addresses(),
		Accounts:       topAccounts(accounts),
		Links:          x.boundedLinks(),
	}
	for _, th := range techs {
		out.Techniques = append(out.Techniques, *th)
	}
	sort.Slice(out.Techniques, func(i, j int) bool { return out.Techniques[i].ID < out.Techniques[j].ID })
	return out
}

// firstPass learns the host's own addresses and names, its remote logon
// sessions and the peers of its lateral-movement-port connections.
func (x *extractor) firstPass(evs []*schema.NormalizedEvent) {
	for _, ev := range evs {
		if h := hostName(ev.Hostname); h != "" {
			x.self[h] = true
		}
		if h := hostName(ev.EndpointID); h != "" {
			x.self[h] = true
		}
		if h := hostName(ev.Data.FQDN); h != "" {
			x.self[h] = true
		}
		if n := ev.Data.Network; n != nil && isNetwork(ev) {
			localSide := n.SrcIP
			if direction(ev) == DirInbound {
				localSide = n.DstIP
			}
			if a, ok := canonIP(localSide); ok && routable(a) {
				x.local[a] = true
			}
		}
	}
	for _, ev := range evs {
		switch {
		case isNetwork(ev):
			peer, port, dir, ok := x.netPeer(ev)
			if !ok {
				continue
			}
			m := x.inboundPeers
			if dir == DirOutbound {
				m = x.outboundPeers
			}
			if m[port] == nil {
				m[port] = map[netip.Addr]bool{}
			}
			m[port][peer] = true
		case ev.EventType == schema.EventLogon:
			l := ev.Data.Logon
			if l == nil || (l.Type != 3 && l.Type != 10) {
				continue
			}
			peer, ok := canonIP(l.SourceIP)
			acct := canonAccount(l.TargetUser, l.TargetDomain)
			if !ok || !routable(peer) || x.local[peer] || acct == "" {
				continue
			}
			s := session{peer: peer, host: x.peerHost(l.SourceHost), account: acct}
			if id := strings.ToLower(l.TargetLogonID); id != "" && id != "0x0" {
				x.sessions[id] = s
			}
			if x.byAccount[acct] == nil {
				x.byAccount[acct] = map[netip.Addr]bool{}
			}
			x.byAccount[acct][peer] = true
		}
	}
}

// isNetwork reports whether ev is a TCP connection (or one whose protocol
// is not recorded). UDP is left out: every lateral-movement port is TCP, and
// Sysmon records UDP exchanges with the local side as "source" whatever the
// direction (a DNS server's replies would make every client address look
// like one of the server's own).
func isNetwork(ev *schema.NormalizedEvent) bool {
	if (ev.EventType != schema.EventNetworkConnect && ev.EventType != schema.EventNetworkAccept) || ev.Data.Network == nil {
		return false
	}
	p := strings.ToLower(ev.Data.Network.Protocol)
	return p == "" || p == "tcp" || p == "6"
}

// netPeer returns the remote side of a connection, the service port (the
// destination port in both directions) and the direction; ok is false for
// loopback, link-local and self traffic.
func (x *extractor) netPeer(ev *schema.NormalizedEvent) (netip.Addr, int, string, bool) {
	n := ev.Data.Network
	dir := direction(ev)
	peerText := n.DstIP
	if dir == DirInbound {
		peerText = n.SrcIP
	}
	peer, ok := canonIP(peerText)
	if !ok || !routable(peer) || x.local[peer] {
		return netip.Addr{}, 0, "", false
	}
	return peer, n.DstPort, dir, true
}

// peerHost canonicalizes a host name from a record, dropping this host's own
// names and IP-literal names (those go to PeerIP).
func (x *extractor) peerHost(s string) string {
	h := hostName(s)
	if h == "" || x.self[h] {
		return ""
	}
	if _, ok := canonIP(h); ok {
		return ""
	}
	return h
}

// add records a link, keeping the earliest occurrence of each distinct fact.
func (x *extractor) add(ev *event, l schema.EvidenceLink) {
	if l.PeerIP == "" && l.PeerHost == "" {
		return
	}
	l.Timestamp = ev.Timestamp
	l.EventID = ev.EventID
	k := linkKey{l.Kind, l.Direction, l.PeerIP, l.PeerHost, l.Account, l.Port}
	if old, ok := x.links[k]; ok {
		if old.Technique == "" {
			old.Technique = l.Technique
		}
		return
	}
	x.links[k] = &l
}

// peersFor resolves who performed a target-side action: the remote session
// of the acting logon id, else the peers the acting account logged on from,
// else the given fallback peers (inbound connections on the service port).
func (x *extractor) peersFor(logonID, account string, fallback map[netip.Addr]bool) []session {
	if id := strings.ToLower(logonID); id != "" {
		if s, ok := x.sessions[id]; ok {
			return []session{s}
		}
	}
	var out []session
	if account != "" {
		for acct, peers := range x.byAccount {
			// A record may name the account without its domain (NXLog puts
			// the installing user of a 7045 in AccountName).
			if acct != account && (strings.Contains(account, `\`) || !strings.HasSuffix(acct, `\`+account)) {
				continue
			}
			for p := range peers {
				out = append(out, session{peer: p, account: acct})
			}
		}
	}
	if len(out) == 0 {
		for p := range fallback {
			out = append(out, session{peer: p, account: account})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].peer != out[j].peer {
			return out[i].peer.Less(out[j].peer)
		}
		return out[i].account < out[j].account
	})
	if len(out) > maxPeersPerFact {
		out = out[:maxPeersPerFact]
	}
	return out
}

// logonIDOf is the subject's logon session, "" when unknown.
func logonIDOf(u *schema.User) string {
	if u == nil {
		return ""
	}
	return u.LogonID
}

// fromPeers adds link l once per session, from that session's peer and
// account.
func (x *extractor) fromPeers(ev *event, sessions []session, l schema.EvidenceLink) {
	for _, s := range sessions {
		l.PeerIP, l.PeerHost, l.Account = s.peer.String(), s.host, s.account
		x.add(ev, l)
	}
}

func firstTechnique(hits []Hit, prefer ...string) string {
	for _, p := range prefer {
		for _, h := range hits {
			if h.Technique == p {
				return p
			}
		}
	}
	return ""
}

// ruleFired reports whether any of the rules matches ev (a rule that shares
// its technique with an earlier rule does not show up in hits).
func ruleFired(ev *event, ids ...string) bool {
	for _, id := range ids {
		if r := ruleByID[id]; r != nil && r.matches(ev) {
			return true
		}
	}
	return false
}

// linksOf derives the links one event contributes.
func (x *extractor) linksOf(ev *event, hits []Hit) {
	d := &ev.Data
	switch ev.EventType {
	case schema.EventLogon:
		l := d.Logon
		if l == nil || (l.Type != 3 && l.Type != 10) {
			return
		}
		peer, ok := canonIP(l.SourceIP)
		acct := canonAccount(l.TargetUser, l.TargetDomain)
		if !ok || !routable(peer) || x.local[peer] || acct == "" {
			return
		}
		tech := ""
		if l.Type == 10 {
			tech = "T1021.001"
		}
		detail := "logon type " + strconv.Itoa(l.Type)
		if l.AuthPackage != "" {
			detail += " " + strings.TrimSpace(l.AuthPackage)
		}
		x.add(ev, schema.EvidenceLink{Kind: schema.LinkRemoteLogon, Direction: DirInbound, PeerIP: peer.String(),
			PeerHost: x.peerHost(l.SourceHost), Account: acct, Technique: tech, Detail: detail})

	case schema.EventExplicitLogon:
		l := d.Logon
		if l == nil {
			return
		}
		host := x.peerHost(l.TargetServer)
		ip := ""
		for _, s := range []string{ipOf(d.Network, true), l.SourceIP} {
			if a, ok := canonIP(s); ok && routable(a) && !x.local[a] {
				ip = a.String()
				break
			}
		}
		if h := hostName(l.TargetServer); h != "" && ip == "" {
			if a, ok := canonIP(h); ok && !x.local[a] {
				ip = a.String()
			}
		}
		acct := canonAccount(l.TargetUser, l.TargetDomain)
		if host == "" && ip == "" || acct == "" {
			return
		}
		x.add(ev, schema.EvidenceLink{Kind: schema.LinkExplicitLogon, Direction: DirOutbound, PeerIP: ip, PeerHost: host,
			Account: acct, Detail: image(d.Process)})

	case schema.EventNetworkConnect, schema.EventNetworkAccept:
		if !isNetwork(ev.NormalizedEvent) {
			return
		}
		peer, port, dir, ok := x.netPeer(ev.NormalizedEvent)
		if !ok {
			return
		}
		img := image(d.Process)
		if (port == 5985 || port == 5986) && dir == DirOutbound && img == "svchost.exe" {
			return // Windows Event Forwarding to its collector
		}
		relevant := isLateralPort(port) ||
			(isDynamicRPCPort(port) && ((dir == DirInbound && x.inboundPeers[135][peer]) ||
				(dir == DirOutbound && x.outboundPeers[135][peer])))
		if !relevant {
			return
		}
		kind := schema.LinkOutboundConnect
		if dir == DirInbound {
			kind = schema.LinkInboundConnect
		}
		if (port == 5985 || port == 5986) && dir == DirOutbound && img != "system" {
			kind = schema.LinkWinRM
		}
		x.add(ev, schema.EvidenceLink{Kind: kind, Direction: dir, PeerIP: peer.String(), Account: accountOfProcess(d.Process),
			Port: port, Technique: firstTechnique(hits, "T1021.006"), Detail: img})

	case schema.EventServiceInstall:
		acct := accountOfUser(d.User)
		if acct == "" && d.Service != nil {
			acct = canonAccount(d.Service.Account, "")
		}
		logonID := logonIDOf(d.User)
		detail := ""
		if d.Service != nil {
			detail = d.Service.Name
		}
		x.fromPeers(ev, x.peersFor(logonID, acct, nil), schema.EvidenceLink{Kind: schema.LinkRemoteService, Direction: DirInbound, Technique: "T1569.002", Detail: detail})

	case schema.EventTaskCreate:
		if !ruleFired(ev, "scheduled-task-created") {
			return
		}
		acct := accountOfUser(d.User)
		logonID := logonIDOf(d.User)
		detail := ""
		if d.Task != nil {
			detail = d.Task.Name
		}
		x.fromPeers(ev, x.peersFor(logonID, acct, nil), schema.EvidenceLink{Kind: schema.LinkRemoteTask, Direction: DirInbound, Technique: "T1053.005", Detail: detail})

	case schema.EventShareAccess:
		if !ruleFired(ev, "admin-share-access", "ipc-svcctl", "ipc-atsvc", "admin-share-tool-write") {
			return
		}
		acct := accountOfUser(d.User)
		detail := shareName(ev)
		if r := shareRelative(ev); r != "" {
			detail += `\` + r
		}
		tech := firstTechnique(hits, "T1570", "T1021.002")
		ip := ""
		for _, s := range []string{ipOf(d.Network, false), logonIP(d.Logon)} {
			if a, ok := canonIP(s); ok && routable(a) && !x.local[a] {
				ip = a.String()
				break
			}
		}
		if ip != "" {
			x.add(ev, schema.EvidenceLink{Kind: schema.LinkAdminShare, Direction: DirInbound, PeerIP: ip, Account: acct,
				Port: 445, Technique: tech, Detail: detail})
			return
		}
		logonID := logonIDOf(d.User)
		x.fromPeers(ev, x.peersFor(logonID, acct, nil), schema.EvidenceLink{Kind: schema.LinkAdminShare, Direction: DirInbound, Port: 445, Technique: tech, Detail: detail})

	case schema.EventWMIActivity:
		if d.WMI == nil {
			return
		}
		if h := x.peerHost(d.WMI.ClientMachine); h != "" {
			x.add(ev, schema.EvidenceLink{Kind: schema.LinkRemoteWMI, Direction: DirInbound, PeerHost: h,
				Account: accountOfUser(d.User), Technique: firstTechnique(hits, "T1546.003", "T1047"), Detail: d.WMI.Operation})
		}

	case schema.EventWMISubscription:
		// A permanent subscription (Sysmon 19/20/21) made by a user who is
		// logged on here from another host: WMI persistence set up from
		// that peer. Only the account's own remote logons attribute it
		// (no fallback to bare RPC connections).
		acct := accountOfUser(d.User)
		if acct == "" || d.WMI == nil {
			return
		}
		detail := d.WMI.Operation
		if n := strings.Trim(strings.TrimSpace(firstNonEmpty(d.WMI.Consumer, d.WMI.Filter)), `"`); n != "" {
			detail += " " + n
		}
		// Sysmon 19-21 carry no logon id: attribute only when the account
		// came from exactly one peer (an admin with sessions from several
		// hosts, an RDP jump host among them, proves nothing).
		if peers := x.peersFor("", acct, nil); len(peers) == 1 {
			x.fromPeers(ev, peers, schema.EvidenceLink{Kind: schema.LinkRemoteWMI, Direction: DirInbound, Technique: "T1546.003", Detail: strings.TrimSpace(detail)})
		}

	case schema.EventProcessCreate:
		x.processLinks(ev)

	case schema.EventScriptBlock, schema.EventPowerShellInvoke:
		x.outboundCommandLinks(ev, "")
	}
}

// processLinks handles process creation: target-side remote execution
// (WMI, WinRM, DCOM children) and source-side commands naming a peer.
func (x *extractor) processLinks(ev *event) {
	p := ev.Data.Process
	acct := accountOfProcess(p)
	logonID := ""
	if p != nil {
		logonID = p.LogonID
	}
	detail := image(p)
	switch {
	case ruleFired(ev, "wmiprvse-child") && acct != "":
		// A process WMI started as a (non-system) user: Win32_Process.Create
		// called by that user — remotely when the user has a network logon
		// here, or when WMI was reached over DCOM (135) or WinRM (5985/5986).
		fallback := union(union(x.inboundPeers[135], x.inboundPeers[5985]), x.inboundPeers[5986])
		x.fromPeers(ev, x.peersFor(logonID, acct, fallback), schema.EvidenceLink{Kind: schema.LinkRemoteWMI, Direction: DirInbound, Technique: "T1047", Detail: detail})
	case image(p) == "wsmprovhost.exe":
		fallback := union(x.inboundPeers[5985], x.inboundPeers[5986])
		x.fromPeers(ev, x.peersFor(logonID, acct, fallback), schema.EvidenceLink{Kind: schema.LinkWinRM, Direction: DirInbound, Port: 5985, Technique: "T1021.006", Detail: detail})
	case ruleFired(ev, "dcom-application-launch", "mmc-child-shell"):
		x.fromPeers(ev, x.peersFor(logonID, acct, x.inboundPeers[135]), schema.EvidenceLink{Kind: schema.LinkDCOM, Direction: DirInbound, Port: 135, Technique: "T1021.003", Detail: detail})
	}
	x.outboundCommandLinks(ev, acct)
}

// outboundCommandLinks derives source-side links from commands that name
// the host they act on.
func (x *extractor) outboundCommandLinks(ev *event, acct string) {
	type target struct {
		kind, tech string
		find       func(*event) (string, bool)
	}
	targets := []target{
		{schema.LinkRemoteService, "T1569.002", scRemoteTarget},
		{schema.LinkRemoteWMI, "T1047", wmicRemoteTarget},
		{schema.LinkRemoteTask, "T1053.005", schtasksRemoteTarget},
		{schema.LinkWinRM, "T1021.006", remotingTarget},
		{schema.LinkDCOM, "T1021.003", dcomTarget},
		{schema.LinkAdminShare, "T1021.002", adminShareTarget},
		{schema.LinkAdminShare, "T1021.002", psexecTarget},
		{schema.LinkRemoteService, "T1569.002", psexecTarget},
	}
	for _, t := range targets {
		h, ok := t.find(ev)
		if !ok {
			continue
		}
		l := schema.EvidenceLink{Kind: t.kind, Direction: DirOutbound, Account: acct, Technique: t.tech, Detail: image(ev.Data.Process)}
		if a, isIP := canonIP(h); isIP {
			if x.local[a] {
				continue
			}
			l.PeerIP = a.String()
		} else {
			if x.self[h] {
				continue
			}
			l.PeerHost = h
		}
		if l.Detail == "" {
			l.Detail = string(ev.EventType)
		}
		x.add(ev, l)
	}
}

func union(a, b map[netip.Addr]bool) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// ipOf returns the destination (dst=true) or source address of a Network.
func ipOf(n *schema.Network, dst bool) string {
	if n == nil {
		return ""
	}
	if dst {
		return n.DstIP
	}
	return n.SrcIP
}

func logonIP(l *schema.Logon) string {
	if l == nil {
		return ""
	}
	return l.SourceIP
}

// eventAccounts lists the non-system accounts an event shows active on the
// host. Authentication-service records (Kerberos/NTLM validation on a domain
// controller) and failed logons are left out: they show who asked the DC,
// not who was active on it.
func eventAccounts(ev *schema.NormalizedEvent) []string {
	var out []string
	add := func(a string) {
		if a != "" && !inSet(a, out...) {
			out = append(out, a)
		}
	}
	d := &ev.Data
	switch ev.EventType {
	case schema.EventKerberosTGT, schema.EventKerberosService, schema.EventNTLMAuth, schema.EventLogonFailed:
		return nil
	}
	add(accountOfProcess(d.Process))
	add(accountOfUser(d.User))
	if l := d.Logon; l != nil {
		switch ev.EventType {
		case schema.EventLogon, schema.EventExplicitLogon, schema.EventSpecialPrivs, schema.EventLogoff:
			add(canonAccount(l.TargetUser, l.TargetDomain))
		}
	}
	return out
}

func topAccounts(counts map[string]int) []string {
	out := make([]string, 0, len(counts))
	for a := range counts {
		out = append(out, a)
	}
	if len(out) > MaxAccounts {
		// Keep the most active accounts; ties by name for determinism.
		sort.Slice(out, func(i, j int) bool {
			if counts[out[i]] != counts[out[j]] {
				return counts[out[i]] > counts[out[j]]
			}
			return out[i] < out[j]
		})
		out = out[:MaxAccounts]
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func (x *extractor) addresses() []string {
	addrs := make([]netip.Addr, 0, len(x.local))
	for a := range x.local {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	if len(addrs) > MaxAddresses {
		addrs = addrs[:MaxAddresses]
	}
	if len(addrs) == 0 {
		return nil
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// boundedLinks returns at most MaxLinks links: strong kinds first when
// trimming, then in time order.
func (x *extractor) boundedLinks() []schema.EvidenceLink {
	// The same connection is often recorded twice (Sysmon with the process
	// user, the Security log without): keep the richer one.
	withAcct := map[linkKey]bool{}
	for k := range x.links {
		if k.account != "" {
			k.account = ""
			withAcct[k] = true
		}
	}
	all := make([]schema.EvidenceLink, 0, len(x.links))
	for k, l := range x.links {
		if k.account == "" && withAcct[k] {
			continue
		}
		all = append(all, *l)
	}
	less := LinkLess
	if len(all) > MaxLinks {
		sort.Slice(all, func(i, j int) bool {
			si, sj := strongKinds[all[i].Kind], strongKinds[all[j].Kind]
			if si != sj {
				return si
			}
			return less(all[i], all[j])
		})
		all = all[:MaxLinks]
	}
	sort.Slice(all, func(i, j int) bool { return less(all[i], all[j]) })
	if len(all) == 0 {
		return nil
	}
	return all
}

// LinkLess is the canonical order of evidence links (time, then every
// field), so evidence lists are deterministic wherever they are built or
// merged.
func LinkLess(a, b schema.EvidenceLink) bool {
	if a.Timestamp != b.Timestamp {
		return a.Timestamp < b.Timestamp
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Direction != b.Direction {
		return a.Direction < b.Direction
	}
	if a.PeerIP != b.PeerIP {
		return a.PeerIP < b.PeerIP
	}
	if a.PeerHost != b.PeerHost {
		return a.PeerHost < b.PeerHost
	}
	if a.Account != b.Account {
		return a.Account < b.Account
	}
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	return a.EventID < b.EventID
}

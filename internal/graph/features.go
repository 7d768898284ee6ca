package graph

import (
	"hash/fnv"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/logster/logster/internal/schema"
)

// Feature layout (schema windows-v1 / linux-v1; both platforms share the
// layout, the schema name keeps their models apart). Changing anything
// here — an offset, a bucket count, a token rule, the event-type
// vocabulary — changes what a trained model sees and requires a new schema
// version; TestFeatureSchemaFrozen fails until the golden file and the
// version are updated together.
//
//	[0, 5)      node type one-hot
//	[5, 48)     event types of the events touching the node, log1p counts
//	            (the v1 vocabulary below, then "other")
//	[48, 88)    numeric block (numeric* indices)
//	[88, 568)   hashed token families: image 64, command line 128, path 128,
//	            destination 32, script 64, operation 64
//
// Token families are signed feature hashes (FNV-1a of "family\x00token":
// bucket = hash mod size, sign = top bit) scaled by 1/sqrt(tokens), so a
// long command line weighs as much as a short one. No host name, domain,
// account, SID, GUID, PID, IP address or absolute time ever reaches a
// feature: tokens are masked first (tokens.go) and times are relative to
// the window.
const (
	offType      = 0
	offEventType = offType + int(numNodeTypes)
	offNumeric   = offEventType + numEventTypes
	numNumeric   = 40
	offHashed    = offNumeric + numNumeric
)

// Hashed token families.
const (
	famImage = iota
	famCmd
	famPath
	famDest
	famScript
	famOp
	numFamilies
)

var familyNames = [numFamilies]string{"image", "cmd", "path", "dest", "script", "op"}

var familySize = [numFamilies]int{64, 128, 128, 32, 64, 64}

var familyOffset = func() (off [numFamilies]int) {
	o := offHashed
	for f := range numFamilies {
		off[f] = o
		o += familySize[f]
	}
	return off
}()

// FeatureDim is the width of every node's feature vector.
const FeatureDim = offHashed + 64 + 128 + 128 + 32 + 64 + 64

// eventTypeVocab is the frozen v1 event-type vocabulary. New event types
// count as "other" until a new schema version adds them.
var eventTypeVocab = []schema.EventType{
	"process_create", "process_terminate", "process_access", "create_remote_thread",
	"process_tamper", "image_load", "driver_load",
	"file_create", "file_write", "file_read", "file_delete", "file_time_change",
	"raw_access_read", "pipe_create", "pipe_connect",
	"registry_create", "registry_delete", "registry_set", "registry_rename",
	"network_connect", "network_accept", "dns_query",
	"logon", "logon_failed", "logoff", "explicit_logon", "privileged_logon",
	"kerberos_tgt", "kerberos_service", "ntlm_auth", "user_create", "group_member_add",
	"service_install", "task_create", "task_update", "share_access",
	"wmi_activity", "wmi_subscription", "script_block", "powershell_invoke",
	"syscall", "log_cleared",
}

// numEventTypes is the vocabulary plus "other".
const numEventTypes = 43

var eventTypeIndex = func() map[schema.EventType]int {
	m := make(map[schema.EventType]int, len(eventTypeVocab))
	for i, t := range eventTypeVocab {
		m[t] = i
	}
	return m
}()

// Numeric block indices (relative to offNumeric).
const (
	numEvents      = 0  // log1p events touching the node
	numInDeg       = 1  // log1p distinct incoming edges (forward relations)
	numOutDeg      = 2  // log1p distinct outgoing edges
	numRelDeg      = 3  // 3..10: log1p distinct edges per forward relation
	numFirst       = 11 // first event, relative to the window [0,1]
	numLast        = 12 // last event, relative to the window
	numSpan        = 13 // (last - first) / window length
	numIntegrity   = 14 // 14..17: integrity low, medium, high, system
	numSuccess     = 18 // log1p events with outcome success
	numFailure     = 19 // log1p events with outcome failure
	numFlags       = 20 // 20..: one per flag bit below
	numFlagsCount  = 17
	numUnusedStart = numFlags + numFlagsCount // reserved (zero) up to numNumeric
)

// Node flag bits (numeric block numFlags+bit).
const (
	flagStarted       uint64 = 1 << iota // process created in the window
	flagTerminated                       // process exited in the window
	flagParentSeen                       // process's parent is in the window
	flagSystemAccount                    // runs as / acts for a service account
	flagUserAccount                      // runs as / acts for a person's account
	flagImage                            // file executed or loaded as code
	flagWritten                          // file created or written
	flagDeleted                          // file or key deleted
	flagRegistry                         // registry key
	flagPipe                             // named pipe
	flagUnsigned                         // loaded image not signed
	flagRead                             // read operation
	flagInbound                          // inbound peer / connection
	flagOutbound                         // outbound peer / connection
	flagDNS                              // DNS name
	flagRemote                           // involves a non-loopback peer
	flagElevated                         // logon with an elevated token
)

func init() {
	if len(eventTypeVocab)+1 != numEventTypes {
		panic("graph: event type vocabulary and numEventTypes disagree")
	}
	if numUnusedStart > numNumeric || flagElevated >= 1<<numFlagsCount {
		panic("graph: numeric block overflows")
	}
}

// features writes node n's feature vector into x (len FeatureDim).
func (g *Graph) features(n *Node, m *masker, x []float32, toks []string) []string {
	clear(x)
	x[offType+int(n.Type)] = 1
	for i, c := range n.evTypes {
		if c > 0 {
			x[offEventType+i] = log1p(int(c))
		}
	}
	num := x[offNumeric : offNumeric+numNumeric]
	num[numEvents] = log1p(n.NumEvents)
	num[numInDeg] = log1p(n.inDeg)
	num[numOutDeg] = log1p(n.outDeg)
	for r := range numForward {
		num[numRelDeg+int(r)] = log1p(n.relDeg[r])
	}
	span := g.End - g.Start
	if span > 0 {
		num[numFirst] = rel(n.First, g.Start, span)
		num[numLast] = rel(n.Last, g.Start, span)
		num[numSpan] = float32(math.Min(1, math.Max(0, (n.Last-n.First)/span)))
	}
	if n.integrty > 0 {
		num[numIntegrity+int(n.integrty)-1] = 1
	}
	num[numSuccess] = log1p(n.success)
	num[numFailure] = log1p(n.failure)
	for bit := range numFlagsCount {
		if n.flags&(1<<bit) != 0 {
			num[numFlags+bit] = 1
		}
	}
	for f := range numFamilies {
		toks = appendFamilyTokens(toks[:0], n, m, f)
		hashInto(x[familyOffset[f]:familyOffset[f]+familySize[f]], familyNames[f], toks)
	}
	return toks
}

// maskAttr masks identities in the value of a "name:value" op token. Only
// the dictionary applies: op attributes are chosen fields whose numbers
// (logon type 3, access mask 0x1010) are the point.
func maskAttr(m *masker, t string) string {
	name, v, ok := strings.Cut(t, ":")
	if !ok {
		return t
	}
	if r, hit := m.dict[v]; hit {
		return name + ":" + r
	}
	return t
}

func log1p(n int) float32 { return float32(math.Log1p(float64(n))) }

func rel(t, start, span float64) float32 {
	return float32(math.Min(1, math.Max(0, (t-start)/span)))
}

// hashInto adds the signed hashes of toks into v, scaled by 1/sqrt(n).
func hashInto(v []float32, family string, toks []string) {
	if len(toks) == 0 {
		return
	}
	scale := float32(1 / math.Sqrt(float64(len(toks))))
	size := uint64(len(v))
	for _, t := range toks {
		h := fnv.New64a()
		h.Write([]byte(family))
		h.Write([]byte{0})
		h.Write([]byte(t))
		s := h.Sum64()
		if s>>63 == 1 {
			v[(s&(1<<63-1))%size] -= scale
		} else {
			v[s%size] += scale
		}
	}
}

// destTokens describes a network peer without naming it: direction,
// protocol, the service port and its class, and the address class.
func destTokens(direction, ip string, port int, proto string) []string {
	out := []string{"dir:" + direction}
	if proto != "" {
		out = append(out, "proto:"+strings.ToLower(proto))
	}
	if port > 0 {
		out = append(out, "port:"+strconv.Itoa(port))
		switch {
		case port < 1024:
			out = append(out, "portclass:system")
		case port < 49152:
			out = append(out, "portclass:registered")
		default:
			out = append(out, "portclass:dynamic")
		}
	}
	a := parseAddr(ip)
	switch {
	case !a.IsValid():
		out = append(out, "addr:name")
	case a.IsLoopback():
		out = append(out, "addr:loopback")
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast():
		out = append(out, "addr:linklocal")
	case a.IsMulticast():
		out = append(out, "addr:multicast")
	case a.IsPrivate():
		out = append(out, "addr:private")
	case a.IsUnspecified():
		out = append(out, "addr:unspecified")
	default:
		out = append(out, "addr:public")
	}
	if a.IsValid() {
		if a.Is4() {
			out = append(out, "ipv4")
		} else {
			out = append(out, "ipv6")
		}
	}
	return out
}

// dnsTokens describes a queried name by shape only: the top-level domain
// class, the number of labels and the length of the first label, and
// whether it looks generated (long, digit-heavy labels).
func dnsTokens(q string) []string {
	out := []string{"dns"}
	if _, err := netip.ParseAddr(q); err == nil {
		return append(out, "dns:literal_ip")
	}
	labels := strings.Split(q, ".")
	tld := labels[len(labels)-1]
	switch {
	case len(labels) == 1:
		out = append(out, "tld:none")
	case tld == "local" || tld == "lan" || tld == "internal" || tld == "corp" || tld == "home" || tld == "arpa":
		out = append(out, "tld:internal")
	case len(tld) == 2:
		out = append(out, "tld:country")
	default:
		out = append(out, "tld:"+clip(tld, 12))
	}
	out = append(out, "labels:"+strconv.Itoa(min(len(labels), 6)))
	first := labels[0]
	switch {
	case len(first) > 24:
		out = append(out, "label:long")
	case len(first) > 12:
		out = append(out, "label:medium")
	default:
		out = append(out, "label:short")
	}
	digits := 0
	for i := 0; i < len(first); i++ {
		if first[i] >= '0' && first[i] <= '9' {
			digits++
		}
	}
	if len(first) >= 8 && digits*3 >= len(first) {
		out = append(out, "label:digits")
	}
	return out
}

// appendFamilyTokens appends the masked tokens of token family f of node n
// (what that family's hashed block is built from).
func appendFamilyTokens(toks []string, n *Node, m *masker, f int) []string {
	for _, s := range n.text[f] {
		switch f {
		case famImage, famPath:
			toks = m.pathTokens(s, toks)
		case famCmd:
			toks = m.cmdTokens(s, toks)
		case famScript:
			toks = m.scriptTokens(s, toks)
		default:
			toks = append(toks, m.mask(strings.ToLower(s)))
		}
	}
	for _, t := range n.tokens[f] {
		if f == famOp {
			t = maskAttr(m, t)
		}
		toks = append(toks, t)
	}
	return toks
}

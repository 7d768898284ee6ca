package normalize

import (
	"crypto/sha1"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/logster/logster/internal/schema"
)

// b2s views b as a string without copying; the caller must not keep the
// result beyond b's lifetime (parser buffers are reused).
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// maxHostLen bounds host names taken from input (DNS limit).
const maxHostLen = 253

// canonicalHost returns the endpoint id for a host name as a record spells
// it: lower-case, short name (WORKSTATION5, WORKSTATION5.theshire.local and
// workstation5.mordor.local are one endpoint "workstation5"), and the FQDN
// (the name as spelled, when it is longer than the short name). IP
// addresses are kept whole. ok is false for empty or unusable names.
func canonicalHost(raw string) (endpoint, fqdn string, ok bool) {
	h := strings.TrimSpace(raw)
	h = strings.TrimSuffix(h, ".")
	if h == "" || h == "-" || len(h) > maxHostLen || !utf8.ValidString(h) {
		return "", "", false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c < 0x21 || c == 0x7f || c == '"' || c == '/' {
			return "", "", false
		}
	}
	// Only strings that can be addresses are parsed as one (ParseAddr
	// allocates its error for every host name).
	if c := h[0]; c >= '0' && c <= '9' || strings.IndexByte(h, ':') >= 0 {
		if _, err := netip.ParseAddr(h); err == nil {
			return strings.ToLower(h), "", true
		}
	}
	short := h
	if i := strings.IndexByte(h, '.'); i > 0 {
		short = h[:i]
		fqdn = h
	}
	return lower(short), fqdn, true
}

// lower is strings.ToLower with a no-allocation fast path for names that
// are already lower-case ASCII (most Linux host names).
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
	}
	return s
}

// validTenant reports whether a tenant id taken from a record is usable as
// the first part of the tenant_id:endpoint_id key.
func validTenant(t string) bool {
	if t == "" || len(t) > 128 || !utf8.ValidString(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c == ':' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// tenantFor resolves the tenant: the record's own tenant id wins, then
// normalizer.tenant_by_host (short name, then FQDN), then
// normalizer.tenant_by_topic, then normalizer.default_tenant.
func (n *Normalizer) tenantFor(fromRecord, endpoint, fqdn, topic string) (string, bool) {
	if fromRecord != "" {
		if !validTenant(fromRecord) {
			return "", false
		}
		return fromRecord, true
	}
	if len(n.cfg.TenantByHost) > 0 {
		if t, ok := n.cfg.TenantByHost[endpoint]; ok {
			return t, true
		}
		if fqdn != "" {
			if t, ok := n.cfg.TenantByHost[strings.ToLower(fqdn)]; ok {
				return t, true
			}
		}
	}
	if t, ok := n.cfg.TenantByTopic[topic]; ok && topic != "" {
		return t, true
	}
	return n.cfg.DefaultTenant, true
}

// parseIntAuto parses decimal or 0x-prefixed hexadecimal integers, as
// Windows writes process ids both ways ("0x13a8", "5032").
func parseIntAuto(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return 0, false
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		return int64(v), true
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// atoiSmall parses a small non-negative decimal (ports, event ids); ok is
// false for anything else.
func atoiSmall(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// port parses a port number; junk and "-" give 0.
func port(s string) int {
	if v, ok := atoiSmall(s); ok && v <= 65535 {
		return v
	}
	return 0
}

// cleanIP drops placeholder addresses and the IPv4-mapped prefix Windows
// writes for IPv4 peers ("::ffff:10.0.0.5").
func cleanIP(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return ""
	}
	s = strings.TrimPrefix(s, "::ffff:")
	return s
}

// dash turns Windows' "-" placeholder into "".
func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// nsProcess is the namespace of derived process GUIDs; fixed forever.
var nsProcess = [16]byte{0x6c, 0x6f, 0x67, 0x73, 0x74, 0x65, 0x72, 0x2d, 0x70, 0x72, 0x6f, 0x63, 0x00, 0x00, 0x00, 0x01}

// derivedGUID returns a deterministic process GUID ("{...}", lower case,
// the shape of a Sysmon ProcessGuid) for a process that has none: from
// host, pid and whatever identifies this instance of the pid (logon id and
// image on Windows, session or start time on Linux). Equal parts give
// equal GUIDs, so Security 4688, its parent reference and 4689 agree.
func derivedGUID(parts ...string) string {
	h := sha1.New()
	h.Write(nsProcess[:])
	var lenbuf [20]byte
	for _, p := range parts {
		h.Write(strconv.AppendInt(lenbuf[:0], int64(len(p)), 10))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	var sum [20]byte
	b := h.Sum(sum[:0])
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	var out [38]byte
	out[0] = '{'
	j := 1
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hexDigits[b[i]>>4]
		out[j+1] = hexDigits[b[i]&0x0f]
		j += 2
	}
	out[j] = '}'
	return string(out[:])
}

// normGUID lower-cases a GUID and makes sure it has braces, so the same
// Sysmon ProcessGuid written upper-case by one shipper and lower-case by
// another links. Empty and all-zero GUIDs give "".
func normGUID(g string) string {
	g = strings.TrimSpace(g)
	if g == "" || g == "-" {
		return ""
	}
	if g[0] != '{' {
		g = "{" + g + "}"
	}
	if g == "{00000000-0000-0000-0000-000000000000}" {
		return ""
	}
	return lower(g)
}

// contentID is the event id of a record without a natural identity: a
// hash of its bytes (stable for the same record, different for any change).
func contentID(tenant, endpoint string, src Source, raw []byte) string {
	return schema.EventID(tenant, endpoint, string(src), b2s(raw))
}

// splitUser splits DOMAIN\name.
func splitUser(s string) (domain, name string) {
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// lowerCopy lower-cases s into memory of its own (s may be a view into a
// parser buffer that is reused after the call).
func lowerCopy(s string) string { return strings.ToLower(strings.Clone(s)) }

// maxObjectProperties bounds the GUIDs kept from one 4662 Properties list
// (a DS write can list hundreds of attributes; replication rights, the ones
// detection needs, come first).
const maxObjectProperties = 16

// isGUID reports whether s is 36 characters of 8-4-4-4-12 hex digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// bareGUID turns the "%{19195a5b-...}" form Security events use for
// directory classes and objects into the lower-case GUID; anything else
// (a distinguished name, "SecretObject") is returned trimmed.
func bareGUID(s string) string {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(t, "%")
	if len(t) == 38 && t[0] == '{' && t[37] == '}' && isGUID(t[1:37]) {
		return strings.ToLower(t[1:37])
	}
	return strings.TrimSpace(s)
}

// guidList extracts the brace-enclosed GUIDs of a 4662 Properties value
// ("%%7688 {1131f6aa-...} {19195a5b-...}"), lower-case and de-duplicated,
// at most max of them; the %% message ids and layout are dropped.
func guidList(s string, max int) []string {
	var out []string
	for i := 0; i+38 <= len(s) && len(out) < max; {
		j := strings.IndexByte(s[i:], '{')
		if j < 0 || i+j+38 > len(s) {
			break
		}
		i += j
		if s[i+37] == '}' && isGUID(s[i+1:i+37]) {
			g := strings.ToLower(s[i+1 : i+37])
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
			i += 38
			continue
		}
		i++
	}
	return out
}

package graph

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/logster/logster/internal/schema"
)

// Token limits keep feature extraction linear in a bounded prefix of each
// field: a 30 KB encoded command line costs the same as a 4 KB one.
const (
	maxFieldBytes  = 4096 // command lines, paths
	maxScriptBytes = 8192 // script text
	maxTokens      = 128  // tokens per field
	maxTokenLen    = 48   // longer tokens are cut (after classification)
)

// masker replaces identities with placeholders before hashing. Host names,
// domains, accounts, SIDs, GUIDs, addresses and numbers say which lab, host
// or run a window came from, not what happened (docs/inference.md,
// "Confounders"): a model fed them learns the lab. The dictionary holds the
// identities named by the window's own structured fields, so "psexec
// \\ws6 -u corp\alice" becomes "psexec \\<host> -u <domain>\<user>" when
// those names appear anywhere in the window.
type masker struct {
	dict map[string]string
	seen map[string]struct{} // raw field values already collected
}

// wellKnown are account and domain names that describe a role, not an
// identity; they stay visible to the model.
var wellKnown = map[string]bool{
	"system": true, "local service": true, "network service": true, "localsystem": true,
	"nt authority": true, "builtin": true, "anonymous logon": true, "nt service": true,
	"window manager": true, "font driver host": true, "iusr": true, "-": true,
	"root": true, "daemon": true, "nobody": true, "0": true, "unset": true, "4294967295": true,
	"administrator": true, "administrators": true, "guest": true, "workgroup": true,
	"local": true, "localhost": true, "localdomain": true, "com": true, "net": true, "org": true,
	"lan": true, "corp": true, "internal": true, "home": true, "ssh": true,
}

func newMasker() *masker {
	return &masker{dict: map[string]string{}, seen: map[string]struct{}{}}
}

// once reports whether (kind, raw) is new; the same host and account names
// recur on nearly every event of a window.
func (m *masker) once(kind byte, raw string) bool {
	if raw == "" {
		return false
	}
	k := string(kind) + raw
	if _, ok := m.seen[k]; ok {
		return false
	}
	m.seen[k] = struct{}{}
	return true
}

func (m *masker) add(s, repl string) {
	if !m.once('=', repl+"\x00"+s) {
		return
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 || wellKnown[s] || strings.HasPrefix(s, "dwm-") || strings.HasPrefix(s, "umfd-") {
		return
	}
	if _, ok := m.dict[s]; !ok {
		m.dict[s] = repl
	}
}

// addHost adds a host name, its FQDN labels and its domain suffixes.
func (m *masker) addHost(h string) {
	if !m.once('h', h) {
		return
	}
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(h, `\\`), "//")))
	if h == "" {
		return
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return // addresses are masked by shape
	}
	m.add(h, "<host>")
	m.add(strings.TrimSuffix(h, "$"), "<host>")
	labels := strings.Split(h, ".")
	m.add(labels[0], "<host>")
	m.add(labels[0]+"$", "<host>")
	for i := 1; i < len(labels); i++ {
		m.add(strings.Join(labels[i:], "."), "<domain>")
		m.add(labels[i], "<domain>")
	}
}

// addAccount adds "DOMAIN\user", "user@domain" or "user".
func (m *masker) addAccount(a string) {
	if !m.once('a', a) {
		return
	}
	a = strings.TrimSpace(a)
	if a == "" {
		return
	}
	if d, u, ok := strings.Cut(a, `\`); ok {
		m.add(d, "<domain>")
		m.addUser(u)
		return
	}
	if u, d, ok := strings.Cut(a, "@"); ok {
		m.addUser(u)
		m.addHost(d)
		return
	}
	m.addUser(a)
}

func (m *masker) addUser(u string) {
	if !m.once('u', u) {
		return
	}
	if strings.HasSuffix(u, "$") {
		m.addHost(u) // machine account
		return
	}
	m.add(u, "<user>")
}

// collect adds the identities one event names.
func (m *masker) collect(ev *schema.NormalizedEvent) {
	m.addHost(ev.Hostname)
	m.addHost(ev.EndpointID)
	m.addHost(ev.Data.FQDN)
	d := &ev.Data
	if u := d.User; u != nil {
		m.addUser(u.Name)
		m.add(u.Domain, "<domain>")
	}
	for _, p := range [...]*schema.Process{d.Process, d.Parent, d.Target} {
		if p != nil {
			m.addAccount(p.User)
		}
	}
	if l := d.Logon; l != nil {
		m.addUser(l.TargetUser)
		m.add(l.TargetDomain, "<domain>")
		m.addHost(l.TargetServer)
		m.addHost(l.SourceHost)
	}
	if n := d.Network; n != nil {
		m.addHost(n.SrcHostname)
		m.addHost(n.DstHostname)
	}
	if g := d.Group; g != nil {
		m.addAccount(g.Member)
		m.add(g.Domain, "<domain>")
	}
	if w := d.WMI; w != nil {
		m.addHost(w.ClientMachine)
	}
	if s := d.Service; s != nil {
		m.addAccount(s.Account)
	}
}

// mask classifies one lower-cased token.
func (m *masker) mask(tok string) string {
	if tok == "" {
		return ""
	}
	if r, ok := m.dict[tok]; ok {
		return r
	}
	if r, ok := m.dict[strings.Trim(tok, `.$-`)]; ok {
		return r
	}
	// A name inside a known domain is a host of it, named or not
	// (ws6.corp.local when only corp.local appears in a field).
	for i := strings.IndexByte(tok, '.'); i >= 0 && i+1 < len(tok); {
		if r, ok := m.dict[tok[i+1:]]; ok && r == "<domain>" {
			return "<host>"
		}
		j := strings.IndexByte(tok[i+1:], '.')
		if j < 0 {
			break
		}
		i += j + 1
	}
	switch {
	case isGUID(tok):
		return "<guid>"
	case isSID(tok):
		return "<sid>"
	case isIP(tok):
		return "<ip>"
	case isNumber(tok):
		return "<num>"
	case strings.HasPrefix(tok, "0x") && len(tok) > 2 && isHex(tok[2:]):
		return "<hex>"
	case len(tok) >= 12 && isHex(tok) && hasDigit(tok):
		return "<hex>"
	case len(tok) >= 32 && isBase64(tok):
		return "<b64>"
	}
	if strings.ContainsAny(tok, "-_") {
		// Compound names (pipe and temp-file names) embed hosts and ids:
		// psexesvc-ws6-4312-stdin -> psexesvc-<host>-#-stdin.
		var b strings.Builder
		start := 0
		for i := 0; i <= len(tok); i++ {
			if i < len(tok) && tok[i] != '-' && tok[i] != '_' {
				continue
			}
			if part := tok[start:i]; part != "" {
				if r, ok := m.dict[part]; ok {
					b.WriteString(r)
				} else if isGUID(part) || isNumber(part) || (len(part) >= 12 && isHex(part) && hasDigit(part)) {
					b.WriteString("#")
				} else {
					b.WriteString(part)
				}
			}
			if i < len(tok) {
				b.WriteByte(tok[i])
			}
			start = i + 1
		}
		tok = b.String()
	}
	tok = maskDigitRuns(tok)
	if len(tok) > maxTokenLen {
		tok = tok[:maxTokenLen]
		for !utf8.ValidString(tok) && len(tok) > 0 {
			tok = tok[:len(tok)-1]
		}
	}
	return tok
}

// maskDigitRuns replaces runs of three or more digits with '#': process
// ids, build numbers and dates inside names are run-specific, while short
// runs (system32, x64, v1.0) are part of what a name is.
func maskDigitRuns(s string) string {
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			if run >= 3 {
				break
			}
		} else {
			run = 0
		}
	}
	if run < 3 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		switch {
		case j-i >= 3:
			b.WriteByte('#')
			i = j
		case j > i:
			b.WriteString(s[i:j])
			i = j
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return len(s) > 0
}

func hasDigit(s string) bool {
	return strings.ContainsAny(s, "0123456789")
}

func isNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isGUID(s string) bool {
	s = strings.Trim(s, "{}")
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
			continue
		}
		if !isHex(s[i : i+1]) {
			return false
		}
	}
	return true
}

func isSID(s string) bool {
	return strings.HasPrefix(s, "s-1-") && len(s) > 6
}

func isIP(s string) bool {
	if !strings.ContainsAny(s, ".:") {
		return false
	}
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return true
	}
	if _, err := netip.ParseAddrPort(s); err == nil {
		return true
	}
	return false
}

func isBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// clip bounds a field before tokenizing (on a rune boundary).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

// pathTokens tokenizes a file system or registry path: its directories, the
// base name and the extension, and the depth. Profile directories
// (users\<name>, home/<name>) are masked whatever the name.
func (m *masker) pathTokens(p string, out []string) []string {
	p = strings.ToLower(clip(strings.TrimSpace(p), maxFieldBytes))
	if p == "" {
		return out
	}
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '\\' || r == '/' })
	depth := 0
	for i, c := range parts {
		if len(out) >= maxTokens {
			break
		}
		prev := ""
		if i > 0 {
			prev = parts[i-1]
		}
		var tok string
		switch {
		case (prev == "users" || prev == "home" || prev == "documents and settings") &&
			c != "public" && c != "default" && c != "all users" && c != "default user":
			tok = "<user>"
		default:
			tok = m.mask(c)
		}
		if i == len(parts)-1 {
			out = append(out, "base:"+tok)
			if dot := strings.LastIndexByte(c, '.'); dot > 0 && len(c)-dot <= 8 {
				out = append(out, "ext:"+c[dot:])
			}
		} else {
			out = append(out, "dir:"+tok)
			depth++
		}
	}
	return append(out, depthToken(depth))
}

var depthTokens = [...]string{"depth:0", "depth:1", "depth:2", "depth:3", "depth:4", "depth:5", "depth:6", "depth:7", "depth:8+"}

func depthToken(d int) string { return depthTokens[min(d, len(depthTokens)-1)] }

// isCmdSep separates the words of a command line.
func isCmdSep(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '"', '\'', '`', ',', ';', '=', '(', ')', '[', ']', '{', '}', '|', '&', '<', '>', '^', '+':
		return true
	}
	return false
}

// cmdTokens tokenizes a command line: each word, masked; words that are
// paths contribute their base name and extension instead of every
// directory (the image path family already has those).
func (m *masker) cmdTokens(s string, out []string) []string {
	s = strings.ToLower(clip(s, maxFieldBytes))
	n := 0
	for w := range strings.FieldsFuncSeq(s, isCmdSep) {
		if n >= maxTokens {
			break
		}
		n++
		if i := strings.IndexAny(w[1:], `\/`); i >= 0 && !strings.HasPrefix(w, "http") {
			// A path (not a /flag): keep its shape, not its directories.
			if strings.HasPrefix(w, `\\`) {
				// \\host\share\...: the host is an identity, never a token.
				out = append(out, "unc")
				w = strings.TrimPrefix(w, `\\`)
				if _, rest, ok := strings.Cut(w, `\`); ok {
					w = `\` + rest
				} else {
					continue
				}
			}
			parts := strings.FieldsFunc(w, func(r rune) bool { return r == '\\' || r == '/' })
			if len(parts) > 0 {
				base := parts[len(parts)-1]
				out = append(out, "base:"+m.mask(base))
				if dot := strings.LastIndexByte(base, '.'); dot > 0 && len(base)-dot <= 8 {
					out = append(out, "ext:"+base[dot:])
				}
			}
			continue
		}
		if strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://") {
			out = append(out, "url")
			continue
		}
		out = append(out, m.mask(w))
	}
	return out
}

// isScriptSep separates identifiers in script text; '-' is kept so cmdlet
// names (invoke-expression) stay whole.
func isScriptSep(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '$' || r > 127)
}

// scriptTokens tokenizes a bounded prefix of script text.
func (m *masker) scriptTokens(s string, out []string) []string {
	s = strings.ToLower(clip(s, maxScriptBytes))
	n := 0
	for w := range strings.FieldsFuncSeq(s, isScriptSep) {
		if n >= 2*maxTokens {
			break
		}
		n++
		w = strings.Trim(w, ".-")
		if len(w) < 2 {
			continue
		}
		out = append(out, m.mask(w))
	}
	return out
}

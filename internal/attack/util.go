package attack

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/logster/logster/internal/schema"
)

// baseName returns the lower-case file name of a Windows or POSIX path
// ("C:\Windows\System32\svchost.exe" -> "svchost.exe").
func baseName(p string) string {
	p = strings.TrimSpace(strings.Trim(p, `"`))
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(p)
}

// containsAny reports whether s (already lower-case) contains any of subs.
func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// inSet reports whether s is one of the values.
func inSet(s string, values ...string) bool {
	for _, v := range values {
		if s == v {
			return true
		}
	}
	return false
}

// parseMask parses an access mask written as "0x1410", "5136" or "%%1537"
// free text; ok is false when it is not a number.
func parseMask(s string) (uint64, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, false
	}
	base := 10
	if strings.HasPrefix(s, "0x") {
		s, base = s[2:], 16
	}
	v, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// process returns the acting process of an event (nil-safe).
func process(ev *schema.NormalizedEvent) *schema.Process {
	if ev == nil {
		return nil
	}
	return ev.Data.Process
}

func image(p *schema.Process) string {
	if p == nil {
		return ""
	}
	return baseName(p.Image)
}

func cmdline(p *schema.Process) string {
	if p == nil {
		return ""
	}
	return strings.ToLower(p.CommandLine)
}

// commandText is the lower-case text an event executes: the command line of a
// created process, a script block, a service image path or a task command.
// Rules that look for tool usage (mimikatz commands, download cradles) read
// this so they fire whichever way the command reached the host.
func commandText(ev *schema.NormalizedEvent) string {
	d := &ev.Data
	switch ev.EventType {
	case schema.EventProcessCreate:
		return cmdline(d.Process)
	case schema.EventScriptBlock, schema.EventPowerShellInvoke:
		if d.Script != nil {
			return strings.ToLower(d.Script.Text)
		}
	case schema.EventServiceInstall:
		if d.Service != nil {
			return strings.ToLower(d.Service.ImagePath)
		}
	case schema.EventTaskCreate, schema.EventTaskUpdate:
		if d.Task != nil {
			return strings.ToLower(d.Task.Command)
		}
	}
	return ""
}

// systemAccountNames are well-known service identities; they say nothing
// about who is behind an action, so they are never evidence.
var systemAccountNames = map[string]bool{
	"system": true, "local service": true, "network service": true,
	"localservice": true, "networkservice": true, "localsystem": true,
	"anonymous logon": true, "anonymous": true, "-": true, "": true,
	"iusr": true, "defaultaccount": true, "wdagutilityaccount": true,
}

var systemDomains = map[string]bool{
	"nt authority": true, "nt service": true, "window manager": true,
	"font driver host": true, "iis apppool": true, "nt virtual machine": true,
}

// isSystemAccount reports whether name (in domain) is a machine, service or
// virtual account rather than a person or an attacker-controlled account.
func isSystemAccount(name, domain string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	d := strings.ToLower(strings.TrimSpace(domain))
	if systemAccountNames[n] {
		return true
	}
	if systemDomains[d] {
		return true
	}
	if strings.HasSuffix(n, "$") { // machine accounts
		return true
	}
	// Desktop Window Manager and font driver virtual accounts (DWM-1,
	// UMFD-0, ...), and per-user service accounts.
	for _, p := range []string{"dwm-", "umfd-", "defaultapppool"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// splitUser splits "DOMAIN\name", "name@domain.tld" or "name".
func splitUser(s string) (name, domain string) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		return s[i+1:], s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// canonAccount returns the lower-case "domain\user" form used in evidence, or
// "" for system accounts. A dotted domain is cut to its first label so that
// THESHIRE.LOCAL (Security log) and THESHIRE (Sysmon) name one account.
func canonAccount(name, domain string) string {
	if strings.ContainsAny(name, `\@`) && domain == "" {
		name, domain = splitUser(name)
	}
	name = strings.ToLower(strings.TrimSpace(name))
	domain = strings.ToLower(strings.TrimSpace(domain))
	if isSystemAccount(name, domain) {
		return ""
	}
	if i := strings.IndexByte(domain, '.'); i > 0 {
		domain = domain[:i]
	}
	if domain == "" || domain == "-" {
		return name
	}
	return domain + `\` + name
}

// accountOfUser returns the canonical account of a subject User.
func accountOfUser(u *schema.User) string {
	if u == nil {
		return ""
	}
	return canonAccount(u.Name, u.Domain)
}

// accountOfProcess returns the canonical account a process ran as.
func accountOfProcess(p *schema.Process) string {
	if p == nil || p.User == "" {
		return ""
	}
	n, d := splitUser(p.User)
	return canonAccount(n, d)
}

// canonIP parses an address as written by Windows ("::ffff:10.0.0.5",
// "0:0:0:0:0:0:0:1", "fe80::1%12") and returns its canonical text; ok is
// false for anything that is not an address ("-", "").
func canonIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return netip.Addr{}, false
	}
	s = strings.Trim(s, "[]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// routable reports whether an address can identify a peer host. Loopback,
// unspecified, multicast and link-local addresses are left out: in the lab
// recordings link-local traffic is a host talking to itself (a domain
// controller's SMB/RPC to its own fe80 address), and link-local addresses are
// not unique across network segments.
func routable(a netip.Addr) bool {
	return a.IsValid() && !a.IsLoopback() && !a.IsUnspecified() && !a.IsMulticast() &&
		!a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast() && !a.IsInterfaceLocalMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// hostName canonicalizes a host name stated in a record ("\\WS6.corp.local",
// "WS6") to the lower-case short name endpoint ids use. It returns "" for
// names that denote the local machine or are not names at all.
func hostName(s string) string {
	s = strings.TrimSpace(strings.Trim(s, `"'`))
	s = strings.TrimLeft(s, `\/`)
	if i := strings.IndexAny(s, `\/`); i >= 0 {
		s = s[:i]
	}
	s = strings.ToLower(s)
	if s == "" || s == "-" || s == "." || s == "localhost" || s == "*" {
		return ""
	}
	if a, ok := canonIP(s); ok {
		if !routable(a) {
			return ""
		}
		return a.String()
	}
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	return s
}

// isLateralPort reports whether port is a service port lateral movement uses:
// RPC endpoint mapper, NetBIOS session, SMB, RDP and WinRM.
func isLateralPort(port int) bool {
	switch port {
	case 135, 139, 445, 3389, 5985, 5986:
		return true
	}
	return false
}

// isDynamicRPCPort reports whether port is in the Windows dynamic port range
// that DCOM/RPC services listen on after an endpoint-mapper lookup on 135.
func isDynamicRPCPort(port int) bool { return port >= 49152 && port <= 65535 }

// event wraps a NormalizedEvent with the lower-cased strings the rules
// compare, computed once per event instead of once per rule.
type event struct {
	*schema.NormalizedEvent
	imgV, cmdV, pimgV, pcmdV, textV string
	have                            uint8
}

const (
	haveImg = 1 << iota
	haveCmd
	havePimg
	havePcmd
	haveText
)

func newEvent(ev *schema.NormalizedEvent) *event { return &event{NormalizedEvent: ev} }

// img is the lower-case base name of the acting process image.
func (e *event) img() string {
	if e.have&haveImg == 0 {
		e.imgV, e.have = image(e.Data.Process), e.have|haveImg
	}
	return e.imgV
}

// cmd is the lower-case command line of the acting process.
func (e *event) cmd() string {
	if e.have&haveCmd == 0 {
		e.cmdV, e.have = cmdline(e.Data.Process), e.have|haveCmd
	}
	return e.cmdV
}

// pimg is the lower-case base name of the parent image.
func (e *event) pimg() string {
	if e.have&havePimg == 0 {
		e.pimgV, e.have = image(e.Data.Parent), e.have|havePimg
	}
	return e.pimgV
}

// pcmd is the lower-case command line of the parent.
func (e *event) pcmd() string {
	if e.have&havePcmd == 0 {
		e.pcmdV, e.have = cmdline(e.Data.Parent), e.have|havePcmd
	}
	return e.pcmdV
}

// text is commandText, cached.
func (e *event) text() string {
	if e.have&haveText == 0 {
		if e.EventType == schema.EventProcessCreate {
			e.textV = e.cmd()
		} else {
			e.textV = commandText(e.NormalizedEvent)
		}
		e.have |= haveText
	}
	return e.textV
}

// firstNonEmpty returns the first of vs that is not empty.
func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

package labels

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Host roles. The role is a confounder a model learns happily (most
// attack-free windows are on domain controllers), so every count is also
// reported per role.
const (
	RoleDomainController = "domain_controller"
	RoleWorkstation      = "workstation"
	RoleServer           = "server" // member servers: AD FS, Exchange
	RoleLinux            = "linux"
)

var validRoles = map[string]bool{RoleDomainController: true, RoleWorkstation: true, RoleServer: true, RoleLinux: true}

// SeedFile is the labelling evidence for one recording: labels/<tactic>/<name>.yaml.
type SeedFile struct {
	// Recording is the archive's path relative to the
	// otrf-security-datasets folder, e.g. windows/lateral_movement/x.zip.
	Recording string `yaml:"recording"`
	// SHA256 of the archive, lower-case hex.
	SHA256 string `yaml:"sha256"`
	// Metadata is the metadata id (SDWIN-..., or the compound metadata's
	// id) whose files: links name this archive; "none" when no metadata
	// file links it.
	Metadata string `yaml:"metadata"`
	// MetadataNote explains a metadata match that is not by exact archive
	// name (renamed archives) or why there is none.
	MetadataNote string `yaml:"metadata_note,omitempty"`
	Title        string `yaml:"title"`
	// Techniques are the ATT&CK ids of the metadata's attack_mappings.
	Techniques []string `yaml:"techniques"`
	// Lab names the lab environment (the three JSON shapes map to
	// different labs; a confounder).
	Lab   string `yaml:"lab"`
	Hosts []Host `yaml:"hosts"`
	// LateralMovement names source and target hosts when the procedure
	// moves between hosts.
	LateralMovement *LateralMovement `yaml:"lateral_movement,omitempty"`
	Seeds           []Seed           `yaml:"seeds"`
	// Agents are attacker footholds alive on a host during the recording
	// (long-lived C2 agents listed in the adversary_view agent tables). A
	// host window without labelled events that overlaps a live agent is
	// excluded, never benign.
	Agents []Agent `yaml:"agents,omitempty"`
	// Unlabelable, when set, says why the metadata gives nothing usable;
	// every window of the recording is then excluded.
	Unlabelable string `yaml:"unlabelable,omitempty"`
	Notes       string `yaml:"notes,omitempty"`

	// File is the path the seed file was loaded from (for messages).
	File string `yaml:"-"`
}

// Host is one machine of the recording, by its canonical name (lower-case
// short name, as the normalizer writes NormalizedEvent.Hostname).
type Host struct {
	Name string `yaml:"name"`
	Role string `yaml:"role"`
	IP   string `yaml:"ip,omitempty"`
}

// LateralMovement names where a lateral-movement procedure starts and ends.
type LateralMovement struct {
	Source  string   `yaml:"source"`
	Targets []string `yaml:"targets"`
}

// Seed is one piece of attacker evidence on one host. Every matcher that
// is set must hold (a conjunction); at least one matcher must be set. Which
// matcher is set decides what propagates from the matching events (see
// docs/labels.md).
type Seed struct {
	Host string `yaml:"host"`
	// Why quotes the adversary_view (or metadata) evidence in one line.
	Why string `yaml:"why"`

	// Process matchers: the process (or the parent of a process creation,
	// or the host application of a PowerShell event) with this PID, image
	// (path suffix or base name) and command-line substrings.
	PID         int64    `yaml:"pid,omitempty"`
	Image       string   `yaml:"image,omitempty"`
	CommandLine []string `yaml:"command_line,omitempty"`

	// Object matchers.
	Service  string   `yaml:"service,omitempty"`  // service name (7045/4697, registry Services\<name>)
	Task     string   `yaml:"task,omitempty"`     // scheduled task name (4698/4702)
	WMI      string   `yaml:"wmi,omitempty"`      // WMI consumer / filter name
	File     string   `yaml:"file,omitempty"`     // file path substring
	Registry string   `yaml:"registry,omitempty"` // registry key substring
	Script   []string `yaml:"script,omitempty"`   // PowerShell script/pipeline text substrings
	DstIP    string   `yaml:"dst_ip,omitempty"`   // connections to attacker infrastructure
	DstPort  int      `yaml:"dst_port,omitempty"` // with DstIP

	// Logon matches 4624 (and 4625) on the host: the remote logon of a
	// lateral movement. Its logon session propagates.
	Logon *LogonSeed `yaml:"logon,omitempty"`

	// From/To bound the matching events' time (RFC 3339, UTC); empty means
	// the whole recording.
	From string `yaml:"from,omitempty"`
	To   string `yaml:"to,omitempty"`
}

// LogonSeed matches an authentication on the target host.
type LogonSeed struct {
	Types    []int  `yaml:"types,omitempty"`     // logon types; empty = any
	SourceIP string `yaml:"source_ip,omitempty"` // IpAddress
	Account  string `yaml:"account,omitempty"`   // TargetUserName (case-insensitive)
}

// Agent is a live attacker foothold on a host.
type Agent struct {
	Host string `yaml:"host"`
	Name string `yaml:"name,omitempty"` // agent / grunt id
	PID  int64  `yaml:"pid,omitempty"`
	// From/To bound when the agent is alive (RFC 3339, UTC); empty means
	// from the start / to the end of the recording (unknown).
	From string `yaml:"from,omitempty"`
	To   string `yaml:"to,omitempty"`
	Why  string `yaml:"why"`
}

var (
	sha256Re  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hostRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	attackRe  = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)
	errNoSeed = errors.New("no matcher set")
)

// LoadSeedFile reads and validates one seed file. Unknown keys are errors:
// a misspelt matcher must not silently match nothing.
func LoadSeedFile(file string) (*SeedFile, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read seed file: %w", err)
	}
	s, err := ParseSeedFile(b)
	if err != nil {
		return nil, fmt.Errorf("seed file %s: %w", file, err)
	}
	s.File = file
	return s, nil
}

// ParseSeedFile decodes and validates seed-file YAML.
func ParseSeedFile(b []byte) (*SeedFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s SeedFile
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode: more than one YAML document")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// LoadSeedDir loads every *.yaml under dir, sorted by recording path. Two
// files naming the same recording are an error.
func LoadSeedDir(dir string) ([]*SeedFile, error) {
	var out []*SeedFile
	seen := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return nil
		}
		s, err := LoadSeedFile(p)
		if err != nil {
			return err
		}
		if prev, dup := seen[s.Recording]; dup {
			return fmt.Errorf("recording %s has two seed files: %s and %s", s.Recording, prev, p)
		}
		seen[s.Recording] = p
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load seed files from %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Recording < out[j].Recording })
	return out, nil
}

// SeedPath is where the seed file of a recording lives below the labels
// directory: the recording path with its archive extension replaced by .yaml.
func SeedPath(recording string) string {
	p := strings.TrimSuffix(strings.TrimSuffix(recording, ".zip"), ".tar.gz")
	return filepath.FromSlash(p + ".yaml")
}

// Validate checks a seed file for the fields every consumer relies on and
// for matchers that cannot match.
func (s *SeedFile) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case s.Recording == "":
		bad("recording: empty")
	case path.IsAbs(s.Recording) || strings.Contains(s.Recording, "..") || strings.Contains(s.Recording, `\`):
		bad("recording %q: want a slash-separated path relative to otrf-security-datasets", s.Recording)
	case !strings.HasSuffix(s.Recording, ".zip") && !strings.HasSuffix(s.Recording, ".tar.gz"):
		bad("recording %q: want a .zip or .tar.gz archive", s.Recording)
	}
	if !sha256Re.MatchString(s.SHA256) {
		bad("sha256 %q: want 64 lower-case hex digits", s.SHA256)
	}
	if s.Metadata == "" {
		bad(`metadata: empty (write "none" when no metadata file links the archive)`)
	}
	if s.Title == "" {
		bad("title: empty")
	}
	for _, t := range s.Techniques {
		if !attackRe.MatchString(t) {
			bad("techniques: %q is not an ATT&CK technique id", t)
		}
	}
	if s.Lab == "" {
		bad("lab: empty")
	}
	if len(s.Hosts) == 0 {
		bad("hosts: empty")
	}
	hosts := map[string]bool{}
	for i, h := range s.Hosts {
		if !hostRe.MatchString(h.Name) {
			bad("hosts[%d]: name %q is not a canonical host name (lower-case short name)", i, h.Name)
		}
		if hosts[h.Name] {
			bad("hosts[%d]: %s listed twice", i, h.Name)
		}
		hosts[h.Name] = true
		if !validRoles[h.Role] {
			bad("hosts[%d] %s: role %q: want domain_controller, workstation, server or linux", i, h.Name, h.Role)
		}
		if h.IP != "" {
			if _, err := netip.ParseAddr(h.IP); err != nil {
				bad("hosts[%d] %s: ip %q: %v", i, h.Name, h.IP, err)
			}
		}
	}
	knownHost := func(where, h string) {
		if !hosts[h] {
			bad("%s: host %q is not listed under hosts", where, h)
		}
	}
	if lm := s.LateralMovement; lm != nil {
		knownHost("lateral_movement.source", lm.Source)
		if len(lm.Targets) == 0 {
			bad("lateral_movement.targets: empty")
		}
		for _, t := range lm.Targets {
			knownHost("lateral_movement.targets", t)
		}
	}
	if s.Unlabelable == "" && len(s.Seeds) == 0 {
		bad("seeds: empty and no unlabelable reason given (say why the metadata gives nothing usable)")
	}
	if s.Unlabelable != "" && len(s.Seeds) > 0 {
		bad("unlabelable is set but seeds are given: a recording is either seeded or unlabelable")
	}
	for i, sd := range s.Seeds {
		where := fmt.Sprintf("seeds[%d]", i)
		knownHost(where, sd.Host)
		if err := sd.validate(); err != nil {
			bad("%s: %w", where, err)
		}
	}
	for i, a := range s.Agents {
		where := fmt.Sprintf("agents[%d]", i)
		knownHost(where, a.Host)
		if strings.TrimSpace(a.Why) == "" {
			bad("%s: why: empty (quote the adversary_view evidence)", where)
		}
		if _, _, err := span(a.From, a.To); err != nil {
			bad("%s: %w", where, err)
		}
	}
	return errors.Join(errs...)
}

func (sd *Seed) validate() error {
	if strings.TrimSpace(sd.Why) == "" {
		return errors.New("why: empty (quote the adversary_view evidence)")
	}
	n := 0
	if sd.PID != 0 || sd.Image != "" || len(sd.CommandLine) > 0 {
		n++
	}
	for _, set := range []bool{sd.Service != "", sd.Task != "", sd.WMI != "", sd.File != "", sd.Registry != "",
		len(sd.Script) > 0, sd.DstIP != "", sd.Logon != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return errNoSeed
	case n > 1:
		return errors.New("more than one kind of matcher set: split it into several seeds")
	}
	if sd.PID < 0 {
		return fmt.Errorf("pid %d: negative", sd.PID)
	}
	if sd.Image != "" && isShared(baseName(sd.Image)) {
		// The rule "never through shared system processes" would be
		// defeated by a seed naming one; seed the child it spawned instead.
		return fmt.Errorf("image %q is a shared system process: seed the child spawned for the attacker instead", sd.Image)
	}
	for _, c := range sd.CommandLine {
		if strings.TrimSpace(c) == "" {
			return errors.New("command_line: empty substring")
		}
	}
	for _, c := range sd.Script {
		if strings.TrimSpace(c) == "" {
			return errors.New("script: empty substring")
		}
	}
	if sd.DstIP != "" {
		if _, err := netip.ParseAddr(sd.DstIP); err != nil {
			return fmt.Errorf("dst_ip: %w", err)
		}
	}
	if sd.DstPort != 0 && sd.DstIP == "" {
		return errors.New("dst_port without dst_ip")
	}
	if l := sd.Logon; l != nil {
		if l.SourceIP == "" && l.Account == "" {
			return errors.New("logon: give source_ip or account (any logon would match)")
		}
		if l.SourceIP != "" {
			if _, err := netip.ParseAddr(l.SourceIP); err != nil {
				return fmt.Errorf("logon.source_ip: %w", err)
			}
		}
	}
	if _, _, err := span(sd.From, sd.To); err != nil {
		return err
	}
	return nil
}

// span parses an optional [from, to] pair; missing ends are open.
func span(from, to string) (lo, hi float64, err error) {
	lo, hi = negInf, posInf
	if from != "" {
		t, err := time.Parse(time.RFC3339, from)
		if err != nil {
			return 0, 0, fmt.Errorf("from %q: %w", from, err)
		}
		lo = float64(t.UnixNano()) / 1e9
	}
	if to != "" {
		t, err := time.Parse(time.RFC3339, to)
		if err != nil {
			return 0, 0, fmt.Errorf("to %q: %w", to, err)
		}
		hi = float64(t.UnixNano()) / 1e9
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("from %s is after to %s", from, to)
	}
	return lo, hi, nil
}

// Role returns the role of host ("" when the seed file does not list it).
func (s *SeedFile) Role(host string) string {
	for _, h := range s.Hosts {
		if h.Name == host {
			return h.Role
		}
	}
	return ""
}

// ArchivePath is the archive's path below the otrf-security-datasets folder.
func (s *SeedFile) ArchivePath(datasetRoot string) string {
	return filepath.Join(datasetRoot, filepath.FromSlash(s.Recording))
}

// ErrHashMismatch is returned by VerifyArchive when the archive is not the
// one the seed file was written for.
var ErrHashMismatch = errors.New("archive SHA-256 does not match the seed file")

// VerifyArchive checks that the archive exists below datasetRoot and has
// the seed file's SHA-256: labels written for one version of a recording
// must never be applied to another.
func (s *SeedFile) VerifyArchive(datasetRoot string) error {
	sum, err := FileSHA256(s.ArchivePath(datasetRoot))
	if err != nil {
		return err
	}
	if sum != s.SHA256 {
		return fmt.Errorf("%s: %w (file %s, seed %s)", s.Recording, ErrHashMismatch, sum, s.SHA256)
	}
	return nil
}

// FileSHA256 returns the lower-case hex SHA-256 of a file.
func FileSHA256(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("hash archive: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash archive %s: %w", file, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

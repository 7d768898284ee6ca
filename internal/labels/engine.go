package labels

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/logster/logster/internal/schema"
)

var (
	negInf = math.Inf(-1)
	posInf = math.Inf(1)
)

// Propagation time tolerances, in seconds. Security events carry whole
// seconds while Sysmon carries milliseconds, and the two channels of one
// host disagree by up to about a second; connections are linked across
// hosts whose clocks agree to a few seconds in these labs.
const (
	lifeSlackBefore = 2.0   // a process's Security 4688 may precede its Sysmon time
	lifeSlackAfter  = 2.0   // events logged just after a process exit
	objectSlack     = 5.0   // an object is used after it was created (tasks, services, files)
	connSameHost    = 10.0  // 5156 and Sysmon 3 of one connection
	connCrossHost   = 300.0 // source connection vs. the target's logon/accept
	aliasWindow     = 2.0   // Sysmon 1 vs. Security 4688 of one process
	maxPasses       = 50
)

// Reason says why an event is labelled attack. Cause is the id of the
// labelled event this one was derived from ("" for seeds), so Chain can
// walk back to the seed.
type Reason struct {
	Rule   string `json:"rule"`
	Detail string `json:"detail"`
	Cause  string `json:"cause,omitempty"`
}

// Propagation rules (Reason.Rule).
const (
	RuleSeed       = "seed"         // matched a seed of the seed file
	RuleChild      = "child"        // created by a labelled process
	RuleActor      = "actor"        // performed by a labelled process
	RuleDropped    = "dropped"      // executes or loads a file a labelled process wrote
	RuleService    = "service"      // the labelled service, or the process services.exe spawned for it
	RuleTask       = "task"         // the labelled task, or the process it ran
	RuleWMI        = "wmi"          // the labelled WMI subscription, or the process its consumer ran
	RuleSession    = "session"      // in the logon session of a labelled logon
	RuleConnection = "connection"   // the far end (or the other record) of a labelled connection
	RuleHostApp    = "host_app"     // PowerShell record whose host application is a labelled process
	RuleBlock      = "script_block" // another part of a labelled script block
)

// procInfo is what the whole recording says about one process identity
// (host + GUID; Security 4688 processes get a GUID derived by the normalizer).
type procInfo struct {
	pid        int64
	image      string // lower-case base name
	cl         string // normalized command line
	start, end float64
	hasStart   bool
	hasEnd     bool
}

type pidSpan struct {
	lo, hi float64
	image  string
	cause  string
}

type svcLabel struct {
	images []string // normalized ImagePath values
	since  float64
	cause  string
}

type taskLabel struct {
	commands []string
	since    float64
	cause    string
}

type wmiLabel struct {
	name  string
	dest  string
	since float64
	cause string
}

type connLabel struct {
	host             string
	srcIP, dstIP     string
	srcPort, dstPort int
	t                float64
	cause            string
}

type engine struct {
	sf             *SeedFile
	evs            []*schema.NormalizedEvent
	label          []*Reason
	info           map[string]*procInfo
	cls            map[string]map[string]bool // host|cl -> guid set (all processes with that command line)
	netLog         map[string]bool            // host|logon id of network logons (4624 type 3)
	procs          map[string]string          // host|guid -> cause
	pids           map[string][]pidSpan       // host|pid
	files          map[string]fileLabel       // host|path
	svcs           map[string]*svcLabel       // host|name
	tasks          map[string]*taskLabel      // host|name (last path element)
	wmis           map[string][]*wmiLabel     // host
	sess           map[string]string          // host|logon id -> cause
	conns          map[string][]connLabel     // srcIP|srcPort
	connAt         map[string]bool            // dedup of registered connections
	blocks         map[string]string          // host|script block id -> cause
	seedHits       []int
	changed        bool
	seedLo, seedHi []float64
}

type fileLabel struct {
	since float64
	cause string
}

// Apply seeds and propagates attacker labels over one recording's events.
// The events need not be sorted; they are not modified. A seed file marked
// unlabelable yields no attack events and every window excluded.
func Apply(sf *SeedFile, events []schema.NormalizedEvent) *Labels {
	e := &engine{
		sf:     sf,
		info:   map[string]*procInfo{},
		cls:    map[string]map[string]bool{},
		netLog: map[string]bool{},
		procs:  map[string]string{},
		pids:   map[string][]pidSpan{},
		files:  map[string]fileLabel{},
		svcs:   map[string]*svcLabel{},
		tasks:  map[string]*taskLabel{},
		wmis:   map[string][]*wmiLabel{},
		sess:   map[string]string{},
		conns:  map[string][]connLabel{},
		connAt: map[string]bool{},
		blocks: map[string]string{},
	}
	e.evs = make([]*schema.NormalizedEvent, len(events))
	for i := range events {
		ev := &events[i]
		e.evs[i] = ev
	}
	sort.SliceStable(e.evs, func(i, j int) bool { return e.evs[i].Timestamp < e.evs[j].Timestamp })
	e.label = make([]*Reason, len(e.evs))
	l := newLabels(sf, e.evs)
	if sf.Unlabelable != "" {
		return l
	}
	e.precompute()
	e.seedHits = make([]int, len(sf.Seeds))
	e.seedLo = make([]float64, len(sf.Seeds))
	e.seedHi = make([]float64, len(sf.Seeds))
	for k := range sf.Seeds {
		// Validated at load time; a hand-built SeedFile with a bad span
		// matches the whole recording rather than nothing.
		lo, hi, err := span(sf.Seeds[k].From, sf.Seeds[k].To)
		if err != nil {
			lo, hi = negInf, posInf
		}
		e.seedLo[k], e.seedHi[k] = lo, hi
	}
	// Seeds may need state other seeds register (a process seed whose
	// PID is only learned from a connection): iterate seeds and
	// propagation together until nothing changes.
	settled := false
	for pass := 0; pass < maxPasses && !settled; pass++ {
		e.changed = false
		for i := range e.evs {
			e.applySeeds(i)
			if e.label[i] == nil {
				e.propagate(i)
			} else {
				e.settle(i)
			}
		}
		settled = !e.changed
	}
	if !settled {
		// Cannot happen with monotonic state short of a bug; say so
		// rather than report labels that are not a fixpoint.
		l.warnings = append(l.warnings, fmt.Sprintf("propagation did not settle in %d passes", maxPasses))
	}
	for i, r := range e.label {
		if r != nil {
			l.attack[e.evs[i].EventID] = *r
		}
	}
	for k, sd := range sf.Seeds {
		if e.seedHits[k] == 0 {
			l.unmatched = append(l.unmatched, k)
			l.taint(sd.Host, e.seedLo[k], e.seedHi[k])
		}
	}
	if lm := sf.LateralMovement; lm != nil {
		for _, t := range lm.Targets {
			if l.attackCount(t) == 0 {
				// The attack reached this host but no event of it could be
				// attributed: its windows must not pass as benign.
				l.taint(t, negInf, posInf)
				l.warnings = append(l.warnings, fmt.Sprintf("lateral-movement target %s has no labelled event; its windows are excluded", t))
			}
		}
	}
	return l
}

// --- precomputation ---

func (e *engine) precompute() {
	type create struct {
		t   float64
		pid int64
	}
	sec4688 := map[string][]create{} // host|image|cl -> 4688 creations
	var sysmonCreates []int
	note := func(host string, p *schema.Process, cl string) *procInfo {
		if p == nil || p.GUID == "" {
			return nil
		}
		k := host + "|" + p.GUID
		in := e.info[k]
		if in == nil {
			in = &procInfo{}
			e.info[k] = in
		}
		if p.PID != 0 && in.pid == 0 {
			in.pid = p.PID
		}
		if in.image == "" && p.Image != "" {
			in.image = baseName(p.Image)
		}
		if in.cl == "" && cl != "" {
			in.cl = normCL(cl)
		}
		return in
	}
	for i, ev := range e.evs {
		d := &ev.Data
		h := ev.Hostname
		switch ev.EventType {
		case schema.EventProcessCreate:
			if in := note(h, d.Process, cmdline(d.Process)); in != nil && !in.hasStart {
				in.start, in.hasStart = ev.Timestamp, true
			}
			note(h, d.Parent, cmdline(d.Parent))
			if d.Process != nil {
				if d.NativeID == 4688 && d.Process.PID != 0 {
					k := h + "|" + baseName(d.Process.Image) + "|" + normCL(d.Process.CommandLine)
					sec4688[k] = append(sec4688[k], create{ev.Timestamp, d.Process.PID})
				} else if d.Process.PID == 0 {
					sysmonCreates = append(sysmonCreates, i)
				}
			}
		case schema.EventLogon:
			if l := d.Logon; l != nil && l.Type == 3 && usableLogonID(l.TargetLogonID) {
				e.netLog[h+"|"+strings.ToLower(l.TargetLogonID)] = true
			}
		case schema.EventProcessTerminate:
			if in := note(h, d.Process, ""); in != nil && !in.hasEnd {
				in.end, in.hasEnd = ev.Timestamp, true
			}
		default:
			note(h, d.Process, "")
		}
	}
	// NXLog drops Sysmon's ProcessId in many rows: learn the PID of a
	// Sysmon process from the Security 4688 of the same creation (same
	// host, image and command line within a couple of seconds), so the
	// two records of one process label each other.
	for _, i := range sysmonCreates {
		ev := e.evs[i]
		p := ev.Data.Process
		in := e.info[ev.Hostname+"|"+p.GUID]
		if in == nil || in.pid != 0 {
			continue
		}
		var pid int64
		n := 0
		for _, c := range sec4688[ev.Hostname+"|"+baseName(p.Image)+"|"+normCL(p.CommandLine)] {
			if math.Abs(c.t-ev.Timestamp) <= aliasWindow {
				if c.pid != pid {
					n++
				}
				pid = c.pid
			}
		}
		if n == 1 {
			in.pid = pid
		}
	}
	for k, in := range e.info {
		if in.cl == "" {
			continue
		}
		host, guid, _ := strings.Cut(k, "|")
		ck := host + "|" + in.cl
		if e.cls[ck] == nil {
			e.cls[ck] = map[string]bool{}
		}
		e.cls[ck][guid] = true
	}
}

// --- labelling primitives ---

func (e *engine) mark(i int, r Reason) bool {
	if e.label[i] != nil {
		return false
	}
	e.label[i] = &r
	e.changed = true
	e.derive(i)
	return true
}

// addProc makes a process part of the attack: its GUID and, when known,
// its (host, PID) over its lifetime.
func (e *engine) addProc(host string, p *schema.Process, t float64, cause string) {
	if p == nil {
		return
	}
	var in *procInfo
	if p.GUID != "" {
		k := host + "|" + p.GUID
		if _, ok := e.procs[k]; ok {
			return
		}
		e.procs[k] = cause
		e.changed = true
		in = e.info[k]
	}
	pid := p.PID
	if pid == 0 && in != nil {
		pid = in.pid
	}
	if pid == 0 {
		return
	}
	s := pidSpan{lo: negInf, hi: posInf, image: baseName(p.Image), cause: cause}
	if s.image == "" && in != nil {
		s.image = in.image
	}
	if in != nil && in.hasStart {
		s.lo = in.start - lifeSlackBefore
	}
	if in != nil && in.hasEnd {
		s.hi = in.end + lifeSlackAfter
	}
	pk := host + "|" + strconv.FormatInt(pid, 10)
	for _, o := range e.pids[pk] {
		if o.lo == s.lo && o.hi == s.hi && o.image == s.image {
			return
		}
	}
	e.pids[pk] = append(e.pids[pk], s)
	e.changed = true
}

// procCause reports whether p (seen on host at time t) is a labelled
// process: by GUID, else by (host, PID) within a labelled lifetime.
func (e *engine) procCause(host string, p *schema.Process, t float64) (string, bool) {
	if p == nil {
		return "", false
	}
	var in *procInfo
	if p.GUID != "" {
		k := host + "|" + p.GUID
		if c, ok := e.procs[k]; ok {
			return c, true
		}
		in = e.info[k]
	}
	pid := p.PID
	if pid == 0 && in != nil {
		pid = in.pid
	}
	if pid == 0 {
		return "", false
	}
	img := baseName(p.Image)
	if img == "" && in != nil {
		img = in.image
	}
	for _, s := range e.pids[host+"|"+strconv.FormatInt(pid, 10)] {
		if t >= s.lo && t <= s.hi && (s.image == "" || img == "" || s.image == img) {
			return s.cause, true
		}
	}
	return "", false
}

// derive registers the objects a newly labelled event makes part of the
// attack: files written, services, tasks, WMI subscriptions, logon
// sessions, connections, script blocks.
func (e *engine) derive(i int) {
	ev := e.evs[i]
	d := &ev.Data
	h := ev.Hostname
	id := ev.EventID
	switch ev.EventType {
	case schema.EventFileCreate, schema.EventFileWrite, schema.EventFileTimestomp:
		if d.File != nil && d.File.Path != "" {
			k := h + "|" + normPath(d.File.Path)
			if _, ok := e.files[k]; !ok {
				e.files[k] = fileLabel{since: ev.Timestamp, cause: id}
				e.changed = true
			}
		}
	case schema.EventRegistrySet:
		// Only pointing a service at code makes it the attacker's: a
		// labelled process merely opening a service key for write (Sysmon
		// logs CreateKey for that) happens for system services too.
		if d.Registry != nil {
			if name, val, ok := serviceKey(d.Registry.Key); ok {
				switch {
				case strings.EqualFold(val, "ImagePath"):
					e.addService(h, name, d.Registry.Value, ev.Timestamp, id)
				case strings.EqualFold(val, "ServiceDll"):
					e.addService(h, name, "", ev.Timestamp, id)
				}
			}
		}
	case schema.EventServiceInstall:
		if d.Service != nil {
			e.addService(h, d.Service.Name, d.Service.ImagePath, ev.Timestamp, id)
		}
		e.subjectSession(ev)
	case schema.EventTaskCreate, schema.EventTaskUpdate:
		if d.Task != nil {
			e.addTask(h, d.Task.Name, d.Task.Command, ev.Timestamp, id)
		}
		e.subjectSession(ev)
	case schema.EventShareAccess:
		e.subjectSession(ev)
	case schema.EventWMISubscription, schema.EventWMIActivity:
		if m := d.WMI; m != nil {
			e.addWMI(h, wmiName(m.Consumer), wmiDest(d), ev.Timestamp, id)
			e.addWMI(h, wmiName(m.Filter), "", ev.Timestamp, id)
		}
	case schema.EventLogon:
		if l := d.Logon; l != nil && usableLogonID(l.TargetLogonID) {
			k := h + "|" + strings.ToLower(l.TargetLogonID)
			if _, ok := e.sess[k]; !ok {
				e.sess[k] = id
				e.changed = true
			}
		}
	case schema.EventScriptBlock:
		if s := d.Script; s != nil && s.BlockID != "" {
			k := h + "|" + strings.ToLower(s.BlockID)
			if _, ok := e.blocks[k]; !ok {
				e.blocks[k] = id
				e.changed = true
			}
		}
	}
	if n := d.Network; n != nil && n.SrcIP != "" && n.SrcPort != 0 && n.DstIP != "" &&
		(ev.EventType == schema.EventNetworkConnect || ev.EventType == schema.EventNetworkAccept) {
		k := fmt.Sprintf("%s|%s|%d|%s|%d|%.0f", h, n.SrcIP, n.SrcPort, n.DstIP, n.DstPort, ev.Timestamp)
		if !e.connAt[k] {
			e.connAt[k] = true
			ck := n.SrcIP + "|" + strconv.Itoa(n.SrcPort)
			e.conns[ck] = append(e.conns[ck], connLabel{host: h, srcIP: n.SrcIP, srcPort: n.SrcPort, dstIP: n.DstIP, dstPort: n.DstPort, t: ev.Timestamp, cause: id})
			e.changed = true
		}
	}
}

// subjectSession: the network logon session that installed an attacker
// service or task, or opened a share for it, on a remote host is the
// attacker's remote session (its other actions are the attacker's). Only
// network logons qualify: an interactive session of the user also runs
// the user's own, benign programs.
func (e *engine) subjectSession(ev *schema.NormalizedEvent) {
	u := ev.Data.User
	if u == nil || !usableLogonID(u.LogonID) {
		return
	}
	k := ev.Hostname + "|" + strings.ToLower(u.LogonID)
	if !e.netLog[k] {
		return
	}
	if _, ok := e.sess[k]; !ok {
		e.sess[k] = ev.EventID
		e.changed = true
	}
}

func (e *engine) addService(host, name, imagePath string, t float64, cause string) {
	if name == "" {
		return
	}
	k := host + "|" + strings.ToLower(name)
	s := e.svcs[k]
	if s == nil {
		s = &svcLabel{since: t, cause: cause}
		e.svcs[k] = s
		e.changed = true
	}
	if img := normCL(expandEnv(imagePath)); img != "" && !contains(s.images, img) {
		s.images = append(s.images, img)
		e.changed = true
	}
}

func (e *engine) addTask(host, name, command string, t float64, cause string) {
	if name == "" {
		return
	}
	k := host + "|" + taskLeaf(name)
	tk := e.tasks[k]
	if tk == nil {
		tk = &taskLabel{since: t, cause: cause}
		e.tasks[k] = tk
		e.changed = true
	}
	if c := normCL(expandEnv(command)); c != "" && !contains(tk.commands, c) {
		tk.commands = append(tk.commands, c)
		e.changed = true
	}
}

func (e *engine) addWMI(host, name, dest string, t float64, cause string) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return
	}
	for _, w := range e.wmis[host] {
		if w.name == n {
			if w.dest == "" && dest != "" {
				w.dest = normCL(dest)
				e.changed = true
			}
			return
		}
	}
	e.wmis[host] = append(e.wmis[host], &wmiLabel{name: n, dest: normCL(dest), since: t, cause: cause})
	e.changed = true
}

// --- seeds ---

func (e *engine) applySeeds(i int) {
	ev := e.evs[i]
	for k := range e.sf.Seeds {
		sd := &e.sf.Seeds[k]
		if sd.Host != ev.Hostname || ev.Timestamp < e.seedLo[k] || ev.Timestamp > e.seedHi[k] {
			continue
		}
		if e.matchSeed(i, sd) {
			e.seedHits[k]++
		}
	}
}

// matchSeed applies one seed to event i and reports whether it matched.
// A seed keeps acting on already labelled events: it may still have a
// process or object to register.
func (e *engine) matchSeed(i int, sd *Seed) bool {
	ev := e.evs[i]
	d := &ev.Data
	h := ev.Hostname
	t := ev.Timestamp
	r := Reason{Rule: RuleSeed, Detail: sd.Why}
	switch {
	case sd.PID != 0 || sd.Image != "" || len(sd.CommandLine) > 0:
		hit := false
		if e.procMatches(h, d.Process, sd) {
			e.mark(i, r)
			e.addProc(h, d.Process, t, ev.EventID)
			hit = true
		}
		if ev.EventType == schema.EventProcessCreate && e.procMatches(h, d.Parent, sd) {
			e.mark(i, r)
			e.addProc(h, d.Parent, t, ev.EventID)
			hit = true
		}
		if s := d.Script; s != nil && s.HostApp != "" && sd.PID == 0 && len(sd.CommandLine) > 0 &&
			allIn(s.HostApp, sd.CommandLine) && (sd.Image == "" || imageMatches(firstToken(s.HostApp), sd.Image)) {
			e.mark(i, r)
			hit = true
		}
		return hit
	case sd.Service != "":
		if d.Service != nil && strings.EqualFold(d.Service.Name, sd.Service) {
			e.mark(i, r)
			e.addService(h, d.Service.Name, d.Service.ImagePath, t, ev.EventID)
			return true
		}
		if d.Registry != nil {
			if name, val, ok := serviceKey(d.Registry.Key); ok && strings.EqualFold(name, sd.Service) {
				e.mark(i, r)
				img := ""
				if strings.EqualFold(val, "ImagePath") {
					img = d.Registry.Value
				}
				e.addService(h, name, img, t, ev.EventID)
				return true
			}
		}
	case sd.Task != "":
		if d.Task != nil && taskLeaf(d.Task.Name) == taskLeaf(sd.Task) {
			e.mark(i, r)
			e.addTask(h, d.Task.Name, d.Task.Command, t, ev.EventID)
			return true
		}
		if d.File != nil && isTaskFile(d.File.Path, taskLeaf(sd.Task)) {
			e.mark(i, r)
			return true
		}
	case sd.WMI != "":
		if m := d.WMI; m != nil && (containsFold(m.Consumer, sd.WMI) || containsFold(m.Filter, sd.WMI)) {
			e.mark(i, r)
			// Register the subscription's own names (the seed may name
			// only the consumer class), so its filter and binding records
			// follow.
			e.addWMI(h, wmiName(m.Consumer), wmiDest(d), t, ev.EventID)
			e.addWMI(h, wmiName(m.Filter), "", t, ev.EventID)
			return true
		}
	case sd.File != "":
		hit := false
		if d.File != nil && containsFold(d.File.Path, sd.File) {
			e.mark(i, r)
			if ev.EventType == schema.EventImageLoad && d.Process != nil && !isShared(baseName(d.Process.Image)) {
				// The process that loads the seeded module runs it.
				e.addProc(h, d.Process, t, ev.EventID)
			}
			if ev.EventType == schema.EventFileCreate || ev.EventType == schema.EventFileWrite {
				k := h + "|" + normPath(d.File.Path)
				if _, ok := e.files[k]; !ok {
					e.files[k] = fileLabel{since: t, cause: ev.EventID}
					e.changed = true
				}
			}
			hit = true
		}
		if ev.EventType == schema.EventProcessCreate && d.Process != nil && containsFold(d.Process.Image, sd.File) {
			e.mark(i, r)
			e.addProc(h, d.Process, t, ev.EventID)
			hit = true
		}
		return hit
	case sd.Registry != "":
		if d.Registry != nil && containsFold(d.Registry.Key, sd.Registry) {
			e.mark(i, r)
			if ev.EventType == schema.EventRegistrySet && d.Process != nil && !isShared(baseName(d.Process.Image)) {
				// The process that writes the seeded value is the
				// attacker's (services.exe writing a service key is not).
				e.addProc(h, d.Process, t, ev.EventID)
			}
			return true
		}
	case len(sd.Script) > 0:
		if s := d.Script; s != nil && allIn(s.Text, sd.Script) {
			e.mark(i, r)
			return true
		}
	case sd.DstIP != "":
		if n := d.Network; n != nil && n.DstIP == sd.DstIP && (sd.DstPort == 0 || n.DstPort == sd.DstPort) {
			e.mark(i, r)
			if d.Process != nil && !isShared(baseName(d.Process.Image)) {
				e.addProc(h, d.Process, t, ev.EventID)
			}
			return true
		}
	case sd.Logon != nil:
		if (ev.EventType == schema.EventLogon || ev.EventType == schema.EventLogonFailed) && d.Logon != nil && logonMatches(d.Logon, sd.Logon) {
			e.mark(i, r)
			return true
		}
	}
	return false
}

func (e *engine) procMatches(host string, p *schema.Process, sd *Seed) bool {
	if p == nil {
		return false
	}
	var in *procInfo
	if p.GUID != "" {
		in = e.info[host+"|"+p.GUID]
	}
	if sd.PID != 0 {
		pid := p.PID
		if pid == 0 && in != nil {
			pid = in.pid
		}
		if pid != sd.PID {
			return false
		}
	}
	if sd.Image != "" {
		img := p.Image
		if img == "" && in != nil {
			img = in.image
		}
		if !imageMatches(img, sd.Image) {
			return false
		}
	}
	if len(sd.CommandLine) > 0 {
		cl := p.CommandLine
		if cl == "" && in != nil {
			cl = in.cl
		}
		if !allIn(cl, sd.CommandLine) {
			return false
		}
	}
	return true
}

func logonMatches(l *schema.Logon, s *LogonSeed) bool {
	if len(s.Types) > 0 && !containsInt(s.Types, l.Type) {
		return false
	}
	if s.SourceIP != "" && l.SourceIP != s.SourceIP {
		return false
	}
	if s.Account != "" && !strings.EqualFold(l.TargetUser, s.Account) {
		return false
	}
	return true
}

// --- propagation ---

// settle finishes a process creation labelled by another rule (a seed on
// the parent, a logon session) whose parent is, or has since become, a
// labelled process: the child was spawned by the attacker.
func (e *engine) settle(i int) {
	ev := e.evs[i]
	if ev.EventType != schema.EventProcessCreate || ev.Data.Process == nil {
		return
	}
	if _, ok := e.procCause(ev.Hostname, ev.Data.Parent, ev.Timestamp); ok {
		e.addProc(ev.Hostname, ev.Data.Process, ev.Timestamp, ev.EventID)
	}
}

func (e *engine) propagate(i int) {
	ev := e.evs[i]
	d := &ev.Data
	h := ev.Hostname
	t := ev.Timestamp
	id := ev.EventID
	create := ev.EventType == schema.EventProcessCreate

	// Process tree and actor.
	if create {
		if c, ok := e.procCause(h, d.Parent, t); ok {
			e.mark(i, Reason{Rule: RuleChild, Detail: "created by labelled process " + procName(d.Parent), Cause: c})
			e.addProc(h, d.Process, t, id)
			return
		}
	}
	if c, ok := e.procCause(h, d.Process, t); ok {
		e.mark(i, Reason{Rule: RuleActor, Detail: "performed by labelled process " + procName(d.Process), Cause: c})
		// Matched by PID: the record names the same process under another
		// GUID (Security 4688 vs. Sysmon); make that identity labelled too.
		e.addProc(h, d.Process, t, c)
		return
	}
	// Objects the attacker created.
	if create && d.Process != nil {
		if f, ok := e.fileAt(h, d.Process.Image, t); ok {
			e.mark(i, Reason{Rule: RuleDropped, Detail: "executes attacker file " + d.Process.Image, Cause: f.cause})
			e.addProc(h, d.Process, t, id)
			return
		}
	}
	if ev.EventType == schema.EventImageLoad && d.File != nil {
		if f, ok := e.fileAt(h, d.File.Path, t); ok {
			e.mark(i, Reason{Rule: RuleDropped, Detail: "loads attacker file " + d.File.Path, Cause: f.cause})
			if d.Process != nil && !isShared(baseName(d.Process.Image)) {
				e.addProc(h, d.Process, t, id)
			}
			return
		}
	}
	if create && d.Process != nil && d.Parent != nil {
		parent := baseName(d.Parent.Image)
		cl := normCL(d.Process.CommandLine)
		img := normPath(d.Process.Image)
		switch {
		case parent == "services.exe":
			for _, k := range sortedKeys(e.svcs) {
				s := e.svcs[k]
				if !strings.HasPrefix(k, h+"|") || t < s.since-objectSlack {
					continue
				}
				for _, ip := range s.images {
					if serviceImageMatches(ip, cl, img) {
						e.mark(i, Reason{Rule: RuleService, Detail: "services.exe started labelled service " + strings.TrimPrefix(k, h+"|"), Cause: s.cause})
						e.addProc(h, d.Process, t, id)
						return
					}
				}
			}
		case parent == "svchost.exe" || parent == "taskeng.exe" || parent == "taskhostw.exe":
			for _, k := range sortedKeys(e.tasks) {
				tk := e.tasks[k]
				if !strings.HasPrefix(k, h+"|") || t < tk.since-objectSlack {
					continue
				}
				for _, c := range tk.commands {
					if c != "" && (strings.Contains(cl, c) || strings.Contains(c, cl) && cl != "" && len(cl) > 12) {
						e.mark(i, Reason{Rule: RuleTask, Detail: "ran labelled task " + strings.TrimPrefix(k, h+"|"), Cause: tk.cause})
						e.addProc(h, d.Process, t, id)
						return
					}
				}
			}
		case parent == "wmiprvse.exe" || parent == "scrcons.exe":
			for _, w := range e.wmis[h] {
				if w.dest != "" && cl != "" && t >= w.since-objectSlack && (strings.Contains(w.dest, cl) || strings.Contains(cl, w.dest)) {
					e.mark(i, Reason{Rule: RuleWMI, Detail: "ran by labelled WMI consumer " + w.name, Cause: w.cause})
					e.addProc(h, d.Process, t, id)
					return
				}
			}
		}
	}
	switch {
	case d.Service != nil:
		if s, ok := e.svcs[h+"|"+strings.ToLower(d.Service.Name)]; ok {
			e.mark(i, Reason{Rule: RuleService, Detail: "labelled service " + d.Service.Name, Cause: s.cause})
			return
		}
		if ip := d.Service.ImagePath; ip != "" {
			for _, k := range sortedKeys(e.files) {
				f := e.files[k]
				if strings.HasPrefix(k, h+"|") && strings.Contains(normPath(expandEnv(ip)), strings.TrimPrefix(k, h+"|")) {
					e.mark(i, Reason{Rule: RuleService, Detail: "service runs attacker file", Cause: f.cause})
					return
				}
			}
		}
	case d.Task != nil:
		if tk, ok := e.tasks[h+"|"+taskLeaf(d.Task.Name)]; ok {
			e.mark(i, Reason{Rule: RuleTask, Detail: "labelled task " + d.Task.Name, Cause: tk.cause})
			return
		}
	case d.Registry != nil:
		if name, _, ok := serviceKey(d.Registry.Key); ok {
			if s, ok := e.svcs[h+"|"+strings.ToLower(name)]; ok {
				e.mark(i, Reason{Rule: RuleService, Detail: "registry of labelled service " + name, Cause: s.cause})
				return
			}
		}
	case d.WMI != nil:
		c, f := strings.ToLower(wmiName(d.WMI.Consumer)), strings.ToLower(wmiName(d.WMI.Filter))
		for _, w := range e.wmis[h] {
			if c == w.name || f == w.name {
				e.mark(i, Reason{Rule: RuleWMI, Detail: "labelled WMI subscription " + w.name, Cause: w.cause})
				return
			}
		}
	case d.File != nil && ev.EventType != schema.EventImageLoad:
		for _, k := range sortedKeys(e.tasks) {
			tk := e.tasks[k]
			if strings.HasPrefix(k, h+"|") && isTaskFile(d.File.Path, strings.TrimPrefix(k, h+"|")) {
				e.mark(i, Reason{Rule: RuleTask, Detail: "task file of labelled task", Cause: tk.cause})
				return
			}
		}
	}
	// Logon sessions.
	for _, lid := range sessionIDs(ev) {
		if c, ok := e.sess[h+"|"+lid]; ok {
			e.mark(i, Reason{Rule: RuleSession, Detail: "in labelled logon session " + lid, Cause: c})
			if create && d.Process != nil && !isShared(baseName(d.Process.Image)) {
				e.addProc(h, d.Process, t, id)
			}
			return
		}
	}
	// Connections: the far end of a labelled connection on another host
	// (logon, share access, accept), or the other record of the same
	// connection on the same host (Security 5156 vs. Sysmon 3).
	if c, same, ok := e.connMatch(ev); ok {
		if same {
			e.mark(i, Reason{Rule: RuleConnection, Detail: "same connection as a labelled record", Cause: c})
			if d.Process != nil && !isShared(baseName(d.Process.Image)) {
				e.addProc(h, d.Process, t, id)
			}
		} else {
			e.mark(i, Reason{Rule: RuleConnection, Detail: "far end of a labelled connection", Cause: c})
		}
		return
	}
	// PowerShell records carry no process reference the normalizer maps:
	// link them through the host application's command line when it is
	// the command line of labelled processes only, and through the script
	// block id.
	if s := d.Script; s != nil {
		if s.HostApp != "" {
			if c, ok := e.hostAppCause(h, s.HostApp); ok {
				e.mark(i, Reason{Rule: RuleHostApp, Detail: "host application is a labelled process", Cause: c})
				return
			}
		}
		if s.BlockID != "" {
			if c, ok := e.blocks[h+"|"+strings.ToLower(s.BlockID)]; ok {
				e.mark(i, Reason{Rule: RuleBlock, Detail: "part of labelled script block " + s.BlockID, Cause: c})
				return
			}
		}
	}
}

func (e *engine) fileAt(host, p string, t float64) (fileLabel, bool) {
	if p == "" {
		return fileLabel{}, false
	}
	f, ok := e.files[host+"|"+normPath(p)]
	if !ok || t < f.since-objectSlack {
		return fileLabel{}, false
	}
	return f, true
}

// hostAppCause links a PowerShell record to a labelled process by the
// host application's command line, when every process of the host with
// that command line is labelled (an ambiguous command line links nothing).
func (e *engine) hostAppCause(host, app string) (string, bool) {
	guids := e.cls[host+"|"+normCL(app)]
	if len(guids) == 0 {
		return "", false
	}
	cause := ""
	for g := range guids {
		c, ok := e.procs[host+"|"+g]
		if !ok {
			return "", false
		}
		if cause == "" || c < cause {
			cause = c // deterministic
		}
	}
	return cause, true
}

func (e *engine) connMatch(ev *schema.NormalizedEvent) (cause string, sameHost, ok bool) {
	d := &ev.Data
	h := ev.Hostname
	t := ev.Timestamp
	var ip string
	var port int
	if d.Logon != nil && d.Logon.SourceIP != "" && d.Logon.SourcePort != 0 {
		ip, port = d.Logon.SourceIP, d.Logon.SourcePort
	}
	n := d.Network
	if n != nil && n.SrcIP != "" && n.SrcPort != 0 {
		ip, port = n.SrcIP, n.SrcPort
	}
	if ip == "" {
		return "", false, false
	}
	for _, c := range e.conns[ip+"|"+strconv.Itoa(port)] {
		dt := math.Abs(c.t - t)
		if c.host == h {
			if n != nil && dt <= connSameHost && n.DstIP == c.dstIP && n.DstPort == c.dstPort {
				return c.cause, true, true
			}
			continue
		}
		if dt <= connCrossHost && (n == nil || n.DstIP == "" || n.DstIP == c.dstIP) {
			return c.cause, false, true
		}
	}
	return "", false, false
}

// sessionIDs lists the logon ids an event belongs to.
func sessionIDs(ev *schema.NormalizedEvent) []string {
	d := &ev.Data
	var out []string
	add := func(s string) {
		if usableLogonID(s) {
			out = append(out, strings.ToLower(s))
		}
	}
	if d.Logon != nil {
		add(d.Logon.TargetLogonID)
	}
	if d.User != nil {
		add(d.User.LogonID)
	}
	if d.Process != nil {
		add(d.Process.LogonID)
	}
	return out
}

// usableLogonID drops empty ids and the well-known sessions every host
// shares (SYSTEM, LOCAL SERVICE, NETWORK SERVICE): they are not the
// attacker's.
func usableLogonID(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "-", "0x0", "0x3e7", "0x3e4", "0x3e5", "999", "996", "997":
		return false
	}
	return true
}

// --- helpers ---

// sharedProcesses are system processes that serve everybody: the label
// never propagates from them to their other children or actions (only the
// child actually spawned for the attacker is labelled).
var sharedProcesses = map[string]bool{
	"system": true, "smss.exe": true, "csrss.exe": true, "wininit.exe": true, "winlogon.exe": true,
	"services.exe": true, "lsass.exe": true, "lsm.exe": true, "svchost.exe": true, "wmiprvse.exe": true,
	"explorer.exe": true, "dllhost.exe": true, "taskeng.exe": true, "taskhostw.exe": true, "taskhost.exe": true,
	"spoolsv.exe": true, "searchindexer.exe": true, "runtimebroker.exe": true, "sihost.exe": true,
	"dwm.exe": true, "fontdrvhost.exe": true, "msmpeng.exe": true,
	"registry": true, "memory compression": true, "userinit.exe": true, "ctfmon.exe": true,
}

func isShared(image string) bool { return sharedProcesses[strings.ToLower(image)] }

// baseName returns the lower-case file name of a Windows or Unix path.
func baseName(p string) string {
	p = strings.TrimSpace(strings.Trim(p, `"`))
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return strings.ToLower(p)
}

// imageMatches: want is a base name (powershell.exe) or a path suffix.
func imageMatches(image, want string) bool {
	if image == "" {
		return false
	}
	want = strings.ToLower(want)
	if !strings.ContainsAny(want, `\/`) {
		return baseName(image) == want
	}
	return strings.HasSuffix(normPath(image), normPath(want))
}

// normPath lower-cases a Windows path and maps the device form Security
// uses (\device\harddiskvolume2\...) to a drive-less path so the two agree.
func normPath(p string) string {
	p = strings.ToLower(strings.TrimSpace(strings.Trim(p, `"`)))
	p = strings.ReplaceAll(p, "/", `\`)
	if strings.HasPrefix(p, `\device\harddiskvolume`) {
		if i := strings.IndexByte(p[len(`\device\harddiskvolume`):], '\\'); i >= 0 {
			p = p[len(`\device\harddiskvolume`)+i:]
		}
	} else if len(p) >= 2 && p[1] == ':' {
		p = p[2:]
	}
	p = strings.TrimPrefix(p, `\??\`)
	if len(p) >= 2 && p[1] == ':' {
		p = p[2:]
	}
	return p
}

// normCL lower-cases a command line and collapses white space, so the
// same command spelt by Sysmon, Security and PowerShell compares equal.
func normCL(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// expandEnv drops %VAR% tokens from service image paths and task commands
// (services.exe expands %COMSPEC% and friends; what follows is what the
// process's command line carries) and maps %SystemRoot% style roots.
func expandEnv(s string) string {
	r := strings.NewReplacer("%%", "%")
	s = r.Replace(s)
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		name := strings.ToLower(s[i+1 : i+1+j])
		switch name {
		case "systemroot", "windir":
			b.WriteString(`c:\windows`)
		}
		s = s[i+j+2:]
	}
	return strings.TrimSpace(b.String())
}

// serviceImageMatches reports whether a process started by services.exe
// runs a service image path. A shared service host (svchost.exe -k group)
// is never matched: the group's process serves other services too.
func serviceImageMatches(imagePath, cl, image string) bool {
	if imagePath == "" {
		return false
	}
	if strings.Contains(imagePath, `svchost.exe -k`) {
		return false
	}
	if cl != "" && strings.Contains(cl, imagePath) {
		return true
	}
	exe := strings.Trim(firstToken(imagePath), `"`)
	return image != "" && strings.ContainsAny(exe, `\/`) && normPath(exe) == image && strings.TrimSpace(imagePath) == exe
}

func firstToken(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, `"`) {
		if j := strings.IndexByte(s[1:], '"'); j >= 0 {
			return s[1 : j+1]
		}
	}
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// serviceKey reports the service a registry key belongs to
// (...\CurrentControlSet\Services\<name>[\<value>...]).
func serviceKey(key string) (name, value string, ok bool) {
	k := strings.ToLower(key)
	i := strings.Index(k, `\services\`)
	if i < 0 || !strings.Contains(k[:i], `controlset`) {
		return "", "", false
	}
	rest := key[i+len(`\services\`):]
	name, value, _ = strings.Cut(rest, `\`)
	if j := strings.LastIndexByte(value, '\\'); j >= 0 {
		value = value[j+1:]
	}
	return name, value, name != ""
}

// wmiDest is what a consumer runs: Sysmon 20 carries the consumer's
// Destination (command line or script) in WMI.Query. Filter records carry
// a WQL query there, which runs nothing.
func wmiDest(d *schema.EventData) string {
	if d.WMI == nil || d.NativeID != 20 {
		return ""
	}
	return d.WMI.Query
}

// wmiName extracts the instance name from the ways WMI records spell a
// consumer or filter: ` "__EventFilter.Name=\"X\""`, `ActiveScriptEventConsumer="X"`,
// `X (refer to its activate eventid:5859)` or `"X"`.
func wmiName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "Name="); i >= 0 {
		s = s[i+len("Name="):]
	} else if i := strings.Index(s, "=\""); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Trim(s, ` "\\`)
	if i := strings.IndexAny(s, ` "\\`); i >= 0 {
		s = s[:i]
	}
	return s
}

func taskLeaf(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

func isTaskFile(p, leaf string) bool {
	n := normPath(p)
	return leaf != "" && strings.Contains(n, `\system32\tasks\`) && baseName(n) == leaf
}

func cmdline(p *schema.Process) string {
	if p == nil {
		return ""
	}
	return p.CommandLine
}

func procName(p *schema.Process) string {
	if p == nil {
		return "?"
	}
	img := baseName(p.Image)
	if img == "" {
		img = "process"
	}
	if p.PID != 0 {
		return fmt.Sprintf("%s (pid %d)", img, p.PID)
	}
	return img
}

func allIn(s string, subs []string) bool {
	if s == "" {
		return false
	}
	ls := strings.ToLower(s)
	for _, x := range subs {
		if !strings.Contains(ls, strings.ToLower(x)) {
			return false
		}
	}
	return true
}

func containsFold(s, sub string) bool {
	return s != "" && sub != "" && strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// sortedKeys makes map iteration deterministic where the first match
// decides the reason reported.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

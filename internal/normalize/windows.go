package normalize

import (
	"strconv"
	"strings"

	"github.com/logster/logster/internal/schema"
)

// taskContentMax bounds the scheduled-task XML kept in data.task.content.
const taskContentMax = 4096

// mapWindows turns a winRecord into a NormalizedEvent (or an error).
func (c *ctx) mapWindows(w *winRecord) {
	defer w.release()
	if c.wlb != nil {
		c.wlb(w)
		return
	}
	ch := canonicalChannel(w.channel)
	chKey := strings.ToLower(ch)
	endpoint, fqdn, ok := canonicalHost(w.computer)
	if !ok {
		c.failErr(&ParseError{Reason: ReasonMissingField, Source: w.src, Channel: chKey, NativeID: w.eventID,
			Err: errf("no usable computer name (%q)", truncate(w.computer, 64))})
		return
	}
	ev := &schema.NormalizedEvent{
		EndpointID: endpoint,
		Hostname:   endpoint,
		Platform:   w.platform,
		Source:     string(w.src),
	}
	d := &ev.Data
	d.Channel, d.Provider, d.NativeID, d.RecordID, d.FQDN = ch, w.provider, w.eventID, w.recordID, fqdn

	et, ok := c.fillWindows(w, ch, ev)
	if !ok {
		c.failErr(&ParseError{Reason: ReasonUnknownType, Source: w.src, Channel: chKey, NativeID: w.eventID,
			Err: errf("%s event %d is not mapped", ch, w.eventID)})
		return
	}
	ev.EventType = et

	ts, ok := c.windowsTime(w, endpoint)
	if !ok {
		c.failErr(&ParseError{Reason: ReasonBadTimestamp, Source: w.src, Channel: chKey, NativeID: w.eventID,
			Err: errf("no usable event time")})
		return
	}
	ev.Timestamp = ts

	tenant, ok := c.n.tenantFor(w.tenant, endpoint, fqdn, c.in.Topic)
	if !ok {
		c.failErr(&ParseError{Reason: ReasonInvalidField, Source: w.src, Channel: chKey, NativeID: w.eventID,
			Err: errf("tenant_id %q is not a usable tenant", truncate(w.tenant, 64))})
		return
	}
	ev.TenantID = tenant
	// The same record read from EVTX, Winlogbeat or NXLog has the same
	// (host, channel, record id), hence the same event id.
	if w.recordID != 0 {
		ev.EventID = schema.EventID(tenant, endpoint, chKey, strconv.FormatUint(w.recordID, 10))
	} else {
		ev.EventID = contentID(tenant, endpoint, w.src, w.raw)
	}
	ev.RawEvent = w.rawEvent()
	c.ok(ev)
}

// windowsTime resolves the event time (docs/normalizer.md, "Time"):
//  1. Sysmon's UtcTime is the event time where present.
//  2. A shape's UTC event time (Winlogbeat @timestamp, EVTX TimeCreated).
//  3. A local wall-clock time (NXLog EventTime, the flat TimeCreated):
//     minus the offset learned for its clock scope from Sysmon records that
//     carry both; for NXLog, else minus the ingestion delay rounded to
//     whole quarter hours (@timestamp is seconds late, never 7.5 minutes).
//  4. Otherwise the local time is taken as UTC.
func (c *ctx) windowsTime(w *winRecord, endpoint string) (float64, bool) {
	scope := c.in.Scope
	if scope == "" {
		scope = endpoint
	}
	if isSysmonChannel(w.channel) {
		if ut, _, ok := parseTimestamp(strings.TrimSpace(w.get("UtcTime"))); ok && validEpoch(ut) {
			if w.hasLocal {
				c.n.clock.observe(scope, w.local, ut)
			}
			return roundMicros(ut), true
		}
	}
	if w.hasUTC && validEpoch(w.utc) {
		return roundMicros(w.utc), true
	}
	if w.hasLocal {
		if off, ok := c.n.clock.offset(scope); ok {
			if t := w.local - off; validEpoch(t) {
				return roundMicros(t), true
			}
		}
		if w.hasIngest {
			if t := w.local - roundQuarter(w.local-w.ingest); validEpoch(t) {
				return roundMicros(t), true
			}
		}
		if validEpoch(w.local) {
			return roundMicros(w.local), true
		}
	}
	if w.hasIngest && validEpoch(w.ingest) {
		return roundMicros(w.ingest), true
	}
	return 0, false
}

func isSysmonChannel(ch string) bool {
	return strings.EqualFold(ch, chSysmon) || strings.EqualFold(ch, chSysmonLinux)
}

// fillWindows maps the event data of a known (channel, event id) and
// returns its type; ok is false for events Logster does not map.
func (c *ctx) fillWindows(w *winRecord, ch string, ev *schema.NormalizedEvent) (schema.EventType, bool) {
	switch ch {
	case chSysmon, chSysmonLinux:
		return c.fillSysmon(w, ev)
	case chSecurity:
		return fillSecurity(w, ev)
	case chSystem:
		switch w.eventID {
		case 7045:
			fillService7045(w, ev)
			return schema.EventServiceInstall, true
		case 104:
			ev.Data.User = subjectUser(w)
			return schema.EventLogCleared, true
		}
	case chPowerShell, chPSCore:
		switch w.eventID {
		case 4104:
			fillScriptBlock(w, ev)
			return schema.EventScriptBlock, true
		case 4103:
			fillPipeline4103(w, ev)
			return schema.EventPowerShellInvoke, true
		}
	case chPSClassic:
		if w.eventID == 800 {
			fillPipeline800(w, ev)
			return schema.EventPowerShellInvoke, true
		}
	case chWMI:
		switch w.eventID {
		case 5861, 5860:
			fillWMIActivity(w, ev)
			return schema.EventWMIActivity, true
		}
	}
	return "", false
}

// --- Sysmon (Windows and Linux) ---

func (c *ctx) fillSysmon(w *winRecord, ev *schema.NormalizedEvent) (schema.EventType, bool) {
	d := &ev.Data
	switch w.eventID {
	case 1:
		p := sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		p.CommandLine = w.get("CommandLine")
		p.CurrentDirectory = w.get("CurrentDirectory")
		p.IntegrityLevel = dash(w.get("IntegrityLevel"))
		p.Hashes = dash(w.get("Hashes"))
		p.LogonID = dash(w.get("LogonId"))
		d.Process = p
		par := sysmonProcess(w, "ParentProcessGuid", "ParentProcessId", "ParentImage", "ParentUser")
		par.CommandLine = w.get("ParentCommandLine")
		if par.GUID != "" || par.PID != 0 || par.Image != "" {
			d.Parent = par
		}
		d.User = userFrom(p.User, p.LogonID)
		d.RuleName = ruleName(w)
		return schema.EventProcessCreate, true
	case 2:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.File = &schema.File{Path: w.get("TargetFilename")}
		d.RuleName = ruleName(w)
		return schema.EventFileTimestomp, true
	case 3:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		n := &schema.Network{
			Protocol:    strings.ToLower(w.get("Protocol")),
			SrcIP:       cleanIP(w.get("SourceIp")),
			SrcPort:     port(w.get("SourcePort")),
			SrcHostname: dash(w.get("SourceHostname")),
			DstIP:       cleanIP(w.get("DestinationIp")),
			DstPort:     port(w.get("DestinationPort")),
			DstHostname: dash(w.get("DestinationHostname")),
		}
		d.Network = n
		d.User = userFrom(d.Process.User, "")
		d.RuleName = ruleName(w)
		if strings.EqualFold(w.get("Initiated"), "false") {
			n.Direction = "inbound"
			return schema.EventNetworkAccept, true
		}
		n.Direction = "outbound"
		return schema.EventNetworkConnect, true
	case 5:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.RuleName = ruleName(w)
		return schema.EventProcessTerminate, true
	case 6:
		d.File = imageFile(w, "ImageLoaded")
		d.RuleName = ruleName(w)
		return schema.EventDriverLoad, true
	case 7:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.File = imageFile(w, "ImageLoaded")
		d.RuleName = ruleName(w)
		return schema.EventImageLoad, true
	case 8:
		d.Process = sysmonProcess(w, "SourceProcessGuid", "SourceProcessId", "SourceImage", "SourceUser")
		d.Target = sysmonProcess(w, "TargetProcessGuid", "TargetProcessId", "TargetImage", "TargetUser")
		d.RuleName = ruleName(w)
		return schema.EventCreateRemoteThread, true
	case 9:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.File = &schema.File{Path: w.get("Device")}
		d.RuleName = ruleName(w)
		return schema.EventRawAccessRead, true
	case 10:
		// Sysmon spells these GUID (upper case) in event 10 only.
		d.Process = sysmonProcess(w, "SourceProcessGUID", "SourceProcessId", "SourceImage", "SourceUser")
		t := sysmonProcess(w, "TargetProcessGUID", "TargetProcessId", "TargetImage", "TargetUser")
		t.GrantedAccess = w.get("GrantedAccess")
		d.Target = t
		d.RuleName = ruleName(w)
		return schema.EventProcessAccess, true
	case 11, 29:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.File = &schema.File{Path: w.get("TargetFilename"), Hashes: dash(w.get("Hashes"))}
		d.RuleName = ruleName(w)
		return schema.EventFileCreate, true
	case 12, 13, 14:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		op := w.get("EventType")
		r := &schema.Registry{Key: w.get("TargetObject"), Operation: op}
		d.Registry = r
		d.RuleName = ruleName(w)
		switch w.eventID {
		case 13:
			r.Value = w.get("Details")
			return schema.EventRegistrySet, true
		case 14:
			r.NewName = w.get("NewName")
			return schema.EventRegistryRename, true
		}
		if strings.HasPrefix(op, "Delete") {
			return schema.EventRegistryDelete, true
		}
		return schema.EventRegistryCreate, true
	case 15:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.File = &schema.File{Path: w.get("TargetFilename"), Hashes: dash(w.get("Hash"))}
		d.RuleName = ruleName(w)
		return schema.EventFileWrite, true
	case 17, 18:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.File = &schema.File{Path: w.get("PipeName")}
		d.RuleName = ruleName(w)
		if w.eventID == 17 {
			return schema.EventPipeCreate, true
		}
		return schema.EventPipeConnect, true
	case 19, 20, 21:
		m := &schema.WMI{Operation: w.get("Operation")}
		switch w.eventID {
		case 19:
			m.Namespace = w.get("EventNamespace")
			m.Filter = w.get("Name")
			m.Query = w.get("Query")
		case 20:
			m.Consumer = w.get("Name")
			m.Query = w.get("Destination")
		case 21:
			m.Consumer = w.get("Consumer")
			m.Filter = w.get("Filter")
		}
		d.WMI = m
		d.User = userFrom(w.get("User"), "")
		d.RuleName = ruleName(w)
		return schema.EventWMISubscription, true
	case 22:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.DNS = &schema.DNS{Query: w.get("QueryName"), Results: w.get("QueryResults"), Status: w.get("QueryStatus")}
		d.RuleName = ruleName(w)
		return schema.EventDNSQuery, true
	case 23, 26:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.File = &schema.File{Path: w.get("TargetFilename"), Hashes: dash(w.get("Hashes"))}
		d.RuleName = ruleName(w)
		return schema.EventFileDelete, true
	case 25:
		d.Process = sysmonProcess(w, "ProcessGuid", "ProcessId", "Image", "User")
		d.RuleName = ruleName(w)
		return schema.EventProcessTamper, true
	}
	return "", false
}

// sysmonProcess reads one process reference of a Sysmon event.
func sysmonProcess(w *winRecord, guidKey, pidKey, imageKey, userKey string) *schema.Process {
	p := &schema.Process{GUID: normGUID(w.get(guidKey)), Image: w.get(imageKey), User: dash(w.get(userKey))}
	if pid, ok := parseIntAuto(w.get(pidKey)); ok {
		p.PID = pid
	}
	return p
}

func imageFile(w *winRecord, pathKey string) *schema.File {
	f := &schema.File{Path: w.get(pathKey), Hashes: dash(w.get("Hashes")), Signature: dash(w.get("Signature"))}
	switch strings.ToLower(w.get("Signed")) {
	case "true":
		t := true
		f.Signed = &t
	case "false":
		v := false
		f.Signed = &v
	}
	return f
}

func ruleName(w *winRecord) string { return dash(w.get("RuleName")) }

// userFrom builds the subject from a DOMAIN\name string.
func userFrom(account, logonID string) *schema.User {
	if account == "" {
		return nil
	}
	dom, name := splitUser(account)
	return &schema.User{Name: name, Domain: dom, LogonID: logonID}
}

// --- Security ---

// subjectUser reads the Subject* fields most Security events carry.
func subjectUser(w *winRecord) *schema.User {
	u := &schema.User{
		Name:    dash(w.get("SubjectUserName")),
		Domain:  dash(w.get("SubjectDomainName")),
		SID:     nullSID(w.get("SubjectUserSid")),
		LogonID: nullLogon(w.get("SubjectLogonId")),
	}
	if *u == (schema.User{}) {
		return nil
	}
	return u
}

// nullSID drops the NULL SID placeholder.
func nullSID(s string) string {
	if s == "S-1-0-0" || s == "-" {
		return ""
	}
	return s
}

// nullLogon drops the 0x0 logon id placeholder.
func nullLogon(s string) string {
	if s == "0x0" || s == "-" {
		return ""
	}
	return s
}

// procOrNil drops an empty process reference.
func procOrNil(p *schema.Process) *schema.Process {
	if p.PID == 0 && p.Image == "" {
		return nil
	}
	return p
}

// ticketEncryption normalizes a Kerberos TicketEncryptionType ("0x17");
// 0xffffffff, what a failed request records, means no ticket.
func ticketEncryption(s string) string {
	s = strings.ToLower(dash(strings.TrimSpace(s)))
	if s == "0xffffffff" {
		return ""
	}
	return s
}

func fillSecurity(w *winRecord, ev *schema.NormalizedEvent) (schema.EventType, bool) {
	d := &ev.Data
	switch w.eventID {
	case 4624, 4625:
		d.User = subjectUser(w)
		l := logonTarget(w)
		l.Type, _ = atoiSmall(w.get("LogonType"))
		l.SourceIP = cleanIP(w.get("IpAddress"))
		l.SourcePort = port(w.get("IpPort"))
		l.SourceHost = dash(w.get("WorkstationName"))
		l.LogonProcess = strings.TrimSpace(w.get("LogonProcessName"))
		l.AuthPackage = dash(w.get("AuthenticationPackageName"))
		l.ElevatedToken = yes(w.get("ElevatedToken"))
		l.RestrictedAdmin = yes(w.get("RestrictedAdminMode"))
		d.Logon = l
		d.Process = procOrNil(securityProcess(w, "ProcessId", "ProcessName"))
		if w.eventID == 4625 {
			l.Status = joinStatus(w.get("Status"), w.get("SubStatus"))
			d.Outcome = "failure"
			return schema.EventLogonFailed, true
		}
		d.Outcome = "success"
		return schema.EventLogon, true
	case 4634, 4647:
		l := logonTarget(w)
		l.Type, _ = atoiSmall(w.get("LogonType"))
		d.Logon = l
		return schema.EventLogoff, true
	case 4648:
		d.User = subjectUser(w)
		d.Logon = &schema.Logon{
			TargetUser:   dash(w.get("TargetUserName")),
			TargetDomain: dash(w.get("TargetDomainName")),
			TargetServer: dash(w.get("TargetServerName")),
			SourceIP:     cleanIP(w.get("IpAddress")),
			SourcePort:   port(w.get("IpPort")),
		}
		d.Process = procOrNil(securityProcess(w, "ProcessId", "ProcessName"))
		return schema.EventExplicitLogon, true
	case 4672:
		u := subjectUser(w)
		d.User = u
		if u != nil {
			d.Logon = &schema.Logon{TargetUser: u.Name, TargetDomain: u.Domain, TargetSID: u.SID, TargetLogonID: u.LogonID}
		}
		return schema.EventSpecialPrivs, true
	case 4688:
		fillProcess4688(w, ev)
		return schema.EventProcessCreate, true
	case 4689:
		u := subjectUser(w)
		d.User = u
		p := securityProcess(w, "ProcessId", "ProcessName")
		if u != nil {
			p.LogonID = u.LogonID
			p.User = joinAccount(u.Domain, u.Name)
		}
		p.GUID = windowsDerivedGUID(ev.EndpointID, p.PID, p.LogonID, p.Image)
		if code, ok := parseIntAuto(w.get("Status")); ok {
			p.ExitCode = &code
		}
		d.Process = p
		return schema.EventProcessTerminate, true
	case 4697:
		d.User = subjectUser(w)
		d.Service = &schema.Service{
			Name:        w.get("ServiceName"),
			ImagePath:   w.get("ServiceFileName"),
			StartType:   startTypeName(w.get("ServiceStartType")),
			ServiceType: w.get("ServiceType"),
			Account:     dash(w.get("ServiceAccount")),
		}
		return schema.EventServiceInstall, true
	case 4698, 4702:
		d.User = subjectUser(w)
		content := w.get("TaskContent")
		if w.eventID == 4702 {
			if nc := w.get("TaskContentNew"); nc != "" {
				content = nc
			}
		}
		d.Task = &schema.Task{Name: w.get("TaskName"), Command: taskCommand(content), Content: truncate(content, taskContentMax)}
		if w.eventID == 4698 {
			return schema.EventTaskCreate, true
		}
		return schema.EventTaskUpdate, true
	case 4720:
		d.User = subjectUser(w)
		d.Logon = &schema.Logon{TargetUser: dash(w.get("TargetUserName")), TargetDomain: dash(w.get("TargetDomainName")), TargetSID: dash(w.get("TargetSid"))}
		return schema.EventUserCreate, true
	case 4728, 4732, 4756:
		d.User = subjectUser(w)
		d.Group = &schema.Group{
			Name:      w.get("TargetUserName"),
			Domain:    dash(w.get("TargetDomainName")),
			MemberSID: dash(w.get("MemberSid")),
			Member:    dash(w.get("MemberName")),
		}
		return schema.EventGroupMemberAdd, true
	case 4768, 4769:
		l := &schema.Logon{
			TargetUser:       dash(w.get("TargetUserName")),
			TargetDomain:     dash(w.get("TargetDomainName")),
			TargetSID:        dash(w.get("TargetSid")),
			ServiceName:      dash(w.get("ServiceName")),
			SourceIP:         cleanIP(w.get("IpAddress")),
			SourcePort:       port(w.get("IpPort")),
			Status:           w.get("Status"),
			TicketEncryption: ticketEncryption(w.get("TicketEncryptionType")),
		}
		d.Logon = l
		d.Outcome = kerberosOutcome(l.Status)
		if w.eventID == 4768 {
			return schema.EventKerberosTGT, true
		}
		return schema.EventKerberosService, true
	case 4776:
		l := &schema.Logon{
			TargetUser:  dash(w.get("TargetUserName")),
			SourceHost:  dash(w.get("Workstation")),
			AuthPackage: dash(w.get("PackageName")),
			Status:      w.get("Status"),
		}
		d.Logon = l
		d.Outcome = kerberosOutcome(l.Status)
		return schema.EventNTLMAuth, true
	case 5140, 5145:
		d.User = subjectUser(w)
		d.Share = &schema.Share{
			Name:         w.get("ShareName"),
			Path:         w.get("ShareLocalPath"),
			RelativeName: w.get("RelativeTargetName"),
			AccessMask:   w.get("AccessMask"),
		}
		if ip := cleanIP(w.get("IpAddress")); ip != "" {
			d.Network = &schema.Network{Direction: "inbound", SrcIP: ip, SrcPort: port(w.get("IpPort"))}
		}
		return schema.EventShareAccess, true
	case 4662:
		d.User = subjectUser(w)
		o := &schema.Object{
			Server:     w.get("ObjectServer"),
			Type:       bareGUID(w.get("ObjectType")),
			Name:       bareGUID(w.get("ObjectName")),
			Operation:  dash(w.get("OperationType")),
			AccessMask: w.get("AccessMask"),
			Properties: guidList(w.get("Properties"), maxObjectProperties),
		}
		d.Object = o
		return schema.EventObjectAccess, true
	case 5156:
		n := &schema.Network{
			Protocol: ipProtocol(w.get("Protocol")),
			SrcIP:    cleanIP(w.get("SourceAddress")),
			SrcPort:  port(w.get("SourcePort")),
			DstIP:    cleanIP(w.get("DestAddress")),
			DstPort:  port(w.get("DestPort")),
		}
		d.Network = n
		// Windows names the field ProcessID; NXLog writes it ProcessId.
		pidKey := "ProcessID"
		if w.get(pidKey) == "" && w.get("ProcessId") != "" {
			pidKey = "ProcessId"
		}
		d.Process = procOrNil(securityProcess(w, pidKey, "Application"))
		// %%14592 is "Inbound", %%14593 "Outbound" (message table ids;
		// renderers that resolve them write the words).
		switch dir := w.get("Direction"); {
		case dir == "%%14592" || strings.EqualFold(dir, "inbound"):
			n.Direction = "inbound"
			return schema.EventNetworkAccept, true
		default:
			n.Direction = "outbound"
			return schema.EventNetworkConnect, true
		}
	case 1102:
		d.User = subjectUser(w)
		return schema.EventLogCleared, true
	}
	return "", false
}

func logonTarget(w *winRecord) *schema.Logon {
	return &schema.Logon{
		TargetUser:    dash(w.get("TargetUserName")),
		TargetDomain:  dash(w.get("TargetDomainName")),
		TargetSID:     dash(w.get("TargetUserSid")),
		TargetLogonID: dash(w.get("TargetLogonId")),
	}
}

// securityProcess reads a (pid, image) pair; Security writes pids in hex.
func securityProcess(w *winRecord, pidKey, imageKey string) *schema.Process {
	p := &schema.Process{Image: dash(w.get(imageKey))}
	if pid, ok := parseIntAuto(w.get(pidKey)); ok {
		p.PID = pid
	}
	return p
}

// fillProcess4688 maps a Security process creation. Security has no
// process GUID: one is derived from (host, pid, logon id, image) so the
// 4688 of a process, the parent reference in its children's 4688 and its
// 4689 all agree. The new process's logon session is TargetLogonId when
// set (a process started under other credentials), else the creator's.
func fillProcess4688(w *winRecord, ev *schema.NormalizedEvent) {
	d := &ev.Data
	u := subjectUser(w)
	d.User = u
	p := securityProcess(w, "NewProcessId", "NewProcessName")
	p.CommandLine = w.get("CommandLine")
	p.IntegrityLevel = integrityFromLabel(w.get("MandatoryLabel"))
	tUser, tDomain, tLogon := dash(w.get("TargetUserName")), dash(w.get("TargetDomainName")), dash(w.get("TargetLogonId"))
	creatorLogon := ""
	if u != nil {
		creatorLogon = u.LogonID
	}
	if tLogon != "" && tLogon != "0x0" {
		p.LogonID = tLogon
		p.User = joinAccount(tDomain, tUser)
	} else {
		p.LogonID = creatorLogon
		if u != nil {
			p.User = joinAccount(u.Domain, u.Name)
		}
	}
	p.GUID = windowsDerivedGUID(ev.EndpointID, p.PID, p.LogonID, p.Image)
	d.Process = p
	par := securityProcess(w, "ProcessId", "ParentProcessName")
	par.LogonID = creatorLogon
	par.GUID = windowsDerivedGUID(ev.EndpointID, par.PID, par.LogonID, par.Image)
	d.Parent = par
}

func windowsDerivedGUID(endpoint string, pid int64, logonID, image string) string {
	if pid == 0 {
		return ""
	}
	return derivedGUID("win", endpoint, strconv.FormatInt(pid, 10), strings.ToLower(logonID), strings.ToLower(image))
}

func joinAccount(domain, name string) string {
	if name == "" {
		return ""
	}
	if domain == "" {
		return name
	}
	return domain + `\` + name
}

// integrityFromLabel names the mandatory label SIDs of process tokens.
func integrityFromLabel(sid string) string {
	switch sid {
	case "S-1-16-0":
		return "Untrusted"
	case "S-1-16-4096":
		return "Low"
	case "S-1-16-8192":
		return "Medium"
	case "S-1-16-8448":
		return "MediumPlus"
	case "S-1-16-12288":
		return "High"
	case "S-1-16-16384":
		return "System"
	}
	return dash(sid)
}

// yes reads Windows' yes/no message ids (%%1842 Yes, %%1843 No) and words.
func yes(s string) bool { return s == "%%1842" || strings.EqualFold(s, "yes") || s == "1" }

func joinStatus(status, sub string) string {
	if sub == "" || sub == "0x0" {
		return status
	}
	return status + "/" + sub
}

func kerberosOutcome(status string) string {
	if status == "" {
		return ""
	}
	if v, ok := parseIntAuto(status); ok && v == 0 {
		return "success"
	}
	return "failure"
}

func ipProtocol(n string) string {
	switch n {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "icmpv6"
	}
	return n
}

func startTypeName(s string) string {
	switch s {
	case "0":
		return "boot start"
	case "1":
		return "system start"
	case "2":
		return "auto start"
	case "3":
		return "demand start"
	case "4":
		return "disabled"
	}
	return s
}

// taskCommand extracts Exec/Command (+ Arguments) from task XML.
func taskCommand(xml string) string {
	cmd := between(xml, "<Command>", "</Command>")
	if cmd == "" {
		return ""
	}
	if args := between(xml, "<Arguments>", "</Arguments>"); args != "" {
		return xmlUnescape(cmd) + " " + xmlUnescape(args)
	}
	return xmlUnescape(cmd)
}

func between(s, open, close string) string {
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	j := strings.Index(s, close)
	if j < 0 {
		return ""
	}
	return strings.TrimSpace(s[:j])
}

var xmlUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")

func xmlUnescape(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	return xmlUnescaper.Replace(s)
}

// --- System, PowerShell, WMI ---

func fillService7045(w *winRecord, ev *schema.NormalizedEvent) {
	ev.Data.Service = &schema.Service{
		Name:        w.get("ServiceName"),
		ImagePath:   w.get("ImagePath"),
		StartType:   startTypeName(w.get("StartType")),
		ServiceType: w.get("ServiceType"),
		Account:     dash(w.get("AccountName")),
	}
}

func fillScriptBlock(w *winRecord, ev *schema.NormalizedEvent) {
	s := &schema.Script{
		BlockID: w.get("ScriptBlockId"),
		Text:    w.get("ScriptBlockText"),
		Path:    w.get("Path"),
	}
	s.MessageNumber, _ = atoiSmall(w.get("MessageNumber"))
	s.MessageTotal, _ = atoiSmall(w.get("MessageTotal"))
	if s.Text == "" && w.msgVal != nil {
		// Shapes without event data: the block is the message between the
		// "(n of m):" header and the "ScriptBlock ID:" trailer.
		s.Text = scriptFromMessage(w.message())
	}
	ev.Data.Script = s
}

func scriptFromMessage(m string) string {
	if i := strings.Index(m, "):"); i >= 0 && strings.HasPrefix(m, "Creating Scriptblock text") {
		m = m[i+2:]
	}
	if j := strings.LastIndex(m, "ScriptBlock ID:"); j >= 0 {
		m = m[:j]
	}
	return strings.TrimSpace(m)
}

// fillPipeline4103 maps a module-logging (pipeline) record: the payload is
// the command invocation; ContextInfo names the host application and user.
func fillPipeline4103(w *winRecord, ev *schema.NormalizedEvent) {
	payload := w.get("Payload")
	ctxInfo := w.get("ContextInfo")
	if payload == "" && ctxInfo == "" && w.msgVal != nil {
		payload, ctxInfo, _ = strings.Cut(w.message(), "Context:")
	}
	s := &schema.Script{Text: strings.TrimSpace(payload), HostApp: contextValue(ctxInfo, "Host Application", " = ")}
	s.Path = contextValue(ctxInfo, "Script Name", " = ")
	ev.Data.Script = s
	ev.Data.User = userFrom(contextValue(ctxInfo, "User", " = "), "")
}

// fillPipeline800 maps classic "Windows PowerShell" 800 (pipeline
// execution details), whose fields exist only in the rendered message
// (or its param2 insertion string).
func fillPipeline800(w *winRecord, ev *schema.NormalizedEvent) {
	text := w.get("param2")
	if text == "" {
		text = w.message()
	}
	s := &schema.Script{
		Text:    contextValue(text, "CommandLine", "="),
		HostApp: contextValue(text, "HostApplication", "="),
		Path:    contextValue(text, "ScriptName", "="),
	}
	if s.Text == "" {
		if first, _, ok := strings.Cut(text, "\n"); ok {
			s.Text = strings.TrimSpace(strings.TrimPrefix(first, "Pipeline execution details for command line:"))
		}
	}
	ev.Data.Script = s
	ev.Data.User = userFrom(contextValue(text, "UserId", "="), "")
}

// contextValue finds "key<sep>value" on its own line of a PowerShell
// context block.
func contextValue(text, key, sep string) string {
	for len(text) > 0 {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, key) && strings.HasPrefix(line[len(key):], sep) {
			return strings.TrimSpace(line[len(key)+len(sep):])
		}
	}
	return ""
}

// fillWMIActivity maps WMI-Activity 5860 (temporary) and 5861 (permanent)
// event subscriptions. Renderers that keep no event data leave only the
// message ("Namespace = ...; Eventfilter = ...; Consumer = ...").
func fillWMIActivity(w *winRecord, ev *schema.NormalizedEvent) {
	m := &schema.WMI{
		Namespace: w.get("NamespaceName"),
		Consumer:  w.get("CONSUMER"),
		Filter:    w.get("ESS"),
		Query:     w.get("Query"),
	}
	if m.Namespace == "" {
		m.Namespace = w.get("Namespace")
	}
	if pc := w.get("PossibleCause"); pc != "" && m.Query == "" {
		m.Query = truncate(pc, taskContentMax)
	}
	if m.Namespace == "" && w.msgVal != nil {
		msg := w.message()
		m.Namespace = semiValue(msg, "Namespace = ")
		m.Filter = semiValue(msg, "Eventfilter = ")
		m.Consumer = semiValue(msg, "Consumer = ")
	}
	if w.eventID == 5860 {
		m.Operation = "temporary"
		if pid, ok := parseIntAuto(w.get("PROCESSID")); ok {
			m.ClientPID = pid
		}
		if u := w.get("User"); u != "" {
			ev.Data.User = userFrom(u, "")
		}
	} else {
		m.Operation = "permanent"
	}
	ev.Data.WMI = m
}

func semiValue(s, key string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	if j := strings.IndexAny(s, ";\r\n"); j >= 0 {
		s = s[:j]
	}
	return strings.TrimSpace(s)
}

package attack

import (
	"fmt"
	"strings"

	"github.com/logster/logster/internal/schema"
)

// Fixture builders. Field values are taken from the OTRF lateral-movement
// recordings (hosts WORKSTATION5 = 172.18.39.5, WORKSTATION6 = 172.18.39.6,
// MORDORDC = 172.18.38.5, account THESHIRE\pgustavo) as the normalizer is
// specified to produce them.

const t0 = 1600618616.0 // 2020-09-20T16:16:56Z, the empire_psexec recording

func ev(host string, typ schema.EventType, ts float64, id string, d schema.EventData) *schema.NormalizedEvent {
	return &schema.NormalizedEvent{
		SchemaVersion: schema.Version, EventID: id, TenantID: "default",
		EndpointID: strings.ToLower(host), Hostname: strings.ToLower(host),
		Platform: schema.PlatformWindows, Source: "test", EventType: typ, Timestamp: ts, Data: d,
	}
}

func procEv(host, img, cmd, user, parentImg, parentCmd string) *schema.NormalizedEvent {
	d := schema.EventData{NativeID: 1, Process: &schema.Process{Image: img, CommandLine: cmd, User: user}}
	if parentImg != "" || parentCmd != "" {
		d.Parent = &schema.Process{Image: parentImg, CommandLine: parentCmd}
	}
	return ev(host, schema.EventProcessCreate, t0, "p-"+baseName(img), d)
}

func netEv(host, dir, src string, sport int, dst string, dport int, img, user string) *schema.NormalizedEvent {
	return ev(host, schema.EventNetworkConnect, t0, fmt.Sprintf("n-%s-%d-%s", dst, dport, dir), schema.EventData{
		NativeID: 3,
		Process:  &schema.Process{Image: img, User: user},
		Network:  &schema.Network{Protocol: "tcp", Direction: dir, SrcIP: src, SrcPort: sport, DstIP: dst, DstPort: dport},
	})
}

func logonEv(host string, typ int, user, domain, ip, logonID, pkg string) *schema.NormalizedEvent {
	return ev(host, schema.EventLogon, t0, "l-"+logonID+user, schema.EventData{NativeID: 4624, Logon: &schema.Logon{
		Type: typ, TargetUser: user, TargetDomain: domain, TargetLogonID: logonID, SourceIP: ip,
		AuthPackage: pkg, LogonProcess: pkg,
	}})
}

func shareEv(host, share, rel, user, ip, mask string) *schema.NormalizedEvent {
	native := 5140
	if rel != "" {
		native = 5145
	}
	return ev(host, schema.EventShareAccess, t0, "s-"+share+rel, schema.EventData{
		NativeID: native,
		User:     &schema.User{Name: user, Domain: "THESHIRE"},
		Share:    &schema.Share{Name: `\\*\` + share, RelativeName: rel, AccessMask: mask},
		Network:  &schema.Network{SrcIP: ip},
	})
}

func svcEv(host, name, imagePath, user, logonID string) *schema.NormalizedEvent {
	return ev(host, schema.EventServiceInstall, t0, "svc-"+name, schema.EventData{
		NativeID: 4697,
		User:     &schema.User{Name: user, Domain: "THESHIRE", LogonID: logonID},
		Service:  &schema.Service{Name: name, ImagePath: imagePath, Account: "LocalSystem"},
	})
}

func taskEv(host, name, user, logonID string) *schema.NormalizedEvent {
	return ev(host, schema.EventTaskCreate, t0, "task-"+name, schema.EventData{
		NativeID: 4698,
		User:     &schema.User{Name: user, Domain: "THESHIRE", LogonID: logonID},
		Task:     &schema.Task{Name: name, Command: `C:\Windows\system32\cmd.exe /C notepad.exe`},
	})
}

func accessEv(host, srcImg, access string) *schema.NormalizedEvent {
	return ev(host, schema.EventProcessAccess, t0, "a-"+baseName(srcImg)+access, schema.EventData{
		NativeID: 10,
		Process:  &schema.Process{Image: srcImg},
		Target:   &schema.Process{Image: `C:\windows\system32\lsass.exe`, GrantedAccess: access},
	})
}

func regEv(host string, typ schema.EventType, key, img string) *schema.NormalizedEvent {
	return ev(host, typ, t0, "r-"+key, schema.EventData{
		NativeID: 13, Process: &schema.Process{Image: img}, Registry: &schema.Registry{Key: key},
	})
}

func scriptEv(host, text string) *schema.NormalizedEvent {
	return ev(host, schema.EventScriptBlock, t0, "sb-"+fmt.Sprint(len(text)), schema.EventData{
		NativeID: 4104, Script: &schema.Script{Text: text},
	})
}

func at(e *schema.NormalizedEvent, ts float64, id string) *schema.NormalizedEvent {
	e.Timestamp, e.EventID = ts, id
	return e
}

func withLogonID(e *schema.NormalizedEvent, id string) *schema.NormalizedEvent {
	if e.Data.Process != nil {
		e.Data.Process.LogonID = id
	}
	return e
}

// objEv is a Security 4662 operation on an object by user.
func objEv(host, server, typ, name, user string, props ...string) *schema.NormalizedEvent {
	return ev(host, schema.EventObjectAccess, t0, "o-"+server+name+user, schema.EventData{
		NativeID: 4662,
		User:     &schema.User{Name: user, Domain: "THESHIRE", LogonID: "0x824909"},
		Object:   &schema.Object{Server: server, Type: typ, Name: name, Operation: "Object Access", AccessMask: "0x100", Properties: props},
	})
}

// tgsEv is a Security 4769 service ticket request.
func tgsEv(service, user, enc, status string) *schema.NormalizedEvent {
	outcome := "success"
	if status != "0x0" {
		outcome = "failure"
	}
	return ev("mordordc", schema.EventKerberosService, t0, "k-"+service+enc+status, schema.EventData{
		NativeID: 4769, Outcome: outcome,
		Logon: &schema.Logon{TargetUser: user, TargetDomain: "THESHIRE.LOCAL", ServiceName: service, SourceIP: "172.18.39.5",
			Status: status, TicketEncryption: enc},
	})
}

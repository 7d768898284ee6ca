package attack

import (
	"fmt"
	"strings"
)

// MappingDoc renders the technique table as the Markdown of
// docs/attack-mapping.md. The document is generated, never edited by hand:
// go test ./internal/attack -run TestMappingDoc -update rewrites it, and the
// same test fails when the file and the table disagree.
func MappingDoc() string {
	var b strings.Builder
	b.WriteString(`# ATT&CK mapping

<!-- Generated from internal/attack/rules.go by
     go test ./internal/attack -run TestMappingDoc -update
     Do not edit by hand: the test fails when this file and the table differ. -->

Logster tags every normalized event with the MITRE ATT&CK techniques it
evidences (` + "`attack.Match`" + `), and summarises each endpoint window into
` + "`InferenceResult.evidence`" + ` (` + "`attack.Extract`" + `): technique hits with counts,
first-seen time and sample event ids, the host's addresses and non-system
accounts, and the links to peer hosts that the alerts service uses to
correlate lateral movement.

The rules favour precision: each one says what keeps it quiet on the benign
background of the lab recordings (domain controller Group Policy traffic,
machine-account logons, svchost.exe handles on LSASS, Windows Event
Forwarding, DcomLaunch starting system brokers). Every rule has positive and
negative table tests in ` + "`internal/attack/rules_test.go`" + `.

## Techniques

| Technique | Name | Tactic | Rules |
|---|---|---|---|
`)
	for _, t := range Techniques() {
		var rules []string
		for _, r := range Rules {
			for _, id := range r.Techniques {
				if id == t.ID {
					rules = append(rules, "`"+r.ID+"`")
				}
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.ID, t.Name, t.Tactic, strings.Join(rules, ", "))
	}
	b.WriteString(`
## Rules

| Rule | Techniques | Events | Pattern | Kept quiet by |
|---|---|---|---|---|
`)
	for _, r := range Rules {
		types := make([]string, len(r.EventTypes))
		for i, t := range r.EventTypes {
			types[i] = string(t)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.ID, strings.Join(r.Techniques, ", "),
			strings.Join(types, ", "), mdCell(r.Pattern), mdCell(r.Quiet))
	}
	b.WriteString(`
## Evidence links

` + "`attack.Extract`" + ` derives these links from event content only (never from the
endpoint's host name). Direction is ` + "`inbound`" + ` when the peer acted on this host and
` + "`outbound`" + ` when this host acted on the peer.

| Kind | Direction | Derived from | Peer taken from |
|---|---|---|---|
| remote_logon | inbound | 4624 logon type 3 or 10 of a non-system account | IpAddress (routable, not this host's), WorkstationName |
| explicit_logon | outbound | 4648 with a target server other than this host | TargetServerName, network address |
| outbound_connect / inbound_connect | both | TCP connections on 135, 139, 445, 3389, 5985, 5986, or a dynamic RPC port (49152-65535) with a 135 connection to/from the same peer; the link carries the process user when it is not a system account | the remote address |
| winrm | both | outbound 5985/5986 by a non-svchost process; wsmprovhost.exe on the target; ` + "`" + `Invoke-Command` + "`" + `/` + "`" + `Enter-PSSession -ComputerName` + "`" + `, ` + "`" + `winrs -r:` + "`" + ` | remote address; the wsmprovhost user's remote logon, else inbound 5985/5986 peers; the named computer |
| remote_service | both | 7045/4697 installed by a session that logged on remotely; ` + "`" + `sc.exe \\host create/config/start/stop/delete` + "`" + `; ` + "`" + `psexec \\host` + "`" + ` | the installer's logon session (TargetLogonId = SubjectLogonId), else the account's remote logons; the named host |
| remote_task | both | 4698 registered by a remote session; ` + "`" + `schtasks /create /s host` + "`" + ` | as above; the named host |
| remote_wmi | both | a process started by wmiprvse.exe as a user with a remote logon; a permanent subscription (Sysmon 19/20/21) created by a user with a remote logon; WMI activity naming a client machine; ` + "`" + `wmic /node:host` + "`" + ` | the user's logon session, else the user's remote logons, else inbound 135/5985/5986 peers (subscriptions: only when the user's remote logons come from exactly one peer); ClientMachine; the named host |
| dcom | both | mmc/Office started by DcomLaunch with -Embedding, mmc.exe starting a shell; ` + "`" + `GetTypeFromProgID/CLSID(..., host)` + "`" + ` | the user's remote logon, else inbound 135 peers; the named host |
| admin_share | both | ADMIN$/C$ access, IPC$ svcctl/atsvc, tool writes through an admin share by a user account; ` + "`" + `\\host\C$` + "`" + ` in a command; ` + "`" + `psexec \\host` + "`" + ` | the share record's client address, else the logon session; the named host |

Bounds per window: ` + fmt.Sprintf("%d links (strong kinds kept first), %d accounts, %d local addresses, %d sample event ids per technique.", MaxLinks, MaxAccounts, MaxAddresses, MaxSampleEventIDs) + `
Loopback, link-local and multicast addresses never become peers or local
addresses: in the recordings link-local traffic is a host talking to itself.
UDP is ignored: no lateral-movement port is UDP, and Sysmon writes UDP
exchanges with the local side as source whatever the direction (a DNS
server's replies would make every client's address look like its own).

## Known gaps

- Outbound connections made by System (kernel SMB) and svchost.exe (RPCSS) are
  kept as plain connection links: they are how DCOM/SMB leave a host, but they
  are also Group Policy and domain traffic, so the alerts service does not
  accept them as proof of lateral movement on their own.
`)
	return b.String()
}

// mdCell escapes a table cell: pipes end cells and a single backslash is
// Markdown's escape character (paths like \\host\ADMIN$ must survive).
func mdCell(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// Package attack maps normalized endpoint events onto MITRE ATT&CK
// techniques and extracts, from one endpoint window, the evidence the alerts
// service needs to correlate endpoints without reading the window again:
// the addresses the host used, the non-system accounts active on it, the
// facts that tie it to peer hosts (remote logons, remote service/task/WMI/
// WinRM/DCOM execution, admin-share access, lateral-movement connections)
// and the technique hits.
//
// The technique table (Rules) is deliberately conservative: a rule that fires
// on every svchost.exe or every machine-account logon buries the one event an
// analyst needs. Each rule documents what keeps it quiet on benign background
// and is tested with negative cases taken from the lab recordings' background
// activity. docs/attack-mapping.md is generated from the table
// (go test ./internal/attack -run TestMappingDoc -update) and a test fails
// when the two disagree.
//
// Everything here reads event content only. Endpoint host names are never
// used as evidence on their own: a peer is named by the address or account a
// record carries, or by a host name the record itself states (the target of
// "sc \\host create", a 4648 target server, a 4624 workstation name).
package attack

package normalize

import "github.com/valyala/fastjson"

// auomsJSON reads AUOMS (Azure's auditd replacement) records as they
// arrive through Azure Monitor's Syslog table: SyslogMessage holds
// "type=AUOMS_EXECVE audit(<time>:<serial>): ..." with the whole event on one
// line (syscall, process, cwd, path_name=[...] lists, cmdline). Computer /
// HostName name the host; TenantId is the Log Analytics workspace, not a
// Logster tenant, and is ignored.
func (c *ctx) auomsJSON(o *fastjson.Object) {
	msg := strView(o, "SyslogMessage")
	if msg == "" {
		msg = strView(o, "message")
	}
	if msg == "" {
		c.failErr(perr(SourceAUOMS, ReasonMissingField, "no SyslogMessage"))
		return
	}
	c.auditLines(SourceAUOMS, []byte(msg), wrapperHost(o), str(o, "tenant_id"))
}

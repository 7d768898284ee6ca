package config

import (
	"strings"
	"time"
)

// Normalizer configures raw-record parsing.
type Normalizer struct {
	// MaxRecordBytes rejects raw records larger than this before parsing.
	MaxRecordBytes ByteSize `yaml:"max_record_bytes"`
	// DefaultTenant is used when a record names no tenant and no mapping applies.
	DefaultTenant string `yaml:"default_tenant"`
	// TenantByTopic maps a raw topic to a tenant.
	TenantByTopic map[string]string `yaml:"tenant_by_topic"`
	// TenantByHost maps a lower-case host name (short or FQDN) to a tenant;
	// it wins over TenantByTopic.
	TenantByHost map[string]string `yaml:"tenant_by_host"`
	// AuditdAssemblyWindow is how long the normalizer waits for the rest of
	// an auditd event whose lines arrive in separate Kafka records (a
	// shipper sending one line per record). An event is emitted at its EOE
	// line or after this window; 0 assembles lines within one record only.
	AuditdAssemblyWindow Duration `yaml:"auditd_assembly_window"`
	// AuditdMaxPending bounds the auditd events held while assembling; past
	// it the oldest is emitted as it is.
	AuditdMaxPending int `yaml:"auditd_max_pending"`
}

func defaultNormalizer() Normalizer {
	return Normalizer{MaxRecordBytes: 1 << 20, DefaultTenant: "default",
		AuditdAssemblyWindow: Duration(2 * time.Second), AuditdMaxPending: 10000}
}

func (n *Normalizer) validate(es *errs) {
	if n.MaxRecordBytes < 1024 || n.MaxRecordBytes > 64<<20 {
		es.add("normalizer.max_record_bytes", "must be between 1KiB and 64MiB (got %d)", n.MaxRecordBytes)
	}
	if strings.TrimSpace(n.DefaultTenant) == "" || strings.Contains(n.DefaultTenant, ":") {
		es.add("normalizer.default_tenant", "must be non-empty and must not contain ':' (got %q)", n.DefaultTenant)
	}
	if n.AuditdAssemblyWindow < 0 || n.AuditdAssemblyWindow.D() > time.Minute {
		es.add("normalizer.auditd_assembly_window", "must be between 0 and 1m (got %s)", n.AuditdAssemblyWindow)
	}
	if n.AuditdMaxPending < 1 || n.AuditdMaxPending > 1_000_000 {
		es.add("normalizer.auditd_max_pending", "must be between 1 and 1000000 (got %d)", n.AuditdMaxPending)
	}
	for k, v := range n.TenantByTopic {
		if v == "" || strings.Contains(v, ":") {
			es.add("normalizer.tenant_by_topic", "tenant for %q must be non-empty without ':'", k)
		}
	}
	for k, v := range n.TenantByHost {
		if v == "" || strings.Contains(v, ":") {
			es.add("normalizer.tenant_by_host", "tenant for %q must be non-empty without ':'", k)
		}
	}
}

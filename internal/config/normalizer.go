package config

import "strings"

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
}

func defaultNormalizer() Normalizer {
	return Normalizer{MaxRecordBytes: 1 << 20, DefaultTenant: "default"}
}

func (n *Normalizer) validate(es *errs) {
	if n.MaxRecordBytes < 1024 || n.MaxRecordBytes > 64<<20 {
		es.add("normalizer.max_record_bytes", "must be between 1KiB and 64MiB (got %d)", n.MaxRecordBytes)
	}
	if strings.TrimSpace(n.DefaultTenant) == "" || strings.Contains(n.DefaultTenant, ":") {
		es.add("normalizer.default_tenant", "must be non-empty and must not contain ':' (got %q)", n.DefaultTenant)
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

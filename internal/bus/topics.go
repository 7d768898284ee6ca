// Package bus is Logster's Kafka plumbing (franz-go): the topic catalogue,
// topic creation (kafka-init), an idempotent producer, a consumer-group
// runner that commits only after a record's outputs are acknowledged, trace
// propagation in record headers, and the embedded kfake broker used by
// standalone mode and tests.
package bus

// Topic names (SPEC §2). They are fixed: operators' runbooks use them.
const (
	TopicSysmon           = "sysmon-logs"
	TopicAuditd           = "linux-auditd-logs"
	TopicEBPFProcess      = "linux-ebpf-process-logs"
	TopicEBPFFile         = "linux-ebpf-file-logs"
	TopicEBPFNetwork      = "linux-ebpf-network-logs"
	TopicNormalized       = "normalized-endpoint-events"
	TopicInferenceResults = "logster-inference-results"
	TopicAlerts           = "logster-alerts"
)

// TopicSpec describes one topic of the catalogue.
type TopicSpec struct {
	Name       string
	Partitions int32
	// Raw topics are the trust boundary: anything on them is untrusted.
	Raw bool
	// Producer and Consumers document who writes and reads the topic.
	Producer  string
	Consumers string
}

// RetentionMs is the retention of every topic (7 days, SPEC §7).
const RetentionMs = 7 * 24 * 60 * 60 * 1000

// Catalogue lists the eight topics with their partition counts (SPEC §2).
var Catalogue = []TopicSpec{
	{TopicSysmon, 6, true, "Winlogbeat (Sysmon, Security, PowerShell)", "normalizer"},
	{TopicAuditd, 6, true, "auditd shipper", "normalizer"},
	{TopicEBPFProcess, 6, true, "eBPF agent", "normalizer"},
	{TopicEBPFFile, 6, true, "eBPF agent", "normalizer"},
	{TopicEBPFNetwork, 6, true, "eBPF agent", "normalizer"},
	{TopicNormalized, 12, false, "normalizer", "inference, indexer"},
	{TopicInferenceResults, 6, false, "inference", "alerts, indexer"},
	{TopicAlerts, 6, false, "alerts (and api for triage changes)", "api, integrations"},
}

// RawTopics are the five topics the normalizer consumes.
var RawTopics = []string{TopicSysmon, TopicAuditd, TopicEBPFProcess, TopicEBPFFile, TopicEBPFNetwork}

// Spec returns the catalogue entry for a topic name.
func Spec(name string) (TopicSpec, bool) {
	for _, t := range Catalogue {
		if t.Name == name {
			return t, true
		}
	}
	return TopicSpec{}, false
}

package config

import "strings"

// Kafka configures the bus.
type Kafka struct {
	BootstrapServers []string `yaml:"bootstrap_servers"`
	// GroupID prefixes every service's consumer group
	// (<group_id>-normalizer, ...). Changing it resets offsets.
	GroupID  string `yaml:"group_id"`
	ClientID string `yaml:"client_id"`
	// DeadLetterTopic receives poison records (with their origin in headers)
	// when set; empty means count, log and skip.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// MaxInFlight bounds records fetched but not yet committed per consumer.
	MaxInFlight int       `yaml:"max_in_flight"`
	SASL        KafkaSASL `yaml:"sasl"`
	TLS         KafkaTLS  `yaml:"tls"`
}

// KafkaSASL configures SASL authentication (production checklist).
type KafkaSASL struct {
	Mechanism string `yaml:"mechanism"` // "", PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
}

// KafkaTLS configures TLS to the brokers.
type KafkaTLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

func defaultKafka() Kafka {
	return Kafka{
		BootstrapServers: []string{"127.0.0.1:9092"},
		GroupID:          "logster",
		ClientID:         "logster",
		MaxInFlight:      1024,
	}
}

func (k *Kafka) validate(es *errs) {
	if len(k.BootstrapServers) == 0 {
		es.add("kafka.bootstrap_servers", "at least one broker address is required")
	}
	for _, s := range k.BootstrapServers {
		if !isHostPort(s) {
			es.add("kafka.bootstrap_servers", "%q is not host:port", s)
		}
	}
	if strings.TrimSpace(k.GroupID) == "" {
		es.add("kafka.group_id", "must not be empty")
	}
	if k.MaxInFlight < 1 || k.MaxInFlight > 1_000_000 {
		es.add("kafka.max_in_flight", "must be between 1 and 1000000 (got %d)", k.MaxInFlight)
	}
	switch k.SASL.Mechanism {
	case "":
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if k.SASL.Username == "" {
			es.add("kafka.sasl.username", "required when kafka.sasl.mechanism is set")
		}
	default:
		es.add("kafka.sasl.mechanism", "%q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", k.SASL.Mechanism)
	}
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		es.add("kafka.tls.cert_file", "cert_file and key_file must be set together")
	}
}

package schema

import (
	"crypto/sha1"
	"strconv"
	"strings"
)

// Namespaces for the name-based (version 5) UUIDs below. They are fixed
// forever: changing one changes every id Logster has ever written.
var (
	nsEvent     = [16]byte{0x6c, 0x6f, 0x67, 0x73, 0x74, 0x65, 0x72, 0x2d, 0x65, 0x76, 0x65, 0x6e, 0x74, 0x00, 0x00, 0x01}
	nsInference = [16]byte{0x6c, 0x6f, 0x67, 0x73, 0x74, 0x65, 0x72, 0x2d, 0x69, 0x6e, 0x66, 0x65, 0x72, 0x00, 0x00, 0x01}
	nsAlert     = [16]byte{0x6c, 0x6f, 0x67, 0x73, 0x74, 0x65, 0x72, 0x2d, 0x61, 0x6c, 0x65, 0x72, 0x74, 0x00, 0x00, 0x01}
)

// uuid5 returns the RFC 9562 version-5 UUID of name in namespace ns.
func uuid5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var sum [20]byte
	b := h.Sum(sum[:0])
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	return formatUUID(b[:16])
}

func formatUUID(b []byte) string {
	const hexdig = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hexdig[b[i]>>4]
		out[j+1] = hexdig[b[i]&0x0f]
		j += 2
	}
	return string(out[:])
}

// joinParts builds an unambiguous name from parts: each part is
// length-prefixed so ("ab","c") and ("a","bc") never collide.
func joinParts(parts []string) string {
	var sb strings.Builder
	n := 0
	for _, p := range parts {
		n += len(p) + 8
	}
	sb.Grow(n)
	for _, p := range parts {
		sb.WriteString(strconv.Itoa(len(p)))
		sb.WriteByte(':')
		sb.WriteString(p)
	}
	return sb.String()
}

// EventID returns the deterministic event id for a raw record identified by
// parts, e.g. (tenant, host, channel, record id) for Windows events — the same
// record read from EVTX or from Winlogbeat then gets the same id — or (tenant,
// host, audit serial, audit timestamp) for auditd. Parsers without a natural
// identity hash the raw record bytes.
func EventID(parts ...string) string { return uuid5(nsEvent, joinParts(parts)) }

// InferenceID returns the deterministic id of a model run over one endpoint
// window: a redelivered window produces the same id.
func InferenceID(tenant, endpoint string, windowStart, windowEnd float64, modelVersion string) string {
	return uuid5(nsInference, joinParts([]string{
		tenant, endpoint,
		strconv.FormatFloat(windowStart, 'f', 3, 64),
		strconv.FormatFloat(windowEnd, 'f', 3, 64),
		modelVersion,
	}))
}

// AlertID returns the deterministic id of an alert from the parts that make
// it unique (e.g. tenant, endpoint and the inference that opened it).
func AlertID(parts ...string) string { return uuid5(nsAlert, joinParts(parts)) }

// Package schema holds the records that travel between Logster's services
// (NormalizedEvent, InferenceResult, Alert), their enumerations, validation of
// incoming records, and the deterministic id helpers that make redelivery a
// no-op. Every service encodes and decodes through this one package so the
// wire contract (SPEC §3) lives in exactly one place.
package schema

// Version is the schema version written into every record Logster produces.
// A consumer rejects records whose schema_version is newer than the one it
// understands (ErrUnsupportedVersion) instead of guessing at unknown fields.
// Records without the field (version 0) are accepted as version 1: the
// reference system did not write it.
const Version = 1

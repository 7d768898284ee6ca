// Package alerting is the alerts service: it turns inference results into
// alerts (SPEC §3) — thresholding, de-duplication per endpoint, closure
// handling, and correlation of positives across endpoints into
// lateral-movement incidents — and publishes them to logster-alerts.
//
// The decision logic is a pure Engine (InferenceResult in, []Alert out)
// over a State interface; the Kafka side (Handler, Service) only decodes and
// encodes. State is the only thing replicas share, and every decision about
// one inference is one atomic State.Update over two documents: the
// endpoint's dedup document and the tenant's correlation document. With
// RedisState (WATCH/MULTI) any number of replicas behave as one engine;
// MemoryState serves standalone mode and a single replica. Alert ids are
// deterministic (schema.AlertID of the opening inference) and processed
// inference ids are remembered, so a redelivered result changes nothing.
//
// docs/alerts.md describes the behaviour for operators and analysts:
// severity mapping, dedup and closure rules, lateral-movement evidence,
// state layout, metrics.
package alerting

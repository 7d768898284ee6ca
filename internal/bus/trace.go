package bus

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
)

// propagator carries W3C trace context (traceparent, tracestate) and baggage
// in Kafka record headers, so one trace follows a record across every hop.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// headerCarrier adapts a record's headers to propagation.TextMapCarrier.
type headerCarrier struct{ rec *kgo.Record }

func (c headerCarrier) Get(key string) string {
	for _, h := range c.rec.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c headerCarrier) Set(key, value string) {
	for i, h := range c.rec.Headers {
		if h.Key == key {
			c.rec.Headers[i].Value = []byte(value)
			return
		}
	}
	c.rec.Headers = append(c.rec.Headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
}

func (c headerCarrier) Keys() []string {
	keys := make([]string, len(c.rec.Headers))
	for i, h := range c.rec.Headers {
		keys[i] = h.Key
	}
	return keys
}

// InjectTrace writes ctx's span context into rec's headers.
func InjectTrace(ctx context.Context, rec *kgo.Record) {
	propagator.Inject(ctx, headerCarrier{rec})
}

// ExtractTrace returns ctx carrying the span context found in rec's headers.
func ExtractTrace(ctx context.Context, rec *kgo.Record) context.Context {
	return propagator.Extract(ctx, headerCarrier{rec})
}

// Header returns the value of header key on rec ("" if absent).
func Header(rec *kgo.Record, key string) string { return headerCarrier{rec}.Get(key) }

// SetHeader sets header key on rec, replacing an existing value.
func SetHeader(rec *kgo.Record, key, value string) { headerCarrier{rec}.Set(key, value) }

// HeaderOrigin marks records on logster-alerts that the API published
// (triage changes: status, notes, assignee). The alerts service reads it to
// learn that an analyst closed an alert; the API's own ingest recognises
// its echo. Records without it are the alerts service's output.
const (
	HeaderOrigin = "logster-origin"
	OriginAPI    = "api"
)

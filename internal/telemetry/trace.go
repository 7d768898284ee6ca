package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/logster/logster/internal/config"
)

// Tracing owns the process's tracer provider.
type Tracing struct {
	Provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider
}

// NewTracing returns a provider exporting to cfg.OTLPEndpoint over OTLP/HTTP,
// or a no-op provider when no endpoint is configured (the default).
func NewTracing(cfg config.Telemetry, service, version string) (*Tracing, error) {
	if cfg.OTLPEndpoint == "" {
		return &Tracing{Provider: noop.NewTracerProvider()}, nil
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(cfg.OTLPEndpoint)}
	if cfg.OTLPInsecure {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("create OTLP exporter for %s: %w", cfg.OTLPEndpoint, err)
	}
	return NewTracingWithExporter(exp, cfg.SampleRatio, service, version), nil
}

// NewTracingWithExporter builds a provider around exp (tests use an
// in-memory exporter).
func NewTracingWithExporter(exp sdktrace.SpanExporter, ratio float64, service, version string) *Tracing {
	res := resource.NewSchemaless(semconv.ServiceName(service), semconv.ServiceVersion(version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	return &Tracing{Provider: tp, sdk: tp}
}

// Start is a no-op; the provider is ready on construction.
func (t *Tracing) Start(context.Context) error { return nil }

// Shutdown flushes pending spans.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

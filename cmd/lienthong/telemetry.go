package main

import (
	"context"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// telemetry holds the process's OpenTelemetry providers and the Prometheus handler.
type telemetry struct {
	Meter    metric.Meter
	Tracer   trace.TracerProvider // a no-op provider when no exporter is configured
	Tracing  bool                 // spans are exported
	Metrics  http.Handler
	shutdown []func(context.Context) error
}

// newTelemetry sets up metrics (exported at /metrics through Prometheus) and traces (exported
// with OTLP over gRPC when the standard OTEL_EXPORTER_OTLP_* variables name an endpoint; off
// otherwise).
func newTelemetry(ctx context.Context) (*telemetry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	tracing := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	mp := sdkmetric.NewMeterProvider(meterOptions(exp, tracing)...)
	t := &telemetry{
		Meter:    mp.Meter("github.com/lienthong/lienthong"),
		Metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Tracer:   tracenoop.NewTracerProvider(),
		shutdown: []func(context.Context) error{mp.Shutdown},
	}
	if tracing {
		te, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(te))
		t.Tracer, t.Tracing = tp, true
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	return t, nil
}

// meterOptions are the meter provider's options. Without traces, no measurement can have a
// sampled span, so the SDK's default exemplar filter (trace-based) would keep none while still
// searching every measurement's context for a span (three measurements per lookup): exemplars
// are then turned off, unless OTEL_METRICS_EXEMPLAR_FILTER asks for them.
func meterOptions(r sdkmetric.Reader, tracing bool) []sdkmetric.Option {
	opts := []sdkmetric.Option{sdkmetric.WithReader(r)}
	if !tracing && os.Getenv("OTEL_METRICS_EXEMPLAR_FILTER") == "" {
		opts = append(opts, sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))
	}
	return opts
}

// Spans is the provider of the hot paths' spans (gRPC calls, store calls): nil when spans go
// nowhere, so that those calls do not pay for them.
func (t *telemetry) Spans() trace.TracerProvider {
	if !t.Tracing {
		return nil
	}
	return t.Tracer
}

// Shutdown flushes and stops the providers.
func (t *telemetry) Shutdown(ctx context.Context) {
	for _, f := range t.shutdown {
		_ = f(ctx)
	}
}

// tracedSource makes every fetch from a pull partner a span.
type tracedSource struct {
	adapters.Source
	tracer trace.Tracer
}

func traceSource(src adapters.Source, tp trace.TracerProvider) adapters.Source {
	return tracedSource{Source: src, tracer: tp.Tracer("github.com/lienthong/lienthong/adapters/pull")}
}

func (s tracedSource) Fetch(ctx context.Context, cursor string) (adapters.Page, error) {
	ctx, span := s.tracer.Start(ctx, "pull.fetch", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("partner", string(s.Name()))))
	defer span.End()
	page, err := s.Source.Fetch(ctx, cursor)
	span.SetAttributes(attribute.Int("declarations", len(page.Declarations)), attribute.Bool("more", page.More))
	if err != nil {
		span.SetStatus(codes.Error, errs.KindOf(err).String())
	}
	return page, err
}

// tracedSink makes every batch handed to the ingest pipeline by a pull partner a span.
type tracedSink struct {
	next    adapters.Sink
	partner string
	tracer  trace.Tracer
}

func traceSink(next adapters.Sink, partner canonical.Platform, tp trace.TracerProvider) adapters.Sink {
	return tracedSink{next: next, partner: string(partner), tracer: tp.Tracer("github.com/lienthong/lienthong/gateway/ingest")}
}

func (s tracedSink) Ingest(ctx context.Context, batch []canonical.Declaration) ([]adapters.Result, error) {
	ctx, span := s.tracer.Start(ctx, "pull.ingest", trace.WithAttributes(
		attribute.String("partner", s.partner), attribute.Int("declarations", len(batch))))
	defer span.End()
	rs, err := s.next.Ingest(ctx, batch)
	if err != nil {
		span.SetStatus(codes.Error, errs.KindOf(err).String())
	}
	return rs, err
}

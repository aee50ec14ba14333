package main

import (
	"context"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// telemetry holds the process's OpenTelemetry providers and the Prometheus handler.
type telemetry struct {
	Meter    metric.Meter
	Tracer   trace.TracerProvider
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
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t := &telemetry{
		Meter:    mp.Meter("github.com/lienthong/lienthong"),
		Metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Tracer:   tracenoop.NewTracerProvider(),
		shutdown: []func(context.Context) error{mp.Shutdown},
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		te, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(te))
		t.Tracer = tp
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	return t, nil
}

// Shutdown flushes and stops the providers.
func (t *telemetry) Shutdown(ctx context.Context) {
	for _, f := range t.shutdown {
		_ = f(ctx)
	}
}

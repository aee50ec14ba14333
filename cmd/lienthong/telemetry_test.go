package main

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
)

// Exemplars are kept when spans are exported or the operator asks for them, and not
// otherwise (no span can be sampled then, and looking for one costs every measurement).
func TestExemplarsFollowTracing(t *testing.T) {
	for _, c := range []struct {
		name    string
		tracing bool
		env     string
		want    bool
	}{
		{"no tracing", false, "", false},
		{"tracing", true, "", true},
		{"no tracing, filter asked for", false, "trace_based", true},
		{"tracing, filter turned off", true, "always_off", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("OTEL_METRICS_EXEMPLAR_FILTER", c.env)
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(meterOptions(reader, c.tracing)...)
			h, err := mp.Meter("t").Float64Histogram("h")
			if err != nil {
				t.Fatal(err)
			}
			sc := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID:    trace.TraceID{1},
				SpanID:     trace.SpanID{2},
				TraceFlags: trace.FlagsSampled,
			})
			h.Record(trace.ContextWithSpanContext(context.Background(), sc), 0.5)
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			got := len(rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.Histogram[float64]).DataPoints[0].Exemplars) > 0
			if got != c.want {
				t.Errorf("exemplar kept: %v, want %v", got, c.want)
			}
		})
	}
}

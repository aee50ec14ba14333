package gateway

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metrics are the gateway's own instruments (gRPC server metrics come from otelgrpc).
type metrics struct {
	lookupDuration metric.Float64Histogram
}

func newMetrics(m metric.Meter) *metrics {
	h, _ := m.Float64Histogram("lienthong.checkpoint.lookup.duration",
		metric.WithDescription("Checkpoint lookup latency, from request to answer, by status"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
	return &metrics{lookupDuration: h}
}

func (m *metrics) lookup(ctx context.Context, start time.Time, status string) {
	m.lookupDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("status", status)))
}

package gateway

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metrics are the gateway's own instruments (gRPC server metrics come from otelgrpc).
type metrics struct {
	lookupDuration metric.Float64Histogram
	byStatus       sync.Map // status → metric.MeasurementOption, built once per status
}

func newMetrics(m metric.Meter) *metrics {
	h, _ := m.Float64Histogram("lienthong.checkpoint.lookup.duration",
		metric.WithDescription("Checkpoint lookup latency, from request to answer, by status"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
	return &metrics{lookupDuration: h}
}

// lookup records one lookup's latency; the attribute set of each status is built once, not
// on every call (the hot path).
func (m *metrics) lookup(ctx context.Context, start time.Time, status string) {
	opt, ok := m.byStatus.Load(status)
	if !ok {
		opt, _ = m.byStatus.LoadOrStore(status, metric.WithAttributeSet(attribute.NewSet(attribute.String("status", status))))
	}
	m.lookupDuration.Record(ctx, time.Since(start).Seconds(), opt.(metric.MeasurementOption))
}

package gateway

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/codes"
)

// metrics are the gateway's instruments: every gRPC call by method and code, and lookups by
// status.
type metrics struct {
	callDuration   metric.Float64Histogram
	byCall         sync.Map // callKey → metric.MeasurementOption, built once per method and code
	lookupDuration metric.Float64Histogram
	byStatus       sync.Map // status → metric.MeasurementOption, built once per status
}

type callKey struct {
	method string
	code   codes.Code
}

// latencyBuckets are the boundaries, in seconds, of both latency histograms.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5}

func newMetrics(m metric.Meter) *metrics {
	calls, _ := m.Float64Histogram("rpc.server.call.duration",
		metric.WithDescription("gRPC call latency, from request to answer (a stream: to its end), by method and code"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(latencyBuckets...))
	lookups, _ := m.Float64Histogram("lienthong.checkpoint.lookup.duration",
		metric.WithDescription("Checkpoint lookup latency, from request to answer, by status"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(latencyBuckets...))
	return &metrics{callDuration: calls, lookupDuration: lookups}
}

// call records one gRPC call's latency under its method and code.
func (m *metrics) call(ctx context.Context, method string, code codes.Code, took time.Duration) {
	k := callKey{method, code}
	opt, ok := m.byCall.Load(k)
	if !ok {
		opt, _ = m.byCall.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(
			attribute.String("rpc.method", method), attribute.String("rpc.grpc.status_code", code.String()))))
	}
	m.callDuration.Record(ctx, took.Seconds(), opt.(metric.MeasurementOption))
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

package gateway

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/codes"

	"github.com/lienthong/lienthong/gateway/metricattr"
)

// metrics are the gateway's instruments: every gRPC call by method and code, and lookups by
// status.
type metrics struct {
	callDuration   metric.Float64Histogram
	byCall         *metricattr.Sets[callKey]
	lookupDuration metric.Float64Histogram
	byStatus       *metricattr.Sets[string]
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
	return &metrics{
		callDuration: calls,
		byCall: metricattr.New(func(k callKey) attribute.Set {
			return attribute.NewSet(attribute.String("rpc.method", k.method), attribute.String("rpc.grpc.status_code", k.code.String()))
		}),
		lookupDuration: lookups,
		byStatus: metricattr.New(func(status string) attribute.Set {
			return attribute.NewSet(attribute.String("status", status))
		}),
	}
}

// call records one gRPC call's latency under its method and code.
func (m *metrics) call(ctx context.Context, method string, code codes.Code, took time.Duration) {
	m.callDuration.Record(ctx, took.Seconds(), m.byCall.Of(callKey{method, code})...)
}

// lookup records one lookup's latency under its status.
func (m *metrics) lookup(ctx context.Context, start time.Time, status string) {
	m.lookupDuration.Record(ctx, time.Since(start).Seconds(), m.byStatus.Of(status)...)
}

package gateway_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestLookupDurationMetric: operators watch lookup latency by status; every lookup, failed
// ones included, is one observation under its status.
func TestLookupDurationMetric(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	h := newHarnessWith(t, harnessOptions{meter: mp.Meter("test")})
	accepted(t, h.client(tokTokhaiyte), decl("tokhaiyte", "TK-an", an, h.clock.Now().Add(-time.Hour)))
	lookup(t, h, chipCardQR(an))
	lookup(t, h, chipCardQR(an))
	lookup(t, h, chipCardQR(dung))
	if _, err := h.client(tokCheckpoint).checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: "garbage"}); err == nil {
		t.Fatal("garbage looked up")
	}
	got := observations(t, reader, "lienthong.checkpoint.lookup.duration", func(a attribute.Set) string {
		v, _ := a.Value("status")
		return v.AsString()
	})
	wantObservations(t, "lookup", got, map[string]uint64{"STATUS_CLEAR": 2, "STATUS_NONE": 1, "error": 1})
}

// observations collects reader's histogram name and counts its observations by key(attributes).
func observations(t *testing.T, reader sdkmetric.Reader, name string, key func(attribute.Set) string) map[string]uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				got[key(dp.Attributes)] += dp.Count
			}
		}
	}
	return got
}

// wantObservations fails unless got holds exactly want.
func wantObservations(t *testing.T, what string, got, want map[string]uint64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s observations %v, want %v", what, got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s observations %v, want %v", what, got, want)
		}
	}
}

// TestCallDurationMetric: every gRPC call is one observation under its method and code, so
// operators see refused and failed calls beside the answered ones.
func TestCallDurationMetric(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	h := newHarnessWith(t, harnessOptions{meter: mp.Meter("test")})
	lookup(t, h, chipCardQR(an))
	lookup(t, h, chipCardQR(dung))
	if _, err := h.client(tokCheckpoint).checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: "garbage"}); err == nil {
		t.Fatal("garbage looked up")
	}
	if _, err := h.client(tokTokhaiyte).checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: chipCardQR(an)}); err == nil {
		t.Fatal("a partner looked up a person")
	}
	got := observations(t, reader, "rpc.server.call.duration", func(a attribute.Set) string {
		method, _ := a.Value("rpc.method")
		code, _ := a.Value("rpc.grpc.status_code")
		return method.AsString() + " " + code.AsString()
	})
	const lookupMethod = "/lienthong.v1.CheckpointService/Lookup"
	wantObservations(t, "call", got, map[string]uint64{lookupMethod + " OK": 2, lookupMethod + " InvalidArgument": 1, lookupMethod + " PermissionDenied": 1})
}

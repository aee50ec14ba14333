package instrumented

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/boltstore"
	"github.com/lienthong/lienthong/gateway/store/storetest"
)

// The wrapper changes nothing a store does: the whole conformance suite passes through it.
func TestConformanceThroughTheWrapper(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{Now: now, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return Wrap(st, "embedded", tracenoop.NewTracerProvider(), sdkmetric.NewMeterProvider().Meter("t"))
	})
}

// Every call is a span named after its operation and a latency sample labelled with its
// outcome; an unknown identity is "not found", not an error span.
func TestCallsAreTracedAndTimed(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	s := Wrap(st, "embedded", sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)), sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("t"))
	defer s.Close()

	if _, err := s.View(context.Background(), "aaaaaaaaaaaaaaaaaaaaaaaa"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("view of an unknown id: %v", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	ended := spans.Ended()
	if len(ended) != 2 || ended[0].Name() != "store.View" || ended[1].Name() != "store.Ping" {
		t.Fatalf("spans %v", ended)
	}
	if ended[0].Status().Code != 0 {
		t.Fatalf("a not-found view marked the span as an error: %v", ended[0].Status())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "lienthong.store.duration" {
				for _, dp := range h.DataPoints {
					op, _ := dp.Attributes.Value("op")
					out, _ := dp.Attributes.Value("outcome")
					outcomes[op.AsString()+"/"+out.AsString()] += dp.Count
				}
			}
		}
	}
	if outcomes["View/not found"] != 1 || outcomes["Ping/ok"] != 1 {
		t.Fatalf("latency samples by op/outcome: %v", outcomes)
	}
}

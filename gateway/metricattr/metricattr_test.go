package metricattr

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A measurement recorded with a key's options carries the key's attributes, each key's set is
// built once, and recording allocates nothing.
func TestSetsRecordWithTheKeysAttributes(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	h, err := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("t").Float64Histogram("h")
	if err != nil {
		t.Fatal(err)
	}
	built := map[string]int{}
	sets := New(func(k string) attribute.Set {
		built[k]++
		return attribute.NewSet(attribute.String("status", k))
	})
	ctx := context.Background()
	for range 3 {
		h.Record(ctx, 1, sets.Of("clear")...)
	}
	h.Record(ctx, 2, sets.Of("none")...)
	if built["clear"] != 1 || built["none"] != 1 {
		t.Errorf("sets built %v, want each once", built)
	}
	if n := testing.AllocsPerRun(100, func() { _ = sets.Of("clear") }); n != 0 {
		t.Errorf("Of allocates %.0f times a call, want 0", n)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, dp := range rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.Histogram[float64]).DataPoints {
		v, _ := dp.Attributes.Value("status")
		counts[v.AsString()] = dp.Count
	}
	if counts["clear"] != 3 || counts["none"] != 1 {
		t.Errorf("measurements by status %v, want clear 3 and none 1", counts)
	}
}

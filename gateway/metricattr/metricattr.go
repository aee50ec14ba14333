// Package metricattr builds each metric attribute set once, so that recording a measurement on
// a hot path (every lookup records three) neither builds a set nor allocates.
package metricattr

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Sets remembers, by key, the record options of the key's attribute set.
type Sets[K comparable] struct {
	build func(K) attribute.Set
	m     sync.Map // K → []metric.RecordOption
}

// New returns Sets whose attribute set of a key is build(key), built on the key's first use.
func New[K comparable](build func(K) attribute.Set) *Sets[K] {
	return &Sets[K]{build: build}
}

// Of returns the options that record with k's attribute set; pass them with ..., so that no
// slice is made per measurement.
func (s *Sets[K]) Of(k K) []metric.RecordOption {
	if o, ok := s.m.Load(k); ok {
		return o.([]metric.RecordOption)
	}
	o, _ := s.m.LoadOrStore(k, []metric.RecordOption{metric.WithAttributeSet(s.build(k))})
	return o.([]metric.RecordOption)
}

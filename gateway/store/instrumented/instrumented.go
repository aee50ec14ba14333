// Package instrumented wraps a store so that every call is an OpenTelemetry span and a
// latency measurement by operation and outcome.
package instrumented

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/metricattr"
	"github.com/lienthong/lienthong/gateway/store"
)

// Store is a store.Store whose calls are traced and timed.
type Store struct {
	next    store.Store
	kind    string
	tracer  trace.Tracer // nil: no spans
	latency metric.Float64Histogram
	labels  *metricattr.Sets[labelKey] // lookups are a hot path
}

var _ store.Store = (*Store)(nil)

// Wrap returns next instrumented; kind ("embedded", "redis") labels its measurements. A nil
// tp makes no spans (measurements only).
func Wrap(next store.Store, kind string, tp trace.TracerProvider, m metric.Meter) *Store {
	h, _ := m.Float64Histogram("lienthong.store.duration",
		metric.WithDescription("Store call latency by store kind, operation and outcome"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2))
	s := &Store{next: next, kind: kind, latency: h, labels: metricattr.New(func(k labelKey) attribute.Set {
		return attribute.NewSet(attribute.String("store", kind), attribute.String("op", k.op), attribute.String("outcome", k.outcome))
	})}
	if tp != nil {
		s.tracer = tp.Tracer("github.com/lienthong/lienthong/gateway/store")
	}
	return s
}

// call runs fn as operation op: a span (QR ids only in attributes, never personal data) and
// a latency sample labelled with the error kind.
func (s *Store) call(ctx context.Context, op string, attrs []attribute.KeyValue, fn func(context.Context) error) error {
	span := trace.SpanFromContext(context.Background()) // a no-op span
	if s.tracer != nil {
		ctx, span = s.tracer.Start(ctx, "store."+op, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(append(attrs, attribute.String("store.kind", s.kind))...))
	}
	start := time.Now()
	err := fn(ctx)
	outcome := "ok"
	if err != nil {
		outcome = errs.KindOf(err).String()
		if k := errs.KindOf(err); k != errs.NotFound && k != errs.Invalid {
			span.SetStatus(codes.Error, outcome)
		}
	}
	span.End()
	s.latency.Record(ctx, time.Since(start).Seconds(), s.labels.Of(labelKey{op, outcome})...)
	return err
}

// labelKey is an operation and its outcome.
type labelKey struct{ op, outcome string }

// qrid is the span attribute of a QR id; nothing (and no allocation) when there are no spans.
func (s *Store) qrid(q string) []attribute.KeyValue {
	if s.tracer == nil {
		return nil
	}
	return []attribute.KeyValue{attribute.String("qr_id", q)}
}

// WriteBatch implements store.Writer.
func (s *Store) WriteBatch(ctx context.Context, items []store.Item) (rs []store.Result, err error) {
	err = s.call(ctx, "WriteBatch", []attribute.KeyValue{attribute.Int("batch.size", len(items))}, func(ctx context.Context) error {
		rs, err = s.next.WriteBatch(ctx, items)
		return err
	})
	return rs, err
}

// View implements store.Viewer.
func (s *Store) View(ctx context.Context, q string) (v store.View, err error) {
	err = s.call(ctx, "View", s.qrid(q), func(ctx context.Context) error {
		v, err = s.next.View(ctx, q)
		return err
	})
	return v, err
}

// IdentityOf implements store.Finder.
func (s *Store) IdentityOf(ctx context.Context, ref store.SourceRef) (q string, err error) {
	err = s.call(ctx, "IdentityOf", []attribute.KeyValue{attribute.String("platform", string(ref.Platform))}, func(ctx context.Context) error {
		q, err = s.next.IdentityOf(ctx, ref)
		return err
	})
	return q, err
}

// Cursor implements store.Cursors.
func (s *Store) Cursor(ctx context.Context, partner string) (c string, err error) {
	err = s.call(ctx, "Cursor", []attribute.KeyValue{attribute.String("partner", partner)}, func(ctx context.Context) error {
		c, err = s.next.Cursor(ctx, partner)
		return err
	})
	return c, err
}

// SaveCursor implements store.Cursors.
func (s *Store) SaveCursor(ctx context.Context, partner, cursor string, fence uint64) error {
	return s.call(ctx, "SaveCursor", []attribute.KeyValue{attribute.String("partner", partner)}, func(ctx context.Context) error {
		return s.next.SaveCursor(ctx, partner, cursor, fence)
	})
}

// AcquireLease implements store.Leases.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (l store.Lease, held bool, err error) {
	err = s.call(ctx, "AcquireLease", []attribute.KeyValue{attribute.String("lease", name)}, func(ctx context.Context) error {
		l, held, err = s.next.AcquireLease(ctx, name, holder, ttl)
		return err
	})
	return l, held, err
}

// ReleaseLease implements store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.call(ctx, "ReleaseLease", []attribute.KeyValue{attribute.String("lease", name)}, func(ctx context.Context) error {
		return s.next.ReleaseLease(ctx, name, holder)
	})
}

// History implements store.Auditor.
func (s *Store) History(ctx context.Context, q string) (ds []canonical.Declaration, err error) {
	err = s.call(ctx, "History", s.qrid(q), func(ctx context.Context) error {
		ds, err = s.next.History(ctx, q)
		return err
	})
	return ds, err
}

// Inconsistencies implements store.Auditor.
func (s *Store) Inconsistencies(ctx context.Context, q store.InconsistencyQuery) (vs []store.View, next string, err error) {
	err = s.call(ctx, "Inconsistencies", nil, func(ctx context.Context) error {
		vs, next, err = s.next.Inconsistencies(ctx, q)
		return err
	})
	return vs, next, err
}

// Rejections implements store.Auditor.
func (s *Store) Rejections(ctx context.Context, q store.RejectionQuery) (rs []store.Rejected, next string, err error) {
	err = s.call(ctx, "Rejections", nil, func(ctx context.Context) error {
		rs, next, err = s.next.Rejections(ctx, q)
		return err
	})
	return rs, next, err
}

// Counts implements store.Auditor.
func (s *Store) Counts(ctx context.Context, q store.CountQuery) (cs []store.Count, err error) {
	err = s.call(ctx, "Counts", nil, func(ctx context.Context) error {
		cs, err = s.next.Counts(ctx, q)
		return err
	})
	return cs, err
}

// AppendAccess implements store.Auditor.
func (s *Store) AppendAccess(ctx context.Context, as ...store.Access) error {
	return s.call(ctx, "AppendAccess", []attribute.KeyValue{attribute.Int("accesses", len(as))}, func(ctx context.Context) error {
		return s.next.AppendAccess(ctx, as...)
	})
}

// AccessLog implements store.Auditor.
func (s *Store) AccessLog(ctx context.Context, q store.AccessQuery) (as []store.Access, next string, err error) {
	err = s.call(ctx, "AccessLog", nil, func(ctx context.Context) error {
		as, next, err = s.next.AccessLog(ctx, q)
		return err
	})
	return as, next, err
}

// RecordPassage implements store.Passages.
func (s *Store) RecordPassage(ctx context.Context, p store.Passage) (dup bool, err error) {
	err = s.call(ctx, "RecordPassage", s.qrid(p.QRID), func(ctx context.Context) error {
		dup, err = s.next.RecordPassage(ctx, p)
		return err
	})
	return dup, err
}

// Purge implements store.Retention.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (n int, err error) {
	err = s.call(ctx, "Purge", nil, func(ctx context.Context) error {
		n, err = s.next.Purge(ctx, cutoff)
		return err
	})
	return n, err
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	return s.call(ctx, "Ping", nil, s.next.Ping)
}

// Close implements store.Store.
func (s *Store) Close() error { return s.next.Close() }

package gateway_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
	"github.com/lienthong/lienthong/gateway/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// brokenStore is the real store with writes failing as a store that is down fails, and views
// of one QR id panicking as a bug would.
type brokenStore struct {
	store.Store
	panicOn string
}

func (brokenStore) WriteBatch(context.Context, []store.Item) ([]store.Result, error) {
	return nil, errs.Errorf(errs.Transient, "test.WriteBatch", "connection refused to 10.0.0.7:6379")
}

func (b brokenStore) View(ctx context.Context, qrid string) (store.View, error) {
	if qrid == b.panicOn {
		panic("view decoder bug")
	}
	return b.Store.View(ctx, qrid)
}

func TestStoreFailuresReachCallersAsStatuses(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{wrap: func(s store.Store) store.Store { return brokenStore{Store: s} }})
	// A store that is down: Unavailable (retry with back-off), and no internal detail such
	// as the store's address reaches the partner.
	_, err := h.client(tokTokhaiyte).ingest.SubmitDeclarations(ctx(t), &lienthongv1.SubmitDeclarationsRequest{
		Declarations: []*lienthongv1.Declaration{decl("tokhaiyte", "TK-1", an, h.clock.Now().Add(-time.Hour))}})
	wantCode(t, err, codes.Unavailable)
	if msg := status.Convert(err).Message(); strings.Contains(msg, "10.0.0.7") {
		t.Errorf("the store's address reached the caller: %q", msg)
	}
}

func TestPanicIsInternalAndServerGoesOn(t *testing.T) {
	var buf syncBuffer
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	h := newHarnessWith(t, harnessOptions{
		meter:  mp.Meter("test"),
		logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		wrap: func(s store.Store) store.Store {
			d, err := identity.NewDeriver(identitySecret)
			if err != nil {
				t.Fatal(err)
			}
			return brokenStore{Store: s, panicOn: d.QRID(identity.Key{Kind: identity.KindCCCD, Value: dung.doc})}
		},
	})
	_, err := h.client(tokCheckpoint).checkpoint.Lookup(ctx(t), &lienthongv1.LookupRequest{Qr: chipCardQR(dung)})
	wantCode(t, err, codes.Internal)
	if msg := status.Convert(err).Message(); msg != "internal error" {
		t.Errorf("panic text reached the caller: %q", msg)
	}
	if !strings.Contains(buf.String(), "panic in handler") {
		t.Error("the panic was not logged")
	}
	// The server still serves.
	if st := lookup(t, h, chipCardQR(an)).GetStatus(); st != lienthongv1.Status_STATUS_NONE {
		t.Errorf("after a panic: %v", st)
	}
	// The call that panicked is measured, as INTERNAL.
	got := observations(t, reader, "rpc.server.call.duration", func(a attribute.Set) string {
		code, _ := a.Value("rpc.grpc.status_code")
		return code.AsString()
	})
	wantObservations(t, "call", got, map[string]uint64{"Internal": 1, "OK": 1})
}

package boltstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

func TestBadPageToken(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "lienthong.db"), nil)
	defer s.Close()
	const bad = "not/a+token!"
	_, _, err := s.Inconsistencies(ctx, store.InconsistencyQuery{PageToken: bad})
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("Inconsistencies: %v, want invalid", err)
	}
	_, _, err = s.Rejections(ctx, store.RejectionQuery{PageToken: bad})
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("Rejections: %v, want invalid", err)
	}
	_, _, err = s.AccessLog(ctx, store.AccessQuery{PageToken: bad})
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("AccessLog: %v, want invalid", err)
	}
}

func TestCanceledContext(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "lienthong.db"), nil)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.WriteBatch(ctx, []store.Item{{Accepted: &store.Accepted{
		Declaration: declaration(canonical.PlatformNCOVI, "n-1", day0), QRID: "qA"}}})
	if !errs.Is(err, errs.Transient) {
		t.Errorf("WriteBatch with a canceled context: %v, want transient", err)
	}
	if _, err := s.View(context.Background(), "qA"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a canceled write was stored: %v", err)
	}
}

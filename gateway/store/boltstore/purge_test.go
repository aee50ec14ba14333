package boltstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// TestPurgeInChunks purges more records than one transaction takes: the chunks together
// delete exactly what one transaction would.
func TestPurgeInChunks(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "lienthong.db"), nil)
	defer s.Close()
	s.purgeChunk = 4
	old := day0.Add(-60 * 24 * time.Hour)
	var items []store.Item
	for i := range 13 {
		at := old.Add(time.Duration(i) * time.Minute)
		items = append(items, store.Item{Accepted: &store.Accepted{
			Declaration: declaration(canonical.PlatformNCOVI, fmt.Sprintf("n-%d", i), at), QRID: fmt.Sprintf("q%d", i%3)}})
		items = append(items, store.Item{Rejected: &store.Rejected{
			Declaration: declaration(canonical.PlatformTokhaiyte, fmt.Sprintf("t-%d", i), at),
			Violations:  []canonical.Violation{{Field: "person.phone", Reason: canonical.ReasonInvalidPhone}}}})
	}
	// q0 keeps one recent declaration.
	items = append(items, store.Item{Accepted: &store.Accepted{Declaration: declaration(canonical.PlatformBluezone, "b-new", day0), QRID: "q0"}})
	if _, err := s.WriteBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	n, err := s.Purge(ctx, day0.Add(-30*24*time.Hour))
	if err != nil || n != 26 {
		t.Fatalf("Purge = %d, %v; want 26", n, err)
	}
	if h, err := s.History(ctx, "q0"); err != nil || len(h) != 1 || h[0].Source.RecordID != "b-new" {
		t.Errorf("q0 history = %v, %v", h, err)
	}
	for _, q := range []string{"q1", "q2"} {
		if _, err := s.View(ctx, q); !errs.Is(err, errs.NotFound) {
			t.Errorf("View(%s) = %v, want NotFound", q, err)
		}
	}
	if rs, _, err := s.Rejections(ctx, store.RejectionQuery{}); err != nil || len(rs) != 0 {
		t.Errorf("rejections left: %d, %v", len(rs), err)
	}
}

package boltstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

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

// TestPurgeWithinTheCutoffsHour purges at a cutoff in the middle of an hour, in chunks
// smaller than that hour's versions: of the versions declared in it, exactly those before
// the cutoff go (versionsByHour files them by hour, so the hour's keys are not in time order).
func TestPurgeWithinTheCutoffsHour(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "lienthong.db"), nil)
	defer s.Close()
	s.purgeChunk = 2
	hour := day0.Add(-30 * 24 * time.Hour)
	cutoff := hour.Add(30 * time.Minute)
	at := map[string]time.Time{
		"hour-before":    hour.Add(-time.Nanosecond),
		"hour-start":     hour,
		"just-before":    cutoff.Add(-time.Nanosecond),
		"at-cutoff":      cutoff,
		"just-after":     cutoff.Add(time.Nanosecond),
		"hour-end":       hour.Add(time.Hour - time.Nanosecond),
		"next-hour":      hour.Add(time.Hour),
		"ten-minutes-in": hour.Add(10 * time.Minute),
	}
	due := map[string]bool{"hour-before": true, "hour-start": true, "just-before": true, "ten-minutes-in": true}
	// Record ids in an order unlike their declared times, as the hour's keys are.
	ids := []string{"a-just-after", "b-hour-start", "c-at-cutoff", "d-just-before", "e-hour-end", "f-ten-minutes-in", "g-next-hour", "h-hour-before"}
	var items []store.Item
	for _, id := range ids {
		name := id[2:]
		items = append(items, store.Item{Accepted: &store.Accepted{
			Declaration: declaration(canonical.PlatformNCOVI, id, at[name]), QRID: "q-" + name}})
	}
	if _, err := s.WriteBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	n, err := s.Purge(ctx, cutoff)
	if err != nil || n != len(due) {
		t.Fatalf("Purge = %d, %v; want %d", n, err, len(due))
	}
	for _, id := range ids {
		name := id[2:]
		_, err := s.View(ctx, "q-"+name)
		if gone := errs.Is(err, errs.NotFound); gone != due[name] {
			t.Errorf("declared %s (%v before the cutoff): View = %v", name, cutoff.Sub(at[name]), err)
		}
	}
}

// TestPurgeTakesVersionsFiledByEarlierBuilds purges versions that builds before
// versionsByHour filed in versionsByTime (declared time, record key), alongside new ones.
func TestPurgeTakesVersionsFiledByEarlierBuilds(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "lienthong.db"), nil)
	defer s.Close()
	old := day0.Add(-60 * 24 * time.Hour)
	var items []store.Item
	for i, id := range []string{"legacy-1", "legacy-2", "new-1", "kept"} {
		at := old.Add(time.Duration(i) * time.Hour)
		if id == "kept" {
			at = day0
		}
		items = append(items, store.Item{Accepted: &store.Accepted{Declaration: declaration(canonical.PlatformNCOVI, id, at), QRID: "q-" + id}})
	}
	if _, err := s.WriteBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	// Refile the legacy versions as an earlier build did.
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, it := range items[:2] {
			d := &it.Accepted.Declaration
			rec := recordKey(it.Key())
			if err := tx.Bucket(bucketVersionsByHour).Delete(hourKey(d.DeclaredAt, rec)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketVersionsByTime).Put(timedKey(d.DeclaredAt, rec), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Purge(ctx, day0.Add(-30*24*time.Hour)); err != nil || n != 3 {
		t.Fatalf("Purge = %d, %v; want 3", n, err)
	}
	for _, id := range []string{"legacy-1", "legacy-2", "new-1"} {
		if _, err := s.View(ctx, "q-"+id); !errs.Is(err, errs.NotFound) {
			t.Errorf("View(q-%s) after purge = %v, want NotFound", id, err)
		}
	}
	if _, err := s.View(ctx, "q-kept"); err != nil {
		t.Errorf("View(q-kept) = %v", err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketVersionsByTime).Cursor().First(); k != nil {
			t.Errorf("versionsByTime still has %q", k)
		}
		if n := tx.Bucket(bucketVersionsByHour).Stats().KeyN; n != 1 {
			t.Errorf("versionsByHour has %d keys, want 1 (the kept version)", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

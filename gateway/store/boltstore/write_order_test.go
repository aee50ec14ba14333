package boltstore

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lienthong/lienthong/gateway/store"
)

// TestOneBatchAnswersAsItemByItem writes the simulator's declarations once as one batch and
// once an item at a time: every identity's view (but its revision, which counts writes) and
// history are the same, though in the one batch a weak identity's versions written by the
// batch itself move to the strong identity that absorbs it.
func TestOneBatchAnswersAsItemByItem(t *testing.T) {
	items := simItems(7, 6000)
	seen := map[string]bool{}
	absorbedInBatch := 0
	for _, it := range items {
		if a := it.Accepted; a != nil {
			for _, w := range a.Aliases {
				if seen[w] {
					absorbedInBatch++
				}
			}
			seen[a.QRID] = true
		}
	}
	if absorbedInBatch == 0 {
		t.Fatal("no item absorbs a weak identity written before it: the test shows nothing")
	}
	ctx := context.Background()
	one, err := Open(filepath.Join(t.TempDir(), "one.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	each, err := Open(filepath.Join(t.TempDir(), "each.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer each.Close()
	got, err := one.WriteBatch(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		r, err := each.WriteBatch(ctx, []store.Item{it})
		if err != nil {
			t.Fatal(err)
		}
		if r[0] != got[i] {
			t.Errorf("item %d: %+v in one batch, %+v alone", i, got[i], r[0])
		}
	}
	for qrid := range seen {
		v1, err1 := one.View(ctx, qrid)
		v2, err2 := each.View(ctx, qrid)
		v1.Revision, v2.Revision = 0, 0
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(v1, v2) {
			t.Errorf("view of %s: %+v, %v in one batch; %+v, %v item by item", qrid, v1, err1, v2, err2)
		}
		h1, err1 := one.History(ctx, qrid)
		h2, err2 := each.History(ctx, qrid)
		if (err1 == nil) != (err2 == nil) || !reflect.DeepEqual(h1, h2) {
			t.Errorf("history of %s: %d versions, %v in one batch; %d, %v item by item", qrid, len(h1), err1, len(h2), err2)
		}
	}
	t.Logf("%d items, %d identities, %d absorbed a weak identity of the batch", len(items), len(seen), absorbedInBatch)
}

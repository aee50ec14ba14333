package boltstore

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// checkAliasesAgree fails unless the cache holds exactly the file's aliases.
func checkAliasesAgree(t *testing.T, s *Store) {
	t.Helper()
	want := map[string]string{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAliases).ForEach(func(k, v []byte) error {
			want[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for i := range s.views.aliases {
		sh := &s.views.aliases[i]
		sh.mu.RLock()
		for k, e := range sh.m {
			got++
			q, target := string(k[:k[viewKeyMax]]), string(e.target[:e.target[viewKeyMax]])
			if w, ok := want[q]; !ok || w != target {
				t.Errorf("the cache has %s as an alias of %s; the file: %q", q, target, w)
			}
		}
		sh.mu.RUnlock()
	}
	if got != len(want) {
		t.Errorf("the cache holds %d aliases, the file %d", got, len(want))
	}
}

// TestAliasCacheWriterAnswersAsTheFile writes the simulator's declarations into a store whose
// writer asks the cache whether a QR id is an alias and into one that asks the file, in the
// same batches, reopening the first halfway (its cache then loads the aliases written
// before): every answer, view and alias is the same. Some declarations name, as their own
// QR id, a weak id that an earlier declaration of their batch made an alias, which only the
// transaction's own pending aliases can tell.
func TestAliasCacheWriterAnswersAsTheFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cached.db")
	cached, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cached.loading.Wait()
	file, err := Open(filepath.Join(t.TempDir(), "file.db"), Options{NoSync: true, NoViewCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	items := simItems(5, 24000)
	const batch = 2000
	aliasedInBatch, aliasedBefore := 0, 0
	everAliased := map[string]bool{}
	for i := 0; i < len(items); i += batch {
		if i == len(items)/2 {
			if err := cached.Close(); err != nil {
				t.Fatal(err)
			}
			if cached, err = Open(path, Options{NoSync: true}); err != nil {
				t.Fatal(err)
			}
			cached.loading.Wait()
			if !cached.views.complete.Load() {
				t.Fatal("the reopened store's cache did not finish loading")
			}
			checkAliasesAgree(t, cached)
		}
		part := items[i:min(len(items), i+batch)]
		inBatch := map[string]bool{}
		for _, it := range part {
			if a := it.Accepted; a != nil {
				switch {
				case inBatch[a.QRID]:
					aliasedInBatch++
				case everAliased[a.QRID]:
					aliasedBefore++
				}
				for _, w := range a.Aliases {
					inBatch[w] = true
				}
			}
		}
		for w := range inBatch {
			everAliased[w] = true
		}
		got, err := cached.WriteBatch(ctx, part)
		if err != nil {
			t.Fatal(err)
		}
		want, err := file.WriteBatch(ctx, part)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("batch at %d, item %d: %+v with the alias cache, %+v from the file", i, j, got[j], want[j])
				}
			}
		}
	}
	defer cached.Close()
	if aliasedInBatch == 0 || aliasedBefore == 0 {
		t.Fatalf("declarations under a weak id aliased in their batch: %d, in an earlier one: %d; the test needs both", aliasedInBatch, aliasedBefore)
	}
	checkAliasesAgree(t, cached)
	checkCacheAgrees(t, cached)
	gotViews, wantViews := fileViews(t, cached), fileViews(t, file)
	if !reflect.DeepEqual(gotViews, wantViews) {
		t.Errorf("the stores hold different views: %d and %d", len(gotViews), len(wantViews))
	}
	t.Logf("%d items; %d under an id aliased earlier in the batch, %d in an earlier batch", len(items), aliasedInBatch, aliasedBefore)
}

// TestAliasCacheIgnoresRollback: a transaction sees its own aliases at once; the cache gets
// them only if it commits, and a later transaction does not see those of one rolled back.
func TestAliasCacheIgnoresRollback(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "lienthong.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.loading.Wait()
	boom := errors.New("boom")
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := putAlias(tx, s.views, "w-rolled-back", "q-strong"); err != nil {
			return err
		}
		w := newWriteTx(tx)
		w.views = s.views
		if got := w.resolve("w-rolled-back"); got != "q-strong" {
			t.Errorf("in its own transaction the alias resolves to %q", got)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	if _, isAlias, known := s.views.alias("w-rolled-back"); !known || isAlias {
		t.Errorf("after the rollback the cache says: alias %v, known %v; want known, not an alias", isAlias, known)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		w := newWriteTx(tx)
		w.views = s.views
		if got := w.resolve("w-rolled-back"); got != "w-rolled-back" {
			t.Errorf("a later transaction resolves the rolled-back alias to %q", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.View(context.Background(), "w-rolled-back"); err == nil {
		t.Error("View found an alias whose transaction rolled back")
	}
}

// TestAliasCacheLaterTransactionWins: an alias repointed by a later transaction keeps its new
// identity whatever order the commit handlers (and the loader) run in.
func TestAliasCacheLaterTransactionWins(t *testing.T) {
	c := newViewCache()
	c.complete.Store(true)
	c.setAlias("w", "q-new", 9)
	c.setAlias("w", "q-old", 7)
	if target, ok, _ := c.alias("w"); !ok || target != "q-new" {
		t.Errorf("after an older transaction's handler: %q, %v; want q-new", target, ok)
	}
	long := "q-" + string(make([]byte, viewKeyMax))
	c.setAlias("w2", long, 3)
	if _, _, known := c.alias("w2"); known {
		t.Error("an alias of an identity too long to cache is answered from the cache")
	}
	if _, _, known := c.alias(long); known {
		t.Error("a QR id too long to cache is answered from the cache")
	}
}

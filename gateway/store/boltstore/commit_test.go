package boltstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCommitGroupIsolatesFailures runs many writes at once, some failing and one panicking:
// each gets its own outcome, and every successful write is stored exactly once.
func TestCommitGroupIsolatesFailures(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "group.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	errBad := errors.New("bad write")
	const n = 64
	errsOut := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errsOut[i] = s.commit(1, func(tx *bolt.Tx) error {
				b := tx.Bucket(bucketCursors)
				// A rerun starts afresh: the transaction it put into was rolled back.
				if b.Get(fmt.Appendf(nil, "k%d", i)) != nil {
					return errors.New("put twice")
				}
				if err := b.Put(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
					return err
				}
				switch {
				case i%10 == 3:
					return errBad
				case i == 7:
					panic("boom")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	err = s.db.View(func(tx *bolt.Tx) error {
		for i := range n {
			failed := i%10 == 3 || i == 7
			switch {
			case i%10 == 3 && !errors.Is(errsOut[i], errBad):
				t.Errorf("write %d: err = %v, want errBad", i, errsOut[i])
			case i == 7 && errsOut[i] == nil:
				t.Errorf("write %d panicked, err = nil", i)
			case !failed && errsOut[i] != nil:
				t.Errorf("write %d: err = %v", i, errsOut[i])
			}
			if stored := tx.Bucket(bucketCursors).Get(fmt.Appendf(nil, "k%d", i)) != nil; stored == failed {
				t.Errorf("write %d: stored = %v, failed = %v", i, stored, failed)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCommitGroupTakesWritesArrivingWhileItRuns: writes that arrive while a transaction runs
// its writes are committed in it, up to the group's bound; the rest wait for the next one.
func TestCommitGroupTakesWritesArrivingWhileItRuns(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "group.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.group.maxItems = 5
	var mu sync.Mutex
	txOf := map[string]int{} // key → the transaction that wrote it
	put := func(k string) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			mu.Lock()
			txOf[k] = tx.ID()
			mu.Unlock()
			return tx.Bucket(bucketCursors).Put([]byte(k), []byte("v"))
		}
	}
	// The first write holds its transaction until three more (2, 2 and 1 items) wait.
	var wg sync.WaitGroup
	late := []struct {
		k string
		n int
	}{{"b", 2}, {"c", 2}, {"d", 1}}
	errsOut := make([]error, len(late))
	first := heldCommit(t, s, len(late), func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errsOut[i] = s.commit(late[i].n, put(late[i].k))
		}()
	}, put("a"))
	wg.Wait()
	if first != nil || errors.Join(errsOut...) != nil {
		t.Fatalf("errors: %v, %v", first, errsOut)
	}
	// a (1 item), b and c (4) fill the first transaction; d runs in a second.
	if txOf["b"] != txOf["a"] || txOf["c"] != txOf["a"] || txOf["d"] == txOf["a"] {
		t.Errorf("transactions of a, b, c, d: %d %d %d %d; want b and c in a's, d in another",
			txOf["a"], txOf["b"], txOf["c"], txOf["d"])
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		for _, k := range []string{"a", "b", "c", "d"} {
			if tx.Bucket(bucketCursors).Get([]byte(k)) == nil {
				t.Errorf("%s not stored", k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

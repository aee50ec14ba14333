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
			errsOut[i] = s.commit(func(tx *bolt.Tx) error {
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

package boltstore

import (
	"fmt"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// group commits concurrent writes together: while one transaction runs, the writes that
// arrive wait, and the first of them then runs them all in the next transaction (one commit,
// one fsync). Unlike bbolt's Batch it waits for no timer: a write alone commits at once.
type group struct {
	mu      sync.Mutex
	busy    bool // a transaction of the group is running
	waiting []*call
	commits atomic.Int64 // transactions run, for benchmarks
}

// call is one write waiting in the group.
type call struct {
	fn   func(*bolt.Tx) error
	err  error
	wake chan bool // one value: true to run the next transaction, false when err is set
}

// commit runs fn in a write transaction, together with the writes that wait with it. fn may
// run more than once (a transaction it shared failed): it must start afresh each time.
func (s *Store) commit(fn func(*bolt.Tx) error) error {
	c := &call{fn: fn, wake: make(chan bool, 1)}
	g := &s.group
	g.mu.Lock()
	g.waiting = append(g.waiting, c)
	if g.busy {
		g.mu.Unlock()
		if lead := <-c.wake; !lead {
			return c.err
		}
		g.mu.Lock()
	}
	g.busy = true
	calls := g.waiting
	g.waiting = nil
	g.mu.Unlock()

	s.runCalls(calls)

	g.mu.Lock()
	if len(g.waiting) > 0 {
		g.waiting[0].wake <- true
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	return c.err
}

// runCalls commits calls in one transaction. A call whose fn fails is taken out and run in a
// transaction of its own, so that its error is its own, and the others run again without it.
func (s *Store) runCalls(calls []*call) {
	for len(calls) > 0 {
		s.group.commits.Add(1)
		failed := -1
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := safely(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 && len(calls) > 1 {
			c := calls[failed]
			c.err = s.db.Update(func(tx *bolt.Tx) error { return safely(c.fn, tx) })
			c.wake <- false
			calls = append(calls[:failed], calls[failed+1:]...)
			continue
		}
		for _, c := range calls {
			c.err = err
			c.wake <- false
		}
		return
	}
}

// safely runs fn, turning a panic into an error so that the other calls are not left waiting.
func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a write transaction: %v", p)
		}
	}()
	return fn(tx)
}

package boltstore

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// group commits concurrent writes together: while one transaction runs, the writes that
// arrive wait, and the first of them then runs them all in the next transaction (one commit,
// one fsync). Writes that arrive while a transaction still runs its writes join it, up to
// maxItems items: the callers its previous commit released come back while it runs, so it
// commits more at once (four ingest streams: about 4,000 declarations a commit instead of
// 2,400, and fewer pages written for each). Unlike bbolt's Batch it waits for no timer: a
// write alone commits at once.
type group struct {
	mu       sync.Mutex
	busy     bool // a transaction of the group is running
	waiting  []*call
	maxItems int          // most items a transaction takes in from waiting writes
	commits  atomic.Int64 // transactions run, for benchmarks
}

// defaultGroupItems bounds the items (declarations, accesses) of one transaction that joins
// writes arriving while it runs, and so its memory and its first caller's wait. It leaves
// room for four ingest streams writing eight ready messages each (32,000 declarations): in a
// file of a million identities each commit rewrites a page for most of its declarations'
// random keys and for nearly every branch page above them, so a bigger commit shares more of
// them (BenchmarkIngestLargeStreams: 3.1 pages a declaration at 4,000 a commit, 2.6 at 8,000,
// 2.2 at 15,000). In the load harness at a million identities (2026-11-29, a disk taking
// 250-270 MiB/s of durable random page writes), 40,000 here with eight messages ahead
// (ingest_service.go) took the preload from 15,179-15,372 to 16,361-18,707 declarations/s
// (four runs) and 9.4 to 8.0 KiB written each, for 1 GiB more RSS (6.0 GiB) and commits of about two
// seconds; 80,000 with sixteen ahead gave 19,158/s at 6.6 GiB, the gateway's CPU then the limit.
const defaultGroupItems = 40_000

// call is one write waiting in the group.
type call struct {
	fn   func(*bolt.Tx) error
	n    int // items it writes
	err  error
	wake chan bool // one value: true to run the next transaction, false when err is set
}

// commit runs fn, which writes n items, in a write transaction, together with the writes
// that wait with it. fn may run more than once (a transaction it shared failed): it must
// start afresh each time.
func (s *Store) commit(n int, fn func(*bolt.Tx) error) error {
	c := &call{fn: fn, n: n, wake: make(chan bool, 1)}
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

// join takes the waiting writes, in order, that fit in room items.
func (g *group) join(room int) []*call {
	g.mu.Lock()
	defer g.mu.Unlock()
	i := 0
	for ; i < len(g.waiting) && g.waiting[i].n <= room; i++ {
		room -= g.waiting[i].n
	}
	taken := slices.Clone(g.waiting[:i])
	g.waiting = slices.Delete(g.waiting, 0, i)
	return taken
}

// runCalls commits calls, and the writes that join them, in one transaction. A call whose fn
// fails is taken out and run in a transaction of its own, so that its error is its own, and
// the others run again without it.
func (s *Store) runCalls(calls []*call) {
	for len(calls) > 0 {
		s.group.commits.Add(1)
		failed := -1
		err := s.transact(func(tx *bolt.Tx) error {
			items := 0
			for i := 0; ; i++ {
				if i == len(calls) {
					if calls = append(calls, s.group.join(s.group.maxItems-items)...); i == len(calls) {
						return nil
					}
				}
				items += calls[i].n
				if err := safely(calls[i].fn, tx); err != nil {
					failed = i
					return err
				}
			}
		})
		if failed >= 0 && len(calls) > 1 {
			c := calls[failed]
			c.err = s.transact(func(tx *bolt.Tx) error { return safely(c.fn, tx) })
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

// transact runs fn in one bbolt write transaction, with the file's writeback started while
// it runs (writeback.go).
func (s *Store) transact(fn func(*bolt.Tx) error) error {
	s.writeback.begin()
	defer s.writeback.end()
	return s.db.Update(fn)
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

package boltstore

import (
	"errors"
	"hash/maphash"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// viewCache holds every identity's stored view, encoded as in the file, so that a lookup reads
// a hash map instead of walking the identities bucket's B+tree: in a file of a million
// identities that walk goes through four levels of pages, most of them far outside the CPU's
// caches, and was the largest cost of a lookup after gRPC itself. It costs memory: the encoded
// views (about 200 bytes each) and their map; at a million identities the gateway's RSS was
// 3.9 GiB against 2.8 GiB without it (most of it the mapped file either way).
//
// The file stays the truth: the cache is filled from it in the background when the store
// opens (a view not loaded yet is read from the file), and putView,
// the one place a view is written or deleted, updates it when its transaction has committed
// (bolt's OnCommit), so it never shows a write that was rolled back, and a lookup after a
// write was acknowledged sees it. Aliases are not cached: a QR id the cache does not know is
// looked up in the file.
type viewCache struct {
	seed   maphash.Seed
	shards [viewShards]viewShard
}

// viewShards spreads concurrent lookups and commits over independent locks.
const viewShards = 64

type viewShard struct {
	mu sync.RWMutex
	m  map[string]cachedEntry
}

// cachedEntry is one view's bytes (nil when the view was deleted) and the write transaction
// that stored them: commit handlers of two transactions may run in either order (bolt runs
// them after releasing its writer lock), and the later transaction's entry wins.
type cachedEntry struct {
	b    []byte
	txid int
}

func newViewCache() *viewCache {
	c := &viewCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = map[string]cachedEntry{}
	}
	return c
}

func (c *viewCache) shard(qrid string) *viewShard {
	return &c.shards[maphash.String(c.seed, qrid)%viewShards]
}

// get returns qrid's encoded view; ok is false when the cache holds no view of it (an alias,
// an unknown or a deleted QR id).
func (c *viewCache) get(qrid string) (b []byte, ok bool) {
	if c == nil {
		return nil, false
	}
	sh := c.shard(qrid)
	sh.mu.RLock()
	e := sh.m[qrid]
	sh.mu.RUnlock()
	return e.b, e.b != nil
}

// set records that the write transaction txid stored b as qrid's view (nil: deleted it),
// unless a later transaction's entry is there already. b must not change afterwards.
func (c *viewCache) set(qrid string, b []byte, txid int) {
	sh := c.shard(qrid)
	sh.mu.Lock()
	if e, ok := sh.m[qrid]; !ok || e.txid <= txid {
		sh.m[qrid] = cachedEntry{b: b, txid: txid}
	}
	sh.mu.Unlock()
}

// afterCommit makes the cache show qrid's view as tx leaves it (b nil: deleted) once tx has
// committed. It keeps a copy of b of b's length: encodeView leaves room to grow, which would
// more than double the memory the cache holds.
func (c *viewCache) afterCommit(tx *bolt.Tx, qrid string, b []byte) {
	if c == nil {
		return
	}
	if b != nil {
		b = clone(b)
	}
	txid := tx.ID()
	tx.OnCommit(func() { c.set(qrid, b, txid) })
}

// errStopped ends a load when the store closes.
var errStopped = errors.New("the store is closing")

// load fills the cache with every view stored in the file, until stop is closed. Writes may
// commit meanwhile: an entry they set is from a later transaction than load's, so load never
// replaces it (set), and a view they change after load read it is set again by them. Until
// load is done, a view it has not reached is read from the file (Store.View), so the answers
// are the same, only slower.
func (c *viewCache) load(db *bolt.DB, stop <-chan struct{}) error {
	return db.View(func(tx *bolt.Tx) error {
		txid := tx.ID()
		n := 0
		return tx.Bucket(bucketIdentities).ForEach(func(k, v []byte) error {
			if n++; n%4096 == 0 {
				select {
				case <-stop:
					return errStopped
				default:
				}
			}
			if q := string(k); isQRIDKey(q) {
				c.set(q, clone(v), txid)
			}
			return nil
		})
	})
}

package boltstore

import (
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// viewCache holds every identity's stored view, encoded as in the file, so that a lookup reads
// a hash map instead of walking the identities bucket's B+tree: in a file of a million
// identities that walk goes through four levels of pages, most of them far outside the CPU's
// caches, and was the largest cost of a lookup after gRPC itself. It costs memory: the encoded
// views (about 200 bytes each) in an arena up to half as large again, and their map; at a
// million identities the gateway's RSS was 3.9 GiB against 2.8 GiB without it (most of it the
// mapped file either way).
//
// The file stays the truth: the cache is filled from it in the background when the store
// opens (a view not loaded yet is read from the file), and putView,
// the one place a view is written or deleted, updates it when its transaction has committed
// (bolt's OnCommit), so it never shows a write that was rolled back, and a lookup after a
// write was acknowledged sees it. It holds the aliases too (aliascache.go), but a lookup of an
// alias reads the file, in one snapshot: the cache only tells it that a QR id is unknown.
type viewCache struct {
	seed    maphash.Seed
	shards  [viewShards]viewShard
	aliases [viewShards]aliasShard // see aliascache.go
	// complete is set once load has read every view and alias of the file: from then on
	// the cache holds all of them.
	complete atomic.Bool
	// pending are the aliases the write transaction pendingTx has put (putAlias), and
	// pendingViews the views it has put (nil: deleted; putView).
	pendingTx    *bolt.Tx
	pending      map[string]string
	pendingViews map[string][]byte
}

// viewShards spreads concurrent lookups and commits over independent locks.
const viewShards = 64

// viewShard holds its views in an arena of byte chunks and indexes them in a map without
// pointers, so the garbage collector never walks a million entries: it only sees the
// chunks (a few thousand at a million identities), which hold no pointers either. Before, each view was its own allocation
// under a string key, and marking those two million objects took about a sixth of the
// gateway's CPU while it answered lookups.
type viewShard struct {
	mu     sync.RWMutex
	m      map[viewKey]viewSlot
	chunks [][]byte // views are appended; bytes below a chunk's length never change
	// live is the bytes of the views the map points to, dead those of views replaced or
	// deleted since the arena was last compacted.
	live, dead int
}

// viewKey is a QR id of at most viewKeyMax bytes as a map key without pointers: its bytes,
// zero-padded, and its length in the last byte. Longer ids (QR ids are 24 characters) are
// not cached and are read from the file.
type viewKey [viewKeyMax + 1]byte

const viewKeyMax = 31

func keyOf(qrid string) (k viewKey, ok bool) {
	if len(qrid) > viewKeyMax {
		return k, false
	}
	copy(k[:], qrid)
	k[viewKeyMax] = byte(len(qrid))
	return k, true
}

// viewSlot is where one view's bytes are in the arena (n < 0: the view was deleted), and
// the write transaction that stored them: commit handlers of two transactions may run in
// either order (bolt runs them after releasing its writer lock), and the later transaction's
// slot wins.
type viewSlot struct {
	txid       int
	chunk, off uint32
	n          int32
}

const (
	// firstChunk is the size of a shard's first chunk; each next one doubles, up to
	// maxChunk (a view larger than that gets a chunk of its own size).
	firstChunk = 4 << 10
	maxChunk   = 256 << 10
	// minCompact is the dead bytes below which a shard's arena is never compacted; above
	// it, the arena is compacted when half as many bytes are dead as live, so the arena is
	// at most about one and a half times the views it holds.
	minCompact = 1 << 20
)

func newViewCache() *viewCache {
	c := &viewCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = map[viewKey]viewSlot{}
		c.aliases[i].m = map[viewKey]aliasSlot{}
	}
	return c
}

func (c *viewCache) shardOf(qrid string) uint64 { return maphash.String(c.seed, qrid) % viewShards }

func (c *viewCache) shard(qrid string) *viewShard { return &c.shards[c.shardOf(qrid)] }

// get returns qrid's encoded view, which the caller must not change; ok is false when the
// cache holds no view of it (an alias, an unknown or a deleted QR id).
func (c *viewCache) get(qrid string) (b []byte, ok bool) {
	if c == nil {
		return nil, false
	}
	k, ok := keyOf(qrid)
	if !ok {
		return nil, false
	}
	sh := c.shard(qrid)
	sh.mu.RLock()
	if s, found := sh.m[k]; found {
		b = sh.bytes(s)
	}
	sh.mu.RUnlock()
	return b, b != nil
}

// set records that the write transaction txid stored b as qrid's view (nil: deleted it),
// unless a later transaction's entry is there already. It keeps a copy of b.
func (c *viewCache) set(qrid string, b []byte, txid int) {
	k, ok := keyOf(qrid)
	if !ok {
		return
	}
	sh := c.shard(qrid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, had := sh.m[k]
	if had && old.txid > txid {
		return
	}
	if had && old.n >= 0 {
		sh.live -= int(old.n)
		sh.dead += int(old.n)
	}
	s := viewSlot{txid: txid, n: -1}
	if b != nil {
		s.chunk, s.off = sh.put(b)
		s.n = int32(len(b))
		sh.live += len(b)
	}
	sh.m[k] = s
	if sh.dead >= minCompact && sh.dead > sh.live/2 {
		sh.compact()
	}
}

// bytes returns the view in slot s (nil when it was deleted), without room to grow into the
// bytes after it.
func (sh *viewShard) bytes(s viewSlot) []byte {
	if s.n < 0 {
		return nil
	}
	end := s.off + uint32(s.n)
	return sh.chunks[s.chunk][s.off:end:end]
}

// put appends b to the arena and returns where it is.
func (sh *viewShard) put(b []byte) (chunk, off uint32) {
	last := len(sh.chunks) - 1
	if last < 0 || cap(sh.chunks[last])-len(sh.chunks[last]) < len(b) {
		size := firstChunk
		if last >= 0 {
			size = min(2*cap(sh.chunks[last]), maxChunk)
		}
		sh.chunks = append(sh.chunks, make([]byte, 0, max(size, len(b))))
		last++
	}
	ch := sh.chunks[last]
	sh.chunks[last] = append(ch, b...)
	return uint32(last), uint32(len(ch))
}

// compact copies the live views into a new arena, under the shard's lock (lookups of this
// shard, a sixty-fourth of them, wait for the copy). Views handed out before stay valid: they
// keep the old chunks they are in.
func (sh *viewShard) compact() {
	old := viewShard{chunks: sh.chunks}
	sh.chunks = [][]byte{make([]byte, 0, min(max(sh.live, firstChunk), maxChunk))}
	for k, s := range sh.m {
		if s.n >= 0 {
			s.chunk, s.off = sh.put(old.bytes(s))
			sh.m[k] = s
		}
	}
	sh.dead = 0
}

// afterCommit makes the cache show qrid's view as tx leaves it (b nil: deleted) once tx has
// committed. b must not change until then.
func (c *viewCache) afterCommit(tx *bolt.Tx, qrid string, b []byte) {
	if c == nil {
		return
	}
	c.pendingOf(tx)
	c.pendingViews[qrid] = b
	txid := tx.ID()
	tx.OnCommit(func() { c.set(qrid, b, txid) })
}

// stored returns qrid's view as the write transaction tx sees it (nil: none), when the cache
// can tell (known): once it has loaded the file, from tx's own puts or else from the
// transactions committed before tx. Every transaction that writes views or aliases goes
// through the store's group commit (commit.go), which runs the next one only after the one
// before has returned from its commit handlers, so the cache then holds all of them. Only
// write transactions call it, one at a time.
func (c *viewCache) stored(tx *bolt.Tx, qrid string) (b []byte, known bool) {
	if c == nil || !c.complete.Load() {
		return nil, false
	}
	if c.pendingTx == tx {
		if b, ok := c.pendingViews[qrid]; ok {
			return b, true
		}
	}
	if _, fits := keyOf(qrid); !fits {
		return nil, false
	}
	b, _ = c.get(qrid)
	return b, true
}

// pendingOf starts tx's pending aliases and views when tx is a new transaction (a retried one
// is a new Tx): those of the one before have committed, or were rolled back with it.
func (c *viewCache) pendingOf(tx *bolt.Tx) {
	if c.pendingTx != tx {
		c.pendingTx, c.pending, c.pendingViews = tx, map[string]string{}, map[string][]byte{}
	}
}

// errStopped ends a load when the store closes.
var errStopped = errors.New("the store is closing")

// forEachUntil calls fn for each key and value of b, as b.ForEach does, and ends with
// errStopped once stop is closed (looked at every 4,096 entries).
func forEachUntil(b *bolt.Bucket, stop <-chan struct{}, fn func(k, v []byte) error) error {
	n := 0
	return b.ForEach(func(k, v []byte) error {
		if n++; n%4096 == 0 {
			select {
			case <-stop:
				return errStopped
			default:
			}
		}
		return fn(k, v)
	})
}

// load fills the cache with every view and alias stored in the file, until stop is closed,
// and then marks it complete. Writes may commit meanwhile: an entry they set is from a later
// transaction than load's, so load never replaces it (set), and a view they change after load
// read it is set again by them. Until load is done, a view it has not reached is read from
// the file (Store.View), so the answers are the same, only slower.
func (c *viewCache) load(db *bolt.DB, stop <-chan struct{}) error {
	err := db.View(func(tx *bolt.Tx) error {
		txid := tx.ID()
		err := forEachUntil(tx.Bucket(bucketIdentities), stop, func(k, v []byte) error {
			if q := string(k); isQRIDKey(q) {
				c.set(q, v, txid)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return c.loadAliases(tx, stop)
	})
	if err == nil {
		c.complete.Store(true)
	}
	return err
}

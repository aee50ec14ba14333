package boltstore

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// The view cache also holds every alias (a weak QR id and the identity it now belongs to), so
// that the writer learns whether a QR id is an alias from a hash map instead of a walk
// through the aliases bucket's B+tree: it asks for every declaration's QR id and for each of
// its weak ids, and in a file of a million identities those two walks were 9% of the single
// writer's CPU. Once the cache has loaded the whole file (complete), a QR id it knows
// neither as a view nor as an alias is in neither bucket, so a lookup of an unknown QR id
// is answered without reading the file.
//
// As for views, the file stays the truth: load reads the aliases after the views, and
// putAlias, the one place an alias is written (aliases are never deleted), sets it once its
// transaction has committed. A write transaction sees its own aliases at once (pending).

// aliasShard indexes one shard's aliases in a map without pointers, as viewShard does.
type aliasShard struct {
	mu sync.RWMutex
	m  map[viewKey]aliasSlot
}

// aliasSlot is the identity an alias points to and the write transaction that said so; a
// target too long for a viewKey is marked long and read from the file.
type aliasSlot struct {
	txid   int
	target viewKey
	long   bool
}

// alias returns the identity qrid is an alias of, if the cache can tell: known is false
// while the cache has not loaded the file, and for QR ids (or targets) too long to cache.
func (c *viewCache) alias(qrid string) (target string, ok, known bool) {
	if c == nil || !c.complete.Load() {
		return "", false, false
	}
	k, fits := keyOf(qrid)
	if !fits {
		return "", false, false
	}
	sh := &c.aliases[c.shardOf(qrid)]
	sh.mu.RLock()
	s, found := sh.m[k]
	sh.mu.RUnlock()
	switch {
	case !found:
		return "", false, true
	case s.long:
		return "", false, false
	}
	return string(s.target[:s.target[viewKeyMax]]), true, true
}

// setAlias records that the write transaction txid made qrid an alias of target, unless a
// later transaction's entry is there already.
func (c *viewCache) setAlias(qrid, target string, txid int) {
	k, ok := keyOf(qrid)
	if !ok {
		return
	}
	t, fits := keyOf(target)
	sh := &c.aliases[c.shardOf(qrid)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, had := sh.m[k]; had && old.txid > txid {
		return
	}
	sh.m[k] = aliasSlot{txid: txid, target: t, long: !fits}
}

// pendingAlias returns the alias of qrid that the running write transaction tx has put, if
// any. Only write transactions call it, one at a time (bolt's writer lock).
func (c *viewCache) pendingAlias(tx *bolt.Tx, qrid string) (string, bool) {
	if c == nil || c.pendingTx != tx {
		return "", false
	}
	t, ok := c.pending[qrid]
	return t, ok
}

// putAlias stores qrid as an alias of target in the transaction tx: at once for tx itself,
// and in the cache once tx has committed (after the views and aliases set before it in tx).
func putAlias(tx *bolt.Tx, c *viewCache, qrid, target string) error {
	if err := tx.Bucket(bucketAliases).Put([]byte(qrid), []byte(target)); err != nil {
		return err
	}
	if c == nil {
		return nil
	}
	c.pendingOf(tx)
	c.pending[qrid] = target
	txid := tx.ID()
	tx.OnCommit(func() { c.setAlias(qrid, target, txid) })
	return nil
}

// loadAliases fills the cache with every alias in tx's snapshot, until stop is closed.
func (c *viewCache) loadAliases(tx *bolt.Tx, stop <-chan struct{}) error {
	txid := tx.ID()
	return forEachUntil(tx.Bucket(bucketAliases), stop, func(k, v []byte) error {
		c.setAlias(string(k), string(v), txid)
		return nil
	})
}

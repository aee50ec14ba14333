package boltstore

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// subjectIndex answers IdentityOf by subject: for each platform subject (sourcePrefix) it
// holds the rest of the subject key (subjectKey) of the subject's last declaration in
// declared-time order, which names the record whose version gives the identity. It lives in
// memory only, built from the versions bucket when the store opens: as a bucket it cost each
// declaration a put on a random page inside the single writer's transaction, and at a million
// identities the preload ran at 17,217 declarations/s with the bucket and 21,054/s with this
// index (load harness, embedded only). It costs memory (22 MB for 200,000 identities,
// BenchmarkOpenLarge) and a scan of the versions when the store opens (1.3 s for those);
// IdentityOf by subject and Purge wait for that scan.
//
// Writes only raise an entry (note keeps the greater key) and are applied when their
// transaction commits, so a scan of an earlier snapshot racing with them ends in the same
// state; only Purge lowers one (drop), and it waits for the scan.
type subjectIndex struct {
	seed   maphash.Seed
	shards [subjectShards]subjectShard
	ready  chan struct{} // closed when the scan is done
	err    error         // the scan's error, read after ready
}

// subjectShards spreads commits and lookups over independent locks.
const subjectShards = 64

// subjectShard indexes its entries by a hash of the subject in a map without pointers, as
// viewShard does, so that the garbage collector never walks a million entries; the entries
// (subject, then rest, each length-prefixed) are in data: a new entry of the same size as the
// one it replaces is written over it, another is appended, and data is compacted when the
// bytes of replaced entries outgrow the live ones. Subjects whose hash another subject of the
// shard has already are kept in clash, by name.
type subjectShard struct {
	mu         sync.RWMutex
	m          map[uint64]uint32 // hash of the subject → offset of its entry in data
	clash      map[string]string
	data       []byte
	live, dead int // bytes of data in entries m points to, and in entries replaced since
}

// subjectCompactMin is the fewest replaced bytes a shard compacts.
const subjectCompactMin = 1 << 20

func newSubjectIndex() *subjectIndex {
	x := &subjectIndex{seed: maphash.MakeSeed(), ready: make(chan struct{})}
	for i := range x.shards {
		x.shards[i].m = map[uint64]uint32{}
	}
	return x
}

func (x *subjectIndex) shard(subject []byte) (*subjectShard, uint64) {
	h := maphash.Bytes(x.seed, subject)
	return &x.shards[h%subjectShards], h
}

// entry returns the subject and rest stored at off, and the entry's size.
func (sh *subjectShard) entry(off uint32) (subject, rest []byte, size int) {
	b := sh.data[off:]
	n, w := binary.Uvarint(b)
	subject, b = b[w:w+int(n)], b[w+int(n):]
	size = w + int(n)
	n, w = binary.Uvarint(b)
	return subject, b[w : w+int(n)], size + w + int(n)
}

func appendSubjectEntry(b, subject, rest []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(subject)))
	b = append(b, subject...)
	b = binary.AppendUvarint(b, uint64(len(rest)))
	return append(b, rest...)
}

// compact copies the live entries into a new data.
func (sh *subjectShard) compact() {
	data := make([]byte, 0, sh.live)
	for h, off := range sh.m {
		subject, rest, _ := sh.entry(off)
		sh.m[h] = uint32(len(data))
		data = appendSubjectEntry(data, subject, rest)
	}
	sh.data, sh.dead = data, 0
}

// find returns the rest of subject's entry, if any, with the shard locked by the caller.
func (sh *subjectShard) find(h uint64, subject []byte) ([]byte, bool) {
	if off, ok := sh.m[h]; ok {
		if s, rest, _ := sh.entry(off); bytes.Equal(s, subject) {
			return rest, true
		}
	}
	rest, ok := sh.clash[string(subject)]
	return []byte(rest), ok
}

// set stores rest as subject's entry (nil rest: removes it), with the shard locked.
func (sh *subjectShard) set(h uint64, subject, rest []byte) {
	off, ok := sh.m[h]
	old := 0
	if ok {
		s, _, size := sh.entry(off)
		old = size
		if !bytes.Equal(s, subject) {
			if rest == nil {
				delete(sh.clash, string(subject))
			} else {
				if sh.clash == nil {
					sh.clash = map[string]string{}
				}
				sh.clash[string(subject)] = string(rest)
			}
			return
		}
	}
	delete(sh.clash, string(subject))
	entry := appendSubjectEntry(nil, subject, rest)
	switch {
	case rest == nil:
		delete(sh.m, h)
		sh.live, sh.dead = sh.live-old, sh.dead+old
	case ok && len(entry) == old:
		copy(sh.data[off:], entry)
		return
	default:
		sh.m[h] = uint32(len(sh.data))
		sh.data = append(sh.data, entry...)
		sh.live, sh.dead = sh.live-old+len(entry), sh.dead+old
	}
	if sh.dead > sh.live && sh.dead >= subjectCompactMin {
		sh.compact()
	}
}

// note records a declaration of subject whose subject key ends with rest: it becomes the
// subject's entry if it sorts after the one there.
func (x *subjectIndex) note(subject, rest []byte) {
	sh, h := x.shard(subject)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.find(h, subject); ok && bytes.Compare(old, rest) >= 0 {
		return
	}
	sh.set(h, subject, rest)
}

// drop forgets subject's entry if it is rest (a purged declaration): every other declaration
// of the subject was declared no later, so the purge deletes it too.
func (x *subjectIndex) drop(subject, rest []byte) {
	sh, h := x.shard(subject)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.find(h, subject); ok && bytes.Equal(old, rest) {
		sh.set(h, subject, nil)
	}
}

// last returns the rest of the subject key of subject's last declaration.
func (x *subjectIndex) last(subject []byte) ([]byte, bool) {
	sh, h := x.shard(subject)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	rest, ok := sh.find(h, subject)
	return bytes.Clone(rest), ok
}

// splitSubjectKey splits a subject key into its subject (platform and id) and the rest.
func splitSubjectKey(k []byte) (subject, rest []byte) {
	n := 0
	for range 2 {
		l, w := binary.Uvarint(k[n:])
		n += w + int(l)
	}
	return k[:n], k[n:]
}

// onCommit applies the subject keys written (note) or purged (drop) by tx once it commits.
func (x *subjectIndex) onCommit(tx *bolt.Tx, keys [][]byte, apply func(subject, rest []byte)) {
	if len(keys) == 0 {
		return
	}
	tx.OnCommit(func() {
		for _, k := range keys {
			apply(splitSubjectKey(k))
		}
	})
}

// load notes every stored version's subject, until stop is closed, then marks the index
// ready.
func (x *subjectIndex) load(db *bolt.DB, stop <-chan struct{}) {
	defer close(x.ready)
	x.err = db.View(func(tx *bolt.Tx) error {
		return forEachUntil(tx.Bucket(bucketVersions), stop, func(_, val []byte) error {
			var v version
			if err := decodeVersion(val, &v); err != nil {
				return err
			}
			if v.Declaration.Source.SubjectID != "" {
				x.note(splitSubjectKey(subjectKey(&v.Declaration)))
			}
			return nil
		})
	})
}

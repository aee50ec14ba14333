// Package boltstore is the embedded store: one bbolt file, durable when a write is
// acknowledged, so the gateway runs on a fresh machine with nothing else installed.
//
// Layout 2 (one bucket each): versions (record key → declaration version and its identity),
// identities (everything keyed by an identity, together so that one written page serves an
// identity's view, history and aliases: QR id → view; QR id, NUL, 'h', declared time, record
// key, its history in order; QR id, NUL, 'a', weak QR id → its aliases), versionsByHour
// (declared hour, record key → declared time; for purge; keys.go: hourKey; builds before it
// wrote versionsByTime, declared time and record key, which purge still reads), aliases
// (weak → strong QR id), inconsistent (QR ids whose view has inconsistencies) and
// inconsistentByField (field, QR id), rejections and rejectionsByTime, counters
// (store.CellKey → count), passages, access (time, sequence → access), cursors and leases.
// Views, declaration versions and accesses have compact binary encodings (codec.go,
// codec_version.go, codec_access.go); other values are JSON.
//
// IdentityOf by subject is answered from memory (subjects.go: built from the versions when
// the file opens); builds before it kept a bySubject bucket, which Open deletes (a build of
// then that opens the file again builds it anew). A record id needs no index, as the versions
// bucket's keys start with the platform and record id.
//
// History and subject keys were longer before (keys.go: legacyHistoryKey, the record key
// repeated as the value; bySubject held the record key in place of the record id): about
// 1,080 file bytes and 1.78 pages
// written per declaration instead of 1,200 and 2.01 (BenchmarkIngest4Streams). Entries of
// either form are read, moved (in the new form) and purged, so a file written by both builds
// answers as one written by either. A build before the change cannot read the new entries
// (History and IdentityOf by subject fail on them): keep a copy of the file before upgrading
// if a downgrade may be needed.
//
// Layout 1 kept views, histories (byIdentity) and aliases (aliasOf) in three buckets, so a
// declaration dirtied three pages where layout 2 dirties one. A layout 1 file is migrated when
// it is opened (layout.go: in transactions of 100,000 entries, resumed if interrupted);
// testdata/layout1.db is such a file. There is no way back: a gateway built before layout 2
// would see no identity in a layout 2 file, so keep a copy of the file before upgrading if a
// downgrade may be needed.
//
// A weak identity absorbed by a strong one (Accepted.Aliases) has its stored versions moved to
// the strong identity and re-applied to the strong view inside the same transaction, its view
// deleted, and every alias pointing to it re-pointed, so an alias is always one hop from the
// identity it resolves to.
//
// Views are also kept in memory (viewcache.go), filled in the background when the file opens
// and updated when a transaction that wrote them commits, so that a lookup reads a hash map;
// the file stays the truth, and Options.NoViewCache turns the copy off.
package boltstore

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

var _ store.Store = (*Store)(nil)

// Options configures a Store.
type Options struct {
	// Now is the clock for leases; time.Now when nil.
	Now func() time.Time
	// Timeout bounds the wait for the file lock held by another process; 0 waits forever.
	Timeout time.Duration
	// NoSync skips fsync on commit: faster, and a crash may lose acknowledged writes. For
	// tests and benchmarks only.
	NoSync bool
	// NoViewCache keeps identities' views only in the file: the process holds no copy of
	// them (a few hundred bytes an identity) and opens faster, and lookups walk the file's
	// B+tree instead of reading a hash map.
	NoViewCache bool
}

// initialMmapSize is the address space mapped for the file when it opens: 16 GiB on
// 64-bit Linux (a file of a million identities is about 4.5 GiB), none elsewhere (on Windows
// bbolt would grow the file to it).
var initialMmapSize = func() int {
	if runtime.GOOS != "linux" || strconv.IntSize < 64 {
		return 0
	}
	return 16 << 30
}()

// Store is a store.Store in one bbolt file.
type Store struct {
	db        *bolt.DB
	now       func() time.Time
	group     group      // concurrent WriteBatch and AppendAccess calls, committed together
	views     *viewCache // every view, for lookups; nil with Options.NoViewCache
	subjects  *subjectIndex
	writeback *writeback // nil with Options.NoSync
	// loading is the view cache's and the subject index's filling; closing stops it.
	loading sync.WaitGroup
	closing chan struct{}
	// purgeChunk is the most versions (and rejections) one purge transaction deletes.
	purgeChunk int
	close      sync.Once
	closeErr   error
}

var (
	bucketVersions            = []byte("versions")
	bucketIdentities          = []byte("identities")
	bucketVersionsByTime      = []byte("versionsByTime") // written by builds before versionsByHour
	bucketVersionsByHour      = []byte("versionsByHour")
	bucketAliases             = []byte("aliases")
	bucketInconsistent        = []byte("inconsistent")
	bucketInconsistentByField = []byte("inconsistentByField")
	bucketRejections          = []byte("rejections")
	bucketRejectionsByTime    = []byte("rejectionsByTime")
	bucketCounters            = []byte("counters")
	bucketPassages            = []byte("passages")
	bucketAccess              = []byte("access")
	bucketCursors             = []byte("cursors")
	bucketLeases              = []byte("leases")
	bucketBySubject           = []byte("bySubject") // written by builds before subjectIndex
)

var allBuckets = [][]byte{
	bucketVersions, bucketIdentities, bucketVersionsByTime, bucketAliases,
	bucketInconsistent, bucketInconsistentByField, bucketRejections, bucketRejectionsByTime, bucketCounters,
	bucketPassages, bucketAccess, bucketCursors, bucketLeases, bucketVersionsByHour,
}

// Open opens (creating if needed) the store in the file at path.
func Open(path string, opts Options) (*Store, error) {
	const op = "boltstore.Open"
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.Timeout,
		NoSync:  opts.NoSync,
		// As etcd does, the free page list is not written on each commit (it is rebuilt by
		// scanning when the file is opened); this does not change what a commit makes durable.
		// It is kept as a sorted array (bbolt's default), not etcd's hash map: a commit
		// allocates thousands of single pages, which the array hands out from its front in
		// page order, where the map picks each at random through three large maps: with the
		// array, ingest into a file of 500,000 identities took 9% less CPU and wrote its
		// pages 10% faster (BenchmarkIngestLargeStreams). The array scans for runs of pages,
		// which only a node larger than a page needs, and each write transaction copies it
		// whole to merge the pages freed before: in a file nearly emptied by a purge (266,000
		// free pages) a small commit took 1.25 ms of CPU against 0.5-0.6 ms with the map,
		// about 3.5% of a core at the access log's 50 commits a second.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistArrayType,
		// bbolt maps the file again each time it outgrows the mapping (doubling up to 1 GiB,
		// then in 1 GiB steps), holding every reader off meanwhile; mapping more address
		// space than the file holds at once (on Linux this neither grows the file nor uses
		// memory) spares a growing store those pauses.
		InitialMmapSize: initialMmapSize,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, errs.Errorf(errs.Transient, op, "%s is locked by another process: %w", path, err)
		}
		return nil, errs.Errorf(errs.Other, op, "open %s: %w", path, err)
	}
	layout1 := false
	if err = db.View(func(tx *bolt.Tx) error { layout1 = isLayout1(tx); return nil }); err == nil && layout1 {
		err = migrateLayout1(db)
	}
	if err != nil {
		_ = db.Close()
		return nil, errs.Errorf(errs.Other, op, "move %s to layout 2: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		// The subject index is in memory now (subjectIndex). A build before it that opens
		// the file again builds its bySubject bucket from the versions, as it did for a file
		// written before the bucket existed.
		if tx.Bucket(bucketBySubject) != nil {
			return tx.DeleteBucket(bucketBySubject)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, errs.Errorf(errs.Other, op, "create buckets in %s: %w", path, err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{db: db, now: now, purgeChunk: defaultPurgeChunk, group: group{maxItems: defaultGroupItems}, closing: make(chan struct{})}
	if !opts.NoSync {
		if s.writeback, err = startWriteback(path); err != nil {
			_ = db.Close()
			return nil, errs.Errorf(errs.Other, op, "open %s: %w", path, err)
		}
	}
	// Built in the background (seconds for a million identities); IdentityOf by subject
	// and Purge wait for it.
	s.subjects = newSubjectIndex()
	s.loading.Add(1)
	go func() {
		defer s.loading.Done()
		s.subjects.load(db, s.closing)
	}()
	if !opts.NoViewCache {
		// Filled in the background (seconds for a million identities): until then a view
		// the cache does not hold yet is read from the file.
		s.views = newViewCache()
		s.loading.Add(1)
		go func() {
			defer s.loading.Done()
			_ = s.views.load(db, s.closing) // on an error the rest is read from the file
		}()
	}
	return s, nil
}

// Close closes the file; it is safe to call twice.
func (s *Store) Close() error {
	s.close.Do(func() {
		close(s.closing)
		s.loading.Wait()
		_ = s.writeback.close()
		if err := s.db.Close(); err != nil {
			s.closeErr = errs.E(errs.Other, "boltstore.Close", err)
		}
	})
	return s.closeErr
}

// Ping reports whether the file is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	return s.read(ctx, "boltstore.Ping", func(*bolt.Tx) error { return nil })
}

// read runs fn in a read transaction, classifying bbolt's own errors.
func (s *Store) read(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return errs.E(errs.Transient, op, err)
	}
	return classify(op, s.db.View(fn))
}

// update runs fn in a durable write transaction, through the group commit as every write
// after Open does (the writer trusts the view cache only because of that: see
// viewCache.stored). fn may run more than once and must start afresh each time.
func (s *Store) update(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return errs.E(errs.Transient, op, err)
	}
	return classify(op, s.commit(1, fn))
}

// classify leaves errors that already carry a kind alone; bbolt's own (a closed file, a
// failed write or fsync) are transient: the store cannot serve right now.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	return errs.E(errs.Transient, op, err)
}

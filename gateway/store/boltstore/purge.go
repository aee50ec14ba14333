package boltstore

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/gateway/store"
)

// defaultPurgeChunk bounds the records one purge transaction deletes, so that a large purge
// neither holds the writer lock long nor builds a huge transaction in memory.
const defaultPurgeChunk = 5000

// Purge deletes the declaration versions and rejections declared before cutoff and rebuilds
// the affected views from the versions left; an identity left with none disappears. Counters
// are kept. It works in transactions of at most 5000 versions and as many rejections, each
// atomic (a view always agrees with the versions stored); a purge interrupted by an error or
// ctx leaves the rest for the next call.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int, error) {
	// The subject index is built from a snapshot of the versions: a purge must not drop
	// entries that the scan would then bring back.
	if err := s.subjectsReady(ctx, "boltstore.Purge"); err != nil {
		return 0, err
	}
	total := 0
	for {
		n, more, err := s.purgeOnce(ctx, cutoff)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// purgeOnce deletes one chunk and reports whether more may be left.
func (s *Store) purgeOnce(ctx context.Context, cutoff time.Time) (int, bool, error) {
	n, more := 0, false
	err := s.update(ctx, "boltstore.Purge", func(tx *bolt.Tx) error {
		n = 0
		end := appendTime(nil, cutoff)
		versions := tx.Bucket(bucketVersions)
		ids := tx.Bucket(bucketIdentities)
		affected := map[string]bool{}
		var order []string
		var subjects [][]byte

		old := versionsBefore(tx, cutoff, s.purgeChunk)
		for _, o := range old {
			rec := o.rec
			var v version
			if err := decodeVersion(versions.Get(rec), &v); err != nil {
				return err
			}
			d := v.Declaration
			// The entries are in this build's form or, written by an earlier build, in the
			// legacy one: delete both.
			for _, k := range [][]byte{historyKey(v.QRID, &d, rec), legacyHistoryKey(v.QRID, &d, rec)} {
				if err := ids.Delete(k); err != nil {
					return err
				}
			}
			if d.Source.SubjectID != "" {
				subjects = append(subjects, subjectKey(&d))
			}
			if err := versions.Delete(rec); err != nil {
				return err
			}
			if err := tx.Bucket(o.bucket).Delete(o.key); err != nil {
				return err
			}
			if !affected[v.QRID] {
				affected[v.QRID] = true
				order = append(order, v.QRID)
			}
			n++
		}

		oldRejections := keysBefore(tx.Bucket(bucketRejectionsByTime), end, s.purgeChunk)
		more = len(old) == s.purgeChunk || len(oldRejections) == s.purgeChunk
		for _, k := range oldRejections {
			if err := tx.Bucket(bucketRejections).Delete(k[timeKeyLen:]); err != nil {
				return err
			}
			if err := tx.Bucket(bucketRejectionsByTime).Delete(k); err != nil {
				return err
			}
			n++
		}

		for _, qrid := range order {
			if err := rebuild(tx, s.views, qrid); err != nil {
				return err
			}
		}
		s.subjects.onCommit(tx, subjects, s.subjects.drop)
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return n, more, nil
}

// dueVersion is a version a purge deletes: its entry in a purge index and its record key.
type dueVersion struct{ bucket, key, rec []byte }

// versionsBefore returns at most limit versions declared before cutoff: from versionsByTime
// (written by earlier builds) first, then from versionsByHour, where every key of an hour
// before cutoff's is due and those of cutoff's hour by the declared time they hold.
func versionsBefore(tx *bolt.Tx, cutoff time.Time, limit int) []dueVersion {
	var out []dueVersion
	for _, k := range keysBefore(tx.Bucket(bucketVersionsByTime), appendTime(nil, cutoff), limit) {
		out = append(out, dueVersion{bucketVersionsByTime, k, k[timeKeyLen:]})
	}
	last, exact := appendTime(nil, cutoff.Truncate(purgeSpan)), appendTime(nil, cutoff)
	c := tx.Bucket(bucketVersionsByHour).Cursor()
	for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
		if len(k) <= timeKeyLen {
			continue // not a key hourKey writes
		}
		hour := string(k[:timeKeyLen])
		if hour > string(last) {
			break
		}
		if hour == string(last) && string(v) >= string(exact) {
			continue // declared in cutoff's hour, at or after cutoff
		}
		out = append(out, dueVersion{bucketVersionsByHour, clone(k), clone(k[timeKeyLen:])})
	}
	return out
}

// keysBefore returns at most limit keys of b that sort before end, from the first.
func keysBefore(b *bolt.Bucket, end []byte, limit int) [][]byte {
	var out [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && string(k) < string(end) && len(out) < limit; k, _ = c.Next() {
		out = append(out, clone(k))
	}
	return out
}

// rebuild recomputes qrid's view from its stored versions, keeping its revision increasing.
func rebuild(tx *bolt.Tx, cache *viewCache, qrid string) error {
	ids := tx.Bucket(bucketIdentities)
	var old store.View
	if b := ids.Get([]byte(qrid)); b != nil {
		if err := decodeView(b, &old); err != nil {
			return err
		}
	}
	var v store.View
	prefix := tagged(qrid, tagHistory, 0)
	versions := tx.Bucket(bucketVersions)
	c := ids.Cursor()
	for k, val := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, val = c.Next() {
		var ver version
		if err := decodeVersion(versions.Get(historyRecord(prefix, k, val)), &ver); err != nil {
			return err
		}
		v, _ = store.Apply(v, store.Accepted{Declaration: ver.Declaration, QRID: qrid, Verified: ver.Verified})
	}
	v.Revision = old.Revision + 1
	return putView(tx, cache, qrid, old, v, len(v.Latest) == 0)
}

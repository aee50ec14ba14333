package boltstore

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// Layout 1's buckets, which layout 2 keeps in identities.
var (
	layout1Views      = []byte("views")      // QR id → view
	layout1ByIdentity = []byte("byIdentity") // QR id, NUL, history key → record key
	layout1AliasOf    = []byte("aliasOf")    // QR id, NUL, weak QR id
)

// migrateChunk is the most entries one migration transaction moves.
const migrateChunk = 100_000

// migrateLayout1 moves a layout 1 file's views, histories and alias lists into the
// identities bucket, then deletes their buckets. It moves them in transactions of
// migrateChunk entries, in the identities bucket's key order (a merge of the three), so that
// every put is an append; an interrupted migration goes on after the last key it moved.
func migrateLayout1(db *bolt.DB) error {
	for {
		done := false
		err := db.Update(func(tx *bolt.Tx) error {
			var err error
			done, err = migrateSome(tx, migrateChunk)
			return err
		})
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{layout1Views, layout1ByIdentity, layout1AliasOf} {
			if tx.Bucket(b) != nil {
				if err := tx.DeleteBucket(b); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// isLayout1 reports whether the file still has layout 1 buckets.
func isLayout1(tx *bolt.Tx) bool {
	return tx.Bucket(layout1Views) != nil || tx.Bucket(layout1ByIdentity) != nil || tx.Bucket(layout1AliasOf) != nil
}

// oldStream is one layout 1 bucket read in key order, its keys in layout 2's form.
type oldStream struct {
	c      *bolt.Cursor
	tag    byte // 0 for views (same key), else the tag retag inserts
	key, v []byte
}

func (s *oldStream) set(k, v []byte) {
	s.key, s.v = nil, v
	if k != nil {
		s.key = k
		if s.tag != 0 {
			s.key = retag(k, s.tag)
		}
	}
}

// migrateSome moves up to chunk entries and reports whether none are left.
func migrateSome(tx *bolt.Tx, chunk int) (bool, error) {
	ids, err := tx.CreateBucketIfNotExists(bucketIdentities)
	if err != nil {
		return false, err
	}
	last, _ := ids.Cursor().Last()
	var streams []*oldStream
	for _, o := range []struct {
		name []byte
		tag  byte
	}{{layout1Views, 0}, {layout1ByIdentity, tagHistory}, {layout1AliasOf, tagAliasOf}} {
		b := tx.Bucket(o.name)
		if b == nil {
			continue
		}
		s := &oldStream{c: b.Cursor(), tag: o.tag}
		if last == nil {
			s.set(s.c.First())
		} else {
			// Keys up to last were moved: seek to last's QR id (old keys of one QR id start
			// with it in both layouts) and skip the rest of them.
			from := last
			if i := bytes.IndexByte(last, 0); i >= 0 {
				from = last[:i]
			}
			for s.set(s.c.Seek(from)); s.key != nil && bytes.Compare(s.key, last) <= 0; {
				s.set(s.c.Next())
			}
		}
		streams = append(streams, s)
	}
	for n := 0; n < chunk; n++ {
		var first *oldStream
		for _, s := range streams {
			if s.key != nil && (first == nil || bytes.Compare(s.key, first.key) < 0) {
				first = s
			}
		}
		if first == nil {
			return true, nil
		}
		if err := ids.Put(first.key, clone(first.v)); err != nil {
			return false, err
		}
		first.set(first.c.Next())
	}
	return false, nil
}

// retag turns a layout 1 key (QR id, NUL, rest) into layout 2's (QR id, NUL, tag, rest).
// It keeps the order of the keys of one bucket.
func retag(k []byte, tag byte) []byte {
	i := bytes.IndexByte(k, 0) + 1
	if i == 0 {
		i = len(k)
	}
	out := make([]byte, 0, len(k)+1)
	out = append(out, k[:i]...)
	out = append(out, tag)
	return append(out, k[i:]...)
}

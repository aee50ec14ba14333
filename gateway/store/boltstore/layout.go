package boltstore

import (
	bolt "go.etcd.io/bbolt"
)

// Layout 1's buckets, which layout 2 keeps in identities.
var (
	layout1Views      = []byte("views")      // QR id → view
	layout1ByIdentity = []byte("byIdentity") // QR id, NUL, history key → record key
	layout1AliasOf    = []byte("aliasOf")    // QR id, NUL, weak QR id
)

// migrateLayout1 moves a layout 1 file's views, histories and alias lists into the
// identities bucket and deletes their buckets.
func migrateLayout1(tx *bolt.Tx) error {
	ids, err := tx.CreateBucketIfNotExists(bucketIdentities)
	if err != nil {
		return err
	}
	moves := []struct {
		bucket []byte
		key    func(k []byte) []byte
	}{
		{layout1Views, func(k []byte) []byte { return k }},
		{layout1ByIdentity, func(k []byte) []byte { return retag(k, tagHistory) }},
		{layout1AliasOf, func(k []byte) []byte { return retag(k, tagAliasOf) }},
	}
	for _, m := range moves {
		b := tx.Bucket(m.bucket)
		if b == nil {
			continue
		}
		if err := b.ForEach(func(k, v []byte) error {
			return ids.Put(m.key(k), clone(v))
		}); err != nil {
			return err
		}
		if err := tx.DeleteBucket(m.bucket); err != nil {
			return err
		}
	}
	return nil
}

// retag turns a layout 1 key (QR id, NUL, rest) into layout 2's (QR id, NUL, tag, rest).
func retag(k []byte, tag byte) []byte {
	i := 0
	for i < len(k) && k[i] != 0 {
		i++
	}
	out := make([]byte, 0, len(k)+1)
	out = append(out, k[:min(i+1, len(k))]...)
	out = append(out, tag)
	return append(out, k[min(i+1, len(k)):]...)
}

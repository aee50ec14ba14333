package boltstore

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/gateway/store"
)

// Purge deletes the declaration versions and rejections declared before cutoff in one write
// transaction and rebuilds the affected views from the versions left; an identity left with
// none disappears. Counters are kept.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	err := s.update(ctx, "boltstore.Purge", func(tx *bolt.Tx) error {
		n = 0
		end := appendTime(nil, cutoff)
		versions := tx.Bucket(bucketVersions)
		byIdentity := tx.Bucket(bucketByIdentity)
		affected := map[string]bool{}
		var order []string

		old, err := keysBefore(tx.Bucket(bucketVersionsByTime), end)
		if err != nil {
			return err
		}
		for _, k := range old {
			rec := k[timeKeyLen:]
			var v version
			if err := json.Unmarshal(versions.Get(rec), &v); err != nil {
				return err
			}
			d := v.Declaration
			if err := byIdentity.Delete(historyKey(v.QRID, d.DeclaredAt, d.Source.Version, rec)); err != nil {
				return err
			}
			if err := versions.Delete(rec); err != nil {
				return err
			}
			if err := tx.Bucket(bucketVersionsByTime).Delete(k); err != nil {
				return err
			}
			if !affected[v.QRID] {
				affected[v.QRID] = true
				order = append(order, v.QRID)
			}
			n++
		}

		oldRejections, err := keysBefore(tx.Bucket(bucketRejectionsByTime), end)
		if err != nil {
			return err
		}
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
			if err := rebuild(tx, qrid); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// keysBefore returns the keys of b that sort before end.
func keysBefore(b *bolt.Bucket, end []byte) ([][]byte, error) {
	var out [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && string(k) < string(end); k, _ = c.Next() {
		out = append(out, clone(k))
	}
	return out, nil
}

// rebuild recomputes qrid's view from its stored versions, keeping its revision increasing.
func rebuild(tx *bolt.Tx, qrid string) error {
	views := tx.Bucket(bucketViews)
	var old store.View
	if b := views.Get([]byte(qrid)); b != nil {
		if err := json.Unmarshal(b, &old); err != nil {
			return err
		}
	}
	var v store.View
	prefix := identityPrefix(qrid)
	versions := tx.Bucket(bucketVersions)
	c := tx.Bucket(bucketByIdentity).Cursor()
	for k, rec := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, rec = c.Next() {
		var ver version
		if err := json.Unmarshal(versions.Get(rec), &ver); err != nil {
			return err
		}
		v, _ = store.Apply(v, store.Accepted{Declaration: ver.Declaration, QRID: qrid, Verified: ver.Verified})
	}
	v.Revision = old.Revision + 1
	return putView(tx, qrid, old, v, len(v.Latest) == 0)
}

package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// View reads one view: from the view cache, or else from the file (one Get, and one more when
// qrid is an alias). An unknown QR id is answered from the cache once it holds the whole file.
func (s *Store) View(ctx context.Context, qrid string) (store.View, error) {
	const op = "boltstore.View"
	var v store.View
	if !isQRIDKey(qrid) {
		return v, errs.Errorf(errs.NotFound, op, "no identity with this QR id")
	}
	b, ok := s.views.get(qrid)
	if !ok {
		if _, isAlias, known := s.views.alias(qrid); known && !isAlias {
			return v, errs.Errorf(errs.NotFound, op, "no identity with this QR id") // nor an alias
		}
		return s.fileView(ctx, op, qrid) // an alias, a cache still loading, or no cache
	}
	if err := ctx.Err(); err != nil {
		return v, errs.E(errs.Transient, op, err)
	}
	return v, classify(op, decodeView(b, &v))
}

// fileView reads qrid's view, or its identity's when it is an alias, from the file.
func (s *Store) fileView(ctx context.Context, op, qrid string) (store.View, error) {
	var v store.View
	err := s.read(ctx, op, func(tx *bolt.Tx) error {
		views := tx.Bucket(bucketIdentities)
		b := views.Get([]byte(qrid))
		if b == nil {
			if strong := tx.Bucket(bucketAliases).Get([]byte(qrid)); strong != nil {
				b = views.Get(strong)
			}
		}
		if b == nil {
			return errs.Errorf(errs.NotFound, op, "no identity with this QR id")
		}
		return decodeView(b, &v)
	})
	return v, err
}

// History returns every stored version of qrid's declarations, oldest first.
func (s *Store) History(ctx context.Context, qrid string) ([]canonical.Declaration, error) {
	const op = "boltstore.History"
	var out []canonical.Declaration
	if !isQRIDKey(qrid) {
		return nil, errs.Errorf(errs.NotFound, op, "no identity with this QR id")
	}
	err := s.read(ctx, op, func(tx *bolt.Tx) error {
		if strong := tx.Bucket(bucketAliases).Get([]byte(qrid)); strong != nil {
			qrid = string(strong)
		}
		versions := tx.Bucket(bucketVersions)
		prefix := tagged(qrid, tagHistory, 0)
		c := tx.Bucket(bucketIdentities).Cursor()
		for k, val := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, val = c.Next() {
			var v version
			if err := decodeVersion(versions.Get(historyRecord(prefix, k, val)), &v); err != nil {
				return err
			}
			out = append(out, v.Declaration)
		}
		// Keys order versions declared at the same time by record key (by version first in
		// entries of earlier builds): sort them as the interface and the Redis store do.
		store.SortHistory(out)
		if len(out) == 0 {
			return errs.Errorf(errs.NotFound, op, "no identity with this QR id")
		}
		return nil
	})
	return out, err
}

// Inconsistencies pages through the identities whose views list inconsistencies, in QR id
// order, keeping those matching q. The page token is the last QR id returned.
func (s *Store) Inconsistencies(ctx context.Context, q store.InconsistencyQuery) ([]store.View, string, error) {
	const op = "boltstore.Inconsistencies"
	after, err := decodeToken(op, q.PageToken)
	if err != nil {
		return nil, "", err
	}
	size := store.PageSizeOf(q.PageSize)
	var out []store.View
	var next string
	err = s.read(ctx, op, func(tx *bolt.Tx) error {
		views := tx.Bucket(bucketIdentities)
		// One field: walk that field's index; any field: the index of all inconsistent views.
		// Both are in QR id order after their prefix.
		c := tx.Bucket(bucketInconsistent).Cursor()
		var prefix []byte
		if q.Field != "" {
			c = tx.Bucket(bucketInconsistentByField).Cursor()
			prefix = identityPrefix(string(q.Field))
		}
		k, _ := c.Seek(append(clone(prefix), after...))
		if after != nil && k != nil && string(k[min(len(prefix), len(k)):]) == string(after) {
			k, _ = c.Next()
		}
		for ; k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			var v store.View
			if err := decodeView(views.Get(k[len(prefix):]), &v); err != nil {
				return err
			}
			if !q.Matches(v) {
				continue
			}
			if len(out) == size {
				next = encodeToken([]byte(out[len(out)-1].QRID))
				return nil
			}
			out = append(out, v)
		}
		return nil
	})
	return out, next, err
}

// Rejections pages through rejections newest first. The page token is the last index key.
func (s *Store) Rejections(ctx context.Context, q store.RejectionQuery) ([]store.Rejected, string, error) {
	const op = "boltstore.Rejections"
	var out []store.Rejected
	next, extra, err := s.newestFirst(ctx, op, bucketRejectionsByTime, q.PageToken, q.PageSize, func(tx *bolt.Tx, k []byte) (bool, error) {
		var r store.Rejected
		if err := json.Unmarshal(tx.Bucket(bucketRejections).Get(k[timeKeyLen:]), &r); err != nil {
			return false, err
		}
		if !q.Matches(r) {
			return false, nil
		}
		out = append(out, r)
		return true, nil
	})
	if extra {
		out = out[:len(out)-1]
	}
	return out, next, err
}

// AccessLog pages through accesses newest first. A page token is the key of the chunk that
// holds the page's last access and that access's index in it.
func (s *Store) AccessLog(ctx context.Context, q store.AccessQuery) ([]store.Access, string, error) {
	const op = "boltstore.AccessLog"
	token, err := decodeToken(op, q.PageToken)
	if err != nil {
		return nil, "", err
	}
	before, below := token, -1 // the chunk to go on in (nil: none), and the index to go on below
	if len(token) == accessKeyLen+4 {
		before, below = token[:accessKeyLen], int(binary.BigEndian.Uint32(token[accessKeyLen:]))
	}
	size := store.PageSizeOf(q.PageSize)
	var out []store.Access
	var next string
	err = s.read(ctx, op, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAccess).Cursor()
		var k, v []byte
		if below > 0 {
			if k, v = c.Seek(before); k == nil || !bytes.Equal(k, before) {
				return errs.Errorf(errs.Invalid, op, "page token names no chunk of the access log")
			}
		} else {
			k, v = lastBelow(c, before)
		}
		var chunk []store.Access
		var lastK []byte // where the last access taken is: valid while the transaction is
		lastI := 0
		for ; k != nil; k, v = c.Prev() {
			var err error
			if chunk, err = decodeAccesses(v, chunk[:0]); err != nil {
				return err
			}
			from := len(chunk)
			if below > 0 {
				from, below = min(below, from), -1
			}
			for i := from - 1; i >= 0; i-- {
				if !q.Matches(chunk[i]) {
					continue
				}
				if len(out) == size { // another page follows: it goes on below the last taken
					next = encodeToken(binary.BigEndian.AppendUint32(clone(lastK), uint32(lastI)))
					return nil
				}
				out = append(out, chunk[i])
				lastK, lastI = k, i
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// lastBelow moves c to the greatest key below before (the last key when before is nil).
func lastBelow(c *bolt.Cursor, before []byte) (k, v []byte) {
	if before == nil {
		return c.Last()
	}
	if k, _ = c.Seek(before); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// newestFirst walks bucket's keys from the greatest down, starting below token, calling take
// for each until it took size+1; take appends what it takes. When it took more than size, the
// caller drops the last one (it opens the next page) and gets the token of the next page.
func (s *Store) newestFirst(ctx context.Context, op string, bucket []byte, token string, pageSize int,
	take func(*bolt.Tx, []byte) (bool, error)) (next string, extra bool, err error) {
	before, err := decodeToken(op, token)
	if err != nil {
		return "", false, err
	}
	size := store.PageSizeOf(pageSize)
	err = s.read(ctx, op, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		taken := 0
		for k, _ := lastBelow(c, before); k != nil; k, _ = c.Prev() {
			ok, err := take(tx, k)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			taken++
			if taken == size {
				next = encodeToken(k)
			}
			if taken > size {
				extra = true
				return nil
			}
		}
		next = ""
		return nil
	})
	return next, extra, err
}

// accessKeyLen is the length of an access bucket key: a time and a sequence number.
const accessKeyLen = timeKeyLen + 8

// AppendAccess records accesses oldest first, in chunks under the time of their first access
// and a sequence number, in one transaction; concurrent calls are coalesced into one commit
// (one fsync).
func (s *Store) AppendAccess(ctx context.Context, as ...store.Access) error {
	const op = "boltstore.AppendAccess"
	if err := ctx.Err(); err != nil {
		return errs.E(errs.Transient, op, err)
	}
	if len(as) == 0 {
		return nil
	}
	sorted := slices.Clone(as)
	slices.SortStableFunc(sorted, func(a, b store.Access) int { return a.At.Compare(b.At) })
	return classify(op, s.commit(len(as), func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAccess)
		b.FillPercent = appendFill // keys are time and sequence: appends, as for versions
		return chunkAccesses(sorted, func(first *store.Access, value []byte) error {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			return b.Put(binary.BigEndian.AppendUint64(appendTime(make([]byte, 0, accessKeyLen), first.At), seq), value)
		})
	}))
}

// Counts returns the counter cells matching q.
func (s *Store) Counts(ctx context.Context, q store.CountQuery) ([]store.Count, error) {
	const op = "boltstore.Counts"
	var out []store.Count
	err := s.read(ctx, op, func(tx *bolt.Tx) error {
		// Cell keys begin with the counter and the day: with a counter, seek to the first day
		// and stop after the last.
		var prefix []byte
		if q.Counter != "" {
			prefix = []byte(store.CellKey(store.Count{Counter: q.Counter}))
			prefix = prefix[:len(q.Counter)+1]
		}
		c := tx.Bucket(bucketCounters).Cursor()
		start := prefix
		if prefix != nil {
			start = append(clone(prefix), q.From...)
		}
		for k, v := c.Seek(start); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			cell, ok := store.ParseCellKey(string(k))
			if !ok || len(v) != 8 {
				return errs.Errorf(errs.Other, op, "corrupt counter cell %q", k)
			}
			if prefix != nil && q.To != "" && cell.Day > q.To {
				break
			}
			if q.Matches(cell) {
				cell.N = int64(binary.BigEndian.Uint64(v))
				out = append(out, cell)
			}
		}
		return nil
	})
	return out, err
}

// RecordPassage stores p once by its ID and counts it.
func (s *Store) RecordPassage(ctx context.Context, p store.Passage) (bool, error) {
	const op = "boltstore.RecordPassage"
	if p.ID == "" {
		return false, errs.Errorf(errs.Invalid, op, "id: required")
	}
	dup := false
	err := s.update(ctx, op, func(tx *bolt.Tx) error {
		dup = false
		b := tx.Bucket(bucketPassages)
		if b.Get([]byte(p.ID)) != nil {
			dup = true
			return nil
		}
		v, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(p.ID), v); err != nil {
			return err
		}
		return addCount(tx.Bucket(bucketCounters), store.PassageCount(p))
	})
	return dup, err
}

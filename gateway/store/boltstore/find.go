package boltstore

import (
	"context"
	"encoding/binary"
	"errors"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// sourcePrefix is the length-prefixed platform and id that start a record key (versions) and
// a subject key (bySubject): every key with this prefix is about exactly this platform's id.
func sourcePrefix(p canonical.Platform, id string) []byte {
	b := make([]byte, 0, len(p)+len(id)+4)
	b = binary.AppendUvarint(b, uint64(len(p)))
	b = append(b, p...)
	b = binary.AppendUvarint(b, uint64(len(id)))
	return append(b, id...)
}

// subjectKey orders a subject's declarations by declared time, then version and record id:
// the platform and subject id (length-prefixed), the declared time, the version and the
// record id (both length-prefixed), which make it unique and give its record key
// (subjectRecord). The subject index keeps the greatest of each subject's (subjects.go).
func subjectKey(d *canonical.Declaration) []byte {
	src := &d.Source
	b := sourcePrefix(src.Platform, src.SubjectID)
	b = appendTime(b, d.DeclaredAt)
	b = binary.AppendUvarint(b, uint64(len(src.Version)))
	b = append(b, src.Version...)
	b = binary.AppendUvarint(b, uint64(len(src.RecordID)))
	return append(b, src.RecordID...)
}

// subjectRecord returns the record key of the platform's declaration whose subject key ends
// with rest, the part after the subject prefix; nil when rest is not the end of one.
func subjectRecord(p canonical.Platform, rest []byte) []byte {
	if len(rest) <= timeKeyLen {
		return nil
	}
	rest = rest[timeKeyLen:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || uint64(len(rest)-w) < n {
		return nil
	}
	version, tail := rest[w:w+int(n)], rest[w+int(n):]
	if m, w := binary.Uvarint(tail); w > 0 && uint64(len(tail)-w) == m {
		return recordKey(store.RecordKey{Platform: p, RecordID: string(tail[w:]), Version: string(version)})
	}
	return nil
}

// IdentityOf finds the identity a record or subject is filed under: a record by its stored
// versions (the newest version's identity), a subject by the subject index (the identity of
// its last declaration in declared-time order). Versions keep the identity they belong to now
// (absorb rewrites them), and the answer is resolved through aliases once more.
func (s *Store) IdentityOf(ctx context.Context, ref store.SourceRef) (string, error) {
	const op = "boltstore.IdentityOf"
	if (ref.RecordID == "") == (ref.SubjectID == "") {
		return "", errs.Errorf(errs.Invalid, op, "exactly one of record id and subject id is required")
	}
	var subjectRec []byte
	if ref.SubjectID != "" {
		if err := s.subjectsReady(ctx, op); err != nil {
			return "", err
		}
		// Noted when its transaction committed: a read transaction begun after this sees it
		// (or, purged since, not at all).
		if rest, ok := s.subjects.last(sourcePrefix(ref.Platform, ref.SubjectID)); ok {
			subjectRec = subjectRecord(ref.Platform, rest)
		}
	}
	var qrid string
	err := s.read(ctx, op, func(tx *bolt.Tx) error {
		versions := tx.Bucket(bucketVersions)
		rec := subjectRec
		if ref.RecordID != "" {
			prefix := sourcePrefix(ref.Platform, ref.RecordID)
			best := ""
			c := versions.Cursor()
			for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
				// The rest of the key is the length-prefixed version.
				n, w := binary.Uvarint(k[len(prefix):])
				if w <= 0 || len(k) != len(prefix)+w+int(n) {
					continue
				}
				if v := string(k[len(prefix)+w:]); rec == nil || v > best {
					best, rec = v, clone(k)
				}
			}
		}
		var val []byte
		if rec != nil {
			val = versions.Get(rec)
		}
		if val == nil {
			return errs.Errorf(errs.NotFound, op, "no declaration of %s with this id", ref.Platform)
		}
		var v version
		if err := decodeVersion(val, &v); err != nil {
			return err
		}
		qrid = v.QRID
		if strong := tx.Bucket(bucketAliases).Get([]byte(qrid)); strong != nil {
			qrid = string(strong)
		}
		return nil
	})
	return qrid, err
}

// subjectsReady waits until the subject index has read the file, or ctx ends.
func (s *Store) subjectsReady(ctx context.Context, op string) error {
	select {
	case <-s.subjects.ready:
	case <-ctx.Done():
		return errs.E(errs.Transient, op, ctx.Err())
	}
	switch err := s.subjects.err; {
	case errors.Is(err, errStopped):
		return errs.E(errs.Transient, op, err)
	case err != nil:
		return errs.Errorf(errs.Other, op, "subject index: %w", err)
	}
	return nil
}

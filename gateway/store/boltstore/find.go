package boltstore

import (
	"context"
	"encoding/binary"

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
// (subjectRecord).
func subjectKey(d *canonical.Declaration) []byte {
	src := &d.Source
	b := sourcePrefix(src.Platform, src.SubjectID)
	b = appendTime(b, d.DeclaredAt)
	b = binary.AppendUvarint(b, uint64(len(src.Version)))
	b = append(b, src.Version...)
	b = binary.AppendUvarint(b, uint64(len(src.RecordID)))
	return append(b, src.RecordID...)
}

// legacySubjectKey is the subject key of builds before subjectKey: the record key in place
// of the record id.
func legacySubjectKey(d *canonical.Declaration, rec []byte) []byte {
	b := sourcePrefix(d.Source.Platform, d.Source.SubjectID)
	b = appendTime(b, d.DeclaredAt)
	b = binary.AppendUvarint(b, uint64(len(d.Source.Version)))
	b = append(b, d.Source.Version...)
	return append(b, rec...)
}

// subjectRecord returns the record key of the platform's declaration whose subject key
// (either form) ends with rest, the part after the subject prefix; nil when rest is neither.
// A record id that is all of what follows the version is this build's form; the record key
// of a legacy key cannot be that, as it holds three length-prefixed strings.
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
	if len(tail) == 0 {
		return nil
	}
	return tail
}

// IdentityOf finds the identity a record or subject is filed under: a record by its stored
// versions (the newest version's identity), a subject by the bySubject index (the identity of
// its last declaration in declared-time order). Versions keep the identity they belong to now
// (absorb rewrites them), and the answer is resolved through aliases once more.
func (s *Store) IdentityOf(ctx context.Context, ref store.SourceRef) (string, error) {
	const op = "boltstore.IdentityOf"
	if (ref.RecordID == "") == (ref.SubjectID == "") {
		return "", errs.Errorf(errs.Invalid, op, "exactly one of record id and subject id is required")
	}
	var qrid string
	err := s.read(ctx, op, func(tx *bolt.Tx) error {
		versions := tx.Bucket(bucketVersions)
		var rec []byte
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
		} else {
			prefix := sourcePrefix(ref.Platform, ref.SubjectID)
			c := tx.Bucket(bucketBySubject).Cursor()
			// The next key after the subject's own keys sorts after prefix+0xff...; step back.
			k, _ := c.Seek(append(clone(prefix), 0xff))
			if k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
			if k != nil && hasPrefix(k, prefix) {
				rec = subjectRecord(ref.Platform, k[len(prefix):])
			}
		}
		if rec == nil {
			return errs.Errorf(errs.NotFound, op, "no declaration of %s with this id", ref.Platform)
		}
		var v version
		if err := decodeVersion(versions.Get(rec), &v); err != nil {
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

// indexSubjects builds the bySubject index from every stored version (once, when a file
// written before the index is opened).
func indexSubjects(tx *bolt.Tx) error {
	bySubject := tx.Bucket(bucketBySubject)
	return tx.Bucket(bucketVersions).ForEach(func(rec, val []byte) error {
		var v version
		if err := decodeVersion(val, &v); err != nil {
			return err
		}
		if v.Declaration.Source.SubjectID == "" {
			return nil
		}
		return bySubject.Put(subjectKey(&v.Declaration), nil)
	})
}

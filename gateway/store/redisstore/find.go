package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// indexHashes is how many small hashes of the source index each bucket has. They stay
// listpack-encoded (a few bytes an entry) while each holds fewer than
// hash-max-listpack-entries (128 by default) entries: 16 × 1024 × 128 = 2 million entries;
// beyond that raise hash-max-listpack-entries (512 gives 8 million) or accept about 70 bytes
// an entry instead of about 30.
const indexHashes = 16

// Kinds of source index entries.
const (
	indexRecord  = 'r'
	indexSubject = 's'
)

// sourceHash is the 64-bit FNV hash of an index entry's kind, platform and id: it picks the
// bucket, one of the bucket's indexHashes hashes (lt:{bN}:x<k>) and the field (its top 32
// bits, which Redis stores as an integer). Two ids whose hashes agree on those 46 bits share
// an entry; IdentityOf checks the identity it finds, so such a collision answers NotFound for
// the one written first, never another person.
func sourceHash(kind byte, p canonical.Platform, id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte{kind})
	_, _ = h.Write([]byte(strconv.Itoa(len(p)) + ":" + string(p)))
	_, _ = h.Write([]byte(id))
	return h.Sum64()
}

// sourceIndex returns the hash key and field of the index entry whose sourceHash is x.
func (k keyspace) sourceIndex(x uint64) (key, field string) {
	b := int(x % buckets)
	sub := int((x / buckets) % indexHashes)
	return k.tag(b) + "x" + strconv.Itoa(sub), strconv.FormatUint(x>>32, 10)
}

// subjectValue is a subject's entry: its declaration's declared time (whole seconds, 0 before
// 1970, 4 bytes big-endian: the script compares it bytewise) and the sourceHash of the
// declaration's record (8 bytes), whose own entry names the identity. Pointing at the record
// rather than repeating the QR id keeps the entry at 12 bytes.
func subjectValue(d *canonical.Declaration) string {
	sec := uint32(min(max(d.DeclaredAt.Unix(), 0), math.MaxUint32))
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 12), sec)
	return string(binary.BigEndian.AppendUint64(b, sourceHash(indexRecord, d.Source.Platform, d.Source.RecordID)))
}

// indexCalls queues the index writes of the accepted items idx, filed under qrid: an HSET
// for each record id (the version written last wins) and, for each subject id, an HSETNX,
// which stores the entry if the subject has none. Where it has one, the returned subject's
// script keeps the entry of the newest declaration. All are idempotent.
func (s *Store) indexCalls(ctx context.Context, pipe redis.Pipeliner, items []store.Item, idx []int, qrid string) ([]*redis.IntCmd, []subjectWrite) {
	var sets []*redis.IntCmd
	var subjects []subjectWrite
	for _, i := range idx {
		d := &items[i].Accepted.Declaration
		key, field := s.k.sourceIndex(sourceHash(indexRecord, d.Source.Platform, d.Source.RecordID))
		sets = append(sets, pipe.HSet(ctx, key, field, qrid))
		if d.Source.SubjectID != "" {
			key, field := s.k.sourceIndex(sourceHash(indexSubject, d.Source.Platform, d.Source.SubjectID))
			val := subjectValue(d)
			subjects = append(subjects, subjectWrite{first: pipe.HSetNX(ctx, key, field, val), key: key, field: field, val: val})
		}
	}
	return sets, subjects
}

// subjectWrite is a subject's index write: HSETNX, then, if the subject had an entry, the
// script that compares them, made only then.
type subjectWrite struct {
	first           *redis.BoolCmd
	key, field, val string
}

// writeIndex stores the index entries of each call's fresh items, and returns once Redis has
// them all: they go before the identities' scripts (in a Cluster, in other slots), so a crash
// in between leaves at worst an entry naming an identity that does not hold the record yet,
// which IdentityOf answers NotFound, and the retried batch writes both. A subject's first
// entry is one HSETNX; only subjects that had one run the comparing script (a second round
// trip, when there are any).
func (s *Store) writeIndex(ctx context.Context, items []store.Item, groups []*group, fresh [][]int) error {
	var sets []*redis.IntCmd
	var subjects []subjectWrite
	runScripts(ctx, s.c, nil, func(pipe redis.Pipeliner) {
		for k, g := range groups {
			st, sc := s.indexCalls(ctx, pipe, items, fresh[k], g.qrid)
			sets = append(sets, st...)
			subjects = append(subjects, sc...)
		}
	})
	for _, c := range sets {
		if err := c.Err(); err != nil {
			return err
		}
	}
	var compare []*scriptCall
	for _, w := range subjects {
		set, err := w.first.Result()
		if err != nil {
			return err
		}
		if !set {
			compare = append(compare, &scriptCall{script: subjectScript, keys: []string{w.key}, args: []any{w.field, w.val}})
		}
	}
	if len(compare) == 0 {
		return nil
	}
	runScripts(ctx, s.c, compare)
	for _, c := range compare {
		if err := c.cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// IdentityOf reads the index entry of ref, follows the identity it names through aliases and
// checks that the identity holds a declaration of ref (so an entry left by a crash, by a
// purge or by a hash collision answers NotFound, never someone else).
//
// A record answers the identity its version written last was filed under; a subject, the
// identity of its declaration with the latest declared second (the one written last among
// equals).
func (s *Store) IdentityOf(ctx context.Context, ref store.SourceRef) (string, error) {
	const op = "redisstore.IdentityOf"
	kind, id := byte(indexRecord), ref.RecordID
	if ref.RecordID == "" {
		kind, id = indexSubject, ref.SubjectID
	}
	if (ref.RecordID == "") == (ref.SubjectID == "") {
		return "", errs.Errorf(errs.Invalid, op, "exactly one of record id and subject id is required")
	}
	notFound := errs.Errorf(errs.NotFound, op, "no declaration of %s with this id", ref.Platform)
	key, field := s.k.sourceIndex(sourceHash(kind, ref.Platform, id))
	val, err := s.c.HGet(ctx, key, field).Result()
	if err == nil && kind == indexSubject {
		// The subject's entry points at its newest declaration's record entry.
		if len(val) != 12 {
			return "", errs.E(errs.Other, op, errCorrupt)
		}
		key, field = s.k.sourceIndex(binary.BigEndian.Uint64([]byte(val[4:])))
		val, err = s.c.HGet(ctx, key, field).Result()
	}
	if errors.Is(err, redis.Nil) {
		return "", notFound
	}
	if err != nil {
		return "", classify(op, err)
	}
	q, st, err := s.resolve(ctx, val)
	if err != nil {
		return "", classify(op, err)
	}
	if !st.exists {
		return "", notFound
	}
	ds, err := s.versions(ctx, q, st)
	if errors.Is(err, errCorrupt) {
		return "", errs.E(errs.Other, op, err)
	}
	if err != nil {
		return "", classify(op, err)
	}
	for i := range ds {
		src := &ds[i].Source
		if src.Platform == ref.Platform && (kind == indexRecord && src.RecordID == id || kind == indexSubject && src.SubjectID == id) {
			return q, nil
		}
	}
	return "", notFound
}

// unindex removes the index entries of purged declarations gone from identity q that no kept
// declaration of q still has: a record's if it still names q, a subject's if it still points
// at a gone record (an entry naming another identity or record is someone else's now).
func (s *Store) unindex(ctx context.Context, q string, gone, keep []canonical.Declaration) error {
	kept := map[uint64]bool{}
	for i := range keep {
		src := &keep[i].Source
		kept[sourceHash(indexRecord, src.Platform, src.RecordID)] = true
	}
	var calls []*scriptCall
	done := map[uint64]bool{}
	for i := range gone {
		src := &gone[i].Source
		rec := sourceHash(indexRecord, src.Platform, src.RecordID)
		if kept[rec] {
			continue
		}
		if !done[rec] {
			done[rec] = true
			key, field := s.k.sourceIndex(rec)
			calls = append(calls, &scriptCall{script: unindexScript, keys: []string{key}, args: []any{field, q, 0}})
		}
		if src.SubjectID != "" {
			key, field := s.k.sourceIndex(sourceHash(indexSubject, src.Platform, src.SubjectID))
			calls = append(calls, &scriptCall{script: unindexScript, keys: []string{key},
				args: []any{field, string(binary.BigEndian.AppendUint64(nil, rec)), 4}})
		}
	}
	runScripts(ctx, s.c, calls)
	for _, c := range calls {
		if err := c.cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

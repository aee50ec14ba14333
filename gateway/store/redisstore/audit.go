package redisstore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

func pageSize(n int) int { return store.PageSizeOf(n) }

func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeToken(op, t string) (string, error) {
	if t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) == 0 {
		return "", errs.Errorf(errs.Invalid, op, "page_token: malformed")
	}
	return string(b), nil
}

// listIndex returns up to n member suffixes (after prefix) from the index keyOf(b) of every
// bucket, in lexical order (reverse order when rev), after the suffix after. It reads the
// next n+1 members of every bucket in one pipeline and keeps the first n of their merge, which
// is exactly the first n overall. It also reports whether more may follow.
func (s *Store) listIndex(ctx context.Context, keyOf func(int) string, prefix, after string, rev bool, n int) ([]string, bool, error) {
	pipe := s.c.Pipeline()
	cmds := make([]*redis.StringSliceCmd, buckets)
	for b := 0; b < buckets; b++ {
		z := redis.ZRangeArgs{Key: keyOf(b), ByLex: true, Rev: rev, Count: int64(n) + 1}
		switch {
		case rev && after == "":
			z.Start, z.Stop = "("+prefix+"\xff", "["+prefix
		case rev:
			z.Start, z.Stop = "("+prefix+after, "["+prefix
		case after == "":
			z.Start, z.Stop = "["+prefix, "("+prefix+"\xff"
		default:
			z.Start, z.Stop = "("+prefix+after, "("+prefix+"\xff"
		}
		cmds[b] = pipe.ZRangeArgs(ctx, z)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, err
	}
	var all []string
	for _, c := range cmds {
		for _, m := range c.Val() {
			all = append(all, strings.TrimPrefix(m, prefix))
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if rev {
		slices.Reverse(all)
	}
	more := len(all) > n
	if more {
		all = all[:n]
	}
	return all, more, nil
}

// Inconsistencies returns views whose platforms disagree, ordered by QRID, paged. A field, a
// pair or both are one index range; a query naming a single platform reads the wider range
// and keeps the views q.Matches.
func (s *Store) Inconsistencies(ctx context.Context, q store.InconsistencyQuery) ([]store.View, string, error) {
	const op = "redisstore.Inconsistencies"
	after, err := decodeToken(op, q.PageToken)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(q.PageSize)
	prefix := incPrefix(q)
	var out []store.View
	for {
		qrids, more, err := s.listIndex(ctx, s.k.inconsistent, prefix, after, false, n)
		if err != nil {
			return nil, "", classify(op, err)
		}
		pipe := s.c.Pipeline()
		cmds := make([]*redis.StringCmd, len(qrids))
		for i, id := range qrids {
			cmds[i] = pipe.Get(ctx, s.k.view(id))
		}
		if len(qrids) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return nil, "", classify(op, err)
			}
		}
		for i, c := range cmds {
			st, err := fromCmd(c, qrids[i])
			if err != nil {
				return nil, "", classify(op, err)
			}
			after = qrids[i]
			if st.exists && st.alias == "" && q.Matches(st.view) {
				out = append(out, st.view)
				if len(out) == n {
					if i < len(qrids)-1 || more {
						return out, encodeToken(after), nil
					}
					return out, "", nil
				}
			}
		}
		if !more {
			return out, "", nil
		}
	}
}

// Rejections returns rejected declarations, newest first, paged.
func (s *Store) Rejections(ctx context.Context, q store.RejectionQuery) ([]store.Rejected, string, error) {
	const op = "redisstore.Rejections"
	after, err := decodeToken(op, q.PageToken)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(q.PageSize)
	suffixes, more, err := s.listIndex(ctx, s.k.rejectionIndex, rejectionPrefix(q), after, true, n)
	if err != nil {
		return nil, "", classify(op, err)
	}
	pipe := s.c.Pipeline()
	cmds := make([]*redis.StringCmd, len(suffixes))
	for i, sfx := range suffixes {
		field := sfx[strings.IndexByte(sfx, '|')+1:] // stamp|record
		cmds[i] = pipe.HGet(ctx, s.k.rejections(bucketOf(field)), field)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", classify(op, err)
	}
	out := make([]store.Rejected, 0, len(suffixes))
	for _, c := range cmds {
		v, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue // purged between the index read and this one
		}
		if err != nil {
			return nil, "", classify(op, err)
		}
		r, err := decodeRejected(v)
		if err != nil {
			return nil, "", errs.E(errs.Other, op, err)
		}
		out = append(out, r)
	}
	next := ""
	if more {
		next = encodeToken(suffixes[len(suffixes)-1])
	}
	return out, next, nil
}

// Counts sums the counter cells of every bucket that match q (one pipeline over the buckets:
// an audit path, not a hot one).
func (s *Store) Counts(ctx context.Context, q store.CountQuery) ([]store.Count, error) {
	const op = "redisstore.Counts"
	pipe := s.c.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, buckets)
	for b := 0; b < buckets; b++ {
		cmds[b] = pipe.HGetAll(ctx, s.k.counters(b))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, classify(op, err)
	}
	sums := map[string]int64{}
	for _, c := range cmds {
		for f, v := range c.Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, errs.Errorf(errs.Other, op, "counter cell %q: %w", f, err)
			}
			sums[f] += n
		}
	}
	out := make([]store.Count, 0, len(sums))
	for f, n := range sums {
		cell, ok := store.ParseCellKey(f)
		if !ok {
			return nil, errs.Errorf(errs.Other, op, "counter cell %q: malformed", f)
		}
		if q.Matches(cell) {
			cell.N = n
			out = append(out, cell)
		}
	}
	store.SortCounts(out)
	return out, nil
}

// RecordPassage stores p once and counts it.
func (s *Store) RecordPassage(ctx context.Context, p store.Passage) (bool, error) {
	const op = "redisstore.RecordPassage"
	if p.ID == "" {
		return false, errs.Errorf(errs.Invalid, op, "passage.id: required")
	}
	b := bucketOf(p.ID)
	n, err := passageScript.Run(ctx, s.c, []string{s.k.passages(b), s.k.counters(b)}, p.ID, store.CellKey(store.PassageCount(p))).Int()
	if err != nil {
		return false, classify(op, err)
	}
	return n == 1, nil
}

// AppendAccess records each access in the bucket of its QRID (or of its principal), all in
// one pipeline: one ZADD of its index members, "<prefix>stamp|bucket|id|<encoded access>",
// under an id drawn at random, so a client's retry after a lost reply adds the same members
// and logs the access once. Plain commands cost Redis a fraction of a script per access, and
// members that carry the access need no record of their own (earlier versions kept it in a
// hash under the id; AccessLog reads both).
func (s *Store) AppendAccess(ctx context.Context, as ...store.Access) error {
	const op = "redisstore.AppendAccess"
	if len(as) == 0 {
		return nil
	}
	pipe := s.c.Pipeline()
	var buf []byte
	for i := range as {
		a := &as[i]
		key := a.QRID
		if key == "" {
			key = a.Principal
		}
		b := bucketOf(key)
		buf = appendStamp(buf[:0], a.At)
		buf = append(buf, '|')
		buf = append(buf, bucketText(b)...)
		buf = append(buf, '|')
		var id [8]byte
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
		buf = hex.AppendEncode(buf, id[:])
		buf = append(buf, '|')
		suffix := string(append(buf, encodeAccess(a)...))
		args := make([]any, 2, 2+2*3) // the command keeps its arguments until Exec
		args[0], args[1] = "zadd", s.k.accessIndex(b)
		for _, p := range accessPrefixes(a) {
			args = append(args, "0", p+suffix)
		}
		pipe.Do(ctx, args...)
	}
	_, err := pipe.Exec(ctx)
	return classify(op, err)
}

func bucketText(b int) string { return strconv.Itoa(10000 + b)[1:] }

// AccessLog returns accesses, newest first, paged. Accesses of one QR id by one principal
// are read from the QR id's index, keeping the principal's (entries of both, "qu|", are no
// longer written; those of earlier versions are left unread).
func (s *Store) AccessLog(ctx context.Context, q store.AccessQuery) ([]store.Access, string, error) {
	const op = "redisstore.AccessLog"
	after, err := decodeToken(op, q.PageToken)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(q.PageSize)
	both := q.QRID != "" && q.Principal != ""
	chunk := n
	if both {
		chunk = max(n, 256) // read past other principals' accesses in fewer round trips
	}
	var out []store.Access
	var at []string // the index suffix of each access in out
	for {
		suffixes, more, err := s.listIndex(ctx, s.k.accessIndex, accessPrefix(q), after, true, chunk)
		if err != nil {
			return nil, "", classify(op, err)
		}
		as, err := s.accessRecords(ctx, op, suffixes)
		if err != nil {
			return nil, "", err
		}
		if !both {
			next := ""
			if more {
				next = encodeToken(suffixes[len(suffixes)-1])
			}
			return as, next, nil
		}
		for i := range as {
			if q.Matches(as[i]) {
				out = append(out, as[i])
				at = append(at, suffixes[i])
			}
		}
		if len(out) > n {
			return out[:n], encodeToken(at[n-1]), nil
		}
		if !more {
			return out, "", nil
		}
		after = suffixes[len(suffixes)-1]
	}
}

// accessRecords returns the accesses of index suffixes: "stamp|bucket|id|<encoded access>",
// or, written by earlier versions, "stamp|bucket|id" naming a record in the bucket's hash.
func (s *Store) accessRecords(ctx context.Context, op string, suffixes []string) ([]store.Access, error) {
	out := make([]store.Access, len(suffixes))
	var pipe redis.Pipeliner
	cmds := make([]*redis.StringCmd, len(suffixes))
	for i, sfx := range suffixes {
		parts := strings.SplitN(sfx, "|", 4)
		if len(parts) < 3 {
			return nil, errs.Errorf(errs.Other, op, "access index member %q", sfx)
		}
		if len(parts) == 4 {
			a, err := decodeAccess(parts[3])
			if err != nil {
				return nil, errs.E(errs.Other, op, err)
			}
			out[i] = a
			continue
		}
		b, err := strconv.Atoi(parts[1])
		if err != nil {
			return nil, errs.Errorf(errs.Other, op, "access index member %q", sfx)
		}
		if pipe == nil {
			pipe = s.c.Pipeline()
		}
		cmds[i] = pipe.HGet(ctx, s.k.access(b), parts[2])
	}
	if pipe == nil {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, classify(op, err)
	}
	for i, c := range cmds {
		if c == nil {
			continue
		}
		v, err := c.Result()
		if err != nil {
			return nil, classify(op, err)
		}
		if out[i], err = decodeAccess(v); err != nil {
			return nil, errs.E(errs.Other, op, err)
		}
	}
	return out, nil
}

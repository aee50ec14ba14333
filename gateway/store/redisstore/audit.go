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

// AppendAccess records accesses, all in one pipeline. An access of a QR id is one entry
// carrying it, "stamp|bucket|id|<encoded access>" (appendAccessEntry), APPENDed to the QR
// id's access key: constant work for Redis, where the sorted-set member that earlier versions
// added, "q|qrid|" and the same, went to a random place of a large skip list
// (BenchmarkAppendAccess, redis-server CPU per access: batches of 256 by one principal
// 3.0-3.4 → 1.0-1.1 µs, of 1,024 by 64 principals 3.3-3.5 → 1.8-1.9 µs; this process's
// 1.5-1.6 → 1.8-2.0 and 2.0-2.1 → 2.4-2.5 µs). The
// accesses of each principal in each second (accessWindow) are one chunk: one HSET of the
// encoded accesses under a random chunk id and one ZADD of two short members naming it,
// "A|window|chunk" (all accesses) and "U|principal|window|chunk", in the principal's bucket.
// Ids are drawn at random before the pipeline, so a client's retry after a lost reply writes
// the same chunks and members, and the same entries again, which readers read once
// (qridAccesses): each access is logged once.
func (s *Store) AppendAccess(ctx context.Context, as ...store.Access) error {
	const op = "redisstore.AppendAccess"
	if len(as) == 0 {
		return nil
	}
	pipe := s.c.Pipeline()
	type chunkKey struct {
		principal string
		window    int64
	}
	chunks := make(map[chunkKey][]*store.Access)
	var order []chunkKey
	var buf []byte
	for i := range as {
		a := &as[i]
		ns := stampNs(a.At)
		k := chunkKey{a.Principal, ns - ns%accessWindow}
		if _, ok := chunks[k]; !ok {
			order = append(order, k)
		}
		chunks[k] = append(chunks[k], a)
		if a.QRID == "" {
			continue // no QR id to find it by: only in its chunk
		}
		buf = appendAccessEntry(buf[:0], a, ns)
		pipe.Append(ctx, s.k.accessesOf(a.QRID), string(buf))
	}
	for _, k := range order {
		b := bucketOf(k.principal)
		buf = appendStampNs(buf[:0], k.window)
		buf = append(buf, '|')
		buf = appendRandomID(buf)
		wc := string(buf) // window|chunk
		pipe.Do(ctx, "hset", s.k.accessChunks(b), wc[len(wc)-16:], encodeAccessChunk(k.principal, chunks[k]))
		_, all := accessPrefixes("")
		_, by := accessPrefixes(k.principal)
		pipe.Do(ctx, "zadd", s.k.accessIndex(b), "0", all+wc, "0", by+wc)
	}
	_, err := pipe.Exec(ctx)
	return classify(op, err)
}

// appendAccessEntry appends an entry of a QR id's access key: the length (uvarint) of the
// access's key "stamp|bucket|id|<encoded access>" (the form of the index members of earlier
// versions, after "q|qrid|"), then the key, with a random id drawn now.
func appendAccessEntry(buf []byte, a *store.Access, ns int64) []byte {
	var key [128]byte
	k := appendStampNs(key[:0], ns)
	k = append(k, '|')
	k = appendBucketText(k, bucketOf(a.QRID))
	k = append(k, '|')
	k = appendRandomID(k)
	k = append(k, '|')
	k = appendAccess(k, a)
	buf = binary.AppendUvarint(buf, uint64(len(k)))
	return append(buf, k...)
}

// qridAccesses returns the keys ("stamp|bucket|id[|<encoded access>]") of up to n accesses
// of qrid sorting before after (all when after is empty), newest first, and whether there
// are more: the entries of its access key and, written by earlier versions, the index
// members "q|qrid|" of every bucket. An entry written twice (a pipeline the client sent
// again after losing its reply) is returned once.
func (s *Store) qridAccesses(ctx context.Context, qrid, after string, n int) ([]string, bool, error) {
	all, more, err := s.listIndex(ctx, s.k.accessIndex, accessQRIDPrefix(qrid), after, true, n)
	if err != nil {
		return nil, false, err
	}
	val, err := s.c.Get(ctx, s.k.accessesOf(qrid)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, err
	}
	for d := (dec{b: val}); len(d.b) > 0; {
		key := d.literal(d.u())
		if d.err != nil {
			return nil, false, errCorrupt
		}
		if after == "" || key < after {
			all = append(all, key)
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	slices.Reverse(all)
	if len(all) > n {
		return all[:n], true, nil
	}
	return all, more, nil
}

// appendRandomID appends 16 hex digits of a random 64-bit id.
func appendRandomID(b []byte) []byte {
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], rand.Uint64())
	return hex.AppendEncode(b, id[:])
}

func bucketText(b int) string { return strconv.Itoa(10000 + b)[1:] }

// appendBucketText appends bucketText(b) to buf.
func appendBucketText(buf []byte, b int) []byte {
	return append(buf, byte('0'+b/1000%10), byte('0'+b/100%10), byte('0'+b/10%10), byte('0'+b%10))
}

// AccessLog returns accesses, newest first, paged. Accesses of a QR id (by one principal or
// any) are read from the QR id's access key and members (qridAccesses); the others from chunks and, written by earlier
// versions, per-access members (accessLogMerged).
func (s *Store) AccessLog(ctx context.Context, q store.AccessQuery) ([]store.Access, string, error) {
	const op = "redisstore.AccessLog"
	after, err := decodeToken(op, q.PageToken)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(q.PageSize)
	if q.QRID == "" {
		return s.accessLogMerged(ctx, op, q, after, n)
	}
	both := q.Principal != ""
	chunk := n
	if both {
		chunk = max(n, 256) // read past other principals' accesses in fewer round trips
	}
	var out []store.Access
	var at []string // the index suffix of each access in out
	for {
		suffixes, more, err := s.qridAccesses(ctx, q.QRID, after, chunk)
		if errors.Is(err, errCorrupt) {
			return nil, "", errs.E(errs.Other, op, err)
		}
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

// chunkReads is how many chunk members accessLogMerged first reads from a bucket: a busy
// gateway writes a chunk of each principal every 20 ms, about 50 in a window, and a round
// that reads fewer than a window's from a bucket learns nothing and reads again. A variable
// so that tests exercise short reads.
var chunkReads = 64

// accessLogMerged returns a page of the accesses of q (naming no QR id) before the key after,
// newest first. Every access has a key that starts with its stamp: an earlier version's
// member's suffix, "stamp|bucket|id[|<access>]", or "stamp|chunk.index" for an access of a
// chunk; the page token is the last key returned.
//
// Each round reads, from every bucket, the next per-access members (up to m) and the next
// chunk members (up to mc, newest window first) before after. A bucket that returned as many
// as asked may hold more, but only older: accesses sorting at or after its frontier (its last
// member, or the end of its last chunk's window) are all read. So every access at or after
// the highest frontier is known, in order; the round fetches the chunks that may hold some,
// returns up to a page of them, and a short page reads on from its last key (with twice
// the counts when a round found nothing).
func (s *Store) accessLogMerged(ctx context.Context, op string, q store.AccessQuery, after string, n int) ([]store.Access, string, error) {
	legacy, chunk := accessPrefixes(q.Principal)
	chunkBuckets := []int{bucketOf(q.Principal)} // a principal's chunks are in its bucket
	if q.Principal == "" {
		chunkBuckets = make([]int, buckets)
		for b := range chunkBuckets {
			chunkBuckets[b] = b
		}
	}
	type cand struct {
		key string
		a   store.Access
	}
	m, mc := n+1, chunkReads
	var out []store.Access
	for {
		pipe := s.c.Pipeline()
		lcmds := make([]*redis.StringSliceCmd, buckets)
		for b := range lcmds {
			z := redis.ZRangeArgs{Key: s.k.accessIndex(b), ByLex: true, Rev: true, Start: "(" + legacy + "\xff", Stop: "[" + legacy, Count: int64(m)}
			if after != "" {
				z.Start = "(" + legacy + after
			}
			lcmds[b] = pipe.ZRangeArgs(ctx, z)
		}
		ccmds := make([]*redis.StringSliceCmd, len(chunkBuckets))
		for i, b := range chunkBuckets {
			// Chunks whose window starts at or before after's stamp.
			z := redis.ZRangeArgs{Key: s.k.accessIndex(b), ByLex: true, Rev: true, Start: "(" + chunk + "\xff", Stop: "[" + chunk, Count: int64(mc)}
			if after != "" {
				z.Start = "(" + chunk + after[:min(len(after), 20)] + "|\xff"
			}
			ccmds[i] = pipe.ZRangeArgs(ctx, z)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, "", classify(op, err)
		}
		frontier, full := "", false
		for _, c := range lcmds {
			if v := c.Val(); len(v) == m {
				full = true
				frontier = max(frontier, strings.TrimPrefix(v[len(v)-1], legacy))
			}
		}
		type chunkRef struct {
			b      int
			id     string
			before string // the end of its window
		}
		var refs []chunkRef
		for i, c := range ccmds {
			v := c.Val()
			for _, mem := range v {
				wc := strings.TrimPrefix(mem, chunk) // window|chunk
				w, id, ok := strings.Cut(wc, "|")
				ns, err := strconv.ParseInt(w, 10, 64)
				if !ok || err != nil || len(w) != 20 || ns < 0 {
					return nil, "", errs.Errorf(errs.Other, op, "access chunk member %q", mem)
				}
				refs = append(refs, chunkRef{chunkBuckets[i], id, windowEnd(ns)})
			}
			if len(v) == mc {
				full = true
				frontier = max(frontier, refs[len(refs)-1].before)
			}
		}
		var cands []cand
		var sfxs []string
		for _, c := range lcmds {
			for _, mem := range c.Val() {
				if sfx := strings.TrimPrefix(mem, legacy); sfx >= frontier {
					sfxs = append(sfxs, sfx)
				}
			}
		}
		as, err := s.accessRecords(ctx, op, sfxs)
		if err != nil {
			return nil, "", err
		}
		for i := range as {
			cands = append(cands, cand{sfxs[i], as[i]})
		}
		refs = slices.DeleteFunc(refs, func(r chunkRef) bool { return r.before <= frontier })
		if len(refs) > 0 {
			pipe := s.c.Pipeline()
			gets := make([]*redis.StringCmd, len(refs))
			for i, r := range refs {
				gets[i] = pipe.HGet(ctx, s.k.accessChunks(r.b), r.id)
			}
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return nil, "", classify(op, err)
			}
			for i, g := range gets {
				v, err := g.Result()
				if errors.Is(err, redis.Nil) {
					continue // its index members were written, its chunk not (yet)
				}
				if err != nil {
					return nil, "", classify(op, err)
				}
				as, err := decodeAccessChunk(v)
				if err != nil {
					return nil, "", errs.E(errs.Other, op, err)
				}
				for j := range as {
					key := stamp(as[j].At) + "|" + refs[i].id + "." + strconv.Itoa(1e8 + j)[1:]
					if key >= frontier && (after == "" || key < after) {
						cands = append(cands, cand{key, as[j]})
					}
				}
			}
		}
		slices.SortFunc(cands, func(x, y cand) int { return strings.Compare(y.key, x.key) })
		for i, c := range cands {
			if !q.Matches(c.a) {
				continue // another principal of the same cleaned name
			}
			out = append(out, c.a)
			if len(out) == n {
				if i < len(cands)-1 || full {
					return out, encodeToken(c.key), nil
				}
				return out, "", nil
			}
		}
		if !full {
			return out, "", nil
		}
		if len(cands) > 0 {
			after = cands[len(cands)-1].key
		} else {
			m, mc = 2*m, 2*mc
		}
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

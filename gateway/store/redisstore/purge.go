package redisstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// purgePage is how many index entries Purge reads from one bucket at a time.
const purgePage = 1000

// Purge deletes declaration versions and rejections declared before cutoff and rebuilds the
// affected views from the versions that remain (counters are kept). It finds identities by
// the per-bucket index of each identity's oldest declared time, and rejections by their
// time-ordered index, a page per bucket at a time: no scan of the key space.
//
// An identity whose oldest version is in the cutoff's own millisecond is read once at the
// end; every other entry it reads is removed or moved past the cutoff, so the pages end.
// Purging is idempotent: replicas may purge at the same time.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int, error) {
	const op = "redisstore.Purge"
	cutoffMs := strconv.FormatInt(cutoff.UnixMilli(), 10)
	total := 0
	ranges := []func(b int) redis.ZRangeArgs{
		func(b int) redis.ZRangeArgs { // identities with a version before the cutoff's millisecond
			return redis.ZRangeArgs{Key: s.k.oldest(b), ByScore: true, Start: "-inf", Stop: "(" + cutoffMs, Count: purgePage}
		},
		func(b int) redis.ZRangeArgs { // identities whose oldest version is in that millisecond
			return redis.ZRangeArgs{Key: s.k.oldest(b), ByScore: true, Start: cutoffMs, Stop: cutoffMs}
		},
		func(b int) redis.ZRangeArgs { // rejections before the cutoff
			return redis.ZRangeArgs{Key: s.k.rejectionIndex(b), ByLex: true, Start: "[a|", Stop: "(a|" + stamp(cutoff), Count: purgePage}
		},
	}
	for i, rangeOf := range ranges {
		active := make([]int, buckets)
		for b := range active {
			active[b] = b
		}
		for len(active) > 0 {
			pipe := s.c.Pipeline()
			cmds := make([]*redis.StringSliceCmd, len(active))
			for j, b := range active {
				cmds[j] = pipe.ZRangeArgs(ctx, rangeOf(b))
			}
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return total, classify(op, err)
			}
			var full []int
			for j, c := range cmds {
				for _, m := range c.Val() {
					var n int
					var err error
					if i < 2 {
						n, err = s.purgeIdentity(ctx, m, cutoff)
					} else {
						n, err = s.purgeRejection(ctx, strings.TrimPrefix(m, "a|"))
					}
					if err != nil {
						return total, classify(op, err)
					}
					total += n
				}
				if i != 1 && len(c.Val()) == purgePage {
					full = append(full, active[j])
				}
			}
			active = full
		}
	}
	return total, nil
}

func (s *Store) purgeIdentity(ctx context.Context, q string, cutoff time.Time) (int, error) {
	for attempt := 0; attempt < s.casRetries; attempt++ {
		pipe := s.c.Pipeline()
		vc := pipe.Get(ctx, s.k.view(q))
		dc := pipe.Get(ctx, s.k.decl(q))
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return 0, err
		}
		st, err := fromCmd(vc, q)
		if err != nil {
			return 0, err
		}
		if st.alias != "" || !st.exists {
			// No identity of its own (any more): its index entry is stale.
			return 0, s.c.ZRem(ctx, s.k.oldest(bucketOf(q)), q).Err()
		}
		all, err := versionsOf(st, dc)
		if err != nil {
			return 0, err
		}
		var gone []string
		var keep, goneDecls []canonical.Declaration
		for _, d := range all {
			if d.DeclaredAt.Before(cutoff) {
				gone = append(gone, recordField(keyOf(&d)))
				goneDecls = append(goneDecls, d)
			} else {
				keep = append(keep, d)
			}
		}
		// Rebuild the view from what remains; the identity stays verified if it was.
		store.SortHistory(keep)
		v := store.View{}
		for _, d := range keep {
			v, _ = store.Apply(v, store.Accepted{Declaration: d, QRID: q, Verified: st.view.Verified})
		}
		var newView []byte // none deletes the identity
		oldest := ""
		switch {
		case len(gone) == 0:
			// Nothing older than the cutoff (a version in its own millisecond): keep the
			// identity as it is, only set its index entry to its exact oldest time.
			v = st.view
			newView = viewValue(&st.view, st.gen, q, all)
			oldest = oldestMs(keep)
		case len(keep) > 0:
			v.Revision = st.rev + 1
			newView = viewValue(&v, st.gen+1, q, keep)
			oldest = oldestMs(keep)
		}
		removed, added := diff(incMembers(&st.view), incMembers(&v))
		args := []any{st.token(), newView, "", q, oldest, len(removed)}
		for _, m := range removed {
			args = append(args, m)
		}
		for _, m := range added {
			args = append(args, m)
		}
		b := bucketOf(q)
		reply, err := purgeScript.Run(ctx, s.c, []string{s.k.view(q), s.k.decl(q), s.k.inconsistent(b), s.k.oldest(b)}, args...).Slice()
		if err != nil {
			return 0, err
		}
		switch code, _ := reply[0].(int64); code {
		case 0:
			// The purged record keys are new to the store again: unmark them.
			pipe := s.c.Pipeline()
			for _, f := range gone {
				key, member := s.k.seen(f)
				pipe.SRem(ctx, key, member)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return 0, err
			}
			// Their index entries go too (IdentityOf would answer NotFound for them anyway).
			if err := s.unindex(ctx, q, goneDecls, keep); err != nil {
				return 0, err
			}
			return len(gone), nil
		case 2:
			return 0, nil // became an alias meanwhile; its data moved
		}
	}
	return 0, errs.Errorf(errs.Conflict, "redisstore.Purge", "identity %q still contended", q)
}

// oldestOf is the oldest declared time of ds in Unix milliseconds; false when ds is empty.
func oldestOf(ds []canonical.Declaration) (int64, bool) {
	if len(ds) == 0 {
		return 0, false
	}
	ms := ds[0].DeclaredAt.UnixMilli()
	for i := range ds[1:] {
		ms = min(ms, ds[i+1].DeclaredAt.UnixMilli())
	}
	return ms, true
}

// oldestMs is the index score of ds: the oldest declared time in Unix milliseconds ("" for
// none, which removes the entry).
func oldestMs(ds []canonical.Declaration) string {
	ms, ok := oldestOf(ds)
	if !ok {
		return ""
	}
	return strconv.FormatInt(ms, 10)
}

func (s *Store) purgeRejection(ctx context.Context, suffix string) (int, error) {
	field := suffix[strings.IndexByte(suffix, '|')+1:]
	b := bucketOf(field)
	v, err := s.c.HGet(ctx, s.k.rejections(b), field).Result()
	if errors.Is(err, redis.Nil) {
		// Purged meanwhile (another replica): make sure its entry goes too.
		return 0, s.c.ZRem(ctx, s.k.rejectionIndex(b), "a|"+suffix).Err()
	}
	if err != nil {
		return 0, err
	}
	r, err := decodeRejected(v)
	if err != nil {
		return 0, err
	}
	members := rejectionMembers(&r, field)
	args := []any{field}
	for _, m := range slices.Compact(members) {
		args = append(args, m)
	}
	return dropScript.Run(ctx, s.c, []string{s.k.rejections(b), s.k.rejectionIndex(b)}, args...).Int()
}

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

// Purge deletes declaration versions and rejections declared before cutoff and rebuilds the
// affected views from the versions that remain (counters are kept). It finds identities by
// the per-bucket index of each identity's oldest declared time, and rejections by their
// time-ordered index: no scan of the key space.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int, error) {
	const op = "redisstore.Purge"
	total := 0
	max := strconv.FormatInt(cutoff.UnixMilli(), 10)
	pipe := s.c.Pipeline()
	olds := make([]*redis.StringSliceCmd, buckets)
	rejs := make([]*redis.StringSliceCmd, buckets)
	for b := 0; b < buckets; b++ {
		olds[b] = pipe.ZRangeByScore(ctx, s.k.oldest(b), &redis.ZRangeBy{Min: "-inf", Max: max})
		rejs[b] = pipe.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.k.rejectionIndex(b), ByLex: true, Start: "[a|", Stop: "(a|" + stamp(cutoff)})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, classify(op, err)
	}
	for b := 0; b < buckets; b++ {
		for _, q := range olds[b].Val() {
			n, err := s.purgeIdentity(ctx, q, cutoff)
			if err != nil {
				return total, classify(op, err)
			}
			total += n
		}
		for _, m := range rejs[b].Val() {
			n, err := s.purgeRejection(ctx, strings.TrimPrefix(m, "a|"))
			if err != nil {
				return total, classify(op, err)
			}
			total += n
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
		st, err := fromCmd(vc)
		if err != nil {
			return 0, err
		}
		if st.alias != "" {
			return 0, nil
		}
		all, err := versionsOf(dc)
		if err != nil {
			return 0, err
		}
		var gone []string
		var keep []canonical.Declaration
		for _, d := range all {
			if d.DeclaredAt.Before(cutoff) {
				gone = append(gone, recordField(keyOf(&d)))
			} else {
				keep = append(keep, d)
			}
		}
		if len(gone) == 0 {
			// Only declarations in the cutoff's own millisecond: nothing is older.
			return 0, nil
		}
		// Rebuild the view from what remains; the identity stays verified if it was.
		sortHistory(keep)
		v := store.View{}
		for _, d := range keep {
			v, _ = store.Apply(v, store.Accepted{Declaration: d, QRID: q, Verified: st.view.Verified})
		}
		newView, versions, oldest := "", "", ""
		if len(keep) > 0 {
			v.Revision = st.rev + 1
			newView = viewValue(&v, st.gen+1)
			versions = encodeVersions(keep)
			min := keep[0].DeclaredAt
			for _, d := range keep[1:] {
				if d.DeclaredAt.Before(min) {
					min = d.DeclaredAt
				}
			}
			oldest = strconv.FormatInt(min.UnixMilli(), 10)
		}
		removed, added := diff(incMembers(&st.view), incMembers(&v))
		args := []any{st.token(), newView, versions, q, oldest, len(removed)}
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
			return len(gone), nil
		case 2:
			return 0, nil // became an alias meanwhile; its data moved
		}
	}
	return 0, errs.Errorf(errs.Conflict, "redisstore.Purge", "identity %q still contended", q)
}

func (s *Store) purgeRejection(ctx context.Context, suffix string) (int, error) {
	field := suffix[strings.IndexByte(suffix, '|')+1:]
	b := bucketOf(field)
	v, err := s.c.HGet(ctx, s.k.rejections(b), field).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	r, err := decodeRejected([]byte(v))
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

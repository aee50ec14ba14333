package redisstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// Leases are a hash (holder, expiry in Unix nanoseconds from Options.Now) beside a fencing
// token that is never deleted, so a token only grows. The expiry is checked against the
// store's injected clock, not Redis' key expiry, so tests drive time without sleeping.

// AcquireLease takes or renews the lease name for holder until now+ttl.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, bool, error) {
	const op = "redisstore.AcquireLease"
	if name == "" || holder == "" {
		return store.Lease{}, false, errs.Errorf(errs.Invalid, op, "lease name and holder: required")
	}
	if ttl <= 0 {
		return store.Lease{}, false, errs.Errorf(errs.Invalid, op, "lease ttl: must be positive, got %v", ttl)
	}
	now := s.now()
	exp := now.Add(ttl)
	reply, err := leaseScript.Run(ctx, s.c, []string{s.k.lease(name), s.k.token(name)},
		holder, strconv.FormatInt(now.UnixNano(), 10), strconv.FormatInt(exp.UnixNano(), 10)).Slice()
	if err != nil {
		return store.Lease{}, false, classify(op, err)
	}
	if len(reply) != 4 {
		return store.Lease{}, false, errs.Errorf(errs.Other, op, "lease script: unexpected reply %v", reply)
	}
	held, _ := reply[0].(int64)
	h, _ := reply[1].(string)
	tokText, _ := reply[2].(string)
	expText, _ := reply[3].(string)
	tok, err1 := strconv.ParseUint(tokText, 10, 64)
	expNs, err2 := strconv.ParseInt(expText, 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return store.Lease{}, false, errs.E(errs.Other, op, err)
	}
	l := store.Lease{Name: name, Holder: h, Token: tok, Expires: time.Unix(0, expNs).In(exp.Location())}
	if held == 1 {
		l.Expires = exp
	}
	return l, held == 1, nil
}

// ReleaseLease gives the lease up if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	const op = "redisstore.ReleaseLease"
	return classify(op, releaseScript.Run(ctx, s.c, []string{s.k.lease(name)}, holder).Err())
}

// Cursor returns partner's stored cursor, or "".
func (s *Store) Cursor(ctx context.Context, partner string) (string, error) {
	const op = "redisstore.Cursor"
	c, err := s.c.Get(ctx, s.k.cursor(partner)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return c, classify(op, err)
}

// SaveCursor stores partner's cursor if fence is the current token of the lease partner.
func (s *Store) SaveCursor(ctx context.Context, partner, cursor string, fence uint64) error {
	const op = "redisstore.SaveCursor"
	n, err := cursorScript.Run(ctx, s.c, []string{s.k.token(partner), s.k.cursor(partner)},
		strconv.FormatUint(fence, 10), cursor).Int()
	if err != nil {
		return classify(op, err)
	}
	if n == 0 {
		return errs.Errorf(errs.Conflict, op, "cursor of %q: fence %d is not the lease's current token", partner, fence)
	}
	return nil
}

package pull

import (
	"context"
	"time"
)

// State is what a runner keeps outside itself: the partner's cursor and its lease. It is
// declared here, where it is used; adapters never import the gateway, so the gateway hands
// its store over through FromStore (or a few lines of its own).
//
// Names: the runner uses the partner's platform name both as the cursor's partner and as
// the lease's name, so SaveCursor's fence is checked against that lease's token.
type State interface {
	// Cursor returns the stored cursor of partner, or "" when none was stored.
	Cursor(ctx context.Context, partner string) (string, error)
	// SaveCursor stores partner's cursor if fence is the current token of the lease of the
	// same name; a stale fence is an errs.Conflict error and stores nothing.
	SaveCursor(ctx context.Context, partner, cursor string, fence uint64) error
	// Lease takes or renews the lease name for holder until now+ttl and returns its fencing
	// token (strictly greater than any earlier holder's) and whether holder has it.
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (token uint64, held bool, err error)
	// ReleaseLease gives the lease up if holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Store is the shape of the gateway's store as far as a runner needs it, generic in the
// store's lease type L so that this package need not import the gateway.
type Store[L any] interface {
	Cursor(ctx context.Context, partner string) (string, error)
	SaveCursor(ctx context.Context, partner, cursor string, fence uint64) error
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (L, bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// FromStore adapts a store whose AcquireLease returns a lease value of type L to State;
// token extracts the fencing token. The gateway calls it as
//
//	pull.FromStore[store.Lease](st, func(l store.Lease) uint64 { return l.Token })
func FromStore[L any](s Store[L], token func(L) uint64) State {
	return storeState[L]{s: s, token: token}
}

type storeState[L any] struct {
	s     Store[L]
	token func(L) uint64
}

func (s storeState[L]) Cursor(ctx context.Context, partner string) (string, error) {
	return s.s.Cursor(ctx, partner)
}

func (s storeState[L]) SaveCursor(ctx context.Context, partner, cursor string, fence uint64) error {
	return s.s.SaveCursor(ctx, partner, cursor, fence)
}

func (s storeState[L]) Lease(ctx context.Context, name, holder string, ttl time.Duration) (uint64, bool, error) {
	l, held, err := s.s.AcquireLease(ctx, name, holder, ttl)
	if err != nil || !held {
		return 0, false, err
	}
	return s.token(l), true, nil
}

func (s storeState[L]) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.s.ReleaseLease(ctx, name, holder)
}

package pull

import (
	"context"
	"testing"
	"time"
)

// lease and leaseStore stand in for gateway/store's Lease and Store, which this package may
// not import: FromStore must adapt any store of that shape.
type lease struct {
	Holder string
	Token  uint64
}

type leaseStore struct {
	*memState
}

func (s leaseStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (lease, bool, error) {
	token, held, err := s.memState.Lease(ctx, name, holder, ttl)
	return lease{Holder: holder, Token: token}, held, err
}

func TestFromStore(t *testing.T) {
	clock := newClock()
	st := FromStore[lease](leaseStore{newState(clock.Now)}, func(l lease) uint64 { return l.Token })
	ctx := context.Background()

	token, held, err := st.Lease(ctx, "ncovi", "replica-a", time.Minute)
	if err != nil || !held || token == 0 {
		t.Fatalf("Lease = %d, %v, %v; want a token", token, held, err)
	}
	if _, held, _ := st.Lease(ctx, "ncovi", "replica-b", time.Minute); held {
		t.Error("replica-b got a lease replica-a holds")
	}
	if err := st.SaveCursor(ctx, "ncovi", "c1", token); err != nil {
		t.Fatalf("SaveCursor: %v", err)
	}
	if err := st.SaveCursor(ctx, "ncovi", "c2", token-1); err == nil {
		t.Error("SaveCursor with a stale fence succeeded")
	}
	if c, err := st.Cursor(ctx, "ncovi"); err != nil || c != "c1" {
		t.Errorf("Cursor = %q, %v; want c1", c, err)
	}
	if err := st.ReleaseLease(ctx, "ncovi", "replica-a"); err != nil {
		t.Fatal(err)
	}
	next, held, err := st.Lease(ctx, "ncovi", "replica-b", time.Minute)
	if err != nil || !held || next <= token {
		t.Errorf("after release Lease = %d, %v, %v; want a token above %d", next, held, err, token)
	}
}

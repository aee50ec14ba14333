package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

func testCursorsAndLeases(t *testing.T, e env) {
	ctx := context.Background()
	const ttl = 30 * time.Second
	acquire := func(holder string) (store.Lease, bool) {
		t.Helper()
		l, ok, err := e.s.AcquireLease(ctx, "ncovi", holder, ttl)
		if err != nil {
			t.Fatalf("AcquireLease(%s): %v", holder, err)
		}
		return l, ok
	}
	cursor := func() string {
		t.Helper()
		c, err := e.s.Cursor(ctx, "ncovi")
		if err != nil {
			t.Fatalf("Cursor: %v", err)
		}
		return c
	}

	a, ok := acquire("replica-a")
	if !ok || a.Holder != "replica-a" || a.Token == 0 || !a.Expires.Equal(e.clock.Now().Add(ttl)) {
		t.Fatalf("first acquire = %+v, %v", a, ok)
	}
	if err := e.s.SaveCursor(ctx, "ncovi", "page-1", a.Token); err != nil {
		t.Fatalf("SaveCursor with the current fence: %v", err)
	}
	if got := cursor(); got != "page-1" {
		t.Errorf("cursor = %q, want page-1", got)
	}

	// Renewal by the holder keeps the token and moves the expiry.
	e.clock.Advance(ttl / 2)
	renewed, ok := acquire("replica-a")
	if !ok || renewed.Token != a.Token || !renewed.Expires.Equal(e.clock.Now().Add(ttl)) {
		t.Errorf("renewal = %+v, %v; want token %d kept", renewed, ok, a.Token)
	}
	// Another replica cannot take a live lease; it is told who has it.
	if l, ok := acquire("replica-b"); ok || l.Holder != "replica-a" {
		t.Errorf("replica-b took a live lease: %+v, %v", l, ok)
	}

	// replica-a stalls past its lease; replica-b takes over with a greater token.
	e.clock.Advance(ttl + time.Second)
	b, ok := acquire("replica-b")
	if !ok || b.Token <= a.Token {
		t.Fatalf("takeover = %+v, %v; want a token above %d", b, ok, a.Token)
	}
	if err := e.s.SaveCursor(ctx, "ncovi", "page-2", b.Token); err != nil {
		t.Fatalf("SaveCursor by the new holder: %v", err)
	}
	// replica-a wakes up and tries to save with its old fence: refused, nothing stored.
	if err := e.s.SaveCursor(ctx, "ncovi", "page-stale", a.Token); !errs.Is(err, errs.Conflict) {
		t.Errorf("SaveCursor with a stale fence: %v, want errs.Conflict", err)
	}
	if got := cursor(); got != "page-2" {
		t.Errorf("cursor = %q, want page-2", got)
	}
	// A fence that was never issued is refused too.
	if err := e.s.SaveCursor(ctx, "ncovi", "page-x", b.Token+100); !errs.Is(err, errs.Conflict) {
		t.Errorf("SaveCursor with an unknown fence: %v, want errs.Conflict", err)
	}
	// No lease of that name at all.
	if err := e.s.SaveCursor(ctx, "tokhaiyte", "x", 1); !errs.Is(err, errs.Conflict) {
		t.Errorf("SaveCursor without a lease: %v, want errs.Conflict", err)
	}

	// Releasing by someone else does nothing; by the holder frees the lease at once.
	if err := e.s.ReleaseLease(ctx, "ncovi", "replica-a"); err != nil {
		t.Fatalf("ReleaseLease by a non-holder: %v", err)
	}
	if _, ok := acquire("replica-c"); ok {
		t.Error("a release by a non-holder freed the lease")
	}
	if err := e.s.ReleaseLease(ctx, "ncovi", "replica-b"); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	c, ok := acquire("replica-c")
	if !ok || c.Token <= b.Token {
		t.Errorf("acquire after release = %+v, %v; want a token above %d", c, ok, b.Token)
	}
	// Leases are independent by name.
	other, ok, err := e.s.AcquireLease(ctx, string(canonical.PlatformTokhaiyte), "replica-a", ttl)
	if err != nil || !ok || other.Name != "tokhaiyte" {
		t.Errorf("other lease = %+v, %v, %v", other, ok, err)
	}
}

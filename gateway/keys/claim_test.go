package keys_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/keys"
	"github.com/lienthong/lienthong/gateway/store"
	"github.com/lienthong/lienthong/gateway/store/boltstore"
	"github.com/lienthong/lienthong/gateway/store/redisstore"
	"github.com/lienthong/lienthong/test/redistest"
)

// A store remembers the identity secret its QR ids come from: the same secret is welcome again
// (every start claims it), another is refused by fingerprint, never by value, on both stores.
func TestClaimIdentitySecret(t *testing.T) {
	ctx := context.Background()
	stores := map[string]func(t *testing.T) store.Leases{
		"embedded": func(t *testing.T) store.Leases {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "claim.db"), boltstore.Options{Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"redis": func(t *testing.T) store.Leases {
			srv := redistest.Start(t, redistest.Options{})
			opts, err := redisstore.ParseTarget(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			st, err := redisstore.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	first := []byte("the first replica's identity secret, 32+ bytes")
	other := []byte("another replica's identity secret, also 32+ b")
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			for i := 0; i < 2; i++ {
				if err := keys.ClaimIdentitySecret(ctx, st, first); err != nil {
					t.Fatalf("claim %d of the first secret: %v", i+1, err)
				}
			}
			err := keys.ClaimIdentitySecret(ctx, st, other)
			if !errs.Is(err, errs.Conflict) {
				t.Fatalf("another secret: got %v, want a conflict", err)
			}
			msg := err.Error()
			for _, want := range []string{keys.Fingerprint(first), keys.Fingerprint(other), keys.IdentitySecretFile} {
				if !strings.Contains(msg, want) {
					t.Errorf("the refusal %q does not name %s", msg, want)
				}
			}
			if strings.Contains(msg, string(first)) || strings.Contains(msg, string(other)) {
				t.Errorf("the refusal shows a secret: %q", msg)
			}
			if err := keys.ClaimIdentitySecret(ctx, st, first); err != nil {
				t.Fatalf("the first secret after a refusal: %v", err)
			}
		})
	}
}

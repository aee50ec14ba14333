package keys

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/store"
)

// secretClaim is the lease under which a store keeps the fingerprint of the identity secret
// its QR ids were derived with; its holder is "fingerprint:" and the fingerprint. The lease
// never lapses in practice: each start renews it for a century.
const (
	secretClaim    = "identity-secret"
	claimHolder    = "fingerprint:"
	secretClaimTTL = 100 * 365 * 24 * time.Hour
)

// Fingerprint names an identity secret without revealing it: the first 16 bytes of its HMAC of
// a fixed text, in hex.
func Fingerprint(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("lienthong identity secret fingerprint v1"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ClaimIdentitySecret binds the store to secret the first time and refuses any other secret
// afterwards (an errs.Conflict error naming both fingerprints): a replica started with another
// secret would file the citizens it ingests under other QR ids, splitting every identity in two.
// A store written before the claim existed is bound to the first secret that claims it.
func ClaimIdentitySecret(ctx context.Context, leases store.Leases, secret []byte) error {
	const op = "keys.ClaimIdentitySecret"
	fp := Fingerprint(secret)
	l, held, err := leases.AcquireLease(ctx, secretClaim, claimHolder+fp, secretClaimTTL)
	if err != nil {
		return errs.E(errs.KindOf(err), op, err)
	}
	if !held {
		return errs.Errorf(errs.Conflict, op,
			"the store's QR ids were derived with another identity secret (fingerprint %s) than this replica's %s (fingerprint %s): give every replica the same %s file",
			strings.TrimPrefix(l.Holder, claimHolder), IdentitySecretFile, fp, IdentitySecretFile)
	}
	return nil
}

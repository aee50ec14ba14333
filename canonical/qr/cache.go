package qr

import (
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
)

// VerifyCache remembers signed QRs whose signature verified, so that a QR shown again (at the
// next station, at the same station after a retry) costs a map lookup instead of an Ed25519
// verification, the dearest step of a lookup. A remembered QR is accepted only with the same
// text, while the key that signed it is still in the key set with the same public key, and
// within its validity at the time asked: as strict as Verify.
type VerifyCache struct {
	max  int
	mu   sync.RWMutex
	seen map[string]verified // the QR text as read (after prepare) → what verified it
}

type verified struct {
	token Token
	pub   ed25519.PublicKey
}

// NewVerifyCache returns a cache of at most size QRs (at least 1).
func NewVerifyCache(size int) *VerifyCache {
	return &VerifyCache{max: max(1, size), seen: map[string]verified{}}
}

// Parse is the package's Parse with signed QRs verified through the cache.
func (c *VerifyCache) Parse(s string, keys KeySet, now time.Time) (Scan, error) {
	return parse(s, keys, now, c.Verify)
}

// Verify is the package's Verify, remembering the QRs that verify.
func (c *VerifyCache) Verify(s string, keys KeySet, now time.Time) (Token, error) {
	c.mu.RLock()
	v, ok := c.seen[s]
	c.mu.RUnlock()
	if ok && keys != nil {
		if pub, found := keys.PublicKey(v.token.KeyID); found && pub.Equal(v.pub) {
			if err := checkValidity(v.token, now); err != nil {
				return Token{}, err
			}
			return v.token, nil
		}
	}
	t, err := Verify(s, keys, now)
	if err != nil {
		return t, err
	}
	pub, _ := keys.PublicKey(t.KeyID) // Verify found it
	c.mu.Lock()
	if len(c.seen) >= c.max {
		for k := range c.seen { // forget one at random: the map's order
			delete(c.seen, k)
			break
		}
	}
	c.seen[s] = verified{token: t, pub: pub}
	c.mu.Unlock()
	return t, nil
}

// checkValidity fails with ErrNotYetValid or ErrExpired when now is outside t's validity.
func checkValidity(t Token, now time.Time) error {
	const op = "qr.Verify"
	if now.Add(ClockSkew).Before(t.IssuedAt) {
		return errs.E(errs.Invalid, op, fmt.Errorf("%w: issued at %s, after this device's clock", ErrNotYetValid, t.IssuedAt.Format(time.RFC3339)))
	}
	if !now.Before(t.ExpiresAt) {
		return errs.E(errs.Invalid, op, fmt.Errorf("%w: expired at %s; ask for a new one", ErrExpired, t.ExpiresAt.Format(time.RFC3339)))
	}
	return nil
}

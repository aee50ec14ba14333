package qr

import (
	"errors"
	"testing"
	"time"
)

// TestVerifyCacheIsAsStrictAsVerify: a remembered QR answers as Verify would at every step of
// its life: valid, then expired; refused once its key leaves the key set or is replaced; a
// forged QR is never remembered into validity.
func TestVerifyCacheIsAsStrictAsVerify(t *testing.T) {
	s := testSigner(t, "k2026-11", 1)
	keys := Keys{"k2026-11": s.PublicKey()}
	qr := s.Sign(token)
	c := NewVerifyCache(8)
	at := issued.Add(time.Hour)
	for i := 0; i < 2; i++ { // the first call verifies, the second remembers
		got, err := c.Verify(qr, keys, at)
		want, werr := Verify(qr, keys, at)
		if err != nil || werr != nil || got != want {
			t.Fatalf("call %d: cache %+v, %v; Verify %+v, %v", i, got, err, want, werr)
		}
	}
	if len(c.seen) != 1 {
		t.Fatalf("%d QRs remembered, want 1", len(c.seen))
	}
	cases := []struct {
		name string
		keys KeySet
		at   time.Time
		want error
	}{
		{"expired", keys, token.ExpiresAt, ErrExpired},
		{"before issue (beyond the clock skew)", keys, issued.Add(-ClockSkew - time.Second), ErrNotYetValid},
		{"key withdrawn", Keys{}, at, ErrUnknownKey},
		{"no key set", nil, at, ErrUnknownKey},
		{"key id now names another key", Keys{"k2026-11": testSigner(t, "k2026-11", 2).PublicKey()}, at, ErrBadSignature},
	}
	for _, tc := range cases {
		got, err := c.Verify(qr, tc.keys, tc.at)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if got != (Token{}) {
			t.Errorf("%s: token %+v returned with the error", tc.name, got)
		}
	}

	forged := []byte(qr)
	forged[len(forged)-5] ^= 1
	for i := 0; i < 2; i++ {
		if _, err := c.Verify(string(forged), keys, at); err == nil {
			t.Fatalf("call %d: a forged QR verified", i)
		}
	}
	if _, ok := c.seen[string(forged)]; ok {
		t.Error("a forged QR was remembered")
	}
}

// TestVerifyCacheIsBounded: a flood of distinct valid QRs never holds more than the cache's
// size, and every one still verifies.
func TestVerifyCacheIsBounded(t *testing.T) {
	s := testSigner(t, "k2026-11", 1)
	keys := Keys{"k2026-11": s.PublicKey()}
	c := NewVerifyCache(4)
	for i := 0; i < 20; i++ {
		tok := token
		tok.IssuedAt = issued.Add(time.Duration(i) * time.Second)
		if _, err := c.Verify(s.Sign(tok), keys, issued.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if len(c.seen) > 4 {
			t.Fatalf("%d QRs remembered, want at most 4", len(c.seen))
		}
	}
}

// TestVerifyCacheParse: Parse through the cache reads every form as Parse does, the signed QR
// included when a scanner adds spaces and a newline.
func TestVerifyCacheParse(t *testing.T) {
	s := testSigner(t, "k2026-11", 1)
	keys := Keys{"k2026-11": s.PublicKey()}
	c := NewVerifyCache(8)
	at := issued.Add(time.Hour)
	for _, in := range []string{" " + s.Sign(token) + "\r\n", s.Sign(token), testQRID, "not a qr", ""} {
		for i := 0; i < 2; i++ {
			got, err := c.Parse(in, keys, at)
			want, werr := Parse(in, keys, at)
			if (err == nil) != (werr == nil) || got != want {
				t.Errorf("Parse(%q) call %d: cache %+v, %v; Parse %+v, %v", in, i, got, err, want, werr)
			}
		}
	}
}

package qr

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Test keys from fixed seeds: Ed25519 is deterministic, so signed QRs are golden-testable.
func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

func testSigner(t testing.TB, keyID string, seed byte) *Signer {
	t.Helper()
	s, err := NewSigner(keyID, testKey(seed))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testQRID = "xzygqzidkw2763cic3toezf4"

var (
	issued = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	token  = Token{QRID: testQRID, IssuedAt: issued, ExpiresAt: issued.Add(72 * time.Hour)}
)

func TestSignVerify(t *testing.T) {
	s := testSigner(t, "k2026-11", 1)
	keys := Keys{"k2026-11": s.PublicKey()}
	qr := s.Sign(token)
	got, err := Verify(qr, keys, issued.Add(time.Hour))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := token
	want.KeyID = "k2026-11"
	if got != want {
		t.Errorf("Verify = %+v, want %+v", got, want)
	}
	golden(t, "signed.golden", qr+"\n")
}

// The package doc promises these lengths; the QR must stay small enough for version 8-M.
func TestSignedLength(t *testing.T) {
	for _, tt := range []struct {
		keyID string
		want  int
	}{{"k", 123}, {"k2026-11", 132}, {"0123456789abcdef", 143}} {
		if got := len(testSigner(t, tt.keyID, 1).Sign(token)); got != tt.want {
			t.Errorf("key id %q: length %d, want %d", tt.keyID, got, tt.want)
		}
	}
}

func TestVerifyFailures(t *testing.T) {
	s := testSigner(t, "k2026-11", 1)
	other := testSigner(t, "k2026-11", 2) // same key id, another private key
	keys := Keys{"k2026-11": s.PublicKey(), "old": testSigner(t, "old", 3).PublicKey()}
	good := s.Sign(token)
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(good, SignedPrefix))
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return SignedPrefix + base64.RawURLEncoding.EncodeToString(b)
	}
	now := issued.Add(time.Hour)
	tests := []struct {
		name string
		qr   string
		now  time.Time
		want error
	}{
		{"forged by another key under our key id", other.Sign(token), now, ErrBadSignature},
		{"QR id changed", flip(0), now, ErrBadSignature},
		{"expiry moved", flip(identity.QRIDBytes + 7), now, ErrBadSignature},
		{"signature damaged", flip(len(raw) - 1), now, ErrBadSignature},
		// A key id changed to another one we hold: the signature, made under another id, fails.
		{"key id swapped", swapKeyID(raw, "old"), now, ErrBadSignature},
		{"unknown key id", testSigner(t, "k2027-01", 1).Sign(token), now, ErrUnknownKey},
		{"expired at the second", good, token.ExpiresAt, ErrExpired},
		{"expired long ago", good, token.ExpiresAt.AddDate(1, 0, 0), ErrExpired},
		// Checkpoint clocks drift; five minutes early is still accepted, more is not.
		{"issued beyond the clock skew", good, issued.Add(-ClockSkew - time.Second), ErrNotYetValid},
		{"issued within the clock skew", good, issued.Add(-ClockSkew), nil},
		{"valid until the last second", good, token.ExpiresAt.Add(-time.Second), nil},
		{"truncated by one character", good[:len(good)-1], now, ErrMalformed},
		{"truncated to half", good[:len(good)/2], now, ErrMalformed},
		{"one character too many", good + "A", now, ErrMalformed},
		{"base64 garbage", SignedPrefix + strings.Repeat("!", 127), now, ErrMalformed},
		{"standard base64 instead of url", SignedPrefix + base64.RawStdEncoding.EncodeToString(raw[:len(raw)-3]) + "+/+/", now, ErrMalformed},
		{"padded base64", good[:len(good)-3] + "=", now, ErrMalformed},
		// Go's base64 decoder skips line breaks; a scanner's break inside the code is damage.
		{"line break inside", good[:40] + "\n" + good[40:], now, ErrMalformed},
		{"no prefix", strings.TrimPrefix(good, SignedPrefix), now, ErrMalformed},
		{"lower-case prefix", "lt1." + strings.TrimPrefix(good, SignedPrefix), now, ErrMalformed},
		{"empty", "", now, ErrMalformed},
		{"prefix only", SignedPrefix, now, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.qr, keys, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Errorf("Verify error kind = %v, want invalid", errs.KindOf(err))
			}
			if strings.Contains(err.Error(), testQRID) {
				t.Errorf("error %q repeats the QR id", err)
			}
		})
	}
}

// A non-canonical last base64 character (unused low bits set) decodes to the same bytes in a
// lenient decoder; the strict one refuses it, so one token has exactly one text.
// swapKeyID rewrites the key id of a decoded signed QR, keeping the rest.
func swapKeyID(raw []byte, keyID string) string {
	const h = identity.QRIDBytes + 8
	b := append([]byte(nil), raw[:h]...)
	b = append(b, byte(len(keyID)))
	b = append(b, keyID...)
	b = append(b, raw[len(raw)-ed25519.SignatureSize:]...)
	return SignedPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyRejectsNonCanonicalBase64(t *testing.T) {
	s := testSigner(t, "k2026-11", 1)
	good := s.Sign(token)
	// 96 bytes = 32 groups of 3: no unused bits; drop a byte of the key id to get 95 bytes,
	// where the last character carries 4 bits and 2 unused.
	s = testSigner(t, "k2026-1", 1)
	good = s.Sign(token)
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", good[len(good)-1])
	alt := good[:len(good)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	if _, err := Verify(good, Keys{"k2026-1": s.PublicKey()}, issued); err != nil {
		t.Fatalf("canonical form: %v", err)
	}
	if _, err := Verify(alt, Keys{"k2026-1": s.PublicKey()}, issued); !errors.Is(err, ErrMalformed) {
		t.Errorf("non-canonical base64: err = %v, want ErrMalformed", err)
	}
}

func TestSignRejectsUnencodableTokens(t *testing.T) {
	s := testSigner(t, "k2026-11", 1)
	tests := []struct {
		name string
		tok  Token
	}{
		{"QR id of the wrong shape", Token{QRID: "ABC", IssuedAt: issued, ExpiresAt: issued.Add(time.Hour)}},
		{"expires before issued", Token{QRID: testQRID, IssuedAt: issued, ExpiresAt: issued.Add(-time.Hour)}},
		{"expires when issued", Token{QRID: testQRID, IssuedAt: issued, ExpiresAt: issued}},
		{"before 1970", Token{QRID: testQRID, IssuedAt: time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), ExpiresAt: issued}},
		{"after 2106", Token{QRID: testQRID, IssuedAt: issued, ExpiresAt: time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.SignToken(tt.tok)
			if !errors.Is(err, ErrMalformed) || !errs.Is(err, errs.Invalid) || out != "" {
				t.Errorf("SignToken = %q, %v; want ErrMalformed of kind invalid", out, err)
			}
			if s.Sign(tt.tok) != "" {
				t.Error("Sign returned a QR for an unencodable token")
			}
		})
	}
}

func TestNewSignerRejectsBadInput(t *testing.T) {
	for _, tt := range []struct {
		name  string
		keyID string
		priv  ed25519.PrivateKey
	}{
		{"empty key id", "", testKey(1)},
		{"key id too long", strings.Repeat("k", MaxKeyIDLen+1), testKey(1)},
		{"key id with a space", "k 1", testKey(1)},
		{"key id with non-ASCII", "khóa", testKey(1)},
		{"short private key", "k1", testKey(1)[:32]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSigner(tt.keyID, tt.priv); !errs.Is(err, errs.Invalid) {
				t.Errorf("NewSigner err = %v, want kind invalid", err)
			}
		})
	}
}

// Property: Verify(Sign(t)) returns t exactly, for any QR id, whole-second times and key id.
func TestSignVerifyRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const idChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
	for i := range 500 {
		var b [identity.QRIDBytes]byte
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		kid := make([]byte, 1+rng.IntN(MaxKeyIDLen))
		for j := range kid {
			kid[j] = idChars[rng.IntN(len(idChars))]
		}
		iat := int64(rng.Uint32N(1 << 31))
		tok := Token{
			QRID:      identity.EncodeQRID(b),
			IssuedAt:  time.Unix(iat, 0).UTC(),
			ExpiresAt: time.Unix(iat+1+int64(rng.Uint32N(1<<30)), 0).UTC(),
			KeyID:     string(kid),
		}
		s := testSigner(t, tok.KeyID, byte(i))
		got, err := Verify(s.Sign(tok), Keys{tok.KeyID: s.PublicKey()}, tok.IssuedAt)
		if err != nil || got != tok {
			t.Fatalf("round trip of %+v = %+v, %v", tok, got, err)
		}
	}
}

// Sub-second times are truncated, and a local zone comes back as UTC.
func TestSignTruncatesToSeconds(t *testing.T) {
	s := testSigner(t, "k1", 1)
	tok := Token{QRID: testQRID, IssuedAt: issued.Add(900 * time.Millisecond).In(time.FixedZone("ICT", 7*3600)),
		ExpiresAt: issued.Add(time.Hour + time.Millisecond)}
	got, err := Verify(s.Sign(tok), Keys{"k1": s.PublicKey()}, issued)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(issued) || got.IssuedAt.Location() != time.UTC || !got.ExpiresAt.Equal(issued.Add(time.Hour)) {
		t.Errorf("Verify = %+v", got)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"hash"
	"sync"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// QRIDBytes is how many bytes of the HMAC a QR id keeps: 120 bits.
const QRIDBytes = 15

// QRIDLen is the length of a QR id in characters: 15 bytes in base32 are 24 characters,
// with no padding.
const QRIDLen = 24

// MinSecretLen is the shortest identity secret NewDeriver accepts, in bytes.
const MinSecretLen = 32

// Alphabet is the QR id alphabet: RFC 4648 base32 in lower case (a–z then 2–7). It has no 0,
// 1, 8 or 9, so a QR id is never mistaken for a document or phone number.
const Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

var qridEncoding = base32.NewEncoding(Alphabet).WithPadding(base32.NoPadding)

// Derivation is the QR identity of one person.
type Derivation struct {
	QRID     string   // the QR id of Key
	Key      Key      // the strongest key the person carries (KeyOf)
	Verified bool     // Key rests on an identity document, not on phone+name+year
	Aliases  []string // the QR ids of AliasKeys, strongest first; they resolve to QRID
}

// Deriver computes QR ids with one deployment's identity secret. It is safe for concurrent
// use.
type Deriver struct {
	pool sync.Pool // of *hmacState, reset before each use
}

// hmacState is one keyed HMAC with the buffers a QRID call needs, reused through the pool so
// that deriving allocates only the QR id string.
type hmacState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// NewDeriver returns a Deriver for the identity secret, which must be at least MinSecretLen
// bytes (an error of kind Invalid otherwise). The secret is copied.
func NewDeriver(secret []byte) (*Deriver, error) {
	if len(secret) < MinSecretLen {
		return nil, errs.Errorf(errs.Invalid, "identity.NewDeriver",
			"identity secret is %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	key := append([]byte(nil), secret...)
	d := &Deriver{}
	d.pool.New = func() any { return &hmacState{h: hmac.New(sha256.New, key), buf: make([]byte, 0, 64)} }
	return d, nil
}

// QRID returns the QR id of k: HMAC-SHA256(secret, k.String()) truncated to 15 bytes and
// encoded in base32 with Alphabet, 24 characters. The zero Key gives "".
func (d *Deriver) QRID(k Key) string {
	if k.Kind == KindNone {
		return ""
	}
	st := d.pool.Get().(*hmacState)
	st.h.Reset()
	st.buf = append(append(append(st.buf[:0], k.Kind.String()...), ':'), k.Value...) // k.String()
	st.h.Write(st.buf)
	st.h.Sum(st.sum[:0])
	var out [QRIDLen]byte
	qridEncoding.Encode(out[:], st.sum[:QRIDBytes])
	d.pool.Put(st)
	return string(out[:])
}

// Derive returns the QR identity of an already-normalized person; ok is false when nothing
// identifies the person (see KeyOf).
func (d *Deriver) Derive(p canonical.Person) (Derivation, bool) {
	var keys [maxKeys]Key
	n := candidates(p, &keys)
	if n == 0 {
		return Derivation{}, false
	}
	der := Derivation{QRID: d.QRID(keys[0]), Key: keys[0], Verified: keys[0].Verified()}
	if n > 1 {
		der.Aliases = make([]string, 0, n-1)
		for _, k := range keys[1:n] {
			der.Aliases = append(der.Aliases, d.QRID(k))
		}
	}
	return der, true
}

// LooksLikeQRID reports whether s has the exact shape of a QR id: 24 characters of Alphabet.
func LooksLikeQRID(s string) bool {
	if len(s) != QRIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// ErrNotQRID is returned (with kind Invalid) by DecodeQRID for a string of another shape.
var ErrNotQRID = errors.New("not a QR id")

// DecodeQRID returns the 15 bytes a QR id encodes; EncodeQRID(DecodeQRID(s)) == s.
func DecodeQRID(s string) ([QRIDBytes]byte, error) {
	var b [QRIDBytes]byte
	if !LooksLikeQRID(s) {
		return b, errs.E(errs.Invalid, "identity.DecodeQRID", ErrNotQRID)
	}
	if _, err := qridEncoding.Decode(b[:], []byte(s)); err != nil {
		return b, errs.E(errs.Invalid, "identity.DecodeQRID", ErrNotQRID)
	}
	return b, nil
}

// EncodeQRID returns the QR id whose bytes are b.
func EncodeQRID(b [QRIDBytes]byte) string {
	var out [QRIDLen]byte
	qridEncoding.Encode(out[:], b[:])
	return string(out[:])
}

// Package qr reads and writes the QR codes a checkpoint meets: the gateway's own signed QR,
// the unified personal QR of decision 1405/QĐ-BTTTT, the chip ID card's QR and a bare QR id.
//
// The gateway's signed QR is "LT1." followed by base64url (no padding) of a 24-byte header,
// the key id and a 64-byte Ed25519 signature:
//
//	QRID (15 bytes, the base32-decoded QR id) | issued at (uint32, Unix seconds, big endian) |
//	expires at (uint32, Unix seconds) | key id length n (1 byte) | key id (n = 1–16 bytes) |
//	signature (64 bytes)
//
// The signature covers "LT1." and everything before it. The QR is 4 + ceil((88+n)·4/3)
// characters: 132 for an 8-byte key id such as "k2026-11", at most 143 for a 16-byte one.
// That fits QR version 8 at error-correction level M (152 bytes; version 6 at level L), as
// github.com/skip2/go-qrcode encodes the 132-character form, which a phone reads at arm's
// length. Times are whole seconds from 1970 to 2106. The key id length makes a truncated scan
// read as truncated rather than as signed by an unknown key.
package qr

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/canonical/identity"
)

// SignedPrefix starts every QR the gateway signs: the gateway ("LT", Liên thông) and the
// format version.
const SignedPrefix = "LT1."

// MaxKeyIDLen is the longest key id, in bytes.
const MaxKeyIDLen = 16

// ClockSkew is how far ahead of the verifier's clock a token may have been issued and still be
// accepted: checkpoint devices' clocks drift. Expiry gets no such grace.
const ClockSkew = 5 * time.Minute

const (
	headerLen = identity.QRIDBytes + 4 + 4 + 1 // QRID, issued at, expires at, key id length
	minRawLen = headerLen + 1 + ed25519.SignatureSize
	maxRawLen = headerLen + MaxKeyIDLen + ed25519.SignatureSize
)

// The ways a QR can fail to verify or parse. Every error the package returns wraps one of them
// (match with errors.Is) and has kind errs.Invalid.
var (
	ErrMalformed    = errors.New("malformed QR code")
	ErrUnknownKey   = errors.New("QR code signed with an unknown key")
	ErrBadSignature = errors.New("QR code signature does not verify")
	ErrExpired      = errors.New("QR code has expired")
	ErrNotYetValid  = errors.New("QR code is not valid yet")
)

// Token is what the gateway's signed QR says: whose QR id it is and for how long it is valid.
type Token struct {
	QRID      string
	IssuedAt  time.Time // UTC, whole seconds
	ExpiresAt time.Time // UTC, whole seconds
	KeyID     string    // the id of the key that signed it
}

// KeySet gives the public key for a key id.
type KeySet interface {
	PublicKey(keyID string) (ed25519.PublicKey, bool)
}

// Keys is a KeySet held in a map from key id to public key.
type Keys map[string]ed25519.PublicKey

// PublicKey returns the key with id keyID.
func (k Keys) PublicKey(keyID string) (ed25519.PublicKey, bool) {
	pub, ok := k[keyID]
	return pub, ok && len(pub) == ed25519.PublicKeySize
}

var _ KeySet = Keys(nil)

// Signer signs tokens with one Ed25519 key. It is safe for concurrent use.
type Signer struct {
	keyID string
	priv  ed25519.PrivateKey
}

// NewSigner returns a Signer for the private key, whose public key is known under keyID.
// keyID must be 1 to MaxKeyIDLen bytes of ASCII letters, digits, '-', '_' and '.'. Errors have
// kind errs.Invalid.
func NewSigner(keyID string, priv ed25519.PrivateKey) (*Signer, error) {
	if !validKeyID(keyID) {
		return nil, errs.Errorf(errs.Invalid, "qr.NewSigner",
			"key id must be 1 to %d of A-Z a-z 0-9 - _ .", MaxKeyIDLen)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errs.Errorf(errs.Invalid, "qr.NewSigner",
			"private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	return &Signer{keyID: keyID, priv: append(ed25519.PrivateKey(nil), priv...)}, nil
}

// KeyID returns the id of the signer's key.
func (s *Signer) KeyID() string { return s.keyID }

// PublicKey returns the public key that verifies the signer's QR codes.
func (s *Signer) PublicKey() ed25519.PublicKey {
	return s.priv.Public().(ed25519.PublicKey)
}

// Sign returns the signed QR text for t under the signer's key id (t.KeyID is ignored), or ""
// when t cannot be encoded; SignToken says why. Times are truncated to whole seconds.
func (s *Signer) Sign(t Token) string {
	out, err := s.SignToken(t)
	if err != nil {
		return ""
	}
	return out
}

// SignToken is Sign with an error (kind errs.Invalid, wrapping ErrMalformed) when t.QRID is
// not a QR id, a time is outside 1970–2106, or t expires before it is issued.
func (s *Signer) SignToken(t Token) (string, error) {
	const op = "qr.Sign"
	qrid, err := identity.DecodeQRID(t.QRID)
	if err != nil {
		return "", errs.E(errs.Invalid, op, fmt.Errorf("%w: token QR id is not a QR id", ErrMalformed))
	}
	iat, ok1 := unix32(t.IssuedAt)
	exp, ok2 := unix32(t.ExpiresAt)
	if !ok1 || !ok2 {
		return "", errs.E(errs.Invalid, op, fmt.Errorf("%w: token time outside 1970-2106", ErrMalformed))
	}
	if exp <= iat {
		return "", errs.E(errs.Invalid, op, fmt.Errorf("%w: token expires before it is issued", ErrMalformed))
	}
	msg := make([]byte, 0, len(SignedPrefix)+headerLen+len(s.keyID)+ed25519.SignatureSize)
	msg = append(msg, SignedPrefix...)
	msg = append(msg, qrid[:]...)
	msg = binary.BigEndian.AppendUint32(msg, iat)
	msg = binary.BigEndian.AppendUint32(msg, exp)
	msg = append(msg, byte(len(s.keyID)))
	msg = append(msg, s.keyID...)
	msg = append(msg, ed25519.Sign(s.priv, msg)...)
	return SignedPrefix + base64.RawURLEncoding.EncodeToString(msg[len(SignedPrefix):]), nil
}

var strictB64 = base64.RawURLEncoding.Strict()

// Verify checks a signed QR text against keys at time now and returns its token. In order, it
// fails with ErrMalformed (not this format), ErrUnknownKey, ErrBadSignature, ErrNotYetValid
// (issued more than ClockSkew after now) or ErrExpired (now at or after the expiry), each
// wrapped with kind errs.Invalid. Nothing about a token is trusted before its signature is. A
// nil keys knows no key.
func Verify(s string, keys KeySet, now time.Time) (Token, error) {
	const op = "qr.Verify"
	malformed := func(why string) (Token, error) {
		return Token{}, errs.E(errs.Invalid, op, fmt.Errorf("%w: %s", ErrMalformed, why))
	}
	if !strings.HasPrefix(s, SignedPrefix) {
		return malformed("not a gateway QR code (no " + SignedPrefix + " prefix)")
	}
	body := s[len(SignedPrefix):]
	if len(body) > base64.RawURLEncoding.EncodedLen(maxRawLen) {
		return malformed("gateway QR code is too long")
	}
	if len(body) < base64.RawURLEncoding.EncodedLen(minRawLen) {
		return malformed("gateway QR code is too short (truncated?)")
	}
	raw, err := strictB64.DecodeString(body)
	if err != nil || !isBase64URL(body) { // the decoder skips '\r' and '\n'; one token, one text
		return malformed("gateway QR code holds characters outside base64url (damaged?)")
	}
	if len(raw) < minRawLen || len(raw) > maxRawLen {
		return malformed("gateway QR code has the wrong length (truncated?)")
	}
	if int(raw[headerLen-1]) != len(raw)-minRawLen+1 {
		return malformed("gateway QR code has the wrong length (truncated?)")
	}
	signed, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	keyID := string(signed[headerLen:])
	if !validKeyID(keyID) {
		return malformed("gateway QR code has a damaged key id")
	}
	var pub ed25519.PublicKey
	ok := false
	if keys != nil {
		pub, ok = keys.PublicKey(keyID)
	}
	if !ok || len(pub) != ed25519.PublicKeySize {
		return Token{}, errs.E(errs.Invalid, op, fmt.Errorf("%w: key id %q is not one of the gateway's keys", ErrUnknownKey, keyID))
	}
	msg := make([]byte, 0, len(SignedPrefix)+len(signed))
	msg = append(append(msg, SignedPrefix...), signed...)
	if !ed25519.Verify(pub, msg, sig) {
		return Token{}, errs.E(errs.Invalid, op, fmt.Errorf("%w: forged or damaged", ErrBadSignature))
	}
	var qrid [identity.QRIDBytes]byte
	copy(qrid[:], signed)
	iat := binary.BigEndian.Uint32(signed[identity.QRIDBytes:])
	exp := binary.BigEndian.Uint32(signed[identity.QRIDBytes+4:])
	t := Token{
		QRID:      identity.EncodeQRID(qrid),
		IssuedAt:  time.Unix(int64(iat), 0).UTC(),
		ExpiresAt: time.Unix(int64(exp), 0).UTC(),
		KeyID:     keyID,
	}
	if exp <= iat {
		return malformed("gateway QR code expires before it is issued")
	}
	if err := checkValidity(t, now); err != nil {
		return Token{}, err
	}
	return t, nil
}

// unix32 returns t as whole Unix seconds when they fit a uint32.
func unix32(t time.Time) (uint32, bool) {
	u := t.Unix()
	if u < 0 || u > int64(^uint32(0)) {
		return 0, false
	}
	return uint32(u), true
}

func validKeyID(id string) bool {
	if id == "" || len(id) > MaxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Package identity derives the QR identity of the person a declaration is about: the
// strongest identity key the person carries and its keyed hash, the QR id.
//
// Every gateway replica and every platform computes the same QR id for the same person without
// coordination: the key is built from normalized fields only and hashed with the deployment's
// identity secret (HMAC-SHA256), so no personal data can be read back from the QR id. A QR id
// is the first 120 bits of the HMAC in lower-case RFC 4648 base32 without padding (alphabet
// a–z and 2–7): 24 characters, such as "xzygqzidkw2763cic3toezf4".
package identity

import (
	"strconv"
	"strings"

	"github.com/lienthong/lienthong/canonical"
)

// KeyKind says which identity a Key rests on, strongest first.
type KeyKind int8

// The key kinds, strongest first. KindNone is the zero value: no key.
const (
	KindNone     KeyKind = iota
	KindCCCD             // 12-digit citizen identity card number
	KindCMND             // 9- or 12-digit older identity card number
	KindPassport         // passport number with its issuing nationality
	KindWeak             // phone + folded name + birth year: unverified
)

// String returns the kind's prefix as used in Key.String ("cccd", "weak", ...).
func (k KeyKind) String() string {
	switch k {
	case KindCCCD:
		return "cccd"
	case KindCMND:
		return "cmnd"
	case KindPassport:
		return "passport"
	case KindWeak:
		return "weak"
	}
	return "none"
}

// Key is an identity key: what a QR id is the hash of. Its Value is the kind-specific part of
// String ("079090001234", "VN:B1234567", "+84912345678|nguyen van an|1990").
type Key struct {
	Kind  KeyKind
	Value string
}

// String formats the key as "kind:value", e.g. "cccd:079090001234", "cmnd:123456789",
// "passport:VN:B1234567" or "weak:+84912345678|nguyen van an|1990". Distinct keys give distinct
// strings: the value's parts never contain the separator that ends them (a phone has no '|', a
// nationality is two letters, a birth year is digits at the end). The zero Key gives "".
func (k Key) String() string {
	if k.Kind == KindNone {
		return ""
	}
	return k.Kind.String() + ":" + k.Value
}

// Verified reports whether the key rests on an identity document (it is not weak).
func (k Key) Verified() bool {
	return k.Kind == KindCCCD || k.Kind == KindCMND || k.Kind == KindPassport
}

// KeyOf returns the strongest identity key of an already-normalized person: the CCCD number;
// else a CMND number (the document, or a former CMND the declaration carries); else the
// passport number with its nationality; else the weak key of phone, folded name and birth
// year (all three required: a phone alone never identifies anyone, families share phones).
// ok is false when nothing identifies the person. A document whose number does not have its
// type's shape is ignored, so the person falls to the next key.
func KeyOf(p canonical.Person) (Key, bool) {
	var keys [maxKeys]Key
	n := candidates(p, &keys)
	if n == 0 {
		return Key{}, false
	}
	return keys[0], true
}

// AliasKeys returns the weaker keys of the same person, which must resolve to KeyOf(p): the
// CMND key when a CCCD declaration carries the former CMND, and the weak key when the person
// has a stronger key and also a phone, folded name and birth year. They are in strength order
// and never include KeyOf(p) itself; nil when there are none.
func AliasKeys(p canonical.Person) []Key {
	var keys [maxKeys]Key
	n := candidates(p, &keys)
	if n <= 1 {
		return nil
	}
	out := make([]Key, n-1)
	copy(out, keys[1:n])
	return out
}

// maxKeys bounds the keys one person can carry: CCCD, CMND, former CMND, passport, weak.
const maxKeys = 5

// candidates writes every key the person carries, strongest first and without duplicates,
// and returns how many.
func candidates(p canonical.Person, out *[maxKeys]Key) int {
	n := 0
	add := func(k Key) {
		for i := 0; i < n; i++ {
			if out[i] == k {
				return
			}
		}
		out[n] = k
		n++
	}
	doc := p.Document
	if doc.Type == canonical.DocumentCCCD && isCCCD(doc.Number) {
		add(Key{Kind: KindCCCD, Value: doc.Number})
	}
	if doc.Type == canonical.DocumentCMND && isCMND(doc.Number) {
		add(Key{Kind: KindCMND, Value: doc.Number})
	}
	if isCMND(p.FormerCMND) {
		add(Key{Kind: KindCMND, Value: p.FormerCMND})
	}
	if doc.Type == canonical.DocumentPassport && isPassport(doc.Number) && isNationality(p.Nationality) {
		add(Key{Kind: KindPassport, Value: p.Nationality + ":" + doc.Number})
	}
	if k, ok := weakKey(p); ok {
		add(k)
	}
	return n
}

// weakKey is phone|name key|birth year, when all three are present and in form.
func weakKey(p canonical.Person) (Key, bool) {
	if !isE164(p.Phone) || strings.TrimSpace(p.NameKey) == "" || p.BirthDate.Precision == canonical.PrecisionNone ||
		p.BirthDate.Year < 1 || p.BirthDate.Year > 9999 {
		return Key{}, false
	}
	return Key{Kind: KindWeak, Value: p.Phone + "|" + p.NameKey + "|" + strconv.Itoa(p.BirthDate.Year)}, true
}

// isCCCD: 12 digits.
func isCCCD(s string) bool { return len(s) == 12 && allDigits(s) }

// isCMND: 9 or 12 digits.
func isCMND(s string) bool { return (len(s) == 9 || len(s) == 12) && allDigits(s) }

// isPassport: 5 to 20 upper-case letters and digits (foreign passports vary).
func isPassport(s string) bool {
	if len(s) < 5 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// isNationality: an ISO 3166-1 alpha-2 code in upper case.
func isNationality(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// isE164: '+' then 8 to 15 digits.
func isE164(s string) bool {
	return len(s) >= 9 && len(s) <= 16 && s[0] == '+' && allDigits(s[1:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

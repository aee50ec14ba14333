package qr

import (
	"strings"

	"github.com/lienthong/lienthong/canonical"
)

// MaskedPrefix is how many leading characters of a document number a 1405 QR may mask.
const MaskedPrefix = 6

const maxDocumentLen = 20

// parseDocument classifies a document number that may be masked: 12 digits is a CCCD, 9 a
// CMND, letters and digits a passport. It returns why it is not a number ("" when it is). An
// empty number is no document and no error.
func parseDocument(s string) (canonical.Document, bool, string) {
	if s == "" {
		return canonical.Document{}, false, ""
	}
	if len(s) > maxDocumentLen {
		return canonical.Document{}, false, "is longer than any identity document number"
	}
	masked := 0
	for masked < len(s) && s[masked] == '*' {
		masked++
	}
	if masked > MaskedPrefix {
		return canonical.Document{}, false, "is masked beyond its first 6 characters"
	}
	if masked == len(s) {
		return canonical.Document{}, false, "is masked entirely"
	}
	letters := false
	for i := masked; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			letters = true
		case c == '*':
			return canonical.Document{}, false, "has '*' after its first characters"
		default:
			return canonical.Document{}, false, "holds characters other than digits and capital letters"
		}
	}
	doc := canonical.Document{Number: s}
	switch {
	case letters:
		if len(s) < 6 {
			return canonical.Document{}, false, "is too short for a passport number"
		}
		doc.Type = canonical.DocumentPassport
	case len(s) == 12:
		doc.Type = canonical.DocumentCCCD
	case len(s) == 9:
		doc.Type = canonical.DocumentCMND
	default:
		return canonical.Document{}, false, "is not a CCCD (12 digits), CMND (9 digits) or passport number"
	}
	return doc, masked > 0, ""
}

// MaskDocumentNumber masks the first MaskedPrefix characters of a document number with '*',
// as a 1405 QR does by default, leaving at least 3 characters readable; an already masked
// number is returned as it is.
func MaskDocumentNumber(n string) string {
	if n == "" || strings.HasPrefix(n, "*") {
		return n
	}
	k := min(MaskedPrefix, len(n)-3)
	if k <= 0 {
		return n
	}
	return strings.Repeat("*", k) + n[k:]
}

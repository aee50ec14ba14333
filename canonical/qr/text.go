package qr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// prepare checks the size and encoding of a QR text and trims what scanners add around it.
func prepare(op, s string) (string, error) {
	if len(s) > MaxLen {
		return "", malformed(op, fmt.Sprintf("QR text is %d bytes, more than the %d a personal QR can hold", len(s), MaxLen))
	}
	if !utf8.ValidString(s) {
		return "", malformed(op, "QR text is not valid UTF-8 (damaged or not a personal QR)")
	}
	s = strings.Trim(s, " \t\r\n\v\f\u00a0\ufeff")
	if s == "" {
		return "", malformed(op, "QR text is empty")
	}
	return s, nil
}

// cleanName returns a name in NFC with single spaces, and why it is not a name ("" when it is).
func cleanName(s string) (string, string) {
	if hasControl(s) {
		return "", "holds control characters"
	}
	s = strings.Join(strings.Fields(norm.NFC.String(s)), " ")
	if s == "" {
		return "", "is empty"
	}
	if utf8.RuneCountInString(s) > maxNameLen {
		return "", fmt.Sprintf("is longer than %d characters", maxNameLen)
	}
	letters := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
		}
		if unicode.IsDigit(r) {
			return "", "holds digits (fields out of order?)"
		}
		if !(unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || r == ' ' || r == '.' || r == '-' || r == '\'') {
			return "", "holds characters that are not letters"
		}
	}
	if letters == 0 {
		return "", "holds no letters"
	}
	return s, ""
}

const maxNameLen = 100

// fold returns s without diacritics, đ as d, in lower case, single-spaced: the match form
// ("Nguyễn Thị Thuý" → "nguyen thi thuy"): NFD, combining marks dropped, NFC, đ/Đ mapped,
// lower case, spaces collapsed.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	s = norm.NFC.String(b.String())
	b.Reset()
	for _, r := range s {
		if r == 'đ' || r == 'Đ' {
			r = 'd'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// hasControl reports control characters (C0, DEL, C1) in s.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

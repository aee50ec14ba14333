package canonical

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeText puts text in the stored form: NFC, trimmed, and every run of white space
// (any Unicode space, tabs and line breaks included) replaced by one space. Text that is not
// valid UTF-8 is returned unchanged, for Validate to report: it is never repaired silently.
func NormalizeText(s string) string {
	if !utf8.ValidString(s) {
		return s
	}
	if isCleanASCII(s) {
		return s
	}
	// Collapse first, then compose; composing can turn a compatibility space into another
	// space (U+2000 → U+2002), so collapse again when it changed anything.
	s = collapseSpaces(s)
	if !norm.NFC.IsNormalString(s) {
		s = collapseSpaces(norm.NFC.String(s))
	}
	return s
}

// isCleanASCII reports whether s is ASCII, without control characters other than single
// inner spaces: the common case, which needs no work.
func isCleanASCII(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	prev := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c < ' ' || c == 0x7f || (c == ' ' && prev == ' ') {
			return false
		}
		prev = c
	}
	return true
}

// collapseSpaces trims s and replaces each inner run of white space with one space.
func collapseSpaces(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FoldName returns the match key of a name, as domain.md defines it: NFD, combining marks
// dropped, NFC, đ/Đ mapped to d, lower case, white space collapsed. "Hoà Bình", "Hòa Bình" and
// their NFD forms all give "hoa binh". The key merges distinct names (Dũng and Dung): it is for
// matching, never for showing or identifying. Invalid UTF-8 bytes become U+FFFD in the key
// (the name itself is left alone, and Validate rejects it).
func FoldName(s string) string {
	if isFoldedASCII(s) {
		return s
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	ascii := isASCII(s)
	if !ascii {
		s = norm.NFD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if r == ' ' || (r >= '\t' && r <= '\r') {
				pending = b.Len() > 0
				continue
			}
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
		case unicode.IsSpace(r):
			pending = b.Len() > 0
			continue
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		default:
			r = unicode.ToLower(r)
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if !ascii {
		out = norm.NFC.String(out)
	}
	return out
}

// isFoldedASCII reports whether s is already a folded ASCII key: lower case, single inner
// spaces, no control characters.
func isFoldedASCII(s string) bool {
	if !isCleanASCII(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// matchKey folds s (FoldName) and keeps only its letters and digits, so that spacing and
// punctuation do not matter: "TP. Hồ Chí Minh" → "tphochiminh", "Thừa Thiên - Huế" →
// "thuathienhue". Invalid UTF-8 gives "".
func matchKey(s string) string {
	if !utf8.ValidString(s) {
		return ""
	}
	var buf [64]byte
	b := buf[:0]
	if isASCII(s) {
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				b = append(b, c)
			case c >= 'A' && c <= 'Z':
				b = append(b, c+'a'-'A')
			}
		}
		return string(b)
	}
	for _, r := range FoldName(s) {
		if r < utf8.RuneSelf {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
				b = append(b, byte(r))
			}
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b)
}

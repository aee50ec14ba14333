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
	if isCleanASCII(s) || isCleanLatin(s) {
		return s
	}
	if !utf8.ValidString(s) {
		return s
	}
	// Collapse first, then compose; composing can turn a compatibility space into another
	// space (U+2000 → U+2002), so collapse again when it changed anything.
	if needsCollapse(s) {
		s = collapseSpaces(s)
	}
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

// needsCollapse reports whether s has leading or trailing white space, a run of it, or
// white space other than U+0020.
func needsCollapse(s string) bool {
	prevSpace := true // a space at the start needs trimming
	for _, r := range s {
		switch {
		case r == ' ':
			if prevSpace {
				return true
			}
			prevSpace = true
		case (r < utf8.RuneSelf && r >= '\t' && r <= '\r') || (r >= utf8.RuneSelf && unicode.IsSpace(r)):
			return true
		default:
			prevSpace = false
		}
	}
	return prevSpace && s != ""
}

// isCleanLatin reports whether s is already in form as far as a quick scan can tell: valid
// UTF-8 of ASCII and precomposed Latin letters that are NFC on their own and never combine
// with a neighbour (so the whole is NFC), single inner U+0020 spaces, nothing to trim. This
// covers Vietnamese text in NFC. false means "look closer", not "not in form".
func isCleanLatin(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	prevSpace := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' {
				if prevSpace {
					return false
				}
				prevSpace = true
			} else {
				if c >= '\t' && c <= '\r' {
					return false
				}
				prevSpace = false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !latinStable(r) {
			return false
		}
		prevSpace = false
		i += size
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
// dropped, NFC, đ/Đ mapped to d, lower case, white space collapsed. "Hoà Bình", "Hòa Bình"
// and their NFD forms all give "hoa binh". Invisible format characters (a byte-order mark,
// zero-width spaces, soft hyphens) are dropped too. The key merges distinct names (Dũng and
// Dung): it is for matching, never for showing or identifying. Invalid UTF-8 bytes become
// U+FFFD in the key (the name itself is left alone, and Validate rejects it).
func FoldName(s string) string {
	if isFoldedASCII(s) {
		return s
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if out, ok := foldLatin(s); ok {
		return out
	}
	return foldGeneral(s)
}

// foldGeneral is FoldName by the book: NFD, drop combining marks, NFC, đ → d, lower case.
func foldGeneral(s string) string {
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
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r):
			continue // marks, and invisible format characters (BOM, zero-width space, soft hyphen)
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

// latinFold maps each precomposed letter of Latin-1, Latin Extended-A/B and Latin Extended
// Additional (where Vietnamese lives) to its folded base letter, as foldGeneral would fold it
// alone; 0 where the fold is not a single rune. Built once from norm's data.
var latinFold = buildLatinFold()

const (
	latinLo, latinHi       = 0x00C0, 0x024F
	latinExtLo, latinExtHi = 0x1E00, 0x1EFF
)

// latinNFC marks the letters of the same ranges that are NFC on their own and start a new
// segment (never compose with what precedes them), so a string of them and ASCII is NFC.
var latinNFC = buildLatinNFC()

func buildLatinNFC() []bool {
	table := make([]bool, len(latinFold))
	for i := range table {
		r := latinRune(i)
		str := string(r)
		table[i] = norm.NFC.IsNormalString(str) && norm.NFC.PropertiesString(str).BoundaryBefore() &&
			norm.NFC.PropertiesString(str).CCC() == 0 && !unicode.IsSpace(r)
	}
	return table
}

// latinStable reports whether r is one of latinNFC's letters.
func latinStable(r rune) bool {
	if i := latinIndex(r); i >= 0 {
		return latinNFC[i]
	}
	return false
}

// latinRune is the rune at index i of the Latin tables.
func latinRune(i int) rune {
	if i > latinHi-latinLo {
		return rune(latinExtLo + i - (latinHi - latinLo + 1))
	}
	return rune(latinLo + i)
}

// latinIndex is the index of r in the Latin tables, or -1.
func latinIndex(r rune) int {
	switch {
	case r >= latinLo && r <= latinHi:
		return int(r - latinLo)
	case r >= latinExtLo && r <= latinExtHi:
		return (latinHi - latinLo + 1) + int(r-latinExtLo)
	}
	return -1
}

func buildLatinFold() []rune {
	table := make([]rune, (latinHi-latinLo+1)+(latinExtHi-latinExtLo+1))
	for i := range table {
		f := []rune(foldGeneral(string(latinRune(i))))
		if len(f) == 1 {
			table[i] = f[0]
		}
	}
	return table
}

func latinFoldOf(r rune) rune {
	if i := latinIndex(r); i >= 0 {
		return latinFold[i]
	}
	return 0
}

// foldLatin folds s without normalization tables when every rune of it is ASCII, a Latin
// letter of latinFold, or a combining diacritical mark (U+0300–U+036F, as NFD text has them):
// the common case of Vietnamese names in NFC or NFD. ok is false otherwise.
func foldLatin(s string) (string, bool) {
	var buf [128]byte
	b := buf[:0]
	pending := false
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if r == ' ' || (r >= '\t' && r <= '\r') {
				pending = len(b) > 0
				continue
			}
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
		case (r >= 0x0300 && r <= 0x036F) || r == 0x00AD:
			continue // combining marks; the soft hyphen (a format character)
		case r == 0x00A0:
			pending = len(b) > 0
			continue
		default:
			f := latinFoldOf(r)
			if f == 0 {
				return "", false
			}
			r = f
		}
		if pending {
			b = append(b, ' ')
			pending = false
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b), true
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
	var buf [64]byte
	return string(appendMatchKey(buf[:0], s))
}

// appendMatchKey appends the matchKey of s to b.
func appendMatchKey(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		return b
	}
	if !isASCII(s) {
		s = FoldName(s)
	}
	for _, r := range s {
		if r < utf8.RuneSelf {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
				b = append(b, byte(r))
			case r >= 'A' && r <= 'Z':
				b = append(b, byte(r+'a'-'A'))
			}
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

package sim

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/lienthong/lienthong/canonical"
)

// stripMarks removes Vietnamese diacritics and maps đ/Đ to d/D, keeping case: "Nguyễn Văn
// Đạt" → "Nguyen Van Dat", as NCOVI exported names and as older clients typed provinces.
func stripMarks(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'đ':
			b.WriteRune('d')
		case r == 'Đ':
			b.WriteRune('D')
		default:
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

// foldName is the name's match key (canonical.FoldName).
func foldName(s string) string { return canonical.FoldName(s) }

// nfd returns the decomposed form some input methods produce.
func nfd(s string) string { return norm.NFD.String(s) }

// bareProvince strips the type from an official province name: "Tỉnh Đồng Nai" → "Đồng Nai".
func bareProvince(name string) string {
	for _, prefix := range []string{"Thành phố ", "Tỉnh "} {
		if strings.HasPrefix(name, prefix) {
			return strings.TrimPrefix(name, prefix)
		}
	}
	return name
}

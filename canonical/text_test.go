package canonical

import (
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestNormalizeText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"clean ASCII unchanged", "Nguyen Van An", "Nguyen Van An"},
		{"trimmed", "  Nguyễn Văn An \t", "Nguyễn Văn An"},
		{"inner runs collapse", "Nguyễn  \t Văn\n\nAn", "Nguyễn Văn An"},
		{"NFD composed to NFC", norm.NFD.String("Nguyễn Văn Dũng"), "Nguyễn Văn Dũng"},
		// U+00A0 (no-break space) and U+3000 (ideographic space) are white space too.
		{"unicode spaces", "Lê\u00a0Thị\u3000Hoa", "Lê Thị Hoa"},
		// NFC does not unify old and new tone placement: both spellings are kept as typed.
		{"old tone placement kept", "Hoà Bình", "Hoà Bình"},
		{"new tone placement kept", "Hòa Bình", "Hòa Bình"},
		{"case kept", "NGUYỄN VĂN AN", "NGUYỄN VĂN AN"},
		// Invalid UTF-8 is never repaired: Validate reports it.
		{"invalid UTF-8 left as is", " ab\xffc ", " ab\xffc "},
		// Control characters that are not white space stay for Validate to report.
		{"control kept", "a\x00b", "a\x00b"},
		{"only spaces", " \t\n ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NormalizeText(tt.in)
			if got != tt.want {
				t.Errorf("NormalizeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := NormalizeText(got); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
}

func TestFoldName(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"new tone placement", "Hòa Bình", "hoa binh"},
		{"old tone placement", "Hoà Bình", "hoa binh"},
		{"NFD", norm.NFD.String("Hoà Bình"), "hoa binh"},
		// Đ does not decompose: it is mapped explicitly.
		{"đ and Đ", "Đặng Thị Đào", "dang thi dao"},
		{"upper case without diacritics", "NGUYEN VAN AN", "nguyen van an"},
		{"spaces collapse", "  Trần\t\tThị   Bích ", "tran thi bich"},
		{"already folded", "le van tam", "le van tam"},
		{"Dũng folds like Dung", "Dũng", "dung"},
		{"ư and ơ lose their horns", "Trương Thị Hường Ơn", "truong thi huong on"},
		{"empty", "", ""},
		// A byte-order mark or zero-width space pasted into a name must not break matching.
		{"invisible format characters", "\ufeffNguyễn\u200b Văn\u00ad An", "nguyen van an"},
		// The key is derived data; invalid bytes become U+FFFD rather than breaking it.
		{"invalid UTF-8", "An\xff", "an\ufffd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FoldName(tt.in)
			if got != tt.want {
				t.Errorf("FoldName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := FoldName(got); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
}

// The folded key matches NFC and NFD spellings of one name, but the names themselves stay
// distinct: Dũng and Dung are different people's names with the same key.
func TestNamesFoldEqualButStayDistinct(t *testing.T) {
	pairs := []struct {
		name     string
		a, b     string
		sameName bool
	}{
		{"NFC and NFD of one name", "Nguyễn Văn Dũng", norm.NFD.String("Nguyễn Văn Dũng"), true},
		{"tone placement", "Lê Thị Thuý", "Lê Thị Thúy", false},
		{"Dũng and Dung", "Nguyễn Văn Dũng", "Nguyễn Văn Dung", false},
		{"case and diacritics", "NGUYEN VAN DUNG", "Nguyễn Văn Dũng", false},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			da := Normalize(Declaration{Person: Person{FullName: p.a}})
			db := Normalize(Declaration{Person: Person{FullName: p.b}})
			if da.Person.NameKey != db.Person.NameKey {
				t.Errorf("keys differ: %q vs %q", da.Person.NameKey, db.Person.NameKey)
			}
			if (da.Person.FullName == db.Person.FullName) != p.sameName {
				t.Errorf("FullName %q vs %q: equal = %v, want %v", da.Person.FullName, db.Person.FullName, !p.sameName, p.sameName)
			}
		})
	}
}

func TestMatchKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"TP. Hồ Chí Minh", "tphochiminh"},
		{"Thừa Thiên – Huế", "thuathienhue"}, // an en dash, as word processors type it
		{"Bà Rịa-Vũng Tàu", "bariavungtau"},
		{"People's Republic", "peoplesrepublic"},
		{"\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := matchKey(tt.in); got != tt.want {
				t.Errorf("matchKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// The Latin fast paths agree with the general algorithms on every letter they cover.
func TestLatinTablesAgreeWithNorm(t *testing.T) {
	var runes []rune
	for i := range latinFold {
		runes = append(runes, latinRune(i))
	}
	for _, r := range runes {
		s := "X" + string(r) + "y"
		if got, ok := foldLatin(s); ok && got != foldGeneral(s) {
			t.Errorf("foldLatin(%q) = %q, foldGeneral = %q", s, got, foldGeneral(s))
		}
		nfd := norm.NFD.String(s)
		if got, ok := foldLatin(nfd); ok && got != foldGeneral(nfd) {
			t.Errorf("foldLatin(NFD %q) = %q, foldGeneral = %q", s, got, foldGeneral(nfd))
		}
	}
	// A string of stable letters is NFC: check every pair.
	for _, a := range runes {
		for _, b := range runes {
			s := string([]rune{a, b})
			if isCleanLatin(s) && !norm.NFC.IsNormalString(s) {
				t.Fatalf("isCleanLatin(%q) but it is not NFC", s)
			}
		}
	}
}

func FuzzFoldName(f *testing.F) {
	for _, s := range []string{"Hoà Bình", norm.NFD.String("Hòa Bình"), "ĐẶNG", "  a  b ", "\xff", "İstanbul", "한국", "Ǆ", "ﬁ", "\u00a0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := FoldName(s)
		if again := FoldName(got); again != got {
			t.Fatalf("FoldName(%q) = %q, then %q", s, got, again)
		}
		if utf8.ValidString(s) {
			if want := foldGeneral(s); got != want {
				t.Fatalf("FoldName(%q) = %q, the general fold gives %q", s, got, want)
			}
			if FoldName(norm.NFD.String(s)) != FoldName(norm.NFC.String(s)) {
				t.Fatalf("NFD and NFC of %q fold differently", s)
			}
		}
		n := NormalizeText(s)
		if NormalizeText(n) != n {
			t.Fatalf("NormalizeText(%q) = %q is not a fixed point", s, n)
		}
		if utf8.ValidString(s) && !norm.NFC.IsNormalString(n) {
			t.Fatalf("NormalizeText(%q) = %q is not NFC", s, n)
		}
	})
}

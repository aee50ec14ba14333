package canonical

import (
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestResolveProvince(t *testing.T) {
	tests := []struct {
		name, in string
		code     string // "" means not found
		set      CodeSet
	}{
		{"2-digit code", "79", "79", CodeSet2021},
		{"code with leading zero", "01", "01", CodeSet2021},
		// "1" is not a code: GSO codes are always two digits.
		{"one digit is no code", "1", "", ""},
		{"three digits is no code", "079", "", ""},
		{"code of no province", "03", "", ""},
		{"official name", "Thành phố Hồ Chí Minh", "79", CodeSet2021},
		{"TP. prefix", "TP. Hồ Chí Minh", "79", CodeSet2021},
		{"TP.HCM", "TP.HCM", "79", CodeSet2021},
		{"TPHCM", "TPHCM", "79", CodeSet2021},
		{"Tp. Hcm", "Tp. Hcm", "79", CodeSet2021},
		{"TP HCM", "TP HCM", "79", CodeSet2021},
		{"HCM", "HCM", "79", CodeSet2021},
		{"hcmc", "hcmc", "79", CodeSet2021},
		{"Sài Gòn", "Sài Gòn", "79", CodeSet2021},
		{"Ho Chi Minh", "Ho Chi Minh", "79", CodeSet2021},
		{"Ho Chi Minh City", "Ho Chi Minh City", "79", CodeSet2021},
		{"Hà Nội", "Hà Nội", "01", CodeSet2021},
		{"Ha Noi", "Ha Noi", "01", CodeSet2021},
		{"Hanoi", "Hanoi", "01", CodeSet2021},
		{"Thành phố Hà Nội", "Thành phố Hà Nội", "01", CodeSet2021},
		{"Tp Ha Noi", "Tp Ha Noi", "01", CodeSet2021},
		{"Tỉnh Hoà Bình (old tone placement)", "Tỉnh Hoà Bình", "17", CodeSet2021},
		{"Hòa Bình (new tone placement)", "Hòa Bình", "17", CodeSet2021},
		{"Hoa Binh", "Hoa Binh", "17", CodeSet2021},
		{"NFD", norm.NFD.String("Tỉnh Hoà Bình"), "17", CodeSet2021},
		{"Thừa Thiên - Huế", "Thừa Thiên - Huế", "46", CodeSet2021},
		{"Thừa Thiên Huế", "Thừa Thiên Huế", "46", CodeSet2021},
		// In 2021 data "Huế" alone meant the province Thừa Thiên Huế.
		{"Huế", "Huế", "46", CodeSet2021},
		// "Thành phố Huế" is the 2025 unit's name: only the 2025 list has it.
		{"Thành phố Huế", "Thành phố Huế", "46", CodeSet2025},
		{"Thanh pho Hue", "thanh pho hue", "46", CodeSet2025},
		{"Bắc Kạn", "Bắc Kạn", "06", CodeSet2021},
		{"Bac Can", "Bac Can", "06", CodeSet2021},
		{"Bắc Cạn", "Bắc Cạn", "06", CodeSet2021},
		{"Đắk Lắk", "Đắk Lắk", "66", CodeSet2021},
		{"Dak Lak", "Dak Lak", "66", CodeSet2021},
		{"Daklak", "Daklak", "66", CodeSet2021},
		{"Đắc Lắc", "Đắc Lắc", "66", CodeSet2021},
		{"Đắk Nông", "Đắk Nông", "67", CodeSet2021},
		{"Bà Rịa - Vũng Tàu", "Tỉnh Bà Rịa - Vũng Tàu", "77", CodeSet2021},
		{"BR-VT", "BR-VT", "77", CodeSet2021},
		{"Thanh Hoá (old tone placement)", "Thanh Hoá", "38", CodeSet2021},
		{"Khánh Hoà", "Khánh Hoà", "56", CodeSet2021},
		{"upper case", "TỈNH QUẢNG NAM", "49", CodeSet2021},
		{"extra spaces", "  Cần   Thơ ", "92", CodeSet2021},
		{"Da Nang", "Da Nang", "48", CodeSet2021},
		{"Kon Tum", "Kontum", "62", CodeSet2021},
		{"Province suffix", "Long An Province", "80", CodeSet2021},
		// Merged names shared by both lists resolve to the 2021 set, the declarations' time.
		{"merged name", "Tỉnh Tuyên Quang", "08", CodeSet2021},
		{"Hà Nam is not Hà Nội", "Hà Nam", "35", CodeSet2021},
		{"Quảng Nam is not Quảng Ngãi", "Quảng Ngãi", "51", CodeSet2021},
		{"unknown", "Atlantis", "", ""},
		{"empty", "", "", ""},
		{"prefix alone", "Tỉnh", "", ""},
		{"invalid UTF-8", "H\xffà Nội", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := ResolveProvince(tt.in)
			if ok != (tt.code != "") || p.Code != tt.code || p.CodeSet != tt.set {
				t.Errorf("ResolveProvince(%q) = %q %q %v; want %q %q", tt.in, p.Code, p.CodeSet, ok, tt.code, tt.set)
			}
		})
	}
}

// Every official name, in NFC, NFD, folded and upper case, resolves to its own row.
func TestResolveProvinceOfficialNames(t *testing.T) {
	for _, want := range Provinces(CodeSet2021) {
		for _, spelling := range []string{want.Name, norm.NFD.String(want.Name), FoldName(want.Name), want.Code} {
			t.Run(spelling, func(t *testing.T) {
				got, ok := ResolveProvince(spelling)
				if !ok || got != want {
					t.Errorf("ResolveProvince(%q) = %+v, %v; want %+v", spelling, got, ok, want)
				}
			})
		}
	}
}

func TestProvinceTables(t *testing.T) {
	p2021, p2025 := Provinces(CodeSet2021), Provinces(CodeSet2025)
	if len(p2021) != 63 || len(p2025) != 34 {
		t.Fatalf("tables have %d and %d rows, want 63 and 34", len(p2021), len(p2025))
	}
	merged := map[string]int{}
	for _, p := range p2021 {
		if p.CCCDPrefix != "0"+p.Code {
			t.Errorf("%s: CCCD prefix %s is not 0 + code", p.Code, p.CCCDPrefix)
		}
		if p.Landline == "" || p.Landline[:2] != "02" {
			t.Errorf("%s: landline %q", p.Code, p.Landline)
		}
		s, ok := ProvinceByCode(CodeSet2025, p.Successor)
		if !ok {
			t.Errorf("%s: successor %s is not a 2025 code", p.Code, p.Successor)
		}
		if s.Successor != s.Code {
			t.Errorf("2025 %s is not its own successor", s.Code)
		}
		merged[p.Successor]++
	}
	for _, p := range p2025 {
		if merged[p.Code] == 0 {
			t.Errorf("2025 %s has no 2021 predecessor", p.Code)
		}
		// Each merged unit reuses the code of one of its predecessors.
		if old, ok := ProvinceByCode(CodeSet2021, p.Code); !ok || old.Successor != p.Code {
			t.Errorf("2025 %s does not reuse a predecessor's code", p.Code)
		}
	}
	// Appendix B: Phú Thọ took over Hoà Bình, Vĩnh Phúc and itself.
	if merged["25"] != 3 || merged["79"] != 3 || merged["01"] != 1 {
		t.Errorf("merges: Phú Thọ %d, HCMC %d, Hà Nội %d", merged["25"], merged["79"], merged["01"])
	}
}

func TestProvinceByCode(t *testing.T) {
	tests := []struct {
		name      string
		set       CodeSet
		code      string
		wantName  string
		wantFound bool
	}{
		{"2021 Bình Dương", CodeSet2021, "74", "Tỉnh Bình Dương", true},
		// 74 was merged into HCMC: it is no 2025 code.
		{"2025 has no 74", CodeSet2025, "74", "", false},
		{"2025 Huế", CodeSet2025, "46", "Thành phố Huế", true},
		{"one digit", CodeSet2021, "1", "", false},
		{"unknown set", "1999", "01", "", false},
		{"letters", CodeSet2021, "ab", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := ProvinceByCode(tt.set, tt.code)
			if ok != tt.wantFound || p.Name != tt.wantName {
				t.Errorf("ProvinceByCode(%q, %q) = %q, %v", tt.set, tt.code, p.Name, ok)
			}
		})
	}
}

func FuzzResolveProvince(f *testing.F) {
	for _, s := range []string{
		"79", "1", "TP.HCM", "Thành phố Hồ Chí Minh", norm.NFD.String("Tỉnh Hoà Bình"),
		"Thừa Thiên - Huế", "Thành phố Huế", "Bac Can", "Dak Lak", "Tỉnh", "tp", "", "\xff",
		"Ho Chi Minh City", "city", "province",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := ResolveProvince(s)
		if !ok {
			return
		}
		byCode, found := ProvinceByCode(p.CodeSet, p.Code)
		if !found || byCode != p {
			t.Fatalf("ResolveProvince(%q) = %+v, not a row of its code set", s, p)
		}
		// Resolving is insensitive to NFC/NFD and to surrounding spaces.
		for _, variant := range []string{norm.NFD.String(s), norm.NFC.String(s), " " + s + " "} {
			if q, ok := ResolveProvince(variant); !ok || q != p {
				t.Fatalf("ResolveProvince(%q) = %+v but ResolveProvince(%q) = %+v, %v", s, p, variant, q, ok)
			}
		}
	})
}

// An alias never redefines an official name, and no two aliases clash.
func TestProvinceAliasesDoNotClash(t *testing.T) {
	official := map[string]string{}
	for _, p := range Provinces(CodeSet2021) {
		official[stripProvincePrefix(provinceKey(p.Name))] = p.Code
	}
	seen := map[string]string{}
	for _, a := range append(append([]struct{ Spelling, Code string }(nil), provinceAliases...), provinceAliases2025...) {
		k := provinceKey(a.Spelling)
		if code, ok := official[k]; ok && code != a.Code {
			t.Errorf("alias %q redefines the name of %s", a.Spelling, code)
		}
		if code, ok := seen[k]; ok && code != a.Code {
			t.Errorf("alias %q names both %s and %s", a.Spelling, code, a.Code)
		}
		seen[k] = a.Code
	}
}

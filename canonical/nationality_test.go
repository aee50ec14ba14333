package canonical

import (
	"strings"
	"testing"

	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

func TestNationalityCode(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means not ok
	}{
		{"code", "VN", "VN"},
		{"lower-case code", "vn", "VN"},
		{"Việt Nam", "Việt Nam", "VN"},
		{"Viet Nam", "Viet Nam", "VN"},
		{"Vietnam", "Vietnam", "VN"},
		{"VIỆT NAM NFD", norm.NFD.String("VIỆT NAM"), "VN"},
		{"alpha-3", "VNM", "VN"},
		{"Trung Quốc", "Trung Quốc", "CN"},
		{"China", "China", "CN"},
		{"Hàn Quốc", "Hàn Quốc", "KR"},
		{"Korea", "Korea", "KR"},
		{"Nhật Bản", "Nhật Bản", "JP"},
		{"Japan", "Japan", "JP"},
		{"Hoa Kỳ", "Hoa Kỳ", "US"},
		{"Mỹ", "Mỹ", "US"},
		// Two ASCII letters are always a code: "My" is Malaysia, not Mỹ.
		{"My is Malaysia's code", "My", "MY"},
		{"United States", "United States", "US"},
		{"Lào", "Lào", "LA"},
		{"Campuchia", "Campuchia", "KH"},
		{"Thái Lan", "Thái Lan", "TH"},
		{"Pháp", "Pháp", "FR"},
		{"Đức", "Đức", "DE"},
		{"Anh", "Anh", "GB"},
		{"Úc", "Úc", "AU"},
		{"Nga", "Nga", "RU"},
		{"Singapore", "Singapore", "SG"},
		{"Malaysia", "Malaysia", "MY"},
		{"spaces", "  Thai   Lan ", "TH"},
		{"empty stays empty", "", ""},
		{"unassigned code", "XX", ""},
		{"unknown name", "Atlantis", ""},
		{"invalid UTF-8", "\xff\xfe", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NationalityCode(tt.in)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("NationalityCode(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
}

// The hand-kept ISO list agrees with the CLDR region data of golang.org/x/text.
func TestISOCountriesAgreeWithCLDR(t *testing.T) {
	codes := strings.Fields(isoCountries)
	if len(codes) != 249 {
		t.Errorf("%d codes, want the 249 assigned ones", len(codes))
	}
	for _, c := range codes {
		r, err := language.ParseRegion(c)
		if err != nil || !r.IsCountry() || r.String() != c {
			t.Errorf("%s: CLDR says %v, %v", c, r, err)
		}
	}
	for _, name := range countryNames {
		for _, n := range name {
			if _, ok := NationalityCode(n); !ok {
				t.Errorf("name %q does not resolve", n)
			}
		}
	}
	for code := range countryNames {
		if !IsCountryCode(code) {
			t.Errorf("name table uses %q, not an ISO code", code)
		}
	}
}

// No spelling may name two countries (the index is built from a map: a clash would resolve
// at random).
func TestCountryNamesDoNotClash(t *testing.T) {
	seen := map[string]string{}
	for code, names := range countryNames {
		for _, n := range names {
			k := matchKey(n)
			if other, ok := seen[k]; ok && other != code {
				t.Errorf("%q names both %s and %s", n, code, other)
			}
			seen[k] = code
		}
	}
}

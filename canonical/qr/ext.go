package qr

import (
	"strings"

	"github.com/lienthong/lienthong/canonical"
)

// The 1405 EXT gender codes [uncertain: the decision's annex is not at hand]. Change them
// here only: parseExt and FormatPersonal1405 both read this table.
var extGenders = [...]struct {
	code   string
	gender canonical.Gender
}{
	{"0", canonical.GenderFemale},
	{"1", canonical.GenderMale},
	{"2", canonical.GenderOther},
}

func genderCode(g canonical.Gender) (string, bool) {
	for _, e := range extGenders {
		if e.gender == g {
			return e.code, true
		}
	}
	return "", false
}

func genderOf(code string) (canonical.Gender, bool) {
	for _, e := range extGenders {
		if e.code == code {
			return e.gender, true
		}
	}
	return canonical.GenderUnspecified, false
}

// Keys that name an EXT item when it is written key=value or key:value (lower case).
var (
	extGenderKeys = []string{"gt", "gioitinh", "gioi_tinh", "gender", "sex"}
	extPhoneKeys  = []string{"sdt", "dt", "dienthoai", "dien_thoai", "sodienthoai", "so_dien_thoai", "phone", "tel"}
)

// parseExt reads what it can from a 1405 EXT field: the first gender and the first phone, as
// bare items ("1", "0912345678") or key=value. Items are separated by ';' or ','.
func parseExt(ext string) (g canonical.Gender, phone string) {
	var haveGender bool
	for _, item := range strings.FieldsFunc(ext, func(r rune) bool { return r == ';' || r == ',' }) {
		item = strings.TrimSpace(item)
		key, val, keyed := cutKey(item)
		switch {
		case keyed && contains(extGenderKeys, key):
			if gg, ok := genderOf(val); ok && !haveGender {
				g, haveGender = gg, true
			}
		case keyed && contains(extPhoneKeys, key):
			if phone == "" && looksLikePhone(val) {
				phone = val
			}
		case keyed:
		case !haveGender && len(item) == 1:
			if gg, ok := genderOf(item); ok {
				g, haveGender = gg, true
			}
		case phone == "" && looksLikePhone(item):
			phone = item
		}
	}
	return g, phone
}

// cutKey splits "key=value" or "key:value" with a lower-cased, trimmed key.
func cutKey(item string) (key, val string, ok bool) {
	i := strings.IndexAny(item, "=:")
	if i <= 0 {
		return "", "", false
	}
	return strings.ToLower(strings.TrimSpace(item[:i])), strings.TrimSpace(item[i+1:]), true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// looksLikePhone: a Vietnamese number with its national 0 (10 or 11 digits) or with 84/+84
// (11 or 12 digits), or another country's +E.164. Never a 12-digit CCCD (those start with 0).
func looksLikePhone(s string) bool {
	switch {
	case strings.HasPrefix(s, "+84") || strings.HasPrefix(s, "84"):
		d := strings.TrimPrefix(s, "+")
		return allDigits(d) && (len(d) == 11 || len(d) == 12)
	case strings.HasPrefix(s, "+"):
		return allDigits(s[1:]) && len(s) >= 9 && len(s) <= 16
	case strings.HasPrefix(s, "0"):
		return allDigits(s) && (len(s) == 10 || len(s) == 11)
	}
	return false
}

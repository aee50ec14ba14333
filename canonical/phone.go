package canonical

import (
	"unicode"
	"unicode/utf8"
)

// oldMobilePrefixes maps the 11-digit mobile prefixes retired in 2018–2019 (without the
// leading 0) to their 10-digit successors; the last 7 digits were kept (domain.md).
var oldMobilePrefixes = map[string]string{
	// Viettel: 016x → 03x.
	"162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37", "168": "38", "169": "39",
	// MobiFone.
	"120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
	// VinaPhone.
	"123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
	// Vietnamobile.
	"186": "56", "188": "58",
	// Gmobile.
	"199": "59",
}

// NormalizePhone returns a phone number in E.164 form. It accepts the forms partners send:
// "0912345678", "+84912345678", "84912345678", "0084912345678", "(+84) 912 345 678", with
// spaces, dots, dashes and parentheses, and the leading 0 lost by a spreadsheet
// ("912345678"). Old 11-digit mobiles ("01662345678") become their 10-digit successors
// ("+84362345678"). A Vietnamese number is valid when it is a mobile of the libphonenumber
// pattern or a landline with a 02xx area code; a foreign number ("+" or "00", then 8 to 15
// digits) is kept as it is. ok is false for anything else.
func NormalizePhone(s string) (e164 string, ok bool) {
	out, n, ok := normalizePhone(s)
	switch {
	case !ok:
		return "", false
	case string(out[:n]) == s:
		return s, true // already E.164: no copy
	}
	return string(out[:n]), true
}

// normalizePhone is NormalizePhone without allocating: the E.164 form is out[:n].
func normalizePhone(s string) (out [16]byte, n int, ok bool) {
	var buf [20]byte
	k := 0
	plus := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			if k == len(buf) {
				return out, 0, false
			}
			buf[k] = byte(r)
			k++
		case r == '+':
			if k != 0 || plus {
				return out, 0, false
			}
			plus = true
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		case r >= utf8.RuneSelf && unicode.IsSpace(r):
		default:
			return out, 0, false
		}
	}
	digits := buf[:k]
	var national []byte
	switch {
	case plus:
		if !hasPrefix(digits, "84") {
			return foreignE164(digits)
		}
		national = digits[2:]
	case hasPrefix(digits, "00"):
		if !hasPrefix(digits[2:], "84") {
			return foreignE164(digits[2:])
		}
		national = digits[4:]
	case hasPrefix(digits, "0"):
		national = digits[1:]
	case hasPrefix(digits, "84") && k >= 11:
		national = digits[2:]
	default:
		national = digits // the leading 0 was lost
	}
	if hasPrefix(national, "0") {
		national = national[1:] // "+84 0912..." keeps the national 0 by mistake
	}
	copy(out[:], "+84")
	switch {
	case len(national) == 10 && national[0] == '1':
		next, found := oldMobilePrefixes[string(national[:3])]
		if !found {
			return out, 0, false
		}
		m := append(append(out[:3], next...), national[3:]...)
		if !isMobile(m[3:]) {
			return out, 0, false
		}
		return out, len(m), true
	case len(national) == 9 && isMobile(national):
		return out, 3 + copy(out[3:], national), true
	case len(national) == 10 && national[0] == '2' && isLandlineArea(national):
		return out, 3 + copy(out[3:], national), true
	}
	return out, 0, false
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// foreignE164 accepts a non-Vietnamese international number: a country code (not starting
// with 0) and 8 to 15 digits in all.
func foreignE164(digits []byte) (out [16]byte, n int, ok bool) {
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' || hasPrefix(digits, "84") {
		return out, 0, false
	}
	out[0] = '+'
	return out, 1 + copy(out[1:], digits), true
}

// isLandlineArea reports whether a 10-digit national number (without the 0) starts with a
// landline area code: 24 (Hà Nội), 28 (HCMC) or a 2xx code of the province table.
func isLandlineArea(national []byte) bool {
	return provinces.landline[string(national[:2])] || provinces.landline[string(national[:3])]
}

// isMobile reports whether a 9-digit national number (without the 0) matches the mobile
// pattern of domain.md (libphonenumber):
// ((3\d|7[06-9])\d|5(2[238]|[689]\d)|8([1-58]\d|6[5689]|9[689])|9([0-8]\d|9[013-9]))\d{6}.
func isMobile(n []byte) bool {
	if len(n) != 9 {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	a, b, c := n[0], n[1], n[2]
	switch a {
	case '3':
		return true
	case '7':
		return b == '0' || b >= '6'
	case '5':
		return (b == '2' && (c == '2' || c == '3' || c == '8')) || b == '6' || b == '8' || b == '9'
	case '8':
		switch {
		case (b >= '1' && b <= '5') || b == '8':
			return true
		case b == '6':
			return c == '5' || c == '6' || c == '8' || c == '9'
		case b == '9':
			return c == '6' || c == '8' || c == '9'
		}
	case '9':
		if b != '9' {
			return true
		}
		return c != '2'
	}
	return false
}

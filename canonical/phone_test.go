package canonical

import (
	"fmt"
	"regexp"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means not ok
	}{
		{"national", "0912345678", "+84912345678"},
		{"E.164", "+84912345678", "+84912345678"},
		{"country code without plus", "84912345678", "+84912345678"},
		{"international prefix 00", "0084912345678", "+84912345678"},
		{"spaces", "0912 345 678", "+84912345678"},
		{"dots", "0912.345.678", "+84912345678"},
		{"dashes", "091-234-5678", "+84912345678"},
		{"parenthesised country code", "(+84) 912 345 678", "+84912345678"},
		{"parenthesised national prefix", "(091) 2345678", "+84912345678"},
		// A national 0 kept after +84 is a common mistake; the number is still clear.
		{"+84 then 0", "+84 0912 345 678", "+84912345678"},
		// Spreadsheets drop the leading 0 of a number stored as a number.
		{"leading zero lost", "912345678", "+84912345678"},
		{"no-break spaces", "0912\u00a0345\u00a0678", "+84912345678"},
		// Old 11-digit prefixes map to the 10-digit successors, last 7 digits kept.
		{"Viettel 0162", "01621234567", "+84321234567"},
		{"Viettel 0169", "01691234567", "+84391234567"},
		{"MobiFone 0120", "01201234567", "+84701234567"},
		{"MobiFone 0121", "01211234567", "+84791234567"},
		{"MobiFone 0122", "01221234567", "+84771234567"},
		{"MobiFone 0126", "01261234567", "+84761234567"},
		{"MobiFone 0128", "01281234567", "+84781234567"},
		{"VinaPhone 0123", "01231234567", "+84831234567"},
		{"VinaPhone 0124", "01241234567", "+84841234567"},
		{"VinaPhone 0125", "01251234567", "+84851234567"},
		{"VinaPhone 0127", "01271234567", "+84811234567"},
		{"VinaPhone 0129", "01291234567", "+84821234567"},
		{"Vietnamobile 0186", "01861234567", "+84561234567"},
		{"Vietnamobile 0188", "01881234567", "+84581234567"},
		{"Gmobile 0199", "01991234567", "+84591234567"},
		{"old prefix with +84", "+84 166 234 5678", "+84362345678"},
		{"old prefix with 84", "841662345678", "+84362345678"},
		{"new Viettel", "0362345678", "+84362345678"},
		{"Vietnamobile 092", "0921234567", "+84921234567"},
		{"landline Hà Nội 024", "024 3825 1234", "+842438251234"},
		{"landline HCMC 028", "(028) 3829 5555", "+842838295555"},
		{"landline Hà Giang 0219", "0219 386 1234", "+842193861234"},
		{"landline Cà Mau 0290 in E.164", "+84 290 383 1234", "+842903831234"},
		{"foreign E.164", "+1 415 555 0123", "+14155550123"},
		{"foreign with 00", "0049 30 1234567", "+49301234567"},
		{"foreign kept", "+6591234567", "+6591234567"},
		// Invalid forms.
		{"empty", "", ""},
		{"too short", "091234567", ""},
		{"too long", "09123456789", ""},
		{"unknown old prefix 0130", "01301234567", ""},
		{"old landline 04 (before 2017)", "0438251234", ""},
		{"landline of no area 0200", "02001234567", ""},
		{"mobile prefix 099 2 not allocated", "0992123456", ""},
		{"mobile prefix 0522 ok but 0520 not", "0520123456", ""},
		{"letters", "0912abc678", ""},
		{"plus in the middle", "0912+345678", ""},
		{"two pluses", "++84912345678", ""},
		{"foreign too short", "+1234567", ""},
		{"foreign too long", "+1234567890123456", ""},
		{"foreign starting with 0", "+0123456789", ""},
		{"+84 invalid is not foreign", "+84123", ""},
		{"only separators", " -.() ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizePhone(tt.in)
			if ok != (tt.want != "") || got != tt.want {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.want != "")
			}
			if ok {
				if again, ok2 := NormalizePhone(got); !ok2 || again != got {
					t.Errorf("not a fixed point: %q then %q, %v", got, again, ok2)
				}
			}
		})
	}
}

// isMobile is a hand-written form of the libphonenumber pattern; it must agree with the
// pattern on every 3-digit prefix.
func TestIsMobileMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^((3\d|7[06-9])\d|5(2[238]|[689]\d)|8([1-58]\d|6[5689]|9[689])|9([0-8]\d|9[013-9]))\d{6}$`)
	for p := 0; p < 1000; p++ {
		n := fmt.Sprintf("%03d123456", p)
		if got, want := isMobile([]byte(n)), re.MatchString(n); got != want {
			t.Errorf("isMobile(%s) = %v, pattern says %v", n, got, want)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"0912345678", "+84912345678", "84912345678", "0084912345678", "(+84) 912 345 678",
		"01662345678", "02438251234", "+14155550123", "912345678", "+84 0912345678",
		"0049301234567", "", "+", "00", "84", "\xff", "0912\u00a0345678",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := NormalizePhone(s)
		if !ok {
			if got != "" {
				t.Fatalf("not ok but returned %q", got)
			}
			return
		}
		if again, ok2 := NormalizePhone(got); !ok2 || again != got {
			t.Fatalf("NormalizePhone(%q) = %q, which normalizes to %q, %v", s, got, again, ok2)
		}
		if got[0] != '+' || len(got) < 9 || len(got) > 16 {
			t.Fatalf("NormalizePhone(%q) = %q is not E.164", s, got)
		}
	})
}

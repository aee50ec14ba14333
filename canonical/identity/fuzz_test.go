package identity

import (
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/canonical"
)

// FuzzKeyOf checks the rules that hold for any person: the strongest key comes first, aliases
// are weaker and distinct, a weak key needs phone, name and year, and Derive agrees with
// KeyOf and AliasKeys.
func FuzzKeyOf(f *testing.F) {
	// docType, number, former CMND, nationality, phone, name key, birth year, precision
	f.Add(int8(1), "079090001234", "023456789", "VN", "+84912345678", "nguyen van an", 1990, int8(2)) // everything
	f.Add(int8(2), "123456789", "", "", "+84912345678", "tran thi binh", 1985, int8(1))               // CMND + weak
	f.Add(int8(3), "B1234567", "", "", "+84912345678", "john smith", 1980, int8(2))                   // passport without nationality
	f.Add(int8(3), "B1234567", "123456789", "FR", "", "", 0, int8(0))                                 // CMND beats passport
	f.Add(int8(0), "", "", "", "+84912345678", "", 0, int8(0))                                        // phone alone
	f.Add(int8(1), "07909000123", "", "VN", "+84912345678", "a|b", 2000, int8(1))                     // bad CCCD, '|' in name
	f.Add(int8(2), "123456789", "123456789", "", "", "", 0, int8(0))                                  // former equal to document
	d := newDeriver(f, testSecret)
	f.Fuzz(func(t *testing.T, docType int8, number, former, nationality, phone, name string, year int, precision int8) {
		p := canonical.Person{
			Document:    canonical.Document{Type: canonical.DocumentType(docType), Number: number},
			FormerCMND:  former,
			Nationality: nationality,
			Phone:       phone,
			NameKey:     name,
			BirthDate:   canonical.BirthDate{Year: year, Precision: canonical.DatePrecision(precision)},
		}
		k, ok := KeyOf(p)
		aliases := AliasKeys(p)
		der, dok := d.Derive(p)
		if ok != dok || ok != (k.Kind != KindNone) {
			t.Fatalf("KeyOf ok=%v kind=%v, Derive ok=%v", ok, k.Kind, dok)
		}
		if !ok {
			if aliases != nil {
				t.Fatalf("aliases %v without a key", aliases)
			}
			return
		}
		if der.Key != k || der.QRID != d.QRID(k) || der.Verified != (k.Kind != KindWeak) || !LooksLikeQRID(der.QRID) {
			t.Fatalf("Derive = %+v, KeyOf = %v", der, k)
		}
		all := append([]Key{k}, aliases...)
		for i, a := range all {
			if i > 0 && a.Kind < all[i-1].Kind {
				t.Fatalf("keys out of strength order: %v", all)
			}
			if slices.Contains(all[:i], a) {
				t.Fatalf("key %v repeats in %v", a, all)
			}
			if a.Kind == KindWeak {
				parts := strings.Split(a.Value, "|")
				if !strings.HasPrefix(a.Value, p.Phone+"|") || !strings.HasSuffix(a.Value, "|"+parts[len(parts)-1]) || strings.TrimSpace(p.NameKey) == "" || p.BirthDate.Precision == canonical.PrecisionNone {
					t.Fatalf("weak key %v from %+v", a, p)
				}
			}
			if i > 0 && der.Aliases[i-1] != d.QRID(a) {
				t.Fatalf("alias QR id %d is not the QR id of %v", i-1, a)
			}
		}
		if len(der.Aliases) != len(aliases) {
			t.Fatalf("Derive has %d aliases, AliasKeys %d", len(der.Aliases), len(aliases))
		}
	})
}

package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// FuzzApplyOrder checks the property the stores rely on: applying one set of declarations in
// any order gives the same view (except Revision), and applying one again changes nothing.
// Each 4 bytes of data make one declaration: platform, record id, declared hour, version,
// and bits that vary the compared fields and the health answers.
func FuzzApplyOrder(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0}, uint64(1))                                         // one declaration
	f.Add([]byte{1, 0, 5, 1, 1, 0, 5, 2}, uint64(2))                             // a correction: same record and time, greater version
	f.Add([]byte{1, 0, 5, 2, 1, 1, 5, 2}, uint64(3))                             // same time and version, different records: the record id decides
	f.Add([]byte{0, 0, 1, 0, 1, 1, 1, 0, 2, 2, 1, 0}, uint64(4))                 // three platforms at the same instant
	f.Add([]byte{0, 3, 9, 7, 0, 3, 9, 7, 2, 1, 0, 255, 1, 2, 4, 128}, uint64(5)) // duplicates and every field varied
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		if len(data) > 64 {
			data = data[:64]
		}
		var as []Accepted
		seen := map[RecordKey]bool{}
		for i := 0; i+4 <= len(data); i += 4 {
			p := []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte}[data[i]%3]
			d := decl(p, string(rune('a'+data[i+1]%4)), time.Duration(data[i+2]%12)*time.Hour, string(rune('0'+data[i+3]%8)))
			bits := data[i+3]
			if bits&8 != 0 {
				d.Person.Phone = "+84987654321"
			}
			if bits&16 != 0 {
				d.Person.BirthDate = canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}
			}
			if bits&32 != 0 {
				d.Person.Gender = canonical.GenderFemale
			}
			if bits&64 != 0 {
				d.Health.HasSymptoms = true
			}
			if bits&128 != 0 {
				d.Person.FullName = "Nguyễn Văn Ân"
			}
			// The stores deduplicate by record key before Apply: one version of a record has
			// one content. Keep the first, as a store does.
			k := Item{Accepted: &Accepted{Declaration: d}}.Key()
			if seen[k] {
				continue
			}
			seen[k] = true
			as = append(as, Accepted{Declaration: d, QRID: "q1", Verified: data[i+1]&4 != 0})
		}
		applyAll := func(order []Accepted) View {
			v := View{}
			for _, a := range order {
				v, _ = Apply(v, a)
				again, changed := Apply(v, a)
				if changed || !reflect.DeepEqual(again, v) {
					t.Fatalf("applying %+v twice changed the view", a.Declaration.Source)
				}
			}
			v.Revision = 0
			return v
		}
		want := applyAll(as)
		// A permutation from the seed (xorshift), and the reverse order.
		perm := append([]Accepted(nil), as...)
		x := seed | 1
		for i := len(perm) - 1; i > 0; i-- {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			j := int(x % uint64(i+1))
			perm[i], perm[j] = perm[j], perm[i]
		}
		if got := applyAll(perm); !reflect.DeepEqual(got, want) {
			t.Fatalf("a permutation changed the view:\n got %+v\nwant %+v", got, want)
		}
		rev := make([]Accepted, len(as))
		for i, a := range as {
			rev[len(as)-1-i] = a
		}
		if got := applyAll(rev); !reflect.DeepEqual(got, want) {
			t.Fatalf("the reverse order changed the view:\n got %+v\nwant %+v", got, want)
		}
	})
}

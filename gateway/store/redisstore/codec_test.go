package redisstore

import (
	"reflect"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
)

func fullDecl() canonical.Declaration {
	d := testDecl(canonical.PlatformNCOVI, "n-1", day0)
	d.OnBehalf = true
	d.Source.SubjectID, d.Source.Line = "acct-9", 12
	d.Person.FormerCMND, d.Person.Email, d.Person.SocialInsurance = "025123456", "b@example.vn", "7912345678"
	d.Address.District, d.Address.Ward, d.Address.Street = "Quận 1", "Bến Nghé", "12 Lê Lợi"
	d.Health = canonical.Health{Form: canonical.SymptomChecklist, Symptoms: []canonical.Symptom{canonical.SymptomCough},
		HasSymptoms: true, SymptomNote: "ho nhẹ", Exposures: []canonical.Exposure{}, Conditions: []string{"asthma"}, PlacesNote: "Đà Nẵng"}
	d.Problems = []canonical.Violation{{Field: "declared_at", Reason: canonical.ReasonMalformed, Message: "m"}}
	return d
}

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		d    canonical.Declaration
	}{
		{"full", fullDecl()},
		// Zero times and nil slices survive as such (not as 1970 or empty slices).
		{"zero", canonical.Declaration{}},
		{"empty slices are not nil", canonical.Declaration{Health: canonical.Health{Symptoms: []canonical.Symptom{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeDeclaration(encodeDeclaration(&tt.d))
			if err != nil || !reflect.DeepEqual(got, tt.d) {
				t.Errorf("round trip = %+v, %v\nwant %+v", got, err, tt.d)
			}
			r := store.Rejected{Declaration: tt.d, Violations: []canonical.Violation{{Field: "f", Reason: canonical.ReasonRequired}}}
			gr, err := decodeRejected(encodeRejected(&r))
			if err != nil || !reflect.DeepEqual(gr, r) {
				t.Errorf("rejected round trip = %+v, %v", gr, err)
			}
		})
	}
	v, _ := store.Apply(store.View{}, store.Accepted{Declaration: fullDecl(), QRID: "q1", Verified: true})
	other := testDecl(canonical.PlatformBluezone, "b-1", day0.Add(time.Hour))
	other.Person.Phone = "+84900000000"
	v, _ = store.Apply(v, store.Accepted{Declaration: other, QRID: "q1"})
	st, err := parseStored(viewValue(&v, 7))
	if err != nil || !reflect.DeepEqual(st.view, v) || st.rev != v.Revision || st.gen != 7 {
		t.Errorf("view round trip = %+v, %v\nwant %+v", st.view, err, v)
	}
	a := store.Access{At: day0, Principal: "moh-1", Role: "ministry", Action: "history", QRID: "q1", Reason: "case 7"}
	if got, err := decodeAccess(encodeAccess(&a)); err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("access round trip = %+v, %v", got, err)
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder: a corrupt stored value is an error,
// never a panic or a huge allocation; a value that decodes encodes back to itself.
func FuzzDecode(f *testing.F) {
	d := fullDecl()
	f.Add(encodeDeclaration(&d))                                     // a real declaration
	f.Add(encodeDeclaration(&canonical.Declaration{}))               // the smallest one
	f.Add([]byte{fmtDeclaration, 0xff, 0xff, 0xff, 0xff, 0x0f})      // a string length far past the end
	f.Add([]byte{fmtView, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0x7f}) // a slice length far past the end
	f.Add([]byte("V12.3\n\x02"))                                     // a stored view header with a truncated body
	f.Add([]byte("Aq-other"))                                        // an alias
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if x, err := decodeDeclaration(b); err == nil {
			if again, err := decodeDeclaration(encodeDeclaration(&x)); err != nil || !reflect.DeepEqual(again, x) {
				t.Errorf("declaration does not round-trip: %+v", x)
			}
		}
		_, _ = decodeRejected(b)
		_, _ = decodeAccess(b)
		_, _ = decodeViewBody(b, 1)
		_, _ = parseStored(string(b))
		_, _ = decodeVersions(string(b))
	})
}

// BenchmarkDecodeView is the CPU a lookup spends on the stored view (inflate + decode).
func BenchmarkDecodeView(b *testing.B) {
	v, _ := store.Apply(store.View{}, store.Accepted{Declaration: realistic(1, canonical.PlatformNCOVI, day0), QRID: qridOf(1), Verified: true})
	v, _ = store.Apply(v, store.Accepted{Declaration: realistic(1, canonical.PlatformBluezone, day0.Add(time.Hour)), QRID: qridOf(1)})
	val := viewValue(&v, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseStored(val); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(val)), "stored-bytes")
}

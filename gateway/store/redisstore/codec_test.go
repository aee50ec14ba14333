package redisstore

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"math/rand/v2"
	"reflect"
	"strconv"
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
			got, err := decodeDeclaration(string(encodeDeclaration(&tt.d)))
			if err != nil || !reflect.DeepEqual(got, tt.d) {
				t.Errorf("round trip = %+v, %v\nwant %+v", got, err, tt.d)
			}
			r := store.Rejected{Declaration: tt.d, Violations: []canonical.Violation{{Field: "f", Reason: canonical.ReasonRequired}}}
			gr, err := decodeRejected(string(encodeRejected(&r)))
			if err != nil || !reflect.DeepEqual(gr, r) {
				t.Errorf("rejected round trip = %+v, %v", gr, err)
			}
		})
	}
	v, _ := store.Apply(store.View{}, store.Accepted{Declaration: fullDecl(), QRID: "q1", Verified: true})
	other := testDecl(canonical.PlatformBluezone, "b-1", day0.Add(time.Hour))
	other.Person.Phone = "+84900000000"
	v, _ = store.Apply(v, store.Accepted{Declaration: other, QRID: "q1"})
	for _, key := range []string{"q1", "q-alias"} { // the view's own key, and another's
		st, err := parseStored(string(viewValue(&v, 7, key, nil)), key)
		if err != nil || !reflect.DeepEqual(st.view, v) || st.rev != v.Revision || st.gen != 7 {
			t.Errorf("view round trip = %+v, %v\nwant %+v", st.view, err, v)
		}
	}
	a := store.Access{At: day0, Principal: "moh-1", Role: "ministry", Action: "history", QRID: "q1", Reason: "case 7"}
	if got, err := decodeAccess(string(encodeAccess(&a))); err != nil || !reflect.DeepEqual(got, a) {
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
	f.Add(encodeAccessChunk("station-1", []*store.Access{{At: day0, Role: "checkpoint", Action: "lookup", QRID: "q1"}, {}})) // an access chunk
	f.Add([]byte{fmtAccessChunk, 1, 'p', 0xff, 0xff, 0xff, 0xff, 0x0f})                                                      // a chunk's count far past the end
	f.Add([]byte(encodeVersions([]canonical.Declaration{d, d})))                                                             // compact versions
	f.Add(viewValue(&store.View{QRID: "q1", Latest: []store.Summary{{}}}, 1, "q1", []canonical.Declaration{d}))              // a compact view
	f.Fuzz(func(t *testing.T, b []byte) {
		x1, n1 := binary.Uvarint(b)
		if x2, n2 := uvarint(string(b)); x1 != x2 || n1 != n2 {
			t.Errorf("uvarint = %d, %d; binary.Uvarint %d, %d", x2, n2, x1, n1)
		}
		if x, err := decodeDeclaration(string(b)); err == nil {
			if again, err := decodeDeclaration(string(encodeDeclaration(&x))); err != nil || !reflect.DeepEqual(again, x) {
				t.Errorf("declaration does not round-trip: %+v", x)
			}
		}
		_, _ = decodeRejected(string(b))
		_, _ = decodeAccess(string(b))
		if as, err := decodeAccessChunk(string(b)); err == nil && len(as) > 0 {
			ps := make([]*store.Access, len(as))
			for i := range as {
				ps[i] = &as[i]
			}
			if again, err := decodeAccessChunk(string(encodeAccessChunk(as[0].Principal, ps))); err != nil || !reflect.DeepEqual(again, as) {
				t.Errorf("access chunk does not round-trip: %+v", as)
			}
		}
		_, _ = decodeViewBody(string(b), 1)
		if st, err := parseStored(string(b), "q1"); err == nil && st.withVersions {
			_, _ = embeddedVersions(st)
		}
		_, _ = decodeVersions(string(b))
	})
}

// BenchmarkDecodeView is the CPU a lookup spends on the stored view.
func BenchmarkDecodeView(b *testing.B) {
	v, _ := store.Apply(store.View{}, store.Accepted{Declaration: realistic(1, canonical.PlatformNCOVI, day0), QRID: qridOf(1), Verified: true})
	v, _ = store.Apply(v, store.Accepted{Declaration: realistic(1, canonical.PlatformBluezone, day0.Add(time.Hour)), QRID: qridOf(1)})
	val := string(viewValue(&v, 1, qridOf(1), []canonical.Declaration{realistic(1, canonical.PlatformNCOVI, day0), realistic(1, canonical.PlatformBluezone, day0.Add(time.Hour))}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseStored(val, qridOf(1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(val)), "stored-bytes")
}

// legacyView and legacyVersions are the values earlier versions stored: the plain encoding,
// DEFLATE-compressed.
func legacyView(v *store.View, gen uint64) string {
	return "V" + strconv.FormatUint(v.Revision, 10) + "." + strconv.FormatUint(gen, 10) + "\n" + string(deflate(encodeViewBody(v)))
}

func legacyVersions(decls []canonical.Declaration) string {
	raw := []byte{fmtVersions}
	for i := range decls {
		b := encodeDeclaration(&decls[i])
		raw = binary.AppendUvarint(raw, uint64(len(b)))
		raw = append(raw, b...)
	}
	return string(deflate(raw))
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// Values written before the compact form are read, and the two forms agree.
func TestLegacyValuesAreRead(t *testing.T) {
	decls := []canonical.Declaration{fullDecl(), realistic(1, canonical.PlatformNCOVI, day0), realistic(1, canonical.PlatformBluezone, day0.Add(time.Hour)), {}}
	got, err := decodeVersions(legacyVersions(decls))
	if err != nil || !reflect.DeepEqual(got, decls) {
		t.Errorf("legacy versions = %+v, %v", got, err)
	}
	got, err = decodeVersions(encodeVersions(decls))
	if err != nil || !reflect.DeepEqual(got, decls) {
		t.Errorf("compact versions = %+v, %v\nwant %+v", got, err, decls)
	}
	v, _ := store.Apply(store.View{}, store.Accepted{Declaration: decls[1], QRID: "q1", Verified: true})
	v, _ = store.Apply(v, store.Accepted{Declaration: decls[2], QRID: "q1"})
	st, err := parseStored(legacyView(&v, 3), "q1")
	if err != nil || !reflect.DeepEqual(st.view, v) || st.gen != 3 {
		t.Errorf("legacy view = %+v, %v", st.view, err)
	}
	val := string(viewValue(&v, 3, "q1", decls))
	st, err = parseStored(val, "q1")
	if err != nil || !reflect.DeepEqual(st.view, v) {
		t.Errorf("view with versions = %+v, %v", st.view, err)
	}
	if got, err := embeddedVersions(st); err != nil || !reflect.DeepEqual(got, decls) {
		t.Errorf("versions with the view = %+v, %v", got, err)
	}
	t.Logf("view and two versions %d bytes (legacy %d + %d)", len(viewValue(&v, 3, "q1", decls[1:3])), len(legacyView(&v, 3)), len(legacyVersions(decls[1:3])))
}

// Times and strings that the compact form writes specially survive a round trip.
func TestCompactEdgeCases(t *testing.T) {
	d := fullDecl()
	d.Source.RecordID = "0f8fad5b-d9cb-469f-a165-70867728950e" // a UUID: 16 bytes
	d.Source.Version = canonical.VersionOf(day0.Add(1234567 * time.Nanosecond))
	d.Person.Email = "0F8FAD5B-D9CB-469F-A165-70867728950E"     // upper case: not a UUID, a literal
	d.Person.Phone = "2026-01-02T03:04:05.000000000Z"           // a version text where none is expected
	d.Person.FormerCMND = "2026-13-02T03:04:05.000000000Z"      // not a time
	d.Person.SocialInsurance = "9999-01-01T00:00:00.000000000Z" // a time past int64 nanoseconds
	d.Person.Nationality = "2026-02-30T00:00:00.000000000Z"     // 30 February
	d.Address.Street = "1970-01-01T00:00:00.000000000Z"         // the Unix epoch
	d.DeclaredAt = time.Unix(0, 1).UTC()                        // a nanosecond after the epoch
	d.ReceivedAt = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)  // past the differences' range
	e := d
	e.DeclaredAt = time.Date(1800, 1, 1, 0, 0, 0, 5, time.UTC) // before it
	e.ReceivedAt = time.Time{}
	decls := []canonical.Declaration{d, e, d}
	got, err := decodeVersions(encodeVersions(decls))
	if err != nil || !reflect.DeepEqual(got, decls) {
		t.Errorf("compact versions = %+v, %v\nwant %+v", got, err, decls)
	}
}

// encodeVersions is the versions key's compact form, as written for a while (fmtVersionsCompact).
func encodeVersions(decls []canonical.Declaration) string {
	e := enc{b: make([]byte, 0, 64+160*len(decls)), compact: &table{}}
	e.b = append(e.b, fmtVersionsCompact)
	e.u(uint64(len(decls)))
	for i := range decls {
		declaration(&e, &decls[i])
	}
	return string(e.b)
}

// FuzzCompactRoundTrip: any strings and times written in a compact value read back as they
// were (times as the plain encoding keeps them: UTC, the epoch as the zero time).
func FuzzCompactRoundTrip(f *testing.F) {
	f.Add("2026-11-20T01:00:00.000000000Z", "0f8fad5b-d9cb-469f-a165-70867728950e", int64(1), int64(1e9))
	f.Add("1970-01-01T00:00:00.000000000Z", "ab", int64(0), int64(-1))
	f.Add("x", "x", int64(1<<62), int64(-1<<62))
	f.Fuzz(func(t *testing.T, a, b string, t1, t2 int64) {
		times := []time.Time{time.Unix(0, t1).UTC(), time.Unix(0, t2).UTC(), time.Unix(0, t1).UTC()}
		e := enc{compact: &table{}}
		for _, s := range []string{a, b, a, b} {
			e.s(s)
		}
		for _, x := range times {
			e.t(x)
		}
		d := dec{b: string(e.b), compact: &table{}}
		for _, want := range []string{a, b, a, b} {
			if got := d.s(); got != want {
				t.Fatalf("string %q read back as %q", want, got)
			}
		}
		for _, want := range times {
			if want.UnixNano() == 0 {
				want = time.Time{}
			}
			if got := d.t(); !got.Equal(want) {
				t.Fatalf("time %v read back as %v", want, got)
			}
		}
		if err := d.done(); err != nil {
			t.Fatal(err)
		}
	})
}

// versionText writes what canonical.VersionOf writes, in every year.
func TestVersionText(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	times := []time.Time{{}, time.Unix(0, 0), day0, time.Date(999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2021, 11, 27, 7, 8, 9, 10, time.FixedZone("ICT", 7*3600))}
	for range 10000 {
		times = append(times, time.Unix(0, r.Int64()).In(time.FixedZone("x", r.IntN(86400)-43200)))
	}
	for _, at := range times {
		if got, want := versionText(at), canonical.VersionOf(at); got != want {
			t.Errorf("versionText(%v) = %q, want %q", at, got, want)
		}
	}
}

func TestBucketText(t *testing.T) {
	for b := 0; b < buckets; b++ {
		if got := string(appendBucketText(nil, b)); got != bucketText(b) {
			t.Fatalf("appendBucketText(%d) = %q, want %q", b, got, bucketText(b))
		}
	}
}

package identity

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testSecret = []byte("liên thông test secret, 32 bytes or more, never in production")

func newDeriver(t testing.TB, secret []byte) *Deriver {
	t.Helper()
	d, err := NewDeriver(secret)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func year(y int) canonical.BirthDate {
	return canonical.BirthDate{Year: y, Precision: canonical.PrecisionYear}
}

func day(y, m, d int) canonical.BirthDate {
	return canonical.BirthDate{Year: y, Month: m, Day: d, Precision: canonical.PrecisionDay}
}

func cccd(n string) canonical.Document {
	return canonical.Document{Type: canonical.DocumentCCCD, Number: n}
}

func cmnd(n string) canonical.Document {
	return canonical.Document{Type: canonical.DocumentCMND, Number: n}
}

func passport(n string) canonical.Document {
	return canonical.Document{Type: canonical.DocumentPassport, Number: n}
}

func TestKeyOf(t *testing.T) {
	an := canonical.Person{Phone: "+84912345678", NameKey: "nguyen van an", BirthDate: day(1990, 5, 17)}
	with := func(f func(p *canonical.Person)) canonical.Person {
		p := an
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		person canonical.Person
		want   string // Key.String(); "" for no key
	}{
		{"cccd", with(func(p *canonical.Person) { p.Document = cccd("079090001234") }), "cccd:079090001234"},
		{"cmnd", with(func(p *canonical.Person) { p.Document = cmnd("123456789") }), "cmnd:123456789"},
		// The 12-digit CMND of 2012–2016 is still a CMND when Normalize classified it so.
		{"cmnd 12 digits", with(func(p *canonical.Person) { p.Document = cmnd("123456789012") }), "cmnd:123456789012"},
		{"passport with nationality", with(func(p *canonical.Person) {
			p.Document, p.Nationality = passport("B1234567"), "VN"
		}), "passport:VN:B1234567"},
		// A passport number means nothing without the country that issued it: weak key.
		{"passport without nationality falls to weak", with(func(p *canonical.Person) { p.Document = passport("B1234567") }),
			"weak:+84912345678|nguyen van an|1990"},
		{"passport with a nationality name (not normalized) falls to weak", with(func(p *canonical.Person) {
			p.Document, p.Nationality = passport("B1234567"), "Việt Nam"
		}), "weak:+84912345678|nguyen van an|1990"},
		{"cccd beats former cmnd", with(func(p *canonical.Person) {
			p.Document, p.FormerCMND = cccd("079090001234"), "123456789"
		}), "cccd:079090001234"},
		// Person holds one document; a CMND it carries besides a passport still ranks above it.
		{"cmnd beats passport", with(func(p *canonical.Person) {
			p.Document, p.Nationality, p.FormerCMND = passport("B1234567"), "VN", "123456789"
		}), "cmnd:123456789"},
		{"weak key from phone, name key and birth year", an, "weak:+84912345678|nguyen van an|1990"},
		{"weak key from a year-only birth date", with(func(p *canonical.Person) { p.BirthDate = year(1990) }),
			"weak:+84912345678|nguyen van an|1990"},
		{"phone alone is no key", canonical.Person{Phone: "+84912345678"}, ""},
		{"phone and name without birth year", with(func(p *canonical.Person) { p.BirthDate = canonical.BirthDate{} }), ""},
		{"phone and birth year without name", with(func(p *canonical.Person) { p.NameKey = " " }), ""},
		{"name and birth year without phone", with(func(p *canonical.Person) { p.Phone = "" }), ""},
		// Normalize leaves a phone it cannot read as typed; a local form is not E.164.
		{"phone not in E.164", with(func(p *canonical.Person) { p.Phone = "0912345678" }), ""},
		// A number of the wrong shape is ignored, so the person falls to the next key.
		{"cccd of 11 digits falls to weak", with(func(p *canonical.Person) { p.Document = cccd("07909000123") }),
			"weak:+84912345678|nguyen van an|1990"},
		{"nothing at all", canonical.Person{}, ""},
		{"document type none", with(func(p *canonical.Person) {
			p.Document = canonical.Document{Number: "079090001234"}
			p.Phone = ""
		}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok := KeyOf(tt.person)
			if got := k.String(); got != tt.want || ok != (tt.want != "") {
				t.Errorf("KeyOf = %q, %v; want %q", got, ok, tt.want)
			}
			if ok && k.Verified() != !strings.HasPrefix(tt.want, "weak:") {
				t.Errorf("Verified = %v for %q", k.Verified(), tt.want)
			}
		})
	}
}

func TestAliasKeys(t *testing.T) {
	tests := []struct {
		name   string
		person canonical.Person
		want   []string
	}{
		{"cccd with former cmnd and weak key", canonical.Person{
			Document: cccd("079090001234"), FormerCMND: "123456789",
			Phone: "+84912345678", NameKey: "nguyen van an", BirthDate: year(1990),
		}, []string{"cmnd:123456789", "weak:+84912345678|nguyen van an|1990"}},
		{"cccd only", canonical.Person{Document: cccd("079090001234")}, nil},
		{"cmnd with weak key", canonical.Person{
			Document: cmnd("123456789"), Phone: "+84912345678", NameKey: "tran thi binh", BirthDate: year(1985),
		}, []string{"weak:+84912345678|tran thi binh|1985"}},
		// The weak key is the primary key here, so it is no alias of itself.
		{"weak only", canonical.Person{Phone: "+84912345678", NameKey: "tran thi binh", BirthDate: year(1985)}, nil},
		// A former CMND equal to the document is one key, not an alias of itself.
		{"former cmnd equal to the cmnd", canonical.Person{Document: cmnd("123456789"), FormerCMND: "123456789"}, nil},
		{"nothing", canonical.Person{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, k := range AliasKeys(tt.person) {
				got = append(got, k.String())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("AliasKeys = %q, want %q", got, tt.want)
			}
		})
	}
}

// The same citizen declared on the three platforms, each normalized: the QR id is the same.
func TestSamePersonThreePlatformsSameQRID(t *testing.T) {
	d := newDeriver(t, testSecret)
	bluezone := canonical.Person{FullName: "Nguyễn Văn An", NameKey: "nguyen van an", BirthDate: day(1990, 5, 17),
		Gender: canonical.GenderMale, Nationality: "VN", Document: cccd("079090001234"), Phone: "+84912345678"}
	ncovi := canonical.Person{FullName: "NGUYỄN VĂN AN", NameKey: "nguyen van an", BirthDate: day(1990, 5, 17),
		Document: cccd("079090001234"), Phone: "+84987654321", Email: "an@example.vn", SocialInsurance: "7912345678"}
	tokhaiyte := canonical.Person{FullName: "NGUYEN VAN AN", NameKey: "nguyen van an", BirthDate: year(1990),
		Document: cccd("079090001234"), FormerCMND: "023456789"}
	var ids []string
	for _, p := range []canonical.Person{bluezone, ncovi, tokhaiyte} {
		der, ok := d.Derive(p)
		if !ok || !der.Verified || der.Key.Kind != KindCCCD {
			t.Fatalf("Derive = %+v, %v; want a verified CCCD identity", der, ok)
		}
		ids = append(ids, der.QRID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("QR ids differ across platforms: %q", ids)
	}

	// Without any document, the weak key still agrees across platforms (unverified).
	ids = ids[:0]
	for _, p := range []canonical.Person{bluezone, ncovi, tokhaiyte} {
		p.Document, p.FormerCMND, p.Phone = canonical.Document{}, "", "+84912345678"
		der, ok := d.Derive(p)
		if !ok || der.Verified || der.Key.Kind != KindWeak {
			t.Fatalf("Derive = %+v, %v; want an unverified weak identity", der, ok)
		}
		ids = append(ids, der.QRID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("weak QR ids differ across platforms: %q", ids)
	}
}

// Families share one phone: a parent declares for the children. Each gets their own QR id.
func TestFamilySharingPhoneGetsDifferentQRIDs(t *testing.T) {
	d := newDeriver(t, testSecret)
	const phone = "+84912345678"
	family := []canonical.Person{
		{NameKey: "nguyen van an", BirthDate: year(1980), Phone: phone},
		{NameKey: "tran thi binh", BirthDate: year(1982), Phone: phone},
		{NameKey: "nguyen van cuong", BirthDate: year(2012), Phone: phone},
		// Twins: same phone, same year, different names.
		{NameKey: "nguyen thi dung", BirthDate: year(2015), Phone: phone},
		{NameKey: "nguyen thi duong", BirthDate: year(2015), Phone: phone},
		// A grandfather of the same name as the father, another year.
		{NameKey: "nguyen van an", BirthDate: year(1950), Phone: phone},
	}
	seen := map[string]int{}
	for i, p := range family {
		der, ok := d.Derive(p)
		if !ok {
			t.Fatalf("member %d: no identity", i)
		}
		if j, dup := seen[der.QRID]; dup {
			t.Errorf("members %d and %d share QR id %s", j, i, der.QRID)
		}
		seen[der.QRID] = i
	}
}

// When a weak identity is later matched by a strong one, the weak QR id is an alias of the
// strong one.
func TestWeakQRIDBecomesAliasOfStrong(t *testing.T) {
	d := newDeriver(t, testSecret)
	weak := canonical.Person{NameKey: "le thi hoa", BirthDate: year(1975), Phone: "+84387654321"}
	strong := weak
	strong.BirthDate = day(1975, 3, 8)
	strong.Document = cccd("001175000123")
	strong.FormerCMND = "012345678"
	oldCard := canonical.Person{NameKey: "le thi hoa", Document: cmnd("012345678")}

	w, _ := d.Derive(weak)
	s, _ := d.Derive(strong)
	c, _ := d.Derive(oldCard)
	if w.QRID == s.QRID {
		t.Fatal("weak and strong QR ids are equal")
	}
	want := []string{c.QRID, w.QRID}
	if fmt.Sprint(s.Aliases) != fmt.Sprint(want) {
		t.Errorf("strong Aliases = %q, want [cmnd weak] %q", s.Aliases, want)
	}
}

func TestDifferentSecretsGiveDifferentQRIDs(t *testing.T) {
	a := newDeriver(t, testSecret)
	b := newDeriver(t, append([]byte("another deployment's "), testSecret...))
	k := Key{Kind: KindCCCD, Value: "079090001234"}
	if a.QRID(k) == b.QRID(k) {
		t.Error("two secrets give the same QR id")
	}
	if a.QRID(k) != newDeriver(t, testSecret).QRID(k) {
		t.Error("the same secret gives different QR ids")
	}
}

func TestNewDeriverRejectsShortSecret(t *testing.T) {
	for _, n := range []int{0, 16, MinSecretLen - 1} {
		_, err := NewDeriver(make([]byte, n))
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("secret of %d bytes: err = %v, want kind Invalid", n, err)
		}
	}
	secret := bytes.Repeat([]byte{7}, MinSecretLen)
	d, err := NewDeriver(secret)
	if err != nil {
		t.Fatal(err)
	}
	k := Key{Kind: KindCMND, Value: "123456789"}
	before := d.QRID(k)
	secret[0] = 8 // the Deriver keeps its own copy
	if d.QRID(k) != before {
		t.Error("changing the caller's secret slice changed the QR id")
	}
}

// A QR id has a fixed length and alphabet and contains nothing of the key.
func TestQRIDRevealsNothing(t *testing.T) {
	d := newDeriver(t, testSecret)
	keys := []Key{
		{Kind: KindCCCD, Value: "079090001234"},
		{Kind: KindCCCD, Value: "079090001235"}, // one digit away
		{Kind: KindCMND, Value: "079090001"},
		{Kind: KindPassport, Value: "VN:B1234567"},
		{Kind: KindWeak, Value: "+84912345678|nguyen van an|1990"},
	}
	seen := map[string]bool{}
	for _, k := range keys {
		id := d.QRID(k)
		if len(id) != QRIDLen || !LooksLikeQRID(id) {
			t.Errorf("QRID(%s) = %q: not 24 characters of %s", k, id, Alphabet)
		}
		if strings.ContainsAny(id, "0189") {
			t.Errorf("QRID(%s) = %q holds a digit outside the alphabet", k, id)
		}
		for _, part := range strings.FieldsFunc(k.Value, func(r rune) bool { return r == ':' || r == '|' || r == ' ' }) {
			if len(part) >= 3 && strings.Contains(strings.ToLower(id), strings.ToLower(part)) {
				t.Errorf("QRID(%s) = %q contains %q", k, id, part)
			}
		}
		if seen[id] {
			t.Errorf("QRID(%s) = %q repeats", k, id)
		}
		seen[id] = true
	}
	// The one-digit neighbours differ in about half of their 120 bits.
	a, _ := DecodeQRID(d.QRID(keys[0]))
	b, _ := DecodeQRID(d.QRID(keys[1]))
	diff := 0
	for i := range a {
		for x := a[i] ^ b[i]; x != 0; x &= x - 1 {
			diff++
		}
	}
	if diff < 30 || diff > 90 {
		t.Errorf("neighbouring CCCDs' QR ids differ in %d of 120 bits", diff)
	}
}

// QRID is HMAC-SHA256 of Key.String, truncated: checked against the standard library directly,
// and against known answers so a change of format (which would orphan every QR ever issued)
// fails loudly.
func TestQRIDKnownAnswers(t *testing.T) {
	d := newDeriver(t, testSecret)
	keys := []Key{
		{Kind: KindCCCD, Value: "079090001234"},
		{Kind: KindCMND, Value: "123456789"},
		{Kind: KindPassport, Value: "VN:B1234567"},
		{Kind: KindWeak, Value: "+84912345678|nguyen van an|1990"},
	}
	var b strings.Builder
	for _, k := range keys {
		m := hmac.New(sha256.New, testSecret)
		m.Write([]byte(k.String()))
		want := EncodeQRID([QRIDBytes]byte(m.Sum(nil)[:QRIDBytes]))
		got := d.QRID(k)
		if got != want {
			t.Errorf("QRID(%s) = %q, want %q", k, got, want)
		}
		fmt.Fprintf(&b, "%s %s\n", got, k)
	}
	golden(t, "qrid.golden", b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestLooksLikeQRID(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"abcdefghijklmnopqrstuvwx", true},
		{"234567abcdefghijklmnopqr", true},
		{"abcdefghijklmnopqrstuvw", false},   // 23 characters
		{"abcdefghijklmnopqrstuvwxy", false}, // 25
		{"ABCDEFGHIJKLMNOPQRSTUVWX", false},  // upper case is not the exact shape
		{"abcdefghijklmnopqrstuvw0", false},  // 0 is outside base32
		{"abcdefghijklmnopqrstuvw1", false},
		{"abcdefghijklmnopqrstuvw=", false}, // no padding
		{"079090001234079090001234", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := LooksLikeQRID(tt.s); got != tt.want {
			t.Errorf("LooksLikeQRID(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestDecodeQRIDRoundTrips(t *testing.T) {
	d := newDeriver(t, testSecret)
	for i := range 100 {
		id := d.QRID(Key{Kind: KindCMND, Value: fmt.Sprintf("%09d", i)})
		b, err := DecodeQRID(id)
		if err != nil {
			t.Fatalf("DecodeQRID(%q): %v", id, err)
		}
		if EncodeQRID(b) != id {
			t.Fatalf("EncodeQRID(DecodeQRID(%q)) = %q", id, EncodeQRID(b))
		}
	}
	if _, err := DecodeQRID("not a qr id"); !errs.Is(err, errs.Invalid) {
		t.Errorf("DecodeQRID of garbage: err = %v, want kind Invalid", err)
	}
}

// Many goroutines deriving at once get the answers one goroutine gets (run with -race).
func TestDeriveConcurrent(t *testing.T) {
	d := newDeriver(t, testSecret)
	people := make([]canonical.Person, 64)
	want := make([]Derivation, len(people))
	for i := range people {
		people[i] = canonical.Person{Document: cccd(fmt.Sprintf("0790900%05d", i)), FormerCMND: fmt.Sprintf("%09d", i),
			Phone: "+84912345678", NameKey: "nguyen van an", BirthDate: year(1990)}
		want[i], _ = d.Derive(people[i])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				i := (g*31 + n) % len(people)
				got, _ := d.Derive(people[i])
				if fmt.Sprint(got) != fmt.Sprint(want[i]) {
					t.Errorf("concurrent Derive(%d) = %+v, want %+v", i, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkDerive(b *testing.B) {
	d := newDeriver(b, testSecret)
	p := canonical.Person{Document: cccd("079090001234"), FormerCMND: "123456789",
		Phone: "+84912345678", NameKey: "nguyen van an", BirthDate: year(1990)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d.Derive(p)
		}
	})
}

func BenchmarkQRID(b *testing.B) {
	d := newDeriver(b, testSecret)
	k := Key{Kind: KindCCCD, Value: "079090001234"}
	b.ReportAllocs()
	for b.Loop() {
		d.QRID(k)
	}
}

// The alternative the pool replaces: a new HMAC per call.
func BenchmarkQRIDNewHMACPerCall(b *testing.B) {
	k := Key{Kind: KindCCCD, Value: "079090001234"}
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, testSecret)
		m.Write([]byte(k.String()))
		EncodeQRID([QRIDBytes]byte(m.Sum(nil)[:QRIDBytes]))
	}
}

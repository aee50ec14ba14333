package store

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

// decl returns a normalized declaration of Nguyễn Văn An by platform p at t0+offset.
func decl(p canonical.Platform, id string, offset time.Duration, version string) canonical.Declaration {
	return canonical.Declaration{
		Source: canonical.Source{Platform: p, RecordID: id, Version: version},
		Person: canonical.Person{
			FullName:  "Nguyễn Văn An",
			NameKey:   "nguyen van an",
			BirthDate: canonical.BirthDate{Year: 1990, Month: 5, Day: 17, Precision: canonical.PrecisionDay},
			Gender:    canonical.GenderMale,
			Document:  canonical.Document{Type: canonical.DocumentCCCD, Number: "079090001234"},
			Phone:     "+84912345678",
		},
		Address:    canonical.Address{ProvinceCode: "79", CodeSet: canonical.CodeSet2021, Province2025: "79"},
		DeclaredAt: t0.Add(offset),
	}
}

func acc(d canonical.Declaration) Accepted {
	return Accepted{Declaration: d, QRID: "q1", Verified: true}
}

func TestApplyLatest(t *testing.T) {
	base := decl(canonical.PlatformNCOVI, "n1", 0, "v1")
	tests := []struct {
		name        string
		next        canonical.Declaration
		wantChanged bool
		wantVersion string
		wantRecord  string
	}{
		{"same version again changes nothing", base, false, "v1", "n1"},
		{"newer declaration replaces", decl(canonical.PlatformNCOVI, "n2", time.Hour, "v1"), true, "v1", "n2"},
		// A late delivery of an older declaration must not replace the newer one.
		{"older declaration arriving late is ignored", decl(canonical.PlatformNCOVI, "n0", -time.Hour, "v9"), false, "v1", "n1"},
		// NCOVI corrections keep the record id and declared time and raise the version.
		{"correction replaces", decl(canonical.PlatformNCOVI, "n1", 0, "v2"), true, "v2", "n1"},
		{"older version of the same record is ignored", decl(canonical.PlatformNCOVI, "n1", 0, "v0"), false, "v1", "n1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, changed := Apply(View{}, acc(base))
			if !changed || v.Revision != 1 {
				t.Fatalf("first apply: changed=%v revision=%d", changed, v.Revision)
			}
			got, changed := Apply(v, acc(tt.next))
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if len(got.Latest) != 1 || got.Latest[0].Version != tt.wantVersion || got.Latest[0].RecordID != tt.wantRecord {
				t.Errorf("latest = %+v, want record %s version %s", got.Latest, tt.wantRecord, tt.wantVersion)
			}
			wantRev := uint64(1)
			if tt.wantChanged {
				wantRev = 2
			}
			if got.Revision != wantRev {
				t.Errorf("revision = %d, want %d", got.Revision, wantRev)
			}
		})
	}
}

// A platform's first declaration goes into Latest in platform order, and the view it was
// applied to keeps its own Latest (callers hold the view before, and compare with it).
func TestApplyInsertsPlatformInOrderWithoutTouchingTheViewBefore(t *testing.T) {
	v, _ := Apply(View{}, acc(decl(canonical.PlatformBluezone, "b1", 0, "v1")))
	v, _ = Apply(v, acc(decl(canonical.PlatformTokhaiyte, "t1", time.Hour, "v1")))
	before := slices.Clone(v.Latest)
	got, changed := Apply(v, acc(decl(canonical.PlatformNCOVI, "n1", 2*time.Hour, "v1")))
	if !changed {
		t.Fatal("a new platform's declaration changed nothing")
	}
	var platforms []canonical.Platform
	for _, s := range got.Latest {
		platforms = append(platforms, s.Platform)
	}
	want := []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte}
	if !slices.IsSorted(want) || !reflect.DeepEqual(platforms, want) {
		t.Errorf("latest platforms = %v, want %v", platforms, want)
	}
	if !reflect.DeepEqual(v.Latest, before) {
		t.Errorf("the view applied to changed: latest %+v, was %+v", v.Latest, before)
	}
}

func TestApplyPersonVerifiedAndMask(t *testing.T) {
	a := decl(canonical.PlatformBluezone, "b1", time.Hour, "v1")
	a.Person.FullName = "Nguyễn Văn Ân"
	b := decl(canonical.PlatformTokhaiyte, "t1", 0, "v1")
	v, _ := Apply(View{}, Accepted{Declaration: b, QRID: "q1", Verified: false})
	v, _ = Apply(v, Accepted{Declaration: a, QRID: "q1", Verified: true})
	if v.Person.FullName != "Nguyễn Văn Ân" {
		t.Errorf("person from %q, want the newest declaration's name", v.Person.FullName)
	}
	if v.Person.DocumentMasked != "********1234" || v.Person.BirthYear != 1990 || v.Person.DocumentType != canonical.DocumentCCCD {
		t.Errorf("person = %+v", v.Person)
	}
	if !v.Verified {
		t.Error("verified lost")
	}
	// An unverified declaration after a verified one keeps the view verified.
	c := decl(canonical.PlatformNCOVI, "n1", -time.Hour, "v1")
	v, _ = Apply(v, Accepted{Declaration: c, QRID: "q1"})
	if !v.Verified || v.Person.FullName != "Nguyễn Văn Ân" {
		t.Errorf("older unverified declaration changed verified or person: %+v", v)
	}
	if got := v.Platforms(); !reflect.DeepEqual(got, []canonical.Platform{"bluezone", "ncovi", "tokhaiyte"}) {
		t.Errorf("platforms = %v", got)
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"079090001234", "********1234"},
		{"B1234567", "****4567"},
		// Four characters or fewer would be shown whole: mask them all.
		{"1234", "****"},
		{"12", "**"},
		// Multi-byte characters count as one character.
		{"ĐĐ12345", "***2345"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInconsistencies(t *testing.T) {
	type edit func(*canonical.Declaration)
	tests := []struct {
		name string
		a, b edit
		want []Field
	}{
		{"identical", nil, nil, nil},
		{"name", func(d *canonical.Declaration) { d.Person.NameKey = "nguyen van anh" }, nil, []Field{FieldName}},
		// The name is compared by its folded key: a spelling without diacritics agrees.
		{"name spelled differently, same key", func(d *canonical.Declaration) { d.Person.FullName = "NGUYEN VAN AN" }, nil, nil},
		{"birth year", func(d *canonical.Declaration) { d.Person.BirthDate.Year = 1991 }, nil, []Field{FieldBirthDate}},
		// tokhaiyte knows only the year: a year-only date agreeing on the year agrees.
		{"year-only against day", func(d *canonical.Declaration) {
			d.Person.BirthDate = canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}
		}, nil, nil},
		{"year-only against other year", func(d *canonical.Declaration) {
			d.Person.BirthDate = canonical.BirthDate{Year: 1989, Precision: canonical.PrecisionYear}
		}, nil, []Field{FieldBirthDate}},
		{"day differs", func(d *canonical.Declaration) { d.Person.BirthDate.Day = 18 }, nil, []Field{FieldBirthDate}},
		{"gender", func(d *canonical.Declaration) { d.Person.Gender = canonical.GenderFemale }, nil, []Field{FieldGender}},
		{"gender unspecified on one side", func(d *canonical.Declaration) { d.Person.Gender = canonical.GenderUnspecified }, nil, nil},
		{"phone", func(d *canonical.Declaration) { d.Person.Phone = "+84987654321" }, nil, []Field{FieldPhone}},
		{"phone empty on one side", func(d *canonical.Declaration) { d.Person.Phone = "" }, nil, nil},
		// Bình Dương (74) merged into Hồ Chí Minh City (79) in 2025: the codes agree.
		{"2021 code and its 2025 successor", func(d *canonical.Declaration) {
			d.Address = canonical.Address{ProvinceCode: "74", CodeSet: canonical.CodeSet2021, Province2025: "79"}
		}, func(d *canonical.Declaration) {
			d.Address = canonical.Address{ProvinceCode: "79", CodeSet: canonical.CodeSet2025}
		}, nil},
		{"province", func(d *canonical.Declaration) {
			d.Address = canonical.Address{ProvinceCode: "01", CodeSet: canonical.CodeSet2021, Province2025: "01"}
		}, nil, []Field{FieldProvince}},
		{"province unknown on one side", func(d *canonical.Declaration) { d.Address = canonical.Address{} }, nil, nil},
		{"several fields, sorted", func(d *canonical.Declaration) {
			d.Person.Phone = "+84987654321"
			d.Person.Gender = canonical.GenderFemale
			d.Person.NameKey = "tran thi binh"
		}, nil, []Field{FieldGender, FieldName, FieldPhone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := decl(canonical.PlatformTokhaiyte, "t1", 0, "v1")
			b := decl(canonical.PlatformBluezone, "b1", time.Minute, "v1")
			if tt.a != nil {
				tt.a(&a)
			}
			if tt.b != nil {
				tt.b(&b)
			}
			v, _ := Apply(View{}, acc(a))
			v, _ = Apply(v, acc(b))
			var got []Field
			for _, in := range v.Inconsistencies {
				if in.PlatformA != canonical.PlatformBluezone || in.PlatformB != canonical.PlatformTokhaiyte {
					t.Errorf("pair = %s/%s, want bluezone/tokhaiyte", in.PlatformA, in.PlatformB)
				}
				got = append(got, in.Field)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestApplyOrderIndependent(t *testing.T) {
	var as []Accepted
	for i, p := range []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte} {
		for j := range 4 {
			d := decl(p, "r"+string(rune('a'+j%2)), time.Duration(j%3)*time.Hour, "v"+string(rune('0'+j)))
			d.Person.Phone = "+8491234567" + string(rune('0'+i))
			d.Health.HasSymptoms = j == 2
			as = append(as, Accepted{Declaration: d, QRID: "q1", Verified: i == 1 && j == 0})
		}
	}
	want := View{}
	for _, a := range as {
		want, _ = Apply(want, a)
	}
	want.Revision = 0
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		r.Shuffle(len(as), func(i, j int) { as[i], as[j] = as[j], as[i] })
		got := View{}
		for _, a := range as {
			got, _ = Apply(got, a)
			got, _ = Apply(got, a) // a duplicate changes nothing
		}
		got.Revision = 0
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("order changed the view:\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	now := t0.Add(10 * time.Hour)
	const validity = 72 * time.Hour
	tests := []struct {
		name string
		edit func(*canonical.Declaration)
		at   time.Time
		want Status
	}{
		{"clear", nil, now, StatusClear},
		{"symptom checked", func(d *canonical.Declaration) { d.Health.Symptoms = []canonical.Symptom{canonical.SymptomFever} }, now, StatusScreen},
		{"single question yes", func(d *canonical.Declaration) { d.Health.HasSymptoms = true }, now, StatusScreen},
		{"exposure", func(d *canonical.Declaration) {
			d.Health.Exposures = []canonical.Exposure{canonical.ExposureContactWithCase}
		}, now, StatusScreen},
		// Exactly the validity window old is still valid; one nanosecond more is stale.
		{"at the edge of validity", nil, t0.Add(validity), StatusClear},
		{"stale", nil, t0.Add(validity + time.Nanosecond), StatusStale},
		// Staleness wins over symptoms: the checkpoint must ask for a new declaration.
		{"stale with symptoms", func(d *canonical.Declaration) { d.Health.HasSymptoms = true }, t0.Add(100 * time.Hour), StatusStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decl(canonical.PlatformNCOVI, "n1", 0, "v1")
			if tt.edit != nil {
				tt.edit(&d)
			}
			v, _ := Apply(View{}, acc(d))
			if got := StatusOf(v, tt.at, validity); got != tt.want {
				t.Errorf("StatusOf = %s, want %s", got, tt.want)
			}
		})
	}
	if got := StatusOf(View{}, now, validity); got != StatusNone {
		t.Errorf("empty view: %s, want NONE", got)
	}
	// Only the newest declaration counts: an older one with symptoms does not screen.
	old := decl(canonical.PlatformBluezone, "b1", -time.Hour, "v1")
	old.Health.HasSymptoms = true
	v, _ := Apply(View{}, acc(old))
	v, _ = Apply(v, acc(decl(canonical.PlatformNCOVI, "n1", 0, "v1")))
	if got := StatusOf(v, now, validity); got != StatusClear {
		t.Errorf("newest clear after older symptoms: %s, want CLEAR", got)
	}
}

// A newer declaration without a document (tokhaiyte's is optional) does not hide the CCCD
// an older one gave, in either arrival order.
func TestApplyKeepsStrongestDocument(t *testing.T) {
	at := time.Date(2021, 8, 15, 9, 0, 0, 0, time.UTC)
	withDoc := canonical.Declaration{
		Source:     canonical.Source{Platform: canonical.PlatformNCOVI, RecordID: "nc-1", Version: "1"},
		Person:     canonical.Person{FullName: "Nguyễn Văn An", BirthDate: canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}, Document: canonical.Document{Type: canonical.DocumentCCCD, Number: "079090001234"}},
		DeclaredAt: at,
	}
	noDoc := canonical.Declaration{
		Source:     canonical.Source{Platform: canonical.PlatformTokhaiyte, RecordID: "tk-1", Version: "1"},
		Person:     canonical.Person{FullName: "NGUYEN VAN AN", BirthDate: canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}},
		DeclaredAt: at.Add(time.Hour),
	}
	for _, order := range [][]canonical.Declaration{{withDoc, noDoc}, {noDoc, withDoc}} {
		var v View
		for _, d := range order {
			v, _ = Apply(v, Accepted{Declaration: d, QRID: "q", Verified: true})
		}
		if v.Person.DocumentType != canonical.DocumentCCCD || v.Person.DocumentMasked != "********1234" {
			t.Fatalf("order %s first: person %+v, want the CCCD masked", order[0].Source.Platform, v.Person)
		}
		if v.Person.FullName != "NGUYEN VAN AN" {
			t.Fatalf("name %q, want the newest declaration's", v.Person.FullName)
		}
	}
}

// A rejected declaration without a declared time counts on the day it arrived, not on 0001-01-01.
func TestCountsOfUndatedRejection(t *testing.T) {
	arrived := time.Date(2021, 8, 15, 20, 0, 0, 0, time.UTC) // 03:00 on the 16th in Vietnam
	it := Item{Rejected: &Rejected{
		Declaration: canonical.Declaration{Source: canonical.Source{Platform: canonical.PlatformTokhaiyte, RecordID: "x"}, ReceivedAt: arrived},
		Violations:  []canonical.Violation{{Field: "declared_at", Reason: canonical.ReasonRequired}},
	}}
	cs := CountsOf(it)
	if len(cs) != 1 || cs[0].Day != "2021-08-16" {
		t.Fatalf("counts %+v, want one cell on 2021-08-16", cs)
	}
}

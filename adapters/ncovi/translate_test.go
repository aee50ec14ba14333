package ncovi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/internal/cputime"
	"github.com/lienthong/lienthong/adapters/internal/goldentest"
	"github.com/lienthong/lienthong/canonical"
)

// TestGolden decodes every testdata/<case>.json page and compares the normalized
// declarations with <case>.golden.json (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, in := range goldentest.Inputs(t, ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			decls, _, _, err := DecodePage(body)
			if err != nil {
				t.Fatal(err)
			}
			goldentest.Check(t, in, decls)
			if filepath.Base(in) == "basic.json" {
				goldentest.Valid(t, decls, time.Date(2021, 8, 16, 0, 0, 0, 0, time.UTC))
			}
		})
	}
}

func TestDecodeRecord(t *testing.T) {
	email := "an@example.vn"
	base := Record{
		ID: "nc_1", AccountID: "u_1", FullName: "NGUYEN VAN AN", DateOfBirth: "1990-05-17", Gender: "male",
		Nationality: "VN", IdentityNumber: "079090001234", Phone: "+84912345678", Email: &email,
		Address:   Address{Province: "Hà Nội"},
		CreatedAt: "2021-08-15T09:12:00+07:00", UpdatedAt: "2021-08-16T09:12:00+07:00",
	}
	tests := []struct {
		name     string
		edit     func(*Record)
		check    func(*testing.T, canonical.Declaration)
		problems []canonical.Reason
	}{
		{name: "source and times", edit: func(*Record) {}, check: func(t *testing.T, d canonical.Declaration) {
			want := canonical.Source{Platform: canonical.PlatformNCOVI, RecordID: "nc_1", SubjectID: "u_1",
				Version: "2021-08-16T02:12:00.000000000Z"}
			if d.Source != want {
				t.Errorf("Source = %+v, want %+v", d.Source, want)
			}
			if !d.DeclaredAt.Equal(time.Date(2021, 8, 15, 2, 12, 0, 0, time.UTC)) || d.DeclaredAt.Location() != time.UTC {
				t.Errorf("DeclaredAt = %v, want created_at in UTC", d.DeclaredAt)
			}
			if d.Person.Email != email || d.Address.Province != "Hà Nội" || d.Address.ProvinceCode != "" {
				t.Errorf("Person/Address = %+v %+v", d.Person, d.Address)
			}
		}},
		// The version is updated_at in UTC, whatever offset NCOVI wrote it with.
		{name: "version order", edit: func(r *Record) { r.UpdatedAt = "2021-08-16T03:00:00+08:00" }, check: func(t *testing.T, d canonical.Declaration) {
			if d.Source.Version != "2021-08-15T19:00:00.000000000Z" {
				t.Errorf("Version = %s", d.Source.Version)
			}
		}},
		{name: "year only", edit: func(r *Record) { r.DateOfBirth = "1990" }, check: func(t *testing.T, d canonical.Declaration) {
			if d.Person.BirthDate != (canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}) {
				t.Errorf("BirthDate = %+v", d.Person.BirthDate)
			}
		}},
		{name: "exposures", edit: func(r *Record) { r.Exposures = Exposures{ContactWithPatient: true, ContactWithSymptomatic: true} },
			check: func(t *testing.T, d canonical.Declaration) {
				want := []canonical.Exposure{canonical.ExposureContactWithCase, canonical.ExposureContactWithSymptomatic}
				if !reflect.DeepEqual(d.Health.Exposures, want) {
					t.Errorf("Exposures = %v", d.Health.Exposures)
				}
			}},
		// Unknown symptom codes are kept for Validate to report unknown_symptom.
		{name: "unknown symptom", edit: func(r *Record) { r.Symptoms = []string{"fever", "headache"} },
			check: func(t *testing.T, d canonical.Declaration) {
				if !reflect.DeepEqual(d.Health.Symptoms, []canonical.Symptom{"fever", "headache"}) || !d.Health.HasSymptoms {
					t.Errorf("Health = %+v", d.Health)
				}
			}},
		{name: "null email", edit: func(r *Record) { r.Email = nil }, check: func(t *testing.T, d canonical.Declaration) {
			if d.Person.Email != "" {
				t.Errorf("Email = %q", d.Person.Email)
			}
		}},
		{name: "gender in capitals", edit: func(r *Record) { r.Gender = " Female " }, check: func(t *testing.T, d canonical.Declaration) {
			if d.Person.Gender != canonical.GenderFemale {
				t.Errorf("Gender = %v", d.Person.Gender)
			}
		}},
		{name: "dd/mm/yyyy", edit: func(r *Record) { r.DateOfBirth = "17/05/1990" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "no such day", edit: func(r *Record) { r.DateOfBirth = "1990-13-01" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "unknown gender", edit: func(r *Record) { r.Gender = "f" }, problems: []canonical.Reason{canonical.ReasonUnknownGender}},
		{name: "bad created_at", edit: func(r *Record) { r.CreatedAt = "yesterday" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "no updated_at", edit: func(r *Record) { r.UpdatedAt = "" }, problems: []canonical.Reason{canonical.ReasonRequired}},
		{name: "bad updated_at", edit: func(r *Record) { r.UpdatedAt = "2021-08-16" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "no id", edit: func(r *Record) { r.ID = "" }, problems: []canonical.Reason{canonical.ReasonRequired}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			d := DecodeRecord(r)
			var got []canonical.Reason
			for _, p := range d.Problems {
				got = append(got, p.Reason)
			}
			if !reflect.DeepEqual(got, tt.problems) {
				t.Errorf("problems = %v (%v), want %v", got, d.Problems, tt.problems)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

// TestRoundTrip: encoding a declaration and decoding it gives it back.
func TestRoundTrip(t *testing.T) {
	declared := time.Date(2021, 8, 15, 2, 12, 0, 0, time.UTC)
	decls := []canonical.Declaration{{
		Source: canonical.Source{Platform: canonical.PlatformNCOVI, RecordID: "nc_9", SubjectID: "u_9",
			Version: canonical.VersionOf(declared.Add(26*time.Hour + 500*time.Millisecond))},
		Person: canonical.Person{
			FullName: "NGUYEN VAN AN", BirthDate: canonical.BirthDate{Year: 1990, Month: 5, Day: 17, Precision: canonical.PrecisionDay},
			Gender: canonical.GenderMale, Nationality: "VN", Document: canonical.Document{Number: "079090001234"},
			Phone: "0912 345 678", Email: "an@example.vn", SocialInsurance: "7912345678",
		},
		Address: canonical.Address{Province: "TP.HCM", District: "Quận 1", Ward: "Phường Bến Nghé", Street: "12 Lê Lợi"},
		Health: canonical.Health{Form: canonical.SymptomChecklist, HasSymptoms: true,
			Symptoms:   []canonical.Symptom{canonical.SymptomFever, "headache"},
			Exposures:  []canonical.Exposure{canonical.ExposureFromAffectedArea},
			Conditions: []string{"diabetes"}},
		DeclaredAt: declared,
	}, {
		Source: canonical.Source{Platform: canonical.PlatformNCOVI, RecordID: "nc_10", Version: canonical.VersionOf(declared)},
		Person: canonical.Person{FullName: "A", BirthDate: canonical.BirthDate{Year: 1950, Precision: canonical.PrecisionYear}},
		Health: canonical.Health{Form: canonical.SymptomChecklist, Symptoms: []canonical.Symptom{}},
		// updated_at falls back to created_at when the version is no time
		DeclaredAt: declared,
	}}
	page := PageBody{NextCursor: "c2", HasMore: true}
	for _, d := range decls {
		page.Data = append(page.Data, EncodeRecord(d))
	}
	body, err := json.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	got, next, more, err := DecodePage(body)
	if err != nil || next != "c2" || !more {
		t.Fatalf("DecodePage = %q %v %v", next, more, err)
	}
	decls[1].Health.Symptoms = nil // an empty list decodes as none
	if !reflect.DeepEqual(got, decls) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, decls)
	}
}

// FuzzDecodePage: no input panics, and every declaration has a record id or a Problem.
func FuzzDecodePage(f *testing.F) {
	for _, in := range []string{"basic.json", "messy_text.json", "problems.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", in))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"data":[{}],"has_more":true}`))                      // an empty record
	f.Add([]byte(`{"data":[null,1,"x",[],{"id":7}]}`))                  // records of every JSON type
	f.Add([]byte(`{"data":[{"id":"a","date_of_birth":"0000-00-00"}]}`)) // date zero
	f.Add([]byte(`{"data":[{"id":"a","updated_at":"9999-12-31T23:59:60+23:59"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		decls, _, _, err := DecodePage(body)
		if err != nil {
			return
		}
		for i, d := range decls {
			if d.Source.RecordID == "" && len(d.Problems) == 0 {
				t.Errorf("record %d has neither a record id nor a problem", i)
			}
			if d.Source.Version == "" && len(d.Problems) == 0 {
				t.Errorf("record %d has neither a version nor a problem", i)
			}
		}
	})
}

// BenchmarkDecodePage measures decoding a full page of 500 records (records/s is reported).
func BenchmarkDecodePage(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "messy_text.json"))
	if err != nil {
		b.Fatal(err)
	}
	var page PageBody
	if err := json.Unmarshal(body, &page); err != nil {
		b.Fatal(err)
	}
	big := PageBody{NextCursor: "c", HasMore: true}
	for len(big.Data) < MaxPageSize {
		big.Data = append(big.Data, page.Data...)
	}
	big.Data = big.Data[:MaxPageSize]
	body, _ = json.Marshal(big)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Self()
	for b.Loop() {
		if _, _, _, err := DecodePage(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(big.Data))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	cputime.Report(b, cpu, len(big.Data)*b.N)
}

// TestDecodePageShapes: what is and is not a page.
func TestDecodePageShapes(t *testing.T) {
	tests := []struct {
		name string
		body string
		n    int
		ok   bool
	}{
		{"empty data", `{"data":[],"next_cursor":"","has_more":false}`, 0, true},
		// A Go server writes a nil slice as null: still an empty page.
		{"null data", `{"data":null}`, 0, true},
		{"no data", `{"next_cursor":"x"}`, 0, false},
		{"JSON null", `null`, 0, false},
		{"data an object", `{"data":{}}`, 0, false},
		{"truncated", `{"data":[{"id":"a"}`, 0, false},
		{"a record of each kind", `{"data":[{"id":"a"},7]}`, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decls, _, _, err := DecodePage([]byte(tt.body))
			if (err == nil) != tt.ok || len(decls) != tt.n {
				t.Errorf("DecodePage = %d decls, %v; want %d, ok %v", len(decls), err, tt.n, tt.ok)
			}
		})
	}
}

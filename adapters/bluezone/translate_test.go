package bluezone

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/internal/cputime"
	"github.com/lienthong/lienthong/adapters/internal/goldentest"
	"github.com/lienthong/lienthong/canonical"
)

// TestGolden decodes every testdata/<case>.json batch and compares the normalized
// declarations with <case>.golden.json (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, in := range goldentest.Inputs(t, ".json") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			_, decls, err := DecodeBatch(body)
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

func TestDecodeItem(t *testing.T) {
	base := Item{
		DeclarationId: "BZ-1", BluezoneId: "A1", FullName: "Nguyễn Văn An", NgaySinh: "17/05/1990", NamSinh: "1990",
		MaGioiTinh: "1", MaQuocTich: "VN", SoGiayTo: "079090001234", SoDienThoai: "0912345678",
		DiaChiLienLacVNMaTinh: "79", ThoiGianKhaiBao: 1629012345000,
	}
	tests := []struct {
		name     string
		edit     func(*Item)
		check    func(*testing.T, canonical.Declaration)
		problems []canonical.Reason
	}{
		{name: "source and fields", edit: func(*Item) {}, check: func(t *testing.T, d canonical.Declaration) {
			want := canonical.Source{Platform: canonical.PlatformBluezone, RecordID: "BZ-1", Version: "1", SubjectID: "A1"}
			if d.Source != want {
				t.Errorf("Source = %+v, want %+v", d.Source, want)
			}
			if d.Person.BirthDate != (canonical.BirthDate{Year: 1990, Month: 5, Day: 17, Precision: canonical.PrecisionDay}) {
				t.Errorf("BirthDate = %+v", d.Person.BirthDate)
			}
			if d.Address.ProvinceCode != "79" || d.Address.CodeSet != canonical.CodeSet2021 || d.Address.Province != "79" {
				t.Errorf("Address = %+v", d.Address)
			}
			if !d.DeclaredAt.Equal(time.Date(2021, 8, 15, 7, 25, 45, 0, time.UTC)) {
				t.Errorf("DeclaredAt = %v", d.DeclaredAt)
			}
		}},
		// NgaySinh is optional: the year alone then comes from NamSinh.
		{name: "year only", edit: func(it *Item) { it.NgaySinh = "" }, check: func(t *testing.T, d canonical.Declaration) {
			if d.Person.BirthDate != (canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}) {
				t.Errorf("BirthDate = %+v", d.Person.BirthDate)
			}
		}},
		// A symptom answered false is no symptom; true ones map to the common codes.
		{name: "symptoms", edit: func(it *Item) {
			it.TrieuChungBenh = []Answer{{"sot", false}, {"ho", true}, {"met_moi", true}}
			it.LichSuPhoiNhiem = []Answer{{"tu_vung_dich", true}, {"tiep_xuc_f0", false}}
		}, check: func(t *testing.T, d canonical.Declaration) {
			if want := []canonical.Symptom{canonical.SymptomCough, canonical.SymptomFatigue}; !reflect.DeepEqual(d.Health.Symptoms, want) {
				t.Errorf("Symptoms = %v, want %v", d.Health.Symptoms, want)
			}
			if want := []canonical.Exposure{canonical.ExposureFromAffectedArea}; !reflect.DeepEqual(d.Health.Exposures, want) {
				t.Errorf("Exposures = %v, want %v", d.Health.Exposures, want)
			}
		}},
		// An unknown id ticked is kept for Validate to report unknown_symptom; not ticked, the
		// decoder reports it itself, as it has nowhere to keep it.
		{name: "unknown symptom ticked", edit: func(it *Item) { it.TrieuChungBenh = []Answer{{"dau_dau", true}} },
			check: func(t *testing.T, d canonical.Declaration) {
				if !reflect.DeepEqual(d.Health.Symptoms, []canonical.Symptom{"dau_dau"}) {
					t.Errorf("Symptoms = %v", d.Health.Symptoms)
				}
			}},
		{name: "unknown symptom not ticked", edit: func(it *Item) { it.TrieuChungBenh = []Answer{{"dau_dau", false}} },
			problems: []canonical.Reason{canonical.ReasonUnknownSymptom}},
		{name: "unknown exposure not ticked", edit: func(it *Item) { it.LichSuPhoiNhiem = []Answer{{"x", false}} },
			problems: []canonical.Reason{canonical.ReasonUnknownExposure}},
		{name: "no such day", edit: func(it *Item) { it.NgaySinh = "30/02/1990" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "wrong date form", edit: func(it *Item) { it.NgaySinh = "1990-05-17" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "bad year", edit: func(it *Item) { it.NgaySinh, it.NamSinh = "", "90" }, problems: []canonical.Reason{canonical.ReasonMalformed}},
		{name: "unknown gender", edit: func(it *Item) { it.MaGioiTinh = "0" }, problems: []canonical.Reason{canonical.ReasonUnknownGender}},
		{name: "no id", edit: func(it *Item) { it.DeclarationId = "  " }, problems: []canonical.Reason{canonical.ReasonRequired}},
		// An empty gender is not a decoding problem: Validate decides whether it is required.
		{name: "empty gender", edit: func(it *Item) { it.MaGioiTinh = "" }, check: func(t *testing.T, d canonical.Declaration) {
			if d.Person.Gender != canonical.GenderUnspecified {
				t.Errorf("Gender = %v", d.Person.Gender)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := base
			tt.edit(&it)
			d := DecodeItem(it)
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

// TestDecodeBatchBadItems: an item that is not a Bluezone item is rejected in its place,
// keeping its id when it has one, and the others still decode.
func TestDecodeBatchBadItems(t *testing.T) {
	body := `{"BatchId":"b","Items":[{"DeclarationId":"X1","NamSinh":1990},"oops",{"DeclarationId":"X3","NamSinh":"1990"}]}`
	id, decls, err := DecodeBatch([]byte(body))
	if err != nil || id != "b" || len(decls) != 3 {
		t.Fatalf("DecodeBatch = %q, %d decls, %v", id, len(decls), err)
	}
	if decls[0].Source.RecordID != "X1" || len(decls[0].Problems) != 1 || !strings.Contains(decls[0].Problems[0].Message, "NamSinh") {
		t.Errorf("item 0 = %+v", decls[0])
	}
	if len(decls[1].Problems) != 1 || decls[1].Problems[0].Reason != canonical.ReasonMalformed {
		t.Errorf("item 1 = %+v", decls[1])
	}
	if decls[2].Source.RecordID != "X3" || len(decls[2].Problems) != 0 {
		t.Errorf("item 2 = %+v", decls[2])
	}
	for _, bad := range []string{``, `{`, `[]`, `null`, `{}`, `{"Items":null}`, `{"Items":{}}`, `{"Items":[1,2`} {
		if _, _, err := DecodeBatch([]byte(bad)); err == nil {
			t.Errorf("DecodeBatch(%q) succeeded", bad)
		}
	}
}

// TestRoundTrip: encoding a declaration and decoding it gives it back.
func TestRoundTrip(t *testing.T) {
	decls := []canonical.Declaration{{
		Source:   canonical.Source{Platform: canonical.PlatformBluezone, RecordID: "BZ-9", Version: "1", SubjectID: "S9"},
		OnBehalf: true,
		Person: canonical.Person{
			FullName: "TRAN THI B", BirthDate: canonical.BirthDate{Year: 2001, Month: 12, Day: 3, Precision: canonical.PrecisionDay},
			Gender: canonical.GenderFemale, Nationality: "VN", Document: canonical.Document{Number: "001301001234"},
			Phone: "+84 912 345 678", Email: "b@example.vn", SocialInsurance: "0101",
		},
		Address: canonical.Address{Province: "01", ProvinceCode: "01", CodeSet: canonical.CodeSet2021, District: "001", Ward: "00001", Street: "1 Tràng Tiền"},
		Health: canonical.Health{Form: canonical.SymptomChecklist, HasSymptoms: true,
			Symptoms:  []canonical.Symptom{canonical.SymptomFever, canonical.SymptomPneumonia, "dau_dau"},
			Exposures: []canonical.Exposure{canonical.ExposureContactWithCase, canonical.ExposureContactWithSymptomatic}},
		DeclaredAt: time.Date(2021, 8, 15, 2, 0, 0, 123e6, time.UTC),
	}, {
		Source: canonical.Source{Platform: canonical.PlatformBluezone, RecordID: "BZ-10", Version: "1"},
		Person: canonical.Person{FullName: "A", BirthDate: canonical.BirthDate{Year: 1950, Precision: canonical.PrecisionYear}},
		Health: canonical.Health{Form: canonical.SymptomChecklist},
	}}
	body, err := json.Marshal(EncodeBatch("rt", decls))
	if err != nil {
		t.Fatal(err)
	}
	id, got, err := DecodeBatch(body)
	if err != nil || id != "rt" {
		t.Fatalf("DecodeBatch = %q, %v", id, err)
	}
	if !reflect.DeepEqual(got, decls) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, decls)
	}
}

// FuzzDecodeBatch: no input panics, and every declaration has a record id or a Problem.
func FuzzDecodeBatch(f *testing.F) {
	for _, in := range []string{"basic.json", "messy_text.json", "problems.json", "repeated.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", in))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Items":[{}]}`))                                       // an empty item
	f.Add([]byte(`{"Items":[null,1,"x",[],{"DeclarationId":7}]}`))        // items of every JSON type
	f.Add([]byte(`{"Items":[{"DeclarationId":"a","NgaySinh":"9/9/0"}]}`)) // year zero
	f.Fuzz(func(t *testing.T, body []byte) {
		_, decls, err := DecodeBatch(body)
		if err != nil {
			return
		}
		for i, d := range decls {
			if d.Source.RecordID == "" && len(d.Problems) == 0 {
				t.Errorf("item %d has neither a record id nor a problem", i)
			}
			if d.Source.Platform != canonical.PlatformBluezone {
				t.Errorf("item %d: platform %q", i, d.Source.Platform)
			}
		}
	})
}

// BenchmarkDecodeBatch measures decoding a batch of 1,000 items (records/s is reported).
func BenchmarkDecodeBatch(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "basic.json"))
	if err != nil {
		b.Fatal(err)
	}
	var batch Batch
	if err := json.Unmarshal(body, &batch); err != nil {
		b.Fatal(err)
	}
	big := Batch{BatchId: "bench"}
	for len(big.Items) < DefaultMaxItems {
		big.Items = append(big.Items, batch.Items...)
	}
	body, _ = json.Marshal(big)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Self()
	for b.Loop() {
		if _, _, err := DecodeBatch(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(big.Items))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	cputime.Report(b, cpu, len(big.Items)*b.N)
}

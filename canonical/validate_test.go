package canonical

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// gatewayNow is the gateway clock of the Validate tests.
var gatewayNow = time.Date(2021, 8, 15, 3, 0, 0, 0, time.UTC)

// validDeclaration is a normalized declaration that breaks no rule: a man born 17 May 1990,
// CCCD registered in HCMC (079), male born in the 1900s (0), year 90.
func validDeclaration() Declaration {
	return Normalize(Declaration{
		Source: Source{Platform: PlatformNCOVI, RecordID: "nc_0000000001"},
		Person: Person{
			FullName:    "Nguyễn Văn An",
			BirthDate:   BirthDate{Year: 1990, Month: 5, Day: 17, Precision: PrecisionDay},
			Gender:      GenderMale,
			Nationality: "VN",
			Document:    Document{Number: "079090001234"},
			Phone:       "0912345678",
		},
		Address:    Address{Province: "Thành phố Hồ Chí Minh", Street: "12 Lê Lợi"},
		Health:     Health{Symptoms: []Symptom{SymptomFever}, Exposures: []Exposure{ExposureContactWithCase}},
		DeclaredAt: gatewayNow.Add(-time.Hour),
	})
}

type finding struct {
	Field  string
	Reason Reason
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *Declaration)
		want   []finding // nil: valid
	}{
		{"valid", func(d *Declaration) {}, nil},
		{"valid year-only birth date", func(d *Declaration) { d.Person.BirthDate = BirthDate{Year: 1990, Precision: PrecisionYear} }, nil},
		{"valid without optional fields", func(d *Declaration) {
			d.Person.Document, d.Person.Phone, d.Person.Gender = Document{}, "", GenderUnspecified
			d.Health = Health{}
		}, nil},
		{"valid foreign passport and phone", func(d *Declaration) {
			d.Person.Nationality, d.Person.Document = "KR", ClassifyDocument("M12345678")
			d.Person.Phone = "+821012345678"
		}, nil},
		{"valid 2025 province code", func(d *Declaration) {
			d.Address = Address{ProvinceCode: "46", CodeSet: CodeSet2025, Province2025: "46"}
		}, nil},
		{"valid province text not yet normalized", func(d *Declaration) { d.Address = Address{Province: "TP.HCM"} }, nil},
		// The gateway clock may be behind a partner's by up to 5 minutes.
		{"declared 4 minutes ahead", func(d *Declaration) { d.DeclaredAt = gatewayNow.Add(4 * time.Minute) }, nil},

		{"required fields", func(d *Declaration) {
			d.Source = Source{}
			d.Person.FullName = " "
			d.Person.BirthDate = BirthDate{}
			d.Person.Document = Document{} // else the CCCD would be checked against no birth year
			d.Person.Nationality = ""
			d.Address = Address{}
			d.DeclaredAt = time.Time{}
		}, []finding{
			{"address.province", ReasonRequired},
			{"declared_at", ReasonRequired},
			{"person.birth_date", ReasonRequired},
			{"person.full_name", ReasonRequired},
			{"person.nationality", ReasonRequired},
			{"source.platform", ReasonRequired},
			{"source.record_id", ReasonRequired},
		}},
		{"invalid UTF-8", func(d *Declaration) { d.Person.FullName = "Nguy\xffn" }, []finding{{"person.full_name", ReasonInvalidUTF8}}},
		{"control character", func(d *Declaration) { d.Address.Street = "12\x00 Lê Lợi" }, []finding{{"address.street", ReasonControlCharacter}}},
		// A C1 control (U+0085 is white space, U+0090 is not).
		{"C1 control character", func(d *Declaration) { d.Health.PlacesNote = "Hà\u0090Nội" }, []finding{{"health.places_note", ReasonControlCharacter}}},
		// White space that is also a control character (tab, line feed, U+0085) leaves a
		// field blank: required, not a control character; an optional blank field is fine.
		{"name of tabs, line feeds and U+0085", func(d *Declaration) { d.Person.FullName = "\t\n\u0085\u00a0" }, []finding{{"person.full_name", ReasonRequired}}},
		{"optional field of white space", func(d *Declaration) { d.Address.Street = " \t\u3000" }, nil},
		{"control character after white space", func(d *Declaration) { d.Address.Street = " \x01" }, []finding{{"address.street", ReasonControlCharacter}}},
		{"invalid UTF-8 after white space", func(d *Declaration) { d.Address.Street = " \xff" }, []finding{{"address.street", ReasonInvalidUTF8}}},
		{"name too long", func(d *Declaration) { d.Person.FullName = strings.Repeat("Ă", 201) }, []finding{{"person.full_name", ReasonTooLong}}},
		{"name of 200 runes is fine", func(d *Declaration) { d.Person.FullName = strings.Repeat("Ă", 200) }, nil},
		{"note too long", func(d *Declaration) { d.Health.SymptomNote = strings.Repeat("ố", 1001) }, []finding{{"health.symptom_note", ReasonTooLong}}},
		{"unknown province name", func(d *Declaration) { d.Address = Address{Province: "Atlantis"} }, []finding{{"address.province", ReasonUnknownProvince}}},
		{"unknown province code", func(d *Declaration) { d.Address = Address{Province: "99", ProvinceCode: "99", CodeSet: CodeSet2021} }, []finding{{"address.province", ReasonUnknownProvince}}},
		// 74 (Bình Dương) exists in 2021 but was merged into HCMC in 2025.
		{"2021 code in the 2025 set", func(d *Declaration) { d.Address = Address{ProvinceCode: "74", CodeSet: CodeSet2025} }, []finding{{"address.province", ReasonUnknownProvince}}},
		{"2021-only code as text in the 2025 set", func(d *Declaration) { d.Address = Address{Province: "74", CodeSet: CodeSet2025} },
			[]finding{{"address.province", ReasonUnknownProvince}}},
		{"invalid phone", func(d *Declaration) { d.Person.Phone = "0123" }, []finding{{"person.phone", ReasonInvalidPhone}}},
		{"invalid document", func(d *Declaration) { d.Person.Document = Document{Number: "12AB34"} }, []finding{{"person.document.number", ReasonInvalidDocument}}},
		{"invalid former CMND", func(d *Declaration) { d.Person.FormerCMND = "1234" }, []finding{{"person.former_cmnd", ReasonInvalidDocument}}},
		{"CMND has no CCCD rules", func(d *Declaration) { d.Person.Document = ClassifyDocument("999999999") }, nil},
		{"unknown nationality", func(d *Declaration) { d.Person.Nationality = "Atlantis" }, []finding{{"person.nationality", ReasonUnknownNationality}}},
		{"unassigned ISO code", func(d *Declaration) { d.Person.Nationality = "XX" }, []finding{{"person.nationality", ReasonUnknownNationality}}},
		{"unknown gender value", func(d *Declaration) { d.Person.Gender = 7 }, []finding{{"person.gender", ReasonUnknownGender}}},
		{"social insurance with letters", func(d *Declaration) { d.Person.SocialInsurance = "79AB" }, []finding{{"person.social_insurance", ReasonMalformed}}},
		{"birth date in the future", func(d *Declaration) {
			d.Person.BirthDate = BirthDate{Year: 2021, Month: 8, Day: 16, Precision: PrecisionDay}
			d.Person.Document = Document{}
		},
			[]finding{{"person.birth_date", ReasonBirthDateFuture}}},
		// Declared at 02:00 UTC on 15 Aug = 09:00 in Vietnam: born that day is fine.
		{"born on the declaration day", func(d *Declaration) {
			d.Person.BirthDate = BirthDate{Year: 2021, Month: 8, Day: 15, Precision: PrecisionDay}
			d.Person.Document = Document{}
		}, nil},
		// 20:00 UTC on 14 Aug is already 15 Aug in Vietnam: the date is taken in Vietnam's time.
		{"declaration date in Vietnam's time", func(d *Declaration) {
			d.Person.BirthDate = BirthDate{Year: 2021, Month: 8, Day: 15, Precision: PrecisionDay}
			d.Person.Document = Document{}
			d.DeclaredAt = time.Date(2021, 8, 14, 20, 0, 0, 0, time.UTC)
		}, nil},
		{"birth year in the future", func(d *Declaration) {
			d.Person.BirthDate = BirthDate{Year: 2022, Precision: PrecisionYear}
			d.Person.Document = Document{}
		},
			[]finding{{"person.birth_date", ReasonBirthDateFuture}}},
		{"born more than 130 years ago", func(d *Declaration) {
			d.Person.BirthDate = BirthDate{Year: 1891, Month: 8, Day: 14, Precision: PrecisionDay}
			d.Person.Document = Document{}
		},
			[]finding{{"person.birth_date", ReasonBirthDateTooOld}}},
		{"exactly 130 years is fine", func(d *Declaration) {
			d.Person.BirthDate = BirthDate{Year: 1891, Month: 8, Day: 15, Precision: PrecisionDay}
			d.Person.Document = Document{}
		}, nil},
		{"birth year too old", func(d *Declaration) {
			d.Person.BirthDate = BirthDate{Year: 1890, Precision: PrecisionYear}
			d.Person.Document = Document{}
		},
			[]finding{{"person.birth_date", ReasonBirthDateTooOld}}},
		{"no such day", func(d *Declaration) {
			d.Person.BirthDate = BirthDate{Year: 1990, Month: 2, Day: 30, Precision: PrecisionDay}
		},
			[]finding{{"person.birth_date", ReasonMalformed}}},
		{"declared in the future", func(d *Declaration) { d.DeclaredAt = gatewayNow.Add(6 * time.Minute) }, []finding{{"declared_at", ReasonDeclaredInFuture}}},
		{"unknown symptoms, each reported", func(d *Declaration) { d.Health.Symptoms = []Symptom{"fever", "headache", "x"} },
			[]finding{{"health.symptoms", ReasonUnknownSymptom}, {"health.symptoms", ReasonUnknownSymptom}}},
		{"unknown exposure", func(d *Declaration) { d.Health.Exposures = []Exposure{"abroad"} }, []finding{{"health.exposures", ReasonUnknownExposure}}},
		{"unknown symptom form", func(d *Declaration) { d.Health.Form = 9 }, []finding{{"health.form", ReasonMalformed}}},

		// The CCCD rules: 079 090 001234 is HCMC, male, 1900s, year 90.
		{"CCCD female 2000s valid", func(d *Declaration) {
			d.Person.Document = ClassifyDocument("001305000123")
			d.Person.Gender = GenderFemale
			d.Person.BirthDate = BirthDate{Year: 2005, Precision: PrecisionYear}
		}, nil},
		{"CCCD province prefix not a code", func(d *Declaration) { d.Person.Document = ClassifyDocument("003090001234") },
			[]finding{{"person.document.number", ReasonCCCDProvince}}},
		{"CCCD province prefix not starting with 0", func(d *Declaration) { d.Person.Document = ClassifyDocument("179090001234") },
			[]finding{{"person.document.number", ReasonCCCDProvince}}},
		{"CCCD century", func(d *Declaration) { d.Person.Document = ClassifyDocument("079290001234") }, // 2 = male, 2000s
			[]finding{{"person.document.number", ReasonCCCDCentury}}},
		{"CCCD birth year", func(d *Declaration) { d.Person.Document = ClassifyDocument("079091001234") },
			[]finding{{"person.document.number", ReasonCCCDBirthYear}}},
		{"CCCD gender", func(d *Declaration) { d.Person.Document = ClassifyDocument("079190001234") }, // 1 = female
			[]finding{{"person.document.number", ReasonCCCDGender}}},
		// Gender "other" or unspecified cannot contradict the gender digit.
		{"CCCD gender not checked for other", func(d *Declaration) {
			d.Person.Document = ClassifyDocument("079190001234")
			d.Person.Gender = GenderOther
		}, nil},
		{"CCCD all rules broken", func(d *Declaration) {
			d.Person.Document = ClassifyDocument("099385001234") // 099 no province, 3 = female 2000s, 85
			d.Person.BirthDate = BirthDate{Year: 1990, Precision: PrecisionYear}
		}, []finding{
			{"person.document.number", ReasonCCCDBirthYear},
			{"person.document.number", ReasonCCCDCentury},
			{"person.document.number", ReasonCCCDGender},
			{"person.document.number", ReasonCCCDProvince},
		}},
		{"many failures sorted by field then reason", func(d *Declaration) {
			d.Person.Phone = "1"
			d.Address = Address{Province: "Atlantis"}
			d.DeclaredAt = gatewayNow.Add(time.Hour)
			d.Person.Document = ClassifyDocument("079091001234")
		}, []finding{
			{"address.province", ReasonUnknownProvince},
			{"declared_at", ReasonDeclaredInFuture},
			{"person.document.number", ReasonCCCDBirthYear},
			{"person.phone", ReasonInvalidPhone},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDeclaration()
			tt.change(&d)
			got := Validate(d, gatewayNow)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("Validate = %v, want nil", got)
				}
				return
			}
			var findings []finding
			for _, v := range got {
				findings = append(findings, finding{v.Field, v.Reason})
				if v.Message == "" {
					t.Errorf("%s: empty message", v.Field)
				}
			}
			if !reflect.DeepEqual(findings, tt.want) {
				t.Errorf("Validate =\n%v\nwant\n%v", findings, tt.want)
			}
		})
	}
}

// The adapter's problems come first, in their order; a finding that repeats one is dropped.
func TestValidateProblemsFirst(t *testing.T) {
	d := validDeclaration()
	d.Source.RecordID = ""
	d.Person.BirthDate = BirthDate{}
	d.Person.Document = Document{}
	d.Person.Phone = "1"
	d.Problems = []Violation{
		{Field: "source.record_id", Reason: ReasonRequired, Message: "DeclarationId is empty"},
		{Field: "person.birth_date", Reason: ReasonMalformed, Message: "NgaySinh is not dd/mm/yyyy"},
		{Field: "person.gender", Reason: ReasonUnknownGender, Message: "MaGioiTinh is none of 1, 2, 3"},
	}
	got := Validate(d, gatewayNow)
	want := append(append(Violations(nil), d.Problems...), Violation{Field: "person.phone", Reason: ReasonInvalidPhone})
	if len(got) != len(want) {
		t.Fatalf("Validate = %v", got)
	}
	for i := range want {
		if got[i].Field != want[i].Field || got[i].Reason != want[i].Reason {
			t.Errorf("violation %d = %v, want %v", i, got[i], want[i])
		}
	}
}

// Messages reach logs: they never quote the rejected name, phone or document number.
func TestValidateMessagesHoldNoPersonalData(t *testing.T) {
	d := validDeclaration()
	d.Person.FullName = "Trần Thị Bí Mật" + strings.Repeat("x", 200)
	d.Person.Phone = "0999888777666"
	d.Person.Document = ClassifyDocument("099385001234")
	d.Person.FormerCMND = "12345"
	d.Person.Nationality = "Bí Mật Quốc"
	d.Person.SocialInsurance = "BM-987"
	d.Address.Province = "Xã Bí Mật"
	d.Address.ProvinceCode = ""
	got := Validate(d, gatewayNow)
	if len(got) < 8 {
		t.Fatalf("only %d violations: %v", len(got), got)
	}
	for _, v := range got {
		for _, secret := range []string{"Bí Mật", "Bi Mat", "0999888777666", "099385001234", "12345", "987"} {
			if strings.Contains(v.Message, secret) {
				t.Errorf("%s message %q holds %q", v.Field, v.Message, secret)
			}
		}
	}
}

package canonical

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

// knownReasons is every reason code of violation.go.
var knownReasons = map[Reason]bool{
	ReasonRequired: true, ReasonMalformed: true, ReasonInvalidUTF8: true, ReasonControlCharacter: true,
	ReasonTooLong: true, ReasonUnknownProvince: true, ReasonInvalidPhone: true, ReasonInvalidDocument: true,
	ReasonCCCDProvince: true, ReasonCCCDBirthYear: true, ReasonCCCDCentury: true, ReasonCCCDGender: true,
	ReasonBirthDateFuture: true, ReasonBirthDateTooOld: true, ReasonDeclaredInFuture: true,
	ReasonUnknownSymptom: true, ReasonUnknownExposure: true, ReasonUnknownGender: true,
	ReasonUnknownNationality: true, ReasonMalformedRow: true, ReasonRegistryMismatch: true,
	ReasonRegistryUnknown: true, ReasonWrongPlatform: true,
}

// fuzzDeclaration builds a declaration from fuzzed parts. text is split on "|" into the text
// fields; codes on "," into symptoms and exposures.
func fuzzDeclaration(text, codes string, year, month, day int, gender, precision int8, declaredUnix int64) Declaration {
	f := strings.Split(text, "|")
	field := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	var symptoms []Symptom
	var exposures []Exposure
	for i, c := range strings.Split(codes, ",") {
		if i%2 == 0 {
			symptoms = append(symptoms, Symptom(c))
		} else {
			exposures = append(exposures, Exposure(c))
		}
	}
	return Declaration{
		Source: Source{Platform: Platform(field(0)), RecordID: field(1)},
		Person: Person{
			FullName:        field(2),
			BirthDate:       BirthDate{Year: year, Month: month, Day: day, Precision: DatePrecision(precision)},
			Gender:          Gender(gender),
			Nationality:     field(3),
			Document:        Document{Number: field(4)},
			FormerCMND:      field(5),
			Phone:           field(6),
			Email:           field(7),
			SocialInsurance: field(8),
		},
		Address: Address{Province: field(9), ProvinceCode: field(10), CodeSet: CodeSet(field(11)), Street: field(12)},
		Health: Health{
			Form: SymptomForm(precision % 3), Symptoms: symptoms, Exposures: exposures,
			SymptomNote: field(13), Conditions: []string{field(14)},
		},
		DeclaredAt: time.Unix(declaredUnix, 0).In(VietnamZone),
	}
}

// addFuzzSeeds gives both fuzz tests the same commented seed corpus.
func addFuzzSeeds(f *testing.F) {
	type seed struct {
		text, codes       string
		year, month, day  int
		gender, precision int8
		declaredUnix      int64
	}
	for _, s := range []seed{
		// A valid NCOVI-like declaration.
		{"ncovi|nc_1|Nguyễn Văn An|VN|079090001234||0912345678|an@example.vn|7912345678|TP.HCM|||12 Lê Lợi|sốt nhẹ|tiểu đường",
			"fever,contact_with_case,cough", 1990, 5, 17, 1, 2, 1629012345},
		// NFD, upper case, old phone prefix, tokhaiyte single question.
		{"tokhaiyte|TKYT-1|" + norm.NFD.String("TRẦN THỊ HOÀ") + "|Việt Nam|||01662345678|||" + norm.NFD.String("Tỉnh Hoà Bình"),
			"", 1985, 0, 0, 2, 1, 1629012345},
		// A 2025 code; a passport; a foreign phone.
		{"grpc|g-1|Kim Min-jun|Hàn Quốc|m 1234 5678||+82 10 1234 5678|||46|46|2025", "", 1979, 0, 0, 1, 1, 1756688400},
		// Everything wrong: invalid UTF-8, controls, unknown codes, impossible dates.
		{"\xff|\x00|\xffname|XX|12AB|1|0123|\xff|AB|Atlantis|99|1999|\x1b", "headache,abroad,,", 1890, 2, 30, 9, 7, -1},
		// Empty.
		{"", "", 0, 0, 0, 0, 0, 0},
		// Unicode spaces and compatibility characters NFC maps (U+2000 → U+2002).
		{"bluezone|BZ-1|\u2000Lê\u00a0Thị\u3000Hoa\u2000|vn|0 7 9 0 9 0 0 0 1 2 3 4||(+84) 912.345.678", "Fever, fever", 2000, 1, 1, 2, 2, 1629012345},
	} {
		f.Add(s.text, s.codes, s.year, s.month, s.day, s.gender, s.precision, s.declaredUnix)
	}
}

func FuzzNormalize(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text, codes string, year, month, day int, gender, precision int8, declaredUnix int64) {
		d := fuzzDeclaration(text, codes, year, month, day, gender, precision, declaredUnix)
		once := Normalize(d)
		twice := Normalize(once)
		if !reflect.DeepEqual(once, twice) {
			t.Fatalf("not idempotent:\n%#v\n%#v", once, twice)
		}
		if once.Person.NameKey != FoldName(once.Person.FullName) {
			t.Fatalf("NameKey %q is not FoldName(%q)", once.Person.NameKey, once.Person.FullName)
		}
	})
}

func FuzzValidate(f *testing.F) {
	addFuzzSeeds(f)
	now := time.Date(2021, 8, 15, 3, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text, codes string, year, month, day int, gender, precision int8, declaredUnix int64) {
		d := fuzzDeclaration(text, codes, year, month, day, gender, precision, declaredUnix)
		for _, decl := range []Declaration{d, Normalize(d)} {
			vs := Validate(decl, now)
			if vs != nil && len(vs) == 0 {
				t.Fatal("empty non-nil Violations")
			}
			for _, v := range vs {
				if v.Field == "" || !knownReasons[v.Reason] || v.Message == "" {
					t.Fatalf("violation %#v lacks a field, a known reason or a message", v)
				}
			}
		}
	})
}

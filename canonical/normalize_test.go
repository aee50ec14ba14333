package canonical

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestNormalizeGolden normalizes each testdata/normalize/<case>.json and compares the result
// with <case>.golden.json (go test ./canonical -update rewrites them). Normalizing a golden
// again must change nothing.
func TestNormalizeGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "normalize", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			d := readDeclaration(t, in)
			got, err := json.MarshalIndent(Normalize(d), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(in, ".json") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./canonical -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Normalize(%s) =\n%s\nwant (%s)\n%s", in, got, golden, want)
			}
			g := readDeclaration(t, golden)
			if again := Normalize(g); !reflect.DeepEqual(again, g) {
				t.Errorf("normalizing the golden changed it:\n%+v\n%+v", g, again)
			}
		})
	}
	if n < 5 {
		t.Fatalf("only %d golden cases under testdata/normalize", n)
	}
}

func readDeclaration(t *testing.T, path string) Declaration {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d Declaration
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

func TestNormalize(t *testing.T) {
	at := time.Date(2021, 8, 15, 9, 12, 0, 0, VietnamZone)
	tests := []struct {
		name  string
		in    Declaration
		check func(t *testing.T, got Declaration)
	}{
		{"name NFC, single-spaced, case kept; key folded", Declaration{Person: Person{FullName: norm.NFD.String("  Đặng   Thị  Thuý ")}},
			func(t *testing.T, got Declaration) {
				want(t, "FullName", got.Person.FullName, "Đặng Thị Thuý")
				want(t, "NameKey", got.Person.NameKey, "dang thi thuy")
			}},
		// A NameKey the adapter set is derived again from the name: it is never trusted.
		{"stale name key replaced", Declaration{Person: Person{FullName: "An", NameKey: "binh"}},
			func(t *testing.T, got Declaration) { want(t, "NameKey", got.Person.NameKey, "an") }},
		{"phone to E.164", Declaration{Person: Person{Phone: " 0912 345 678 "}},
			func(t *testing.T, got Declaration) { want(t, "Phone", got.Person.Phone, "+84912345678") }},
		{"bad phone kept as typed (trimmed)", Declaration{Person: Person{Phone: " 12 34 "}},
			func(t *testing.T, got Declaration) { want(t, "Phone", got.Person.Phone, "12 34") }},
		{"email lower case", Declaration{Person: Person{Email: " An@Example.VN "}},
			func(t *testing.T, got Declaration) { want(t, "Email", got.Person.Email, "an@example.vn") }},
		{"email in lower case already", Declaration{Person: Person{Email: "an.nguyen@example.vn"}},
			func(t *testing.T, got Declaration) { want(t, "Email", got.Person.Email, "an.nguyen@example.vn") }},
		{"email not ASCII", Declaration{Person: Person{Email: "LÊ.AN@Example.VN"}},
			func(t *testing.T, got Declaration) { want(t, "Email", got.Person.Email, "lê.an@example.vn") }},
		{"document classified", Declaration{Person: Person{Document: Document{Number: "079 090 001 234"}}},
			func(t *testing.T, got Declaration) {
				if got.Person.Document != (Document{DocumentCCCD, "079090001234"}) {
					t.Errorf("Document = %+v", got.Person.Document)
				}
			}},
		// An adapter's type is recomputed from the shape.
		{"wrong document type corrected", Declaration{Person: Person{Document: Document{Type: DocumentCCCD, Number: "025123456"}}},
			func(t *testing.T, got Declaration) {
				want(t, "Document.Type", got.Person.Document.Type.String(), "cmnd")
			}},
		{"former CMND stripped", Declaration{Person: Person{FormerCMND: "025.123.456"}},
			func(t *testing.T, got Declaration) { want(t, "FormerCMND", got.Person.FormerCMND, "025123456") }},
		{"nationality name to code", Declaration{Person: Person{Nationality: "Việt Nam"}},
			func(t *testing.T, got Declaration) { want(t, "Nationality", got.Person.Nationality, "VN") }},
		{"empty nationality stays empty", Declaration{},
			func(t *testing.T, got Declaration) { want(t, "Nationality", got.Person.Nationality, "") }},
		{"social insurance digits", Declaration{Person: Person{SocialInsurance: "79 1234 5678"}},
			func(t *testing.T, got Declaration) {
				want(t, "SocialInsurance", got.Person.SocialInsurance, "7912345678")
			}},
		{"province name resolved", Declaration{Address: Address{Province: "Tp Hồ Chí Minh"}},
			func(t *testing.T, got Declaration) {
				want(t, "Province", got.Address.Province, "Tp Hồ Chí Minh")
				want(t, "ProvinceCode", got.Address.ProvinceCode, "79")
				want(t, "CodeSet", string(got.Address.CodeSet), "2021")
			}},
		{"merged province gets its successor", Declaration{Address: Address{Province: "Bình Dương"}},
			func(t *testing.T, got Declaration) {
				want(t, "ProvinceCode", got.Address.ProvinceCode, "74")
				want(t, "Province2025", got.Address.Province2025, "79")
			}},
		{"code without set is 2021", Declaration{Address: Address{ProvinceCode: " 17 "}},
			func(t *testing.T, got Declaration) {
				want(t, "ProvinceCode", got.Address.ProvinceCode, "17")
				want(t, "CodeSet", string(got.Address.CodeSet), "2021")
				want(t, "Province2025", got.Address.Province2025, "25")
			}},
		{"2025 code is its own successor", Declaration{Address: Address{ProvinceCode: "25", CodeSet: CodeSet2025}},
			func(t *testing.T, got Declaration) { want(t, "Province2025", got.Address.Province2025, "25") }},
		// A wrong code is not replaced by the text: Validate reports it.
		{"wrong code kept, text ignored", Declaration{Address: Address{Province: "Hà Nội", ProvinceCode: "74", CodeSet: CodeSet2025}},
			func(t *testing.T, got Declaration) {
				want(t, "ProvinceCode", got.Address.ProvinceCode, "74")
				want(t, "Province2025", got.Address.Province2025, "")
			}},
		// A code sent as the text, with its code set, is read in that set.
		{"2025 code as text with its set", Declaration{Address: Address{Province: "46", CodeSet: CodeSet2025}},
			func(t *testing.T, got Declaration) {
				want(t, "ProvinceCode", got.Address.ProvinceCode, "46")
				want(t, "CodeSet", string(got.Address.CodeSet), "2025")
			}},
		{"2021-only code as text in the 2025 set", Declaration{Address: Address{Province: "74", CodeSet: CodeSet2025}},
			func(t *testing.T, got Declaration) { want(t, "ProvinceCode", got.Address.ProvinceCode, "") }},
		{"symptoms sorted and unique", Declaration{Health: Health{Symptoms: []Symptom{"fever", "cough", "fever", " Cough "}}},
			func(t *testing.T, got Declaration) {
				if !reflect.DeepEqual(got.Health.Symptoms, []Symptom{"cough", "fever"}) || !got.Health.HasSymptoms {
					t.Errorf("Health = %+v", got.Health)
				}
			}},
		{"exposures sorted and unique", Declaration{Health: Health{Exposures: []Exposure{"from_affected_area", "contact_with_case", "contact_with_case"}}},
			func(t *testing.T, got Declaration) {
				if !reflect.DeepEqual(got.Health.Exposures, []Exposure{"contact_with_case", "from_affected_area"}) {
					t.Errorf("Exposures = %v", got.Health.Exposures)
				}
			}},
		{"checklist without symptoms has none", Declaration{Health: Health{Form: SymptomChecklist, HasSymptoms: true}},
			func(t *testing.T, got Declaration) {
				if got.Health.HasSymptoms {
					t.Error("HasSymptoms true with an empty checklist")
				}
			}},
		// tokhaiyte asked one question: its answer stands without a checklist.
		{"single question keeps its answer", Declaration{Health: Health{Form: SymptomSingleQuestion, HasSymptoms: true}},
			func(t *testing.T, got Declaration) {
				if !got.Health.HasSymptoms {
					t.Error("HasSymptoms lost")
				}
			}},
		{"times to UTC", Declaration{DeclaredAt: at, ReceivedAt: at},
			func(t *testing.T, got Declaration) {
				if got.DeclaredAt.Location() != time.UTC || !got.DeclaredAt.Equal(at) || got.ReceivedAt.Location() != time.UTC {
					t.Errorf("DeclaredAt = %v, ReceivedAt = %v", got.DeclaredAt, got.ReceivedAt)
				}
			}},
		{"invalid UTF-8 left for Validate", Declaration{Person: Person{FullName: "Lê\xffAn", Email: "A\xff"}},
			func(t *testing.T, got Declaration) {
				want(t, "FullName", got.Person.FullName, "Lê\xffAn")
				want(t, "Email", got.Person.Email, "A\xff")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(tt.in)
			tt.check(t, got)
			if again := Normalize(got); !reflect.DeepEqual(again, got) {
				t.Errorf("not idempotent:\n%+v\n%+v", got, again)
			}
		})
	}
}

func want(t *testing.T, field, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", field, got, want)
	}
}

// Normalize is pure: the caller's slices are not sorted or rewritten in place.
func TestNormalizeLeavesInputAlone(t *testing.T) {
	symptoms := []Symptom{"fever", "cough", "fever"}
	exposures := []Exposure{"from_affected_area", "contact_with_case"}
	conditions := []string{"  diabetes  "}
	d := Declaration{Health: Health{Symptoms: symptoms, Exposures: exposures, Conditions: conditions}}
	Normalize(d)
	if !reflect.DeepEqual(symptoms, []Symptom{"fever", "cough", "fever"}) ||
		!reflect.DeepEqual(exposures, []Exposure{"from_affected_area", "contact_with_case"}) ||
		conditions[0] != "  diabetes  " {
		t.Errorf("input changed: %v %v %q", symptoms, exposures, conditions)
	}
}

// The lookup tables are shared by every goroutine: Normalize and Validate are safe to call
// concurrently (run with -race).
func TestNormalizeValidateConcurrently(t *testing.T) {
	decls := benchDeclarations()
	now := time.Date(2021, 8, 15, 3, 0, 0, 0, time.UTC)
	want := make([]Violations, len(decls))
	for i, d := range decls {
		want[i] = Validate(Normalize(d), now)
	}
	done := make(chan error, 4)
	for range 4 {
		go func() {
			for i, d := range decls {
				if got := Validate(Normalize(d), now); !reflect.DeepEqual(got, want[i]) {
					done <- fmt.Errorf("declaration %d: %v, want %v", i, got, want[i])
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

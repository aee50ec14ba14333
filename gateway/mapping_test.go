package gateway

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// TestEnumsShareNumbering checks the enums the mapping converts by number: a renumbering on
// either side would silently turn ALLOWED into REFUSED or a CCCD into a passport.
func TestEnumsShareNumbering(t *testing.T) {
	decisions := map[store.Decision]string{
		store.DecisionAllowed: "ALLOWED", store.DecisionScreened: "SCREENED",
		store.DecisionRedirected: "REDIRECTED", store.DecisionRefused: "REFUSED",
	}
	for d, name := range decisions {
		if got := lienthongv1.Decision(d).String(); got != "DECISION_"+name {
			t.Errorf("store decision %s maps to %s", d, got)
		}
		if decisionFromPB(lienthongv1.Decision(lienthongv1.Decision_value["DECISION_"+name])) != d {
			t.Errorf("DECISION_%s does not map back to %s", name, d)
		}
	}
	for g := canonical.GenderUnspecified; g <= canonical.GenderOther; g++ {
		if got := lienthongv1.Gender(g).String(); got != "GENDER_"+strings.ToUpper(g.String()) {
			t.Errorf("gender %s maps to %s", g, got)
		}
	}
	for d := canonical.DocumentNone; d <= canonical.DocumentPassport; d++ {
		want := "DOCUMENT_TYPE_" + strings.ToUpper(d.String())
		if d == canonical.DocumentNone {
			want = "DOCUMENT_TYPE_UNSPECIFIED"
		}
		if got := lienthongv1.DocumentType(d).String(); got != want {
			t.Errorf("document type %s maps to %s", d, got)
		}
	}
	for _, f := range []store.Field{store.FieldName, store.FieldBirthDate, store.FieldGender, store.FieldPhone, store.FieldProvince} {
		if fieldFromPB(fieldToPB(f)) != f || fieldToPB(f) == lienthongv1.ComparedField_COMPARED_FIELD_UNSPECIFIED {
			t.Errorf("field %s does not round-trip", f)
		}
	}
}

// TestDeclarationRoundTrip: what a ministry reads back (DeclarationToPB) is what a partner
// could send (declarationFromPB), field for field, except received_at, which is the gateway's.
func TestDeclarationRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)
	d := canonical.Declaration{
		Source:   canonical.Source{Platform: "ncovi", RecordID: "nc_1", Version: "2026-11-27T01:02:03Z", SubjectID: "u_1", Line: 7},
		OnBehalf: true,
		Person: canonical.Person{
			FullName: "Nguyễn Thị Bình", BirthDate: canonical.BirthDate{Year: 2015, Month: 2, Day: 28, Precision: canonical.PrecisionDay},
			Gender: canonical.GenderFemale, Nationality: "VN", Document: canonical.Document{Type: canonical.DocumentCCCD, Number: "079315001234"},
			FormerCMND: "023456789", Phone: "+84912345678", Email: "a@example.vn", SocialInsurance: "7912345678",
		},
		Address: canonical.Address{Province: "79", ProvinceCode: "79", CodeSet: canonical.CodeSet2021, District: "760", Ward: "26734", Street: "12 Lê Lợi"},
		Health: canonical.Health{
			Form: canonical.SymptomSingleQuestion, HasSymptoms: true, SymptomNote: "sốt", Symptoms: []canonical.Symptom{"fever"},
			Exposures: []canonical.Exposure{"contact_with_case"}, Conditions: []string{"diabetes"}, PlacesNote: "Đồng Nai",
		},
		DeclaredAt: at,
		ReceivedAt: at.Add(time.Minute),
	}
	m := DeclarationToPB(d)
	back := declarationFromPB(m)
	if !back.ReceivedAt.IsZero() {
		t.Error("a partner's received_at was kept")
	}
	back.ReceivedAt = d.ReceivedAt
	if !proto.Equal(DeclarationToPB(back), m) {
		t.Errorf("round trip changed the declaration:\n got %v\nwant %v", DeclarationToPB(back), m)
	}
	// A year-only birth date keeps no month or day, whatever the partner sent.
	y := birthDateFromPB(&lienthongv1.BirthDate{Year: 1990, Month: 5, Day: 17, Precision: lienthongv1.DatePrecision_DATE_PRECISION_YEAR})
	if y != (canonical.BirthDate{Year: 1990, Precision: canonical.PrecisionYear}) {
		t.Errorf("year-only birth date %+v", y)
	}
}

// A lookup's status label is the status's name, as String gives it, for every status the
// contract defines and for a number it does not.
func TestStatusLabelIsTheStatusName(t *testing.T) {
	for n := range lienthongv1.Status_name {
		st := lienthongv1.Status(n)
		if got := statusLabel(st); got != st.String() {
			t.Errorf("statusLabel(%d) = %q, want %q", n, got, st.String())
		}
	}
	if got, want := statusLabel(lienthongv1.Status(99)), "99"; got != want {
		t.Errorf("statusLabel(99) = %q, want %q", got, want)
	}
}

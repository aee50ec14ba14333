// Package canonical holds the common declaration form and the pure functions over it.
//
// Every platform's native record becomes a Declaration. Normalize puts its text into one
// form (NFC, E.164 phones, GSO province codes, ...) and is idempotent; Validate checks every
// rule and reports each failure with a stable reason code and the field it concerns. The
// package does no I/O and knows nothing of gRPC or the stores: it is the part a ministry
// lawyer could read.
package canonical

import "time"

// Platform names the partner platform a declaration came from.
type Platform string

// The platforms the gateway knows by name. A platform that speaks the common form over gRPC
// may use any other lower-case name its partner principal is bound to.
const (
	PlatformBluezone  Platform = "bluezone"
	PlatformNCOVI     Platform = "ncovi"
	PlatformTokhaiyte Platform = "tokhaiyte"
)

// Gender is the declared gender.
type Gender int8

// Genders, as the three platforms encode them (Nam, Nữ, Khác).
const (
	GenderUnspecified Gender = iota
	GenderMale
	GenderFemale
	GenderOther
)

// String returns the gender's lower-case English name.
func (g Gender) String() string {
	switch g {
	case GenderMale:
		return "male"
	case GenderFemale:
		return "female"
	case GenderOther:
		return "other"
	}
	return "unspecified"
}

// DatePrecision says how much of a birth date is known.
type DatePrecision int8

// Precisions of a birth date: tokhaiyte asked only for the year.
const (
	PrecisionNone DatePrecision = iota
	PrecisionYear
	PrecisionDay
)

// BirthDate is a calendar date that may be known to the year only.
type BirthDate struct {
	Year      int
	Month     int // 1..12 when Precision is PrecisionDay, else 0
	Day       int // 1..31 when Precision is PrecisionDay, else 0
	Precision DatePrecision
}

// DocumentType classifies an identity document number.
type DocumentType int8

// Document types, strongest first in identity order (see package identity).
const (
	DocumentNone     DocumentType = iota
	DocumentCCCD                  // 12-digit citizen identity card (căn cước công dân)
	DocumentCMND                  // 9- or 12-digit older identity card (chứng minh nhân dân)
	DocumentPassport              // passport number; strong only with a nationality
)

// String returns the document type's short name.
func (t DocumentType) String() string {
	switch t {
	case DocumentCCCD:
		return "cccd"
	case DocumentCMND:
		return "cmnd"
	case DocumentPassport:
		return "passport"
	}
	return "none"
}

// Document is an identity document number with its type.
type Document struct {
	Type   DocumentType // set by Normalize from the number's shape
	Number string       // as typed before Normalize; digits (or passport letters+digits) after
}

// Person is who a declaration is about.
type Person struct {
	FullName        string    // the person's own spelling, NFC, single-spaced
	NameKey         string    // folded match key ("nguyen van an"), derived by Normalize; never shown as the name
	BirthDate       BirthDate // may be year-only
	Gender          Gender
	Nationality     string   // ISO 3166-1 alpha-2 after Normalize ("VN"); a name before
	Document        Document // the strongest document the declaration carries
	FormerCMND      string   // an older CMND number carried with a CCCD (links the two identities)
	Phone           string   // E.164 (+84...) after Normalize; as typed before
	Email           string
	SocialInsurance string // BHXH number (NCOVI)
}

// CodeSet names a version of the administrative code list.
type CodeSet string

// The two province code sets in force: 63 provinces (2021) and 34 (from 1 July 2025).
const (
	CodeSet2021 CodeSet = "2021"
	CodeSet2025 CodeSet = "2025"
)

// Address is where the person lives or can be reached.
type Address struct {
	Province     string  // the province as declared: a name in any spelling, or a code
	ProvinceCode string  // GSO code in CodeSet, set by Normalize ("79"); empty when unknown
	CodeSet      CodeSet // the code set ProvinceCode belongs to
	Province2025 string  // the 2025 successor code of ProvinceCode ("79")
	District     string  // name or code as declared
	Ward         string  // name or code as declared
	Street       string  // free text
}

// Symptom is a canonical symptom code.
type Symptom string

// The canonical symptom codes (NCOVI's names; Bluezone's ids map onto them).
const (
	SymptomFever             Symptom = "fever"
	SymptomCough             Symptom = "cough"
	SymptomShortnessOfBreath Symptom = "shortness_of_breath"
	SymptomSoreThroat        Symptom = "sore_throat"
	SymptomNausea            Symptom = "nausea"
	SymptomDiarrhea          Symptom = "diarrhea"
	SymptomSkinHemorrhage    Symptom = "skin_hemorrhage"
	SymptomSkinRash          Symptom = "skin_rash"
	SymptomPneumonia         Symptom = "pneumonia"
	SymptomFatigue           Symptom = "fatigue"
)

// Symptoms lists every known symptom code, in a stable order.
var Symptoms = []Symptom{
	SymptomFever, SymptomCough, SymptomShortnessOfBreath, SymptomSoreThroat, SymptomNausea,
	SymptomDiarrhea, SymptomSkinHemorrhage, SymptomSkinRash, SymptomPneumonia, SymptomFatigue,
}

// Exposure is a canonical exposure code.
type Exposure string

// The canonical exposure codes.
const (
	ExposureContactWithCase        Exposure = "contact_with_case"        // confirmed or suspected case (F0)
	ExposureFromAffectedArea       Exposure = "from_affected_area"       // came from or through an outbreak area
	ExposureContactWithSymptomatic Exposure = "contact_with_symptomatic" // a person with symptoms
)

// Exposures lists every known exposure code, in a stable order.
var Exposures = []Exposure{ExposureContactWithCase, ExposureFromAffectedArea, ExposureContactWithSymptomatic}

// SymptomForm says how a platform asked about symptoms.
type SymptomForm int8

// Symptom forms: a checklist of symptoms, or tokhaiyte's single yes/no question.
const (
	SymptomChecklist SymptomForm = iota
	SymptomSingleQuestion
)

// Health is what the person declared about their health.
type Health struct {
	Form        SymptomForm
	Symptoms    []Symptom  // the checked symptoms (SymptomChecklist); sorted, unique after Normalize
	HasSymptoms bool       // the single answer (SymptomSingleQuestion); derived from Symptoms otherwise
	SymptomNote string     // free text
	Exposures   []Exposure // exposures answered yes; sorted, unique after Normalize
	Conditions  []string   // underlying conditions, free codes (NCOVI)
	PlacesNote  string     // places passed through in the last 14 days, free text
}

// Source identifies the native record a declaration came from.
type Source struct {
	Platform  Platform
	RecordID  string // the platform's id of the declaration (DeclarationId, id, Mã tờ khai)
	Version   string // the record's version; later versions sort greater as strings (RFC 3339 UTC, zero-padded)
	SubjectID string // the platform's id of the person or account (BluezoneId, account_id), if any
	Line      int    // line number in a file export (tokhaiyte CSV), 0 otherwise
}

// Declaration is one health declaration in the common form.
type Declaration struct {
	Source     Source
	OnBehalf   bool // declared by someone else (a parent for a child)
	Person     Person
	Address    Address
	Health     Health
	DeclaredAt time.Time // when the person declared, UTC
	ReceivedAt time.Time // when the gateway received it, UTC

	// Problems holds what the adapter could not decode (a bad date, a wrong column count).
	// Validate reports them together with its own findings.
	Problems []Violation
}

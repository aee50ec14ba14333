package canonical

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Length limits in runes.
const (
	MaxNameRunes = 200   // person.full_name
	MaxTextRunes = 1_000 // every other text field
)

// FutureTolerance is how far ahead of the gateway's clock a declaration time may be (partners'
// clocks drift).
const FutureTolerance = 5 * time.Minute

// MaxAge is the oldest a declared person may be, in years.
const MaxAge = 130

// Validate checks a normalized declaration against every rule and returns all the rules it
// breaks (with d.Problems first), or nil when it is valid. now is the gateway's clock.
//
// Its own findings are sorted by field, then reason. A finding that repeats one of d.Problems
// (same field and reason), or says "required" of a field the adapter already reported, is left
// out. Messages never quote the rejected value: they reach logs.
func Validate(d Declaration, now time.Time) Violations {
	var v validation
	v.source(d.Source)
	v.person(d.Person, d.DeclaredAt, now)
	v.address(d.Address)
	v.health(d.Health)
	switch {
	case d.DeclaredAt.IsZero():
		v.add("declared_at", ReasonRequired, "the declaration time is missing")
	case d.DeclaredAt.After(now.Add(FutureTolerance)):
		v.add("declared_at", ReasonDeclaredInFuture, "the declaration time is more than 5 minutes ahead of the gateway clock")
	}
	if len(d.Problems) == 0 && len(v.found) == 0 {
		return nil
	}
	slices.SortStableFunc(v.found, func(a, b Violation) int {
		if c := strings.Compare(a.Field, b.Field); c != 0 {
			return c
		}
		return strings.Compare(string(a.Reason), string(b.Reason))
	})
	out := make(Violations, 0, len(d.Problems)+len(v.found))
	out = append(out, d.Problems...)
	for _, f := range v.found {
		if !repeats(d.Problems, f) {
			out = append(out, f)
		}
	}
	return out
}

// repeats reports whether f says again what one of the adapter's problems says.
func repeats(problems []Violation, f Violation) bool {
	for _, p := range problems {
		if p.Field == f.Field && (p.Reason == f.Reason || f.Reason == ReasonRequired) {
			return true
		}
	}
	return false
}

// validation collects findings.
type validation struct {
	found []Violation
}

func (v *validation) add(field string, reason Reason, message string) {
	v.found = append(v.found, Violation{Field: field, Reason: reason, Message: message})
}

// text checks one text field: required when asked, valid UTF-8, no control characters, at
// most max runes. It reports whether the field is present and sound, so that the caller's
// own checks of its content run only then.
func (v *validation) text(field, s string, max int, required bool) bool {
	// One pass: characters, control characters and whether there is anything but white
	// space. A blank text is only ever "required" (its white space may be control
	// characters too); invalid UTF-8 is never blank.
	n, control, blank := 0, false, true
	for i := 0; i < len(s); n++ {
		if c := s[i]; c < utf8.RuneSelf {
			control = control || c < ' ' || c == 0x7f
			blank = blank && (c == ' ' || ('\t' <= c && c <= '\r'))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			v.add(field, ReasonInvalidUTF8, "the text is not valid UTF-8")
			return false
		}
		control = control || unicode.IsControl(r)
		blank = blank && unicode.IsSpace(r)
		i += size
	}
	if blank {
		if required {
			v.add(field, ReasonRequired, "the field is empty")
		}
		return false
	}
	if control {
		v.add(field, ReasonControlCharacter, "the text holds control characters")
		return false
	}
	if n > max {
		v.add(field, ReasonTooLong, fmt.Sprintf("the text is %d characters long; at most %d are allowed", n, max))
		return false
	}
	return true
}

func (v *validation) source(s Source) {
	v.text("source.platform", string(s.Platform), MaxTextRunes, true)
	v.text("source.record_id", s.RecordID, MaxTextRunes, true)
	v.text("source.version", s.Version, MaxTextRunes, false)
	v.text("source.subject_id", s.SubjectID, MaxTextRunes, false)
}

func (v *validation) person(p Person, declaredAt, now time.Time) {
	v.text("person.full_name", p.FullName, MaxNameRunes, true)
	if p.Gender < GenderUnspecified || p.Gender > GenderOther {
		v.add("person.gender", ReasonUnknownGender, "the gender is none of male, female, other")
	}
	v.birthDate(p.BirthDate, declaredAt, now)
	if v.text("person.nationality", p.Nationality, MaxTextRunes, true) && !IsCountryCode(p.Nationality) {
		v.add("person.nationality", ReasonUnknownNationality, "the nationality is no ISO 3166-1 code or known country name")
	}
	if v.text("person.document.number", p.Document.Number, MaxTextRunes, false) {
		switch t, buf, n := classifyDocument(p.Document.Number); t {
		case DocumentNone:
			v.add("person.document.number", ReasonInvalidDocument, "the number is no 12-digit CCCD, 9-digit CMND or passport number")
		case DocumentCCCD:
			v.cccd(buf[:n], p)
		}
	}
	if v.text("person.former_cmnd", p.FormerCMND, MaxTextRunes, false) {
		if t, _, _ := classifyDocument(p.FormerCMND); t != DocumentCMND && t != DocumentCCCD {
			v.add("person.former_cmnd", ReasonInvalidDocument, "the former CMND is not 9 or 12 digits")
		}
	}
	if v.text("person.phone", p.Phone, MaxTextRunes, false) {
		if _, _, ok := normalizePhone(p.Phone); !ok {
			v.add("person.phone", ReasonInvalidPhone, "the phone is no Vietnamese mobile or landline, nor an international number")
		}
	}
	v.text("person.email", p.Email, MaxTextRunes, false)
	if v.text("person.social_insurance", p.SocialInsurance, MaxTextRunes, false) && !isDigits(stripSeparators(p.SocialInsurance)) {
		v.add("person.social_insurance", ReasonMalformed, "the social insurance number holds other characters than digits")
	}
}

// cccd checks a 12-digit CCCD against domain.md: PPP G YY NNNNNN.
func (v *validation) cccd(number []byte, p Person) {
	const field = "person.document.number"
	if number[0] != '0' || provinces.byCode2021[int(number[1]-'0')*10+int(number[2]-'0')] == 0 {
		v.add(field, ReasonCCCDProvince, "the CCCD's first three digits are no province code")
	}
	g := int(number[3] - '0')
	b := p.BirthDate
	if b.Precision != PrecisionNone && b.Year >= 1 {
		if b.Year/100 != 19+g/2 {
			v.add(field, ReasonCCCDCentury, "the CCCD's century digit contradicts the birth year")
		}
		if yy := int(number[4]-'0')*10 + int(number[5]-'0'); yy != b.Year%100 {
			v.add(field, ReasonCCCDBirthYear, "the CCCD's year digits contradict the birth year")
		}
	}
	if (p.Gender == GenderMale && g%2 == 1) || (p.Gender == GenderFemale && g%2 == 0) {
		v.add(field, ReasonCCCDGender, "the CCCD's gender digit contradicts the declared gender")
	}
}

func (v *validation) birthDate(b BirthDate, declaredAt, now time.Time) {
	const field = "person.birth_date"
	switch {
	case b.Precision == PrecisionNone:
		v.add(field, ReasonRequired, "the birth date (at least the year) is missing")
		return
	case b.Precision == PrecisionYear && (b.Year < 1 || b.Year > 9999):
		v.add(field, ReasonMalformed, "the birth year is out of range")
		return
	case b.Precision == PrecisionDay:
		t := time.Date(b.Year, time.Month(b.Month), b.Day, 0, 0, 0, 0, time.UTC)
		if b.Year < 1 || b.Year > 9999 || b.Month < 1 || b.Month > 12 || b.Day < 1 || t.Day() != b.Day {
			v.add(field, ReasonMalformed, "the birth date is no calendar day")
			return
		}
	case b.Precision != PrecisionYear:
		v.add(field, ReasonMalformed, "the birth date's precision is unknown")
		return
	}
	ref := declaredAt
	if ref.IsZero() {
		ref = now
	}
	y, m, d := ref.In(VietnamZone).Date()
	declared := dateNumber(y, int(m), d)
	born, oldest := dateNumber(b.Year, b.Month, b.Day), dateNumber(y-MaxAge, int(m), d)
	if b.Precision == PrecisionYear {
		born, declared, oldest = b.Year, y, y-MaxAge
	}
	switch {
	case born > declared:
		v.add(field, ReasonBirthDateFuture, "the birth date is after the declaration date")
	case born < oldest:
		v.add(field, ReasonBirthDateTooOld, "the birth date is more than 130 years before the declaration")
	}
}

// dateNumber orders calendar dates as yyyymmdd.
func dateNumber(y, m, d int) int { return y*10000 + m*100 + d }

func (v *validation) address(a Address) {
	const field = "address.province"
	sound := v.text(field, a.Province, MaxTextRunes, false)
	v.text("address.district", a.District, MaxTextRunes, false)
	v.text("address.ward", a.Ward, MaxTextRunes, false)
	v.text("address.street", a.Street, MaxTextRunes, false)
	switch _, ok := resolveAddress(a); {
	case ok:
	case strings.TrimSpace(a.ProvinceCode) != "":
		v.add(field, ReasonUnknownProvince, "the province code is not in its code set")
	case strings.TrimSpace(a.Province) == "":
		v.add(field, ReasonRequired, "the province is missing")
	case sound:
		v.add(field, ReasonUnknownProvince, "no province has this name or code")
	}
}

func (v *validation) health(h Health) {
	if h.Form != SymptomChecklist && h.Form != SymptomSingleQuestion {
		v.add("health.form", ReasonMalformed, "the symptom form is neither checklist nor single question")
	}
	for i, s := range h.Symptoms {
		if !slices.Contains(Symptoms, s) {
			v.add("health.symptoms", ReasonUnknownSymptom, fmt.Sprintf("symptom %d of %d is not in the common list", i+1, len(h.Symptoms)))
		}
	}
	for i, e := range h.Exposures {
		if !slices.Contains(Exposures, e) {
			v.add("health.exposures", ReasonUnknownExposure, fmt.Sprintf("exposure %d of %d is not in the common list", i+1, len(h.Exposures)))
		}
	}
	v.text("health.symptom_note", h.SymptomNote, MaxTextRunes, false)
	v.text("health.places_note", h.PlacesNote, MaxTextRunes, false)
	for _, c := range h.Conditions {
		v.text("health.conditions", c, MaxTextRunes, false)
	}
}

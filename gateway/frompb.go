package gateway

import (
	"time"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// This file maps the contract's messages to the gateway's types (the inbound direction).

func declarationFromPB(m *lienthongv1.Declaration) canonical.Declaration {
	var d canonical.Declaration
	if s := m.GetSource(); s != nil {
		d.Source = canonical.Source{
			Platform:  canonical.Platform(s.GetPlatform()),
			RecordID:  s.GetRecordId(),
			Version:   s.GetVersion(),
			SubjectID: s.GetSubjectId(),
			Line:      int(s.GetLine()),
		}
	}
	d.OnBehalf = m.GetOnBehalf()
	if p := m.GetPerson(); p != nil {
		d.Person = canonical.Person{
			FullName:        p.GetFullName(),
			BirthDate:       birthDateFromPB(p.GetBirthDate()),
			Gender:          canonical.Gender(p.GetGender()),
			Nationality:     p.GetNationality(),
			Document:        canonical.Document{Type: canonical.DocumentType(p.GetDocument().GetType()), Number: p.GetDocument().GetNumber()},
			FormerCMND:      p.GetFormerCmnd(),
			Phone:           p.GetPhone(),
			Email:           p.GetEmail(),
			SocialInsurance: p.GetSocialInsurance(),
		}
	}
	if a := m.GetAddress(); a != nil {
		d.Address = canonical.Address{
			Province:     a.GetProvince(),
			ProvinceCode: a.GetProvinceCode(),
			CodeSet:      codeSetFromPB(a.GetCodeSet()),
			District:     a.GetDistrict(),
			Ward:         a.GetWard(),
			Street:       a.GetStreet(),
		}
	}
	if h := m.GetHealth(); h != nil {
		d.Health = canonical.Health{
			HasSymptoms: h.GetHasSymptoms(),
			SymptomNote: h.GetSymptomNote(),
			Conditions:  h.GetConditions(),
			PlacesNote:  h.GetPlacesNote(),
		}
		if h.GetForm() == lienthongv1.SymptomForm_SYMPTOM_FORM_SINGLE_QUESTION {
			d.Health.Form = canonical.SymptomSingleQuestion
		}
		for _, s := range h.GetSymptoms() {
			d.Health.Symptoms = append(d.Health.Symptoms, canonical.Symptom(s))
		}
		for _, e := range h.GetExposures() {
			d.Health.Exposures = append(d.Health.Exposures, canonical.Exposure(e))
		}
	}
	if t := m.GetDeclaredAt(); t != nil {
		// A Timestamp outside years 1..9999 cannot be stored or shown: the item is rejected
		// as malformed (and the batch's other items go on), never an internal error.
		if err := t.CheckValid(); err != nil {
			d.Problems = append(d.Problems, canonical.Violation{Field: "declared_at", Reason: canonical.ReasonMalformed,
				Message: "declared_at is outside 0001-01-01 to 9999-12-31"})
		} else {
			d.DeclaredAt = t.AsTime()
		}
	}
	// received_at is the gateway's to set; a partner's value is ignored.
	d.ReceivedAt = time.Time{}
	return d
}

func birthDateFromPB(b *lienthongv1.BirthDate) canonical.BirthDate {
	if b == nil {
		return canonical.BirthDate{}
	}
	out := canonical.BirthDate{Year: int(b.GetYear()), Month: int(b.GetMonth()), Day: int(b.GetDay())}
	switch b.GetPrecision() {
	case lienthongv1.DatePrecision_DATE_PRECISION_DAY:
		out.Precision = canonical.PrecisionDay
	case lienthongv1.DatePrecision_DATE_PRECISION_YEAR:
		out.Precision = canonical.PrecisionYear
		out.Month, out.Day = 0, 0
	default:
		if out.Year != 0 {
			out.Precision = canonical.PrecisionYear
			out.Month, out.Day = 0, 0
		}
	}
	return out
}

func codeSetFromPB(c lienthongv1.CodeSet) canonical.CodeSet {
	switch c {
	case lienthongv1.CodeSet_CODE_SET_2021:
		return canonical.CodeSet2021
	case lienthongv1.CodeSet_CODE_SET_2025:
		return canonical.CodeSet2025
	}
	return ""
}

func decisionFromPB(d lienthongv1.Decision) store.Decision {
	return store.Decision(d) // the enums share their numbering; tested in mapping_test.go
}

func fieldFromPB(f lienthongv1.ComparedField) store.Field {
	switch f {
	case lienthongv1.ComparedField_COMPARED_FIELD_NAME:
		return store.FieldName
	case lienthongv1.ComparedField_COMPARED_FIELD_BIRTH_DATE:
		return store.FieldBirthDate
	case lienthongv1.ComparedField_COMPARED_FIELD_GENDER:
		return store.FieldGender
	case lienthongv1.ComparedField_COMPARED_FIELD_PHONE:
		return store.FieldPhone
	case lienthongv1.ComparedField_COMPARED_FIELD_PROVINCE:
		return store.FieldProvince
	}
	return ""
}

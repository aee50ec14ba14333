package main

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/canonical"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// declarationPB writes a canonical declaration as the contract's message, as a partner
// client would (the gateway's own mapping is unexported; this one follows it field by field).
func declarationPB(d canonical.Declaration) *lienthongv1.Declaration {
	m := &lienthongv1.Declaration{
		Source: &lienthongv1.Source{
			Platform:  string(d.Source.Platform),
			RecordId:  d.Source.RecordID,
			Version:   d.Source.Version,
			SubjectId: d.Source.SubjectID,
			Line:      int32(d.Source.Line),
		},
		OnBehalf: d.OnBehalf,
		Person: &lienthongv1.Person{
			FullName:        d.Person.FullName,
			BirthDate:       birthDatePB(d.Person.BirthDate),
			Gender:          lienthongv1.Gender(d.Person.Gender),
			Nationality:     d.Person.Nationality,
			Document:        &lienthongv1.Document{Type: lienthongv1.DocumentType(d.Person.Document.Type), Number: d.Person.Document.Number},
			FormerCmnd:      d.Person.FormerCMND,
			Phone:           d.Person.Phone,
			Email:           d.Person.Email,
			SocialInsurance: d.Person.SocialInsurance,
		},
		Address: &lienthongv1.Address{
			Province:              d.Address.Province,
			ProvinceCode:          d.Address.ProvinceCode,
			CodeSet:               codeSetPB(d.Address.CodeSet),
			SuccessorProvinceCode: d.Address.Province2025,
			District:              d.Address.District,
			Ward:                  d.Address.Ward,
			Street:                d.Address.Street,
		},
		Health: &lienthongv1.Health{
			Form:        lienthongv1.SymptomForm_SYMPTOM_FORM_CHECKLIST,
			HasSymptoms: d.Health.HasSymptoms,
			SymptomNote: d.Health.SymptomNote,
			Conditions:  d.Health.Conditions,
			PlacesNote:  d.Health.PlacesNote,
		},
		DeclaredAt: timePB(d.DeclaredAt),
	}
	for _, s := range d.Health.Symptoms {
		m.Health.Symptoms = append(m.Health.Symptoms, string(s))
	}
	for _, e := range d.Health.Exposures {
		m.Health.Exposures = append(m.Health.Exposures, string(e))
	}
	if d.Health.Form == canonical.SymptomSingleQuestion {
		m.Health.Form = lienthongv1.SymptomForm_SYMPTOM_FORM_SINGLE_QUESTION
	}
	return m
}

func birthDatePB(b canonical.BirthDate) *lienthongv1.BirthDate {
	m := &lienthongv1.BirthDate{Year: int32(b.Year), Month: int32(b.Month), Day: int32(b.Day)}
	switch b.Precision {
	case canonical.PrecisionDay:
		m.Precision = lienthongv1.DatePrecision_DATE_PRECISION_DAY
	case canonical.PrecisionYear:
		m.Precision = lienthongv1.DatePrecision_DATE_PRECISION_YEAR
	}
	return m
}

func codeSetPB(c canonical.CodeSet) lienthongv1.CodeSet {
	switch c {
	case canonical.CodeSet2021:
		return lienthongv1.CodeSet_CODE_SET_2021
	case canonical.CodeSet2025:
		return lienthongv1.CodeSet_CODE_SET_2025
	}
	return lienthongv1.CodeSet_CODE_SET_UNSPECIFIED
}

func timePB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

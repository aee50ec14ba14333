package gateway

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/adapters"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/keys"
	"github.com/lienthong/lienthong/gateway/store"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// This file maps the gateway's types to the contract's messages (the outbound direction).

// DeclarationToPB writes a declaration as the contract's message (the History answer, and what
// a partner client written in Go sends).
func DeclarationToPB(d canonical.Declaration) *lienthongv1.Declaration {
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
			BirthDate:       birthDateToPB(d.Person.BirthDate),
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
			CodeSet:               codeSetToPB(d.Address.CodeSet),
			SuccessorProvinceCode: d.Address.Province2025,
			District:              d.Address.District,
			Ward:                  d.Address.Ward,
			Street:                d.Address.Street,
		},
		Health: &lienthongv1.Health{
			Form:        lienthongv1.SymptomForm_SYMPTOM_FORM_CHECKLIST,
			Symptoms:    symptomsToPB(d.Health.Symptoms),
			HasSymptoms: d.Health.HasSymptoms,
			SymptomNote: d.Health.SymptomNote,
			Exposures:   exposuresToPB(d.Health.Exposures),
			Conditions:  d.Health.Conditions,
			PlacesNote:  d.Health.PlacesNote,
		},
		DeclaredAt: timeToPB(d.DeclaredAt),
		ReceivedAt: timeToPB(d.ReceivedAt),
	}
	if d.Health.Form == canonical.SymptomSingleQuestion {
		m.Health.Form = lienthongv1.SymptomForm_SYMPTOM_FORM_SINGLE_QUESTION
	}
	return m
}

func birthDateToPB(b canonical.BirthDate) *lienthongv1.BirthDate {
	m := &lienthongv1.BirthDate{Year: int32(b.Year), Month: int32(b.Month), Day: int32(b.Day)}
	switch b.Precision {
	case canonical.PrecisionDay:
		m.Precision = lienthongv1.DatePrecision_DATE_PRECISION_DAY
	case canonical.PrecisionYear:
		m.Precision = lienthongv1.DatePrecision_DATE_PRECISION_YEAR
	}
	return m
}

func codeSetToPB(c canonical.CodeSet) lienthongv1.CodeSet {
	switch c {
	case canonical.CodeSet2021:
		return lienthongv1.CodeSet_CODE_SET_2021
	case canonical.CodeSet2025:
		return lienthongv1.CodeSet_CODE_SET_2025
	}
	return lienthongv1.CodeSet_CODE_SET_UNSPECIFIED
}

func symptomsToPB(ss []canonical.Symptom) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

func exposuresToPB(es []canonical.Exposure) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e)
	}
	return out
}

func timeToPB(t time.Time) *timestamppb.Timestamp {
	return setTimestamp(new(timestamppb.Timestamp), t)
}

// setTimestamp is timeToPB into ts, which the caller allocated: ts, or nil for the zero time.
func setTimestamp(ts *timestamppb.Timestamp, t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
	return ts
}

func violationsToPB(vs []canonical.Violation) []*lienthongv1.Violation {
	out := make([]*lienthongv1.Violation, len(vs))
	for i, v := range vs {
		out[i] = &lienthongv1.Violation{Field: v.Field, Reason: string(v.Reason), Message: v.Message}
	}
	return out
}

func outcomeToPB(s string) lienthongv1.Outcome {
	switch s {
	case store.OutcomeAccepted.String():
		return lienthongv1.Outcome_OUTCOME_ACCEPTED
	case store.OutcomeDuplicate.String():
		return lienthongv1.Outcome_OUTCOME_DUPLICATE
	case store.OutcomeRejected.String():
		return lienthongv1.Outcome_OUTCOME_REJECTED
	}
	return lienthongv1.Outcome_OUTCOME_UNSPECIFIED
}

func storeOutcomeToPB(o store.Outcome) lienthongv1.Outcome { return outcomeToPB(o.String()) }

// itemResults maps a batch's results, counting each outcome.
func itemResults(batch []canonical.Declaration, rs []adapters.Result) (out []*lienthongv1.ItemResult, accepted, duplicate, rejected int32) {
	out = make([]*lienthongv1.ItemResult, len(rs))
	for i, r := range rs {
		out[i] = &lienthongv1.ItemResult{
			Index:      int32(i),
			RecordId:   strings.ToValidUTF8(batch[i].Source.RecordID, "\uFFFD"), // answers are UTF-8 (validutf8.go)
			Outcome:    outcomeToPB(r.Outcome),
			QrId:       r.QRID,
			SignedQr:   r.SignedQR,
			Violations: violationsToPB(r.Violations),
			Line:       int32(batch[i].Source.Line),
		}
		switch out[i].Outcome {
		case lienthongv1.Outcome_OUTCOME_ACCEPTED:
			accepted++
		case lienthongv1.Outcome_OUTCOME_DUPLICATE:
			duplicate++
		case lienthongv1.Outcome_OUTCOME_REJECTED:
			rejected++
		}
	}
	return out, accepted, duplicate, rejected
}

func statusToPB(s store.Status) lienthongv1.Status {
	switch s {
	case store.StatusClear:
		return lienthongv1.Status_STATUS_CLEAR
	case store.StatusScreen:
		return lienthongv1.Status_STATUS_SCREEN
	case store.StatusStale:
		return lienthongv1.Status_STATUS_STALE
	}
	return lienthongv1.Status_STATUS_NONE
}

func fieldToPB(f store.Field) lienthongv1.ComparedField {
	switch f {
	case store.FieldName:
		return lienthongv1.ComparedField_COMPARED_FIELD_NAME
	case store.FieldBirthDate:
		return lienthongv1.ComparedField_COMPARED_FIELD_BIRTH_DATE
	case store.FieldGender:
		return lienthongv1.ComparedField_COMPARED_FIELD_GENDER
	case store.FieldPhone:
		return lienthongv1.ComparedField_COMPARED_FIELD_PHONE
	case store.FieldProvince:
		return lienthongv1.ComparedField_COMPARED_FIELD_PROVINCE
	}
	return lienthongv1.ComparedField_COMPARED_FIELD_UNSPECIFIED
}

func summaryToPB(s store.Summary) *lienthongv1.DeclarationSummary {
	return summaryInto(new(lienthongv1.DeclarationSummary), new(timestamppb.Timestamp), s)
}

// summaryInto is summaryToPB into m, with its declared time in at (both the caller's).
func summaryInto(m *lienthongv1.DeclarationSummary, at *timestamppb.Timestamp, s store.Summary) *lienthongv1.DeclarationSummary {
	m.Platform, m.RecordId, m.Version = string(s.Platform), s.RecordID, s.Version
	m.DeclaredAt = setTimestamp(at, s.DeclaredAt)
	m.HasSymptoms, m.Symptoms, m.Exposures = s.HasSymptoms, symptomsToPB(s.Symptoms), exposuresToPB(s.Exposures)
	m.OnBehalf = s.OnBehalf
	return m
}

func personToPB(p store.Person) *lienthongv1.PersonSummary {
	return personInto(new(lienthongv1.PersonSummary), p)
}

// personInto is personToPB into m, the caller's.
func personInto(m *lienthongv1.PersonSummary, p store.Person) *lienthongv1.PersonSummary {
	m.FullName, m.BirthYear = p.FullName, int32(p.BirthYear)
	m.DocumentType, m.DocumentMasked = lienthongv1.DocumentType(p.DocumentType), p.DocumentMasked
	return m
}

func inconsistenciesToPB(is []store.Inconsistency) []*lienthongv1.Inconsistency {
	out := make([]*lienthongv1.Inconsistency, len(is))
	for i, x := range is {
		out[i] = &lienthongv1.Inconsistency{Field: fieldToPB(x.Field), PlatformA: string(x.PlatformA), PlatformB: string(x.PlatformB)}
	}
	return out
}

func inconsistentIdentityToPB(v store.View) *lienthongv1.InconsistentIdentity {
	m := &lienthongv1.InconsistentIdentity{QrId: v.QRID, Verified: v.Verified, Inconsistencies: inconsistenciesToPB(v.Inconsistencies)}
	for _, s := range v.Latest {
		m.Platforms = append(m.Platforms, &lienthongv1.ComparedValues{
			Declaration:  summaryToPB(s),
			NameKey:      s.NameKey,
			BirthDate:    birthDateToPB(s.BirthDate),
			Gender:       lienthongv1.Gender(s.Gender),
			Phone:        s.Phone,
			ProvinceCode: s.ProvinceCode,
		})
	}
	return m
}

func roleToPB(r string) lienthongv1.Role {
	switch auth.Role(r) {
	case auth.RolePartner:
		return lienthongv1.Role_ROLE_PARTNER
	case auth.RoleCheckpoint:
		return lienthongv1.Role_ROLE_CHECKPOINT
	case auth.RoleMinistry:
		return lienthongv1.Role_ROLE_MINISTRY
	}
	return lienthongv1.Role_ROLE_UNSPECIFIED
}

func publicKeysToPB(r *keys.Ring) []*lienthongv1.PublicKey {
	ks := r.Keys()
	out := make([]*lienthongv1.PublicKey, len(ks))
	for i, k := range ks {
		m := &lienthongv1.PublicKey{
			KeyId:     k.ID,
			PublicKey: k.Public(),
			NotBefore: timeToPB(k.Created),
			RetiredAt: timeToPB(k.RetiredAt),
			Current:   k.RetiredAt.IsZero(), // the signer is the one key not retired
		}
		if !k.RetiredAt.IsZero() {
			m.NotAfter = timeToPB(k.RetiredAt.Add(r.Validity()))
		}
		out[i] = m
	}
	return out
}

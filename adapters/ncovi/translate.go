// Package ncovi pulls NCOVI's declaration feed page by page with a cursor and translates its
// records to and from the common form.
package ncovi

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lienthong/lienthong/canonical"
)

// PageBody is one page of NCOVI's feed, as NCOVI sends it.
type PageBody struct {
	Data       []Record `json:"data"`
	NextCursor string   `json:"next_cursor"`
	HasMore    bool     `json:"has_more"`
}

// Record is one NCOVI declaration, field for field as NCOVI sends it.
type Record struct {
	ID                    string    `json:"id"`
	AccountID             string    `json:"account_id"`
	FullName              string    `json:"full_name"`     // upper case without diacritics, or mixed case with them
	DateOfBirth           string    `json:"date_of_birth"` // yyyy-mm-dd, or yyyy
	Gender                string    `json:"gender"`        // male, female, other
	Nationality           string    `json:"nationality"`
	IdentityNumber        string    `json:"identity_number"`
	SocialInsuranceNumber string    `json:"social_insurance_number"`
	Phone                 string    `json:"phone"`
	Email                 *string   `json:"email"` // null when not given
	Address               Address   `json:"address"`
	Symptoms              []string  `json:"symptoms"`
	Exposures             Exposures `json:"exposures"`
	UnderlyingConditions  []string  `json:"underlying_conditions"`
	CreatedAt             string    `json:"created_at"` // RFC 3339 with offset
	UpdatedAt             string    `json:"updated_at"` // RFC 3339 with offset; a newer one is a correction
}

// Address is an NCOVI address: the province is a name in any common spelling.
type Address struct {
	Province string `json:"province"`
	District string `json:"district"`
	Ward     string `json:"ward"`
	Street   string `json:"street"`
}

// Exposures are NCOVI's three exposure questions.
type Exposures struct {
	ContactWithPatient     bool `json:"contact_with_patient"`
	FromAffectedArea       bool `json:"from_affected_area"`
	ContactWithSymptomatic bool `json:"contact_with_symptomatic"`
}

// envelope is a page whose records are decoded one by one, so one bad record never takes the
// others down with it.
type envelope struct {
	Data       json.RawMessage `json:"data"`
	NextCursor string          `json:"next_cursor"`
	HasMore    bool            `json:"has_more"`
}

// ErrNoData is returned by DecodePage for a body with no data field: it is not a page, though
// it is JSON (an error object served with 200, for example). "data": null is an empty page.
var ErrNoData = errors.New("ncovi page: data: required")

// DecodePage reads one page of the feed. It fails only when the body is not an NCOVI page at
// all (not JSON, truncated, no data array); a record that cannot be read becomes a
// declaration carrying a Problem, in its place.
func DecodePage(body []byte) (decls []canonical.Declaration, nextCursor string, hasMore bool, err error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, "", false, fmt.Errorf("ncovi page: %w", err)
	}
	if len(env.Data) == 0 {
		return nil, "", false, ErrNoData
	}
	var data []json.RawMessage // "data": null reads as an empty page
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return nil, "", false, fmt.Errorf("ncovi page: data: %w", err)
	}
	decls = make([]canonical.Declaration, len(data))
	for i, raw := range data {
		decls[i] = decodeRaw(i, raw)
	}
	return decls, env.NextCursor, env.HasMore, nil
}

// recordFields names the canonical field of a record's JSON field, for invalid_utf8 reports.
var recordFields = map[string]string{
	"id": "source.record_id", "account_id": "source.subject_id", "full_name": "person.full_name",
	"identity_number": "person.document.number", "phone": "person.phone", "email": "person.email", "address": "address",
}

// invalidUTF8Fields reports each top-level field of a raw record whose bytes are not UTF-8.
func invalidUTF8Fields(raw json.RawMessage) []canonical.Violation {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return []canonical.Violation{{Field: "record", Reason: canonical.ReasonInvalidUTF8, Message: "the record is not valid UTF-8"}}
	}
	var out []canonical.Violation
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if utf8.Valid(fields[k]) {
			continue
		}
		f, ok := recordFields[k]
		if !ok {
			f = "record." + k
		}
		out = append(out, canonical.Violation{Field: f, Reason: canonical.ReasonInvalidUTF8, Message: k + " is not valid UTF-8"})
	}
	if len(out) == 0 {
		out = append(out, canonical.Violation{Field: "record", Reason: canonical.ReasonInvalidUTF8, Message: "the record is not valid UTF-8"})
	}
	return out
}

func decodeRaw(i int, raw json.RawMessage) canonical.Declaration {
	var r Record
	err := json.Unmarshal(raw, &r)
	if err == nil {
		d := DecodeRecord(r)
		if !utf8.Valid(raw) {
			// encoding/json turns invalid UTF-8 into U+FFFD without a word: say which fields
			// held it, so the record is rejected instead of stored with a mangled name.
			d.Problems = append(d.Problems, invalidUTF8Fields(raw)...)
		}
		return d
	}
	var id struct {
		ID any `json:"id"`
	}
	_ = json.Unmarshal(raw, &id)
	d := canonical.Declaration{Source: canonical.Source{Platform: canonical.PlatformNCOVI}}
	if s, ok := id.ID.(string); ok {
		d.Source.RecordID = strings.TrimSpace(s)
	}
	msg := "not a JSON object"
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		msg = fmt.Sprintf("field %s: got a JSON %s, want %s", te.Field, te.Value, te.Type)
		if te.Field == "" {
			msg = fmt.Sprintf("got a JSON %s, want an object", te.Value)
		}
	}
	d.Problems = append(d.Problems, canonical.Violation{
		Field: "record", Reason: canonical.ReasonMalformed,
		Message: fmt.Sprintf("record %d is not an NCOVI record: %s", i, msg),
	})
	return d
}

// DecodeRecord translates one NCOVI record to the common form. The version is updated_at,
// so a correction sorts after the record it replaces. Values that cannot be read (a bad date
// or time, an unknown gender) are kept out of the typed fields and reported in Problems; the
// declaration is still returned. Unknown symptom codes are kept for Validate to report.
func DecodeRecord(r Record) canonical.Declaration {
	d := canonical.Declaration{
		Source: canonical.Source{
			Platform:  canonical.PlatformNCOVI,
			RecordID:  strings.TrimSpace(r.ID),
			SubjectID: strings.TrimSpace(r.AccountID),
		},
		Person: canonical.Person{
			FullName:        r.FullName,
			Nationality:     r.Nationality,
			Document:        canonical.Document{Number: r.IdentityNumber},
			Phone:           r.Phone,
			SocialInsurance: r.SocialInsuranceNumber,
		},
		Address: canonical.Address{
			Province: r.Address.Province,
			District: r.Address.District,
			Ward:     r.Address.Ward,
			Street:   r.Address.Street,
		},
		Health: canonical.Health{Form: canonical.SymptomChecklist, Conditions: r.UnderlyingConditions},
	}
	if r.Email != nil {
		d.Person.Email = *r.Email
	}
	problem := func(field string, reason canonical.Reason, format string, args ...any) {
		d.Problems = append(d.Problems, canonical.Violation{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	if d.Source.RecordID == "" {
		problem("source.record_id", canonical.ReasonRequired, "id is empty")
	}

	switch s := strings.TrimSpace(r.UpdatedAt); {
	case s == "":
		problem("source.version", canonical.ReasonRequired, "updated_at is empty")
	default:
		t, err := canonical.ParseRFC3339(s)
		if err != nil {
			problem("source.version", canonical.ReasonMalformed, "updated_at: %v", err)
		} else {
			d.Source.Version = canonical.VersionOf(t)
		}
	}
	if s := strings.TrimSpace(r.CreatedAt); s != "" {
		t, err := canonical.ParseRFC3339(s)
		if err != nil {
			problem("declared_at", canonical.ReasonMalformed, "created_at: %v", err)
		} else {
			d.DeclaredAt = t
		}
	}

	if s := strings.TrimSpace(r.DateOfBirth); s != "" {
		bd, err := canonical.ParseBirthDate(s)
		switch {
		case strings.Contains(s, "/"):
			problem("person.birth_date", canonical.ReasonMalformed, "date_of_birth is not yyyy-mm-dd or yyyy")
		case err != nil:
			problem("person.birth_date", canonical.ReasonMalformed, "date_of_birth: %v", err)
		default:
			d.Person.BirthDate = bd
		}
	}

	switch g := strings.ToLower(strings.TrimSpace(r.Gender)); g {
	case "male":
		d.Person.Gender = canonical.GenderMale
	case "female":
		d.Person.Gender = canonical.GenderFemale
	case "other":
		d.Person.Gender = canonical.GenderOther
	case "":
	default:
		problem("person.gender", canonical.ReasonUnknownGender, "gender is not male, female or other")
	}

	for _, s := range r.Symptoms {
		d.Health.Symptoms = append(d.Health.Symptoms, canonical.Symptom(s))
	}
	d.Health.HasSymptoms = len(d.Health.Symptoms) > 0
	if r.Exposures.ContactWithPatient {
		d.Health.Exposures = append(d.Health.Exposures, canonical.ExposureContactWithCase)
	}
	if r.Exposures.FromAffectedArea {
		d.Health.Exposures = append(d.Health.Exposures, canonical.ExposureFromAffectedArea)
	}
	if r.Exposures.ContactWithSymptomatic {
		d.Health.Exposures = append(d.Health.Exposures, canonical.ExposureContactWithSymptomatic)
	}
	return d
}

// EncodeRecord translates a declaration to an NCOVI record, writing its fields as they are
// (no cleaning: the simulator puts messy text in them on purpose). created_at is DeclaredAt
// and updated_at is the time in Source.Version (as made by canonical.VersionOf; DeclaredAt
// when the version is not such a time), both written in Vietnam's offset as NCOVI does.
// Exposure codes NCOVI has no question for are dropped.
func EncodeRecord(d canonical.Declaration) Record {
	r := Record{
		ID:                    d.Source.RecordID,
		AccountID:             d.Source.SubjectID,
		FullName:              d.Person.FullName,
		DateOfBirth:           d.Person.BirthDate.String(),
		Nationality:           d.Person.Nationality,
		IdentityNumber:        d.Person.Document.Number,
		SocialInsuranceNumber: d.Person.SocialInsurance,
		Phone:                 d.Person.Phone,
		Address: Address{
			Province: d.Address.Province,
			District: d.Address.District,
			Ward:     d.Address.Ward,
			Street:   d.Address.Street,
		},
		Symptoms:             make([]string, 0, len(d.Health.Symptoms)),
		UnderlyingConditions: d.Health.Conditions,
	}
	if r.Address.Province == "" {
		r.Address.Province = d.Address.ProvinceCode
	}
	if d.Person.Email != "" {
		e := d.Person.Email
		r.Email = &e
	}
	if d.Person.Gender != canonical.GenderUnspecified {
		r.Gender = d.Person.Gender.String()
	}
	for _, s := range d.Health.Symptoms {
		r.Symptoms = append(r.Symptoms, string(s))
	}
	for _, e := range d.Health.Exposures {
		switch e {
		case canonical.ExposureContactWithCase:
			r.Exposures.ContactWithPatient = true
		case canonical.ExposureFromAffectedArea:
			r.Exposures.FromAffectedArea = true
		case canonical.ExposureContactWithSymptomatic:
			r.Exposures.ContactWithSymptomatic = true
		}
	}
	r.CreatedAt = formatTime(d.DeclaredAt)
	r.UpdatedAt = r.CreatedAt
	if t, err := time.Parse("2006-01-02T15:04:05.000000000Z", d.Source.Version); err == nil {
		r.UpdatedAt = formatTime(t)
	}
	return r
}

// formatTime writes t in RFC 3339 with Vietnam's offset, or "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(canonical.VietnamZone).Format(time.RFC3339Nano)
}

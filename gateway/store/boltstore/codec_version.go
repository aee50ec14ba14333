package boltstore

import (
	"encoding/binary"
	"encoding/json"

	"github.com/lienthong/lienthong/canonical"
)

// Declaration versions are most of the file (JSON took 900 bytes of a declaration's 1.4 KB
// in use), so they have a compact binary encoding too: a format byte, the identity, then
// every field of the declaration in order. Times are stored as UTC instants. A value that
// starts with '{' is JSON from an earlier version, still read. TestVersionCodecCoversEveryField
// fails when canonical.Declaration gains a field this codec does not write.
const versionFormat1 = 1

func encodeVersion(v version) []byte {
	d := &v.Declaration
	b := make([]byte, 0, 320)
	b = append(b, versionFormat1)
	b = appendString(b, v.QRID)
	b = appendBool(b, v.Verified)

	b = appendStrings(b, string(d.Source.Platform), d.Source.RecordID, d.Source.Version, d.Source.SubjectID)
	b = binary.AppendVarint(b, int64(d.Source.Line))
	b = appendBool(b, d.OnBehalf)

	p := &d.Person
	b = appendStrings(b, p.FullName, p.NameKey)
	b = appendBirthDate(b, p.BirthDate)
	b = append(b, byte(p.Gender))
	b = appendString(b, p.Nationality)
	b = append(b, byte(p.Document.Type))
	b = appendStrings(b, p.Document.Number, p.FormerCMND, p.Phone, p.Email, p.SocialInsurance)

	a := &d.Address
	b = appendStrings(b, a.Province, a.ProvinceCode, string(a.CodeSet), a.Province2025, a.District, a.Ward, a.Street)

	h := &d.Health
	b = append(b, byte(h.Form))
	b = appendLen(b, h.Symptoms == nil, len(h.Symptoms))
	for _, s := range h.Symptoms {
		b = appendString(b, string(s))
	}
	b = appendBool(b, h.HasSymptoms)
	b = appendString(b, h.SymptomNote)
	b = appendLen(b, h.Exposures == nil, len(h.Exposures))
	for _, x := range h.Exposures {
		b = appendString(b, string(x))
	}
	b = appendLen(b, h.Conditions == nil, len(h.Conditions))
	b = appendStrings(b, h.Conditions...)
	b = appendString(b, h.PlacesNote)

	b = appendTimeValue(b, d.DeclaredAt)
	b = appendTimeValue(b, d.ReceivedAt)
	b = appendLen(b, d.Problems == nil, len(d.Problems))
	for _, pr := range d.Problems {
		b = appendStrings(b, pr.Field, string(pr.Reason), pr.Message)
	}
	return b
}

func decodeVersion(b []byte, v *version) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, v)
	}
	if len(b) == 0 || b[0] != versionFormat1 {
		return errCorrupt
	}
	r := newReader(b)
	*v = version{}
	v.QRID = r.string()
	v.Verified = r.bool()
	d := &v.Declaration

	d.Source.Platform = canonical.Platform(r.string())
	d.Source.RecordID = r.string()
	d.Source.Version = r.string()
	d.Source.SubjectID = r.string()
	d.Source.Line = int(r.varint())
	d.OnBehalf = r.bool()

	p := &d.Person
	p.FullName = r.string()
	p.NameKey = r.string()
	p.BirthDate = r.birthDate()
	p.Gender = canonical.Gender(r.byte())
	p.Nationality = r.string()
	p.Document.Type = canonical.DocumentType(r.byte())
	p.Document.Number = r.string()
	p.FormerCMND = r.string()
	p.Phone = r.string()
	p.Email = r.string()
	p.SocialInsurance = r.string()

	a := &d.Address
	a.Province = r.string()
	a.ProvinceCode = r.string()
	a.CodeSet = canonical.CodeSet(r.string())
	a.Province2025 = r.string()
	a.District = r.string()
	a.Ward = r.string()
	a.Street = r.string()

	h := &d.Health
	h.Form = canonical.SymptomForm(r.byte())
	if n, ok := r.len(); ok {
		h.Symptoms = make([]canonical.Symptom, n)
		for i := range h.Symptoms {
			h.Symptoms[i] = canonical.Symptom(r.string())
		}
	}
	h.HasSymptoms = r.bool()
	h.SymptomNote = r.string()
	if n, ok := r.len(); ok {
		h.Exposures = make([]canonical.Exposure, n)
		for i := range h.Exposures {
			h.Exposures[i] = canonical.Exposure(r.string())
		}
	}
	if n, ok := r.len(); ok {
		h.Conditions = make([]string, n)
		for i := range h.Conditions {
			h.Conditions[i] = r.string()
		}
	}
	h.PlacesNote = r.string()

	d.DeclaredAt = r.time()
	d.ReceivedAt = r.time()
	if n, ok := r.len(); ok {
		d.Problems = make([]canonical.Violation, n)
		for i := range d.Problems {
			d.Problems[i] = canonical.Violation{Field: r.string(), Reason: canonical.Reason(r.string()), Message: r.string()}
		}
	}
	if r.bad || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}

// versionQRID reads only the identity of an encoded version.
func versionQRID(b []byte) (string, error) {
	if len(b) > 0 && b[0] == versionFormat1 {
		n, w := binary.Uvarint(b[1:])
		if w <= 0 || n > uint64(len(b)-1-w) {
			return "", errCorrupt
		}
		return string(b[1+w : 1+w+int(n)]), nil
	}
	var v version
	if err := decodeVersion(b, &v); err != nil {
		return "", err
	}
	return v.QRID, nil
}

func appendStrings(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func appendBirthDate(b []byte, d canonical.BirthDate) []byte {
	b = binary.AppendVarint(b, int64(d.Year))
	b = binary.AppendVarint(b, int64(d.Month))
	b = binary.AppendVarint(b, int64(d.Day))
	return append(b, byte(d.Precision))
}

func (r *reader) birthDate() canonical.BirthDate {
	return canonical.BirthDate{Year: int(r.varint()), Month: int(r.varint()), Day: int(r.varint()), Precision: canonical.DatePrecision(r.byte())}
}

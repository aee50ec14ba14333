// Package bluezone receives Bluezone's signed webhook pushes and translates its declarations
// to and from the common form.
package bluezone

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lienthong/lienthong/canonical"
)

// Batch is the body of one Bluezone webhook push.
type Batch struct {
	BatchId string `json:"BatchId"`
	Items   []Item `json:"Items"`
}

// Item is one Bluezone declaration, field for field as Bluezone sends it.
type Item struct {
	DeclarationId             string   `json:"DeclarationId"`
	BluezoneId                string   `json:"BluezoneId"`
	KhaiHo                    bool     `json:"KhaiHo"` // declared on someone else's behalf
	FullName                  string   `json:"FullName"`
	NgaySinh                  string   `json:"NgaySinh"`   // dd/mm/yyyy, may be empty
	NamSinh                   string   `json:"NamSinh"`    // yyyy, always present
	MaGioiTinh                string   `json:"MaGioiTinh"` // "1" Nam, "2" Nữ, "3" Khác
	MaQuocTich                string   `json:"MaQuocTich"` // ISO 3166-1 alpha-2
	SoGiayTo                  string   `json:"SoGiayTo"`
	MaBHXH                    string   `json:"MaBHXH"`
	SoDienThoai               string   `json:"SoDienThoai"`
	Email                     string   `json:"Email"`
	DiaChiLienLacVNMaTinh     string   `json:"DiaChiLienLac_VN_MaTinh"` // 2-digit GSO code, 2021 set
	DiaChiLienLacVNMaHuyen    string   `json:"DiaChiLienLac_VN_MaHuyen"`
	DiaChiLienLacVNMaPhuongXa string   `json:"DiaChiLienLac_VN_MaPhuongXa"`
	DiaChiLienLacVNChiTiet    string   `json:"DiaChiLienLac_VN_ChiTiet"`
	TrieuChungBenh            []Answer `json:"TrieuChungBenh"`
	LichSuPhoiNhiem           []Answer `json:"LichSuPhoiNhiem"`
	ThoiGianKhaiBao           int64    `json:"ThoiGianKhaiBao"` // Unix milliseconds, UTC
}

// Answer is one checklist answer: a symptom or exposure id and whether it was ticked.
type Answer struct {
	ID    string `json:"ID"`
	Value bool   `json:"Value"`
}

// symptomIDs are Bluezone's symptom ids in the order of its form.
var symptomIDs = []struct {
	id string
	s  canonical.Symptom
}{
	{"sot", canonical.SymptomFever},
	{"ho", canonical.SymptomCough},
	{"kho_tho", canonical.SymptomShortnessOfBreath},
	{"dau_hong", canonical.SymptomSoreThroat},
	{"buon_non", canonical.SymptomNausea},
	{"tieu_chay", canonical.SymptomDiarrhea},
	{"xuat_huyet", canonical.SymptomSkinHemorrhage},
	{"noi_ban", canonical.SymptomSkinRash},
	{"viem_phoi", canonical.SymptomPneumonia},
	{"met_moi", canonical.SymptomFatigue},
}

// exposureIDs are Bluezone's exposure ids in the order of its form.
var exposureIDs = []struct {
	id string
	e  canonical.Exposure
}{
	{"tiep_xuc_f0", canonical.ExposureContactWithCase},
	{"tu_vung_dich", canonical.ExposureFromAffectedArea},
	{"tiep_xuc_co_trieu_chung", canonical.ExposureContactWithSymptomatic},
}

func symptomOf(id string) (canonical.Symptom, bool) {
	for _, p := range symptomIDs {
		if p.id == id {
			return p.s, true
		}
	}
	return canonical.Symptom(id), false
}

func exposureOf(id string) (canonical.Exposure, bool) {
	for _, p := range exposureIDs {
		if p.id == id {
			return p.e, true
		}
	}
	return canonical.Exposure(id), false
}

// envelope is a batch whose items are decoded one by one, so one bad item never takes the
// others down with it.
type envelope struct {
	BatchId string            `json:"BatchId"`
	Items   []json.RawMessage `json:"Items"`
}

// DecodeBatch reads a webhook body. It fails only when the body is not a Bluezone batch at
// all (not JSON, no item array); an item that cannot be read becomes a declaration carrying
// a Problem, in its place, so every item gets its own result.
func DecodeBatch(body []byte) (batchID string, decls []canonical.Declaration, err error) {
	env, err := parseBatch(body)
	if err != nil {
		return "", nil, err
	}
	return env.BatchId, env.decode(), nil
}

// errNoItems: a body with no Items array (absent or null) is not a batch; an empty array is.
var errNoItems = errors.New("bluezone batch: Items: required")

// parseBatch reads the batch's envelope, leaving the items undecoded.
func parseBatch(body []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return envelope{}, fmt.Errorf("bluezone batch: %w", err)
	}
	if env.Items == nil {
		return envelope{}, errNoItems
	}
	return env, nil
}

// decode decodes every item, in order.
func (env envelope) decode() []canonical.Declaration {
	decls := make([]canonical.Declaration, len(env.Items))
	for i, raw := range env.Items {
		decls[i] = decodeRaw(i, raw)
	}
	return decls
}

func decodeRaw(i int, raw json.RawMessage) canonical.Declaration {
	var it Item
	err := json.Unmarshal(raw, &it)
	if err == nil {
		d := DecodeItem(it)
		if !utf8.Valid(raw) {
			// encoding/json turns invalid UTF-8 into U+FFFD without a word: say which
			// fields held it, so the item is rejected instead of stored with a mangled name.
			d.Problems = append(d.Problems, invalidUTF8Fields(raw)...)
		}
		return d
	}
	// Keep whatever id the item has, so its rejection can be matched to it.
	var id struct {
		DeclarationId any `json:"DeclarationId"`
	}
	_ = json.Unmarshal(raw, &id)
	d := canonical.Declaration{Source: canonical.Source{Platform: canonical.PlatformBluezone, Version: "1"}}
	if s, ok := id.DeclarationId.(string); ok {
		d.Source.RecordID = strings.TrimSpace(s)
	}
	d.Problems = append(d.Problems, canonical.Violation{
		Field: "item", Reason: canonical.ReasonMalformed,
		Message: fmt.Sprintf("item %d is not a Bluezone item: %s", i, jsonReason(err)),
	})
	return d
}

// itemFields names the canonical field of an item's JSON field, for invalid_utf8 reports.
var itemFields = map[string]string{
	"FullName": "person.full_name", "SoGiayTo": "person.document.number", "SoDienThoai": "person.phone",
	"Email": "person.email", "DiaChiLienLac_VN_ChiTiet": "address.street", "DeclarationId": "source.record_id",
	"BluezoneId": "source.subject_id",
}

// invalidUTF8Fields reports each top-level field of a raw item whose bytes are not UTF-8.
func invalidUTF8Fields(raw json.RawMessage) []canonical.Violation {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return []canonical.Violation{{Field: "item", Reason: canonical.ReasonInvalidUTF8, Message: "the item is not valid UTF-8"}}
	}
	var out []canonical.Violation
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if utf8.Valid(fields[k]) {
			continue
		}
		f, ok := itemFields[k]
		if !ok {
			f = "item." + k
		}
		out = append(out, canonical.Violation{Field: f, Reason: canonical.ReasonInvalidUTF8, Message: k + " is not valid UTF-8"})
	}
	if len(out) == 0 {
		out = append(out, canonical.Violation{Field: "item", Reason: canonical.ReasonInvalidUTF8, Message: "the item is not valid UTF-8"})
	}
	return out
}

// jsonReason describes a JSON error without quoting the offending value (it may be personal
// data).
func jsonReason(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		if te.Field == "" {
			return fmt.Sprintf("got a JSON %s, want an object", te.Value)
		}
		return fmt.Sprintf("field %s: got a JSON %s, want %s", te.Field, te.Value, te.Type)
	}
	return "not a JSON object"
}

// DecodeItem translates one Bluezone item to the common form. Values that cannot be read
// (a bad date, an unknown gender code, an unknown symptom or exposure id) are kept out of
// the typed fields and reported in Problems; the declaration is still returned.
func DecodeItem(it Item) canonical.Declaration {
	d := canonical.Declaration{
		Source: canonical.Source{
			Platform:  canonical.PlatformBluezone,
			RecordID:  strings.TrimSpace(it.DeclarationId),
			Version:   "1", // Bluezone never updates a declaration: a new one gets a new id
			SubjectID: strings.TrimSpace(it.BluezoneId),
		},
		OnBehalf: it.KhaiHo,
		Person: canonical.Person{
			FullName:        it.FullName,
			Nationality:     it.MaQuocTich,
			Document:        canonical.Document{Number: it.SoGiayTo},
			Phone:           it.SoDienThoai,
			Email:           it.Email,
			SocialInsurance: it.MaBHXH,
		},
		Address: canonical.Address{
			Province: it.DiaChiLienLacVNMaTinh,
			District: it.DiaChiLienLacVNMaHuyen,
			Ward:     it.DiaChiLienLacVNMaPhuongXa,
			Street:   it.DiaChiLienLacVNChiTiet,
		},
		Health: canonical.Health{Form: canonical.SymptomChecklist},
	}
	problem := func(field string, reason canonical.Reason, format string, args ...any) {
		d.Problems = append(d.Problems, canonical.Violation{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	if d.Source.RecordID == "" {
		problem("source.record_id", canonical.ReasonRequired, "DeclarationId is empty")
	}
	if code := strings.TrimSpace(it.DiaChiLienLacVNMaTinh); code != "" {
		d.Address.ProvinceCode = code
		d.Address.CodeSet = canonical.CodeSet2021
	}

	// Birth date: the full date when given, else the year.
	if s := strings.TrimSpace(it.NgaySinh); s != "" {
		bd, err := canonical.ParseBirthDate(s)
		switch {
		case strings.Count(s, "/") != 2:
			problem("person.birth_date", canonical.ReasonMalformed, "NgaySinh is not dd/mm/yyyy")
		case err != nil:
			problem("person.birth_date", canonical.ReasonMalformed, "NgaySinh: %v", err)
		default:
			d.Person.BirthDate = bd
		}
	} else if s := strings.TrimSpace(it.NamSinh); s != "" {
		bd, err := canonical.ParseBirthDate(s)
		if err != nil || bd.Precision != canonical.PrecisionYear {
			problem("person.birth_date", canonical.ReasonMalformed, "NamSinh is not a four-digit year")
		} else {
			d.Person.BirthDate = bd
		}
	}

	switch g := strings.TrimSpace(it.MaGioiTinh); g {
	case "1":
		d.Person.Gender = canonical.GenderMale
	case "2":
		d.Person.Gender = canonical.GenderFemale
	case "3":
		d.Person.Gender = canonical.GenderOther
	case "":
	default:
		problem("person.gender", canonical.ReasonUnknownGender, "MaGioiTinh is not 1, 2 or 3")
	}

	for _, a := range it.TrieuChungBenh {
		s, known := symptomOf(a.ID)
		switch {
		case a.Value:
			d.Health.Symptoms = append(d.Health.Symptoms, s) // unknown ids stay for Validate to report
		case !known:
			problem("health.symptoms", canonical.ReasonUnknownSymptom, "symptom id %q is not a Bluezone symptom", truncate(a.ID))
		}
	}
	d.Health.HasSymptoms = len(d.Health.Symptoms) > 0
	for _, a := range it.LichSuPhoiNhiem {
		e, known := exposureOf(a.ID)
		switch {
		case a.Value:
			d.Health.Exposures = append(d.Health.Exposures, e)
		case !known:
			problem("health.exposures", canonical.ReasonUnknownExposure, "exposure id %q is not a Bluezone exposure", truncate(a.ID))
		}
	}

	if it.ThoiGianKhaiBao != 0 {
		// Beyond years 1..9999 a time cannot be stored or shown: malformed, not "in the future".
		if t := canonical.FromUnixMillis(it.ThoiGianKhaiBao); t.Year() < 1 || t.Year() > 9999 {
			problem("declared_at", canonical.ReasonMalformed, "ThoiGianKhaiBao is outside the years 1 to 9999")
		} else {
			d.DeclaredAt = t
		}
	}
	return d
}

// truncate shortens a partner-supplied code for an error message.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "..."
}

// EncodeItem translates a declaration to a Bluezone item, writing its fields as they are
// (no cleaning: the simulator puts messy text in them on purpose). The symptom and exposure
// checklists list every Bluezone id with its answer, as the app does; a symptom or exposure
// with no Bluezone id is sent as its own id, ticked.
func EncodeItem(d canonical.Declaration) Item {
	it := Item{
		DeclarationId:             d.Source.RecordID,
		BluezoneId:                d.Source.SubjectID,
		KhaiHo:                    d.OnBehalf,
		FullName:                  d.Person.FullName,
		MaQuocTich:                d.Person.Nationality,
		SoGiayTo:                  d.Person.Document.Number,
		MaBHXH:                    d.Person.SocialInsurance,
		SoDienThoai:               d.Person.Phone,
		Email:                     d.Person.Email,
		DiaChiLienLacVNMaTinh:     d.Address.ProvinceCode,
		DiaChiLienLacVNMaHuyen:    d.Address.District,
		DiaChiLienLacVNMaPhuongXa: d.Address.Ward,
		DiaChiLienLacVNChiTiet:    d.Address.Street,
	}
	if it.DiaChiLienLacVNMaTinh == "" {
		it.DiaChiLienLacVNMaTinh = d.Address.Province
	}
	b := d.Person.BirthDate
	if b.Precision == canonical.PrecisionDay {
		it.NgaySinh = fmt.Sprintf("%02d/%02d/%04d", b.Day, b.Month, b.Year)
	}
	if b.Precision != canonical.PrecisionNone {
		it.NamSinh = strconv.Itoa(b.Year)
	}
	switch d.Person.Gender {
	case canonical.GenderMale:
		it.MaGioiTinh = "1"
	case canonical.GenderFemale:
		it.MaGioiTinh = "2"
	case canonical.GenderOther:
		it.MaGioiTinh = "3"
	}

	has := map[canonical.Symptom]bool{}
	for _, s := range d.Health.Symptoms {
		has[s] = true
	}
	it.TrieuChungBenh = make([]Answer, 0, len(symptomIDs))
	for _, p := range symptomIDs {
		it.TrieuChungBenh = append(it.TrieuChungBenh, Answer{ID: p.id, Value: has[p.s]})
		delete(has, p.s)
	}
	for _, s := range d.Health.Symptoms {
		if has[s] {
			it.TrieuChungBenh = append(it.TrieuChungBenh, Answer{ID: string(s), Value: true})
			delete(has, s)
		}
	}
	exp := map[canonical.Exposure]bool{}
	for _, e := range d.Health.Exposures {
		exp[e] = true
	}
	it.LichSuPhoiNhiem = make([]Answer, 0, len(exposureIDs))
	for _, p := range exposureIDs {
		it.LichSuPhoiNhiem = append(it.LichSuPhoiNhiem, Answer{ID: p.id, Value: exp[p.e]})
		delete(exp, p.e)
	}
	for _, e := range d.Health.Exposures {
		if exp[e] {
			it.LichSuPhoiNhiem = append(it.LichSuPhoiNhiem, Answer{ID: string(e), Value: true})
			delete(exp, e)
		}
	}
	if !d.DeclaredAt.IsZero() {
		it.ThoiGianKhaiBao = d.DeclaredAt.UnixMilli()
	}
	return it
}

// EncodeBatch builds a webhook body's batch from declarations, in order.
func EncodeBatch(batchID string, decls []canonical.Declaration) Batch {
	b := Batch{BatchId: batchID, Items: make([]Item, len(decls))}
	for i, d := range decls {
		b.Items[i] = EncodeItem(d)
	}
	return b
}

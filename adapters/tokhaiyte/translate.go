// Package tokhaiyte pulls tokhaiyte's CSV export by time window and translates its rows to
// and from the common form.
package tokhaiyte

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/lienthong/lienthong/canonical"
)

// Header is the export's header row, in order.
var Header = []string{
	"Mã tờ khai",
	"Khai hộ",
	"Họ tên",
	"Năm sinh",
	"Giới tính",
	"Quốc tịch",
	"Số hộ chiếu/CMND/CCCD",
	"Tỉnh/thành",
	"Quận/huyện",
	"Phường/xã",
	"Số nhà/phố",
	"Điện thoại",
	"Email",
	"Đi qua tỉnh/thành phố/quốc gia trong 14 ngày",
	"Có triệu chứng",
	"Ghi chú triệu chứng",
	"Tiếp xúc người bệnh hoặc nghi ngờ",
	"Tiếp xúc người từ nước có bệnh",
	"Tiếp xúc người có biểu hiện",
	"Thời gian khai báo",
}

// Columns is the number of columns of every row.
const Columns = 20

// Row is one row of the export, its 20 columns in order, as text.
type Row struct {
	MaToKhai         string // Mã tờ khai: the form id
	KhaiHo           string // Khai hộ: 0 or 1
	HoTen            string // Họ tên
	NamSinh          string // Năm sinh: the year only
	GioiTinh         string // Giới tính: Nam, Nữ (Nu), Khác (Khac)
	QuocTich         string // Quốc tịch: a country name
	SoGiayTo         string // Số hộ chiếu/CMND/CCCD: optional
	TinhThanh        string // Tỉnh/thành: a name
	QuanHuyen        string // Quận/huyện
	PhuongXa         string // Phường/xã
	SoNhaPho         string // Số nhà/phố
	DienThoai        string // Điện thoại
	Email            string // Email
	DiQua            string // Đi qua tỉnh/thành phố/quốc gia trong 14 ngày: free text
	CoTrieuChung     string // Có triệu chứng: Có or Không
	GhiChuTrieuChung string // Ghi chú triệu chứng: free text
	TiepXucNguoiBenh string // Tiếp xúc người bệnh hoặc nghi ngờ: 1 yes, 2 no
	TiepXucNuocBenh  string // Tiếp xúc người từ nước có bệnh: 1 yes, 2 no
	TiepXucBieuHien  string // Tiếp xúc người có biểu hiện: 1 yes, 2 no
	ThoiGianKhaiBao  string // Thời gian khai báo: dd/mm/yyyy HH:MM:SS, Vietnam time
}

// Fields returns the row's columns in the header's order.
func (r Row) Fields() []string {
	return []string{
		r.MaToKhai, r.KhaiHo, r.HoTen, r.NamSinh, r.GioiTinh, r.QuocTich, r.SoGiayTo,
		r.TinhThanh, r.QuanHuyen, r.PhuongXa, r.SoNhaPho, r.DienThoai, r.Email, r.DiQua,
		r.CoTrieuChung, r.GhiChuTrieuChung, r.TiepXucNguoiBenh, r.TiepXucNuocBenh,
		r.TiepXucBieuHien, r.ThoiGianKhaiBao,
	}
}

// RowOf builds a row from exactly Columns fields in the header's order.
func RowOf(f []string) (Row, error) {
	if len(f) != Columns {
		return Row{}, fmt.Errorf("%d columns, want %d", len(f), Columns)
	}
	return Row{
		MaToKhai: f[0], KhaiHo: f[1], HoTen: f[2], NamSinh: f[3], GioiTinh: f[4],
		QuocTich: f[5], SoGiayTo: f[6], TinhThanh: f[7], QuanHuyen: f[8], PhuongXa: f[9],
		SoNhaPho: f[10], DienThoai: f[11], Email: f[12], DiQua: f[13], CoTrieuChung: f[14],
		GhiChuTrieuChung: f[15], TiepXucNguoiBenh: f[16], TiepXucNuocBenh: f[17],
		TiepXucBieuHien: f[18], ThoiGianKhaiBao: f[19],
	}, nil
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// ErrHeader is returned (wrapped) by DecodeCSV when the first row is not the export's header:
// reading the columns by position would put values in the wrong fields.
var ErrHeader = errors.New("not the tokhaiyte header row")

// DecodeCSV reads a whole export: an optional UTF-8 byte-order mark, the header row, then one
// declaration per row with Source.Line set to the row's first line in the file (the header is
// line 1). A row that cannot be read (wrong column count, broken quoting) becomes a
// declaration carrying a malformed_row Problem with its line number, and the rest of the file
// is still read. It fails only when the header is wrong or the reader fails; an empty body is
// an empty export.
func DecodeCSV(r io.Reader) ([]canonical.Declaration, error) {
	br := bufio.NewReader(r)
	if p, err := br.Peek(3); err == nil && bytes.Equal(p, bom) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // counted here, so a short row is rejected alone
	cr.ReuseRecord = true

	head, err := cr.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("tokhaiyte csv: header: %w", ErrHeader)
		}
		return nil, fmt.Errorf("tokhaiyte csv: %w", err)
	}
	if err := checkHeader(head); err != nil {
		return nil, fmt.Errorf("tokhaiyte csv: %w", err)
	}

	var decls []canonical.Declaration
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return decls, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			decls = append(decls, malformedRow(pe.StartLine, "", fmt.Sprintf("line %d: broken CSV quoting: %v", pe.StartLine, pe.Err)))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tokhaiyte csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		row, err := RowOf(rec)
		if err != nil {
			id := ""
			if len(rec) > 0 {
				id = strings.TrimSpace(rec[0])
			}
			decls = append(decls, malformedRow(line, id, fmt.Sprintf("line %d: %v", line, err)))
			continue
		}
		d := DecodeRow(row)
		d.Source.Line = line
		decls = append(decls, d)
	}
}

func checkHeader(head []string) error {
	if len(head) != Columns {
		return fmt.Errorf("%w: %d columns, want %d", ErrHeader, len(head), Columns)
	}
	for i, h := range head {
		if norm.NFC.String(strings.TrimSpace(h)) != Header[i] {
			return fmt.Errorf("%w: column %d is not %q", ErrHeader, i+1, Header[i])
		}
	}
	return nil
}

func malformedRow(line int, id, msg string) canonical.Declaration {
	return canonical.Declaration{
		Source: canonical.Source{Platform: canonical.PlatformTokhaiyte, RecordID: id, Version: "1", Line: line},
		Health: canonical.Health{Form: canonical.SymptomSingleQuestion},
		Problems: []canonical.Violation{{
			Field: "row", Reason: canonical.ReasonMalformedRow, Message: msg,
		}},
	}
}

// fold puts a short answer word in one form for comparison: NFC, trimmed, lower case.
func fold(s string) string {
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
}

// DecodeRow translates one row to the common form (Source.Line is left 0; DecodeCSV sets it).
// Values that cannot be read (a bad year or time, an unknown gender word, a contact column
// that is not 1 or 2, a symptom answer that is not Có or Không) are kept out of the typed
// fields and reported in Problems; the declaration is still returned.
func DecodeRow(r Row) canonical.Declaration {
	d := canonical.Declaration{
		Source: canonical.Source{
			Platform: canonical.PlatformTokhaiyte,
			RecordID: strings.TrimSpace(r.MaToKhai),
			Version:  "1", // tokhaiyte never updates a form
		},
		Person: canonical.Person{
			FullName:    r.HoTen,
			Nationality: r.QuocTich,
			Document:    canonical.Document{Number: r.SoGiayTo},
			Phone:       r.DienThoai,
			Email:       r.Email,
		},
		Address: canonical.Address{
			Province: r.TinhThanh,
			District: r.QuanHuyen,
			Ward:     r.PhuongXa,
			Street:   r.SoNhaPho,
		},
		Health: canonical.Health{
			Form:        canonical.SymptomSingleQuestion,
			SymptomNote: r.GhiChuTrieuChung,
			PlacesNote:  r.DiQua,
		},
	}
	problem := func(field string, reason canonical.Reason, format string, args ...any) {
		d.Problems = append(d.Problems, canonical.Violation{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	if d.Source.RecordID == "" {
		problem("source.record_id", canonical.ReasonRequired, "Mã tờ khai is empty")
	}

	switch strings.TrimSpace(r.KhaiHo) {
	case "1":
		d.OnBehalf = true
	case "0", "":
	default:
		problem("on_behalf", canonical.ReasonMalformed, "Khai hộ is not 0 or 1")
	}

	if s := strings.TrimSpace(r.NamSinh); s != "" {
		bd, err := canonical.ParseBirthDate(s)
		if err != nil || bd.Precision != canonical.PrecisionYear {
			problem("person.birth_date", canonical.ReasonMalformed, "Năm sinh is not a four-digit year")
		} else {
			d.Person.BirthDate = bd
		}
	}

	switch fold(r.GioiTinh) {
	case "nam":
		d.Person.Gender = canonical.GenderMale
	case "nữ", "nu":
		d.Person.Gender = canonical.GenderFemale
	case "khác", "khac":
		d.Person.Gender = canonical.GenderOther
	case "":
	default:
		problem("person.gender", canonical.ReasonUnknownGender, "Giới tính is not Nam, Nữ or Khác")
	}

	switch fold(r.CoTrieuChung) {
	case "có", "co":
		d.Health.HasSymptoms = true
	case "không", "khong":
	default:
		problem("health.has_symptoms", canonical.ReasonMalformed, "Có triệu chứng is not Có or Không")
	}

	contacts := []struct {
		value, column string
		e             canonical.Exposure
	}{
		{r.TiepXucNguoiBenh, Header[16], canonical.ExposureContactWithCase},
		{r.TiepXucNuocBenh, Header[17], canonical.ExposureFromAffectedArea},
		{r.TiepXucBieuHien, Header[18], canonical.ExposureContactWithSymptomatic},
	}
	for _, c := range contacts {
		switch strings.TrimSpace(c.value) {
		case "1":
			d.Health.Exposures = append(d.Health.Exposures, c.e)
		case "2":
		default:
			problem("health.exposures", canonical.ReasonMalformed, "%s is not 1 (Có) or 2 (Không)", c.column)
		}
	}

	if s := strings.TrimSpace(r.ThoiGianKhaiBao); s != "" {
		t, err := canonical.ParseLocalTime(s)
		if err != nil {
			problem("declared_at", canonical.ReasonMalformed, "Thời gian khai báo: %v", err)
		} else {
			d.DeclaredAt = t
		}
	}
	return d
}

// EncodeRow translates a declaration to a row, writing its fields as they are (no cleaning:
// the simulator puts messy text in them on purpose). The year alone is written, as the form
// asked; Có triệu chứng is HasSymptoms (or any symptom, for a checklist declaration); the
// time is written in Vietnam's time.
func EncodeRow(d canonical.Declaration) Row {
	r := Row{
		MaToKhai:         d.Source.RecordID,
		KhaiHo:           "0",
		HoTen:            d.Person.FullName,
		QuocTich:         d.Person.Nationality,
		SoGiayTo:         d.Person.Document.Number,
		TinhThanh:        d.Address.Province,
		QuanHuyen:        d.Address.District,
		PhuongXa:         d.Address.Ward,
		SoNhaPho:         d.Address.Street,
		DienThoai:        d.Person.Phone,
		Email:            d.Person.Email,
		DiQua:            d.Health.PlacesNote,
		CoTrieuChung:     "Không",
		GhiChuTrieuChung: d.Health.SymptomNote,
		TiepXucNguoiBenh: "2",
		TiepXucNuocBenh:  "2",
		TiepXucBieuHien:  "2",
	}
	if d.OnBehalf {
		r.KhaiHo = "1"
	}
	if r.TinhThanh == "" {
		r.TinhThanh = d.Address.ProvinceCode
	}
	if d.Person.BirthDate.Precision != canonical.PrecisionNone {
		r.NamSinh = strconv.Itoa(d.Person.BirthDate.Year)
	}
	switch d.Person.Gender {
	case canonical.GenderMale:
		r.GioiTinh = "Nam"
	case canonical.GenderFemale:
		r.GioiTinh = "Nữ"
	case canonical.GenderOther:
		r.GioiTinh = "Khác"
	}
	if d.Health.HasSymptoms || len(d.Health.Symptoms) > 0 {
		r.CoTrieuChung = "Có"
	}
	for _, e := range d.Health.Exposures {
		switch e {
		case canonical.ExposureContactWithCase:
			r.TiepXucNguoiBenh = "1"
		case canonical.ExposureFromAffectedArea:
			r.TiepXucNuocBenh = "1"
		case canonical.ExposureContactWithSymptomatic:
			r.TiepXucBieuHien = "1"
		}
	}
	if !d.DeclaredAt.IsZero() {
		r.ThoiGianKhaiBao = d.DeclaredAt.In(canonical.VietnamZone).Format("02/01/2006 15:04:05")
	}
	return r
}

// WriteCSV writes an export: the optional UTF-8 byte-order mark, the header row, then the
// rows, comma-separated with RFC 4180 quoting and CRLF line ends.
func WriteCSV(w io.Writer, rows []Row, withBOM bool) error {
	if withBOM {
		if _, err := w.Write(bom); err != nil {
			return fmt.Errorf("tokhaiyte csv: %w", err)
		}
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(Header); err != nil {
		return fmt.Errorf("tokhaiyte csv: %w", err)
	}
	for _, r := range rows {
		if err := cw.Write(r.Fields()); err != nil {
			return fmt.Errorf("tokhaiyte csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("tokhaiyte csv: %w", err)
	}
	return nil
}

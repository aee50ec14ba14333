package sim

import (
	"bytes"
	"encoding/csv"
	"fmt"

	"github.com/lienthong/lienthong/adapters/bluezone"
	"github.com/lienthong/lienthong/adapters/ncovi"
	"github.com/lienthong/lienthong/adapters/tokhaiyte"
)

// The native forms come from the adapters' own encoders; the faults that no canonical value
// can express (a gender code outside the list, a date that is no date, a row with a column
// missing) are then written into the native record.

// BluezoneItem returns the record as Bluezone sends it.
func (p *Population) BluezoneItem(r *Record) bluezone.Item {
	it := bluezone.EncodeItem(r.Typed)
	switch r.Fault {
	case FaultUnknownGender:
		it.MaGioiTinh = "0"
	case FaultBadBirthDate:
		// A day that does not exist, with the year still in NamSinh.
		it.NgaySinh = fmt.Sprintf("30/02/%04d", r.Typed.Person.BirthDate.Year)
	}
	return it
}

// NCOVIRecord returns the record as NCOVI's feed serves it.
func (p *Population) NCOVIRecord(r *Record) ncovi.Record {
	rec := ncovi.EncodeRecord(r.Typed)
	if r.Fault == FaultUnknownGender {
		rec.Gender = "nam" // the Vietnamese word typed into an English field
	}
	return rec
}

// TokhaiyteRow returns the record as a row of tokhaiyte's export.
func (p *Population) TokhaiyteRow(r *Record) tokhaiyte.Row {
	row := tokhaiyte.EncodeRow(r.Typed)
	switch r.Fault {
	case FaultUnknownGender:
		row.GioiTinh = "Không rõ"
	case FaultBadDeclaredTime:
		// An ISO-style time where the export writes dd/mm/yyyy HH:MM:SS.
		row.ThoiGianKhaiBao = r.DeclaredAt.Format("2006-01-02 15:04")
	}
	return row
}

// tokhaiyteHeader is the export's header line as WriteCSV writes it.
var tokhaiyteHeader = func() []byte {
	var b bytes.Buffer
	_ = tokhaiyte.WriteCSV(&b, nil, false)
	return b.Bytes()
}()

// TokhaiyteLine returns the record's line(s) of the export, CRLF-terminated: written by
// tokhaiyte.WriteCSV, or, for a row with a column missing, the same CSV dialect with the last
// column left out.
func (p *Population) TokhaiyteLine(r *Record) []byte {
	row := p.TokhaiyteRow(r)
	var b bytes.Buffer
	if r.Fault == FaultWrongColumnCount {
		w := csv.NewWriter(&b)
		w.UseCRLF = true
		f := row.Fields()
		_ = w.Write(f[:len(f)-1])
		w.Flush()
		return b.Bytes()
	}
	_ = tokhaiyte.WriteCSV(&b, []tokhaiyte.Row{row}, false)
	return b.Bytes()[len(tokhaiyteHeader):]
}

package qr

import (
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/identity"
)

// The 1405 personal QR's fields, in order: SoGiayTo|HoTen|NgaySinh|LoaiDinhDanh|QID|EXT.
const personal1405Fields = 6

const maxQIDLen = 128

// ParsePersonal1405 reads the unified personal QR of decision 1405/QĐ-BTTTT:
// SoGiayTo|HoTen|NgaySinh|LoaiDinhDanh|QID|EXT (EXT may be left off).
//   - SoGiayTo: a CCCD, CMND or passport number whose first 6 characters may be '*'; empty when
//     the person has none (a child).
//   - HoTen: the name, required; upper case without diacritics by the decision, but read as
//     written (NFC, single-spaced).
//   - NgaySinh: YYYY-MM-DD; a day or month of "**" or "00" leaves the year only.
//   - LoaiDinhDanh: 0 declared by the person, 1 on the person's behalf.
//   - QID: the national QR platform's id; when it has a QR id's shape it is also Scan.QRID.
//   - EXT: extra items separated by ';' or ',' (the separator is not settled), read for what it
//     can: a gender (0 female, 1 male, 2 other) and a phone, bare or as key=value; anything
//     else in it (declarer's QID, insurance number, signature) is skipped, never an error.
func ParsePersonal1405(s string) (Scan, error) {
	const op = "qr.ParsePersonal1405"
	s, err := prepare(op, s)
	if err != nil {
		return Scan{}, err
	}
	f := strings.Split(s, "|")
	if len(f) != personal1405Fields && len(f) != personal1405Fields-1 {
		return Scan{}, malformed(op, fmt.Sprintf("found %d fields separated by '|', want 6 (SoGiayTo|HoTen|NgaySinh|LoaiDinhDanh|QID|EXT)", len(f)))
	}
	for i, v := range f {
		if hasControl(v) {
			return Scan{}, fieldError(op, i+1, personal1405Names[i], "holds control characters")
		}
	}
	sc := Scan{Form: FormPersonal1405}
	var why string
	if sc.Document, sc.DocumentMasked, why = parseDocument(strings.TrimSpace(f[0])); why != "" {
		return Scan{}, fieldError(op, 1, personal1405Names[0], why)
	}
	if sc.FullName, why = cleanName(f[1]); why != "" {
		return Scan{}, fieldError(op, 2, personal1405Names[1], why)
	}
	if sc.BirthDate, why = parse1405Date(strings.TrimSpace(f[2])); why != "" {
		return Scan{}, fieldError(op, 3, personal1405Names[2], why)
	}
	switch strings.TrimSpace(f[3]) {
	case "0":
	case "1":
		sc.OnBehalf = true
	default:
		return Scan{}, fieldError(op, 4, personal1405Names[3], "is not 0 (self) or 1 (on behalf)")
	}
	sc.QID = strings.TrimSpace(f[4])
	if len(sc.QID) > maxQIDLen {
		return Scan{}, fieldError(op, 5, personal1405Names[4], fmt.Sprintf("is longer than %d characters", maxQIDLen))
	}
	if identity.LooksLikeQRID(sc.QID) {
		sc.QRID = sc.QID
	}
	if len(f) == personal1405Fields {
		sc.Gender, sc.Phone = parseExt(f[5])
	}
	return sc, nil
}

var personal1405Names = [personal1405Fields]string{
	"SoGiayTo, document number", "HoTen, name", "NgaySinh, birth date",
	"LoaiDinhDanh, self or on behalf", "QID", "EXT, extra fields",
}

// parse1405Date reads YYYY-MM-DD where MM and DD may be "**" or "00" (year only), and a bare
// YYYY. It returns why it is not such a date ("" when it is).
func parse1405Date(s string) (canonical.BirthDate, string) {
	const shape = "is not YYYY-MM-DD (day and month may be ** or 00)"
	if len(s) == 4 {
		s += "-00-00"
	}
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !allDigits(s[:4]) {
		return canonical.BirthDate{}, shape
	}
	year := atoi(s[:4])
	if year < minYear {
		return canonical.BirthDate{}, "has a year before 1800"
	}
	month, mOK, mHidden := datePart(s[5:7])
	day, dOK, dHidden := datePart(s[8:10])
	if !mOK || !dOK {
		return canonical.BirthDate{}, shape
	}
	if !mHidden && (month < 1 || month > 12) {
		return canonical.BirthDate{}, "has no such month"
	}
	if mHidden || dHidden {
		if !dHidden && (day < 1 || day > 31) {
			return canonical.BirthDate{}, "has no such day"
		}
		return canonical.BirthDate{Year: year, Precision: canonical.PrecisionYear}, ""
	}
	if !validDay(year, month, day) {
		return canonical.BirthDate{}, "has no such day"
	}
	return canonical.BirthDate{Year: year, Month: month, Day: day, Precision: canonical.PrecisionDay}, ""
}

const minYear = 1800

// datePart reads a 2-character month or day: digits, or "**"/"00" for hidden.
func datePart(s string) (n int, ok, hidden bool) {
	switch {
	case s == "**" || s == "00":
		return 0, true, true
	case allDigits(s):
		return atoi(s), true, false
	}
	return 0, false, false
}

// FormatPersonal1405 writes sc as a 1405 personal QR: the document number as it is in sc (see
// MaskDocumentNumber), the name in upper case without diacritics, a year-only birth date as
// YYYY-00-00, the QID (or the QR id when QID is empty), and EXT as "gender;phone" with the
// parts that are known. ParsePersonal1405 reads back what it wrote.
func FormatPersonal1405(sc Scan) string {
	var b strings.Builder
	b.WriteString(sc.Document.Number)
	b.WriteByte('|')
	b.WriteString(strings.ToUpper(fold(sc.FullName)))
	b.WriteByte('|')
	switch sc.BirthDate.Precision {
	case canonical.PrecisionDay:
		fmt.Fprintf(&b, "%04d-%02d-%02d", sc.BirthDate.Year, sc.BirthDate.Month, sc.BirthDate.Day)
	case canonical.PrecisionYear:
		fmt.Fprintf(&b, "%04d-00-00", sc.BirthDate.Year)
	}
	b.WriteByte('|')
	if sc.OnBehalf {
		b.WriteByte('1')
	} else {
		b.WriteByte('0')
	}
	b.WriteByte('|')
	if sc.QID != "" {
		b.WriteString(sc.QID)
	} else {
		b.WriteString(sc.QRID)
	}
	b.WriteByte('|')
	var ext []string
	if c, ok := genderCode(sc.Gender); ok {
		ext = append(ext, c)
	}
	if sc.Phone != "" {
		ext = append(ext, sc.Phone)
	}
	b.WriteString(strings.Join(ext, ";"))
	return b.String()
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

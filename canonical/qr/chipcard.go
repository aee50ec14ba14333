package qr

import (
	"fmt"
	"strings"

	"github.com/lienthong/lienthong/canonical"
)

var chipCardNames = [7]string{
	"soCCCD, card number", "soCMNDcu, old CMND number", "hoTen, name", "ngaySinh, birth date",
	"gioiTinh, gender", "diaChi, address", "ngayCap, issue date",
}

// ParseChipCard reads the QR printed on a chip ID card (CCCD):
// soCCCD|soCMNDcu|hoTen|ngaySinh|gioiTinh|diaChi|ngayCap, where soCCCD is 12 digits, soCMNDcu
// empty or a 9- or 12-digit old CMND number, the dates ddMMyyyy and gioiTinh "Nam" or "Nữ".
// Some cards leave ngayCap off (6 fields). The name is read in NFC whatever form the card's
// encoder used; the address is checked for control characters but not kept.
func ParseChipCard(s string) (Scan, error) {
	const op = "qr.ParseChipCard"
	s, err := prepare(op, s)
	if err != nil {
		return Scan{}, err
	}
	f := strings.Split(s, "|")
	if len(f) != 7 && len(f) != 6 {
		return Scan{}, malformed(op, fmt.Sprintf("found %d fields separated by '|', want 7 (soCCCD|soCMNDcu|hoTen|ngaySinh|gioiTinh|diaChi|ngayCap) or 6", len(f)))
	}
	for i, v := range f {
		if hasControl(v) {
			return Scan{}, fieldError(op, i+1, chipCardNames[i], "holds control characters")
		}
	}
	sc := Scan{Form: FormChipCard}
	if n := strings.TrimSpace(f[0]); len(n) != 12 || !allDigits(n) {
		return Scan{}, fieldError(op, 1, chipCardNames[0], "is not 12 digits")
	} else {
		sc.Document = canonical.Document{Type: canonical.DocumentCCCD, Number: n}
	}
	if n := strings.TrimSpace(f[1]); n != "" {
		if !allDigits(n) || len(n) != 9 && len(n) != 12 {
			return Scan{}, fieldError(op, 2, chipCardNames[1], "is not 9 or 12 digits")
		}
		sc.FormerCMND = n
	}
	var why string
	if sc.FullName, why = cleanName(f[2]); why != "" {
		return Scan{}, fieldError(op, 3, chipCardNames[2], why)
	}
	d, why := parseDDMMYYYY(strings.TrimSpace(f[3]))
	if why != "" {
		return Scan{}, fieldError(op, 4, chipCardNames[3], why)
	}
	sc.BirthDate = d
	switch fold(f[4]) {
	case "nam":
		sc.Gender = canonical.GenderMale
	case "nu":
		sc.Gender = canonical.GenderFemale
	case "khac":
		sc.Gender = canonical.GenderOther
	default:
		return Scan{}, fieldError(op, 5, chipCardNames[4], "is not Nam or Nữ")
	}
	if len(f) == 7 {
		if v := strings.TrimSpace(f[6]); v != "" {
			if _, why := parseDDMMYYYY(v); why != "" {
				return Scan{}, fieldError(op, 7, chipCardNames[6], why)
			}
		}
	}
	return sc, nil
}

// parseDDMMYYYY reads a chip card date, 8 digits ddMMyyyy.
func parseDDMMYYYY(s string) (canonical.BirthDate, string) {
	if len(s) != 8 || !allDigits(s) {
		return canonical.BirthDate{}, "is not 8 digits ddMMyyyy"
	}
	day, month, year := atoi(s[:2]), atoi(s[2:4]), atoi(s[4:])
	if year < minYear {
		return canonical.BirthDate{}, "has a year before 1800"
	}
	if month < 1 || month > 12 || !validDay(year, month, day) {
		return canonical.BirthDate{}, "has no such day"
	}
	return canonical.BirthDate{Year: year, Month: month, Day: day, Precision: canonical.PrecisionDay}, ""
}

// validDay reports whether day exists in the month of year.
func validDay(year, month, day int) bool {
	if day < 1 || month < 1 || month > 12 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if month == 2 && (year%4 == 0 && year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

package canonical

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// VietnamZone is Asia/Ho_Chi_Minh (UTC+7, no daylight saving), fixed so that no time-zone
// database is needed on the machine.
var VietnamZone = time.FixedZone("ICT", 7*60*60)

// ParseBirthDate reads a birth date as the platforms write it: "dd/mm/yyyy", "yyyy-mm-dd", or a
// year alone "yyyy"; surrounding spaces are ignored and single-digit days and months are
// accepted. An empty string is the zero BirthDate (precision none) and no error.
func ParseBirthDate(s string) (BirthDate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return BirthDate{}, nil
	}
	var y, m, d int
	var err error
	switch {
	case len(s) == 4 && isDigits(s):
		y, _ = strconv.Atoi(s)
		if y < 1 {
			return BirthDate{}, fmt.Errorf("year %q out of range", s)
		}
		return BirthDate{Year: y, Precision: PrecisionYear}, nil
	case strings.Count(s, "/") == 2:
		parts := strings.Split(s, "/")
		d, m, y, err = atoi3(parts[0], parts[1], parts[2])
	case strings.Count(s, "-") == 2:
		parts := strings.Split(s, "-")
		y, m, d, err = atoi3(parts[0], parts[1], parts[2])
	default:
		return BirthDate{}, fmt.Errorf("not dd/mm/yyyy, yyyy-mm-dd or yyyy")
	}
	if err != nil {
		return BirthDate{}, err
	}
	if y < 1 || y > 9999 {
		return BirthDate{}, fmt.Errorf("year out of range")
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || d < 1 || t.Day() != d {
		return BirthDate{}, fmt.Errorf("no such day")
	}
	return BirthDate{Year: y, Month: m, Day: d, Precision: PrecisionDay}, nil
}

// String formats the date as "yyyy-mm-dd", "yyyy", or "" when unknown.
func (b BirthDate) String() string {
	switch b.Precision {
	case PrecisionDay:
		return fmt.Sprintf("%04d-%02d-%02d", b.Year, b.Month, b.Day)
	case PrecisionYear:
		return fmt.Sprintf("%04d", b.Year)
	}
	return ""
}

// ParseLocalTime reads tokhaiyte's "dd/mm/yyyy HH:MM:SS" in Vietnam's time and returns UTC.
func ParseLocalTime(s string) (time.Time, error) {
	t, err := time.ParseInLocation("02/01/2006 15:04:05", strings.TrimSpace(s), VietnamZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("not dd/mm/yyyy HH:MM:SS")
	}
	return t.UTC(), nil
}

// ParseRFC3339 reads an RFC 3339 time with an offset (NCOVI) and returns UTC.
func ParseRFC3339(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time with offset")
	}
	return t.UTC(), nil
}

// FromUnixMillis converts Unix milliseconds (Bluezone) to UTC.
func FromUnixMillis(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}

// VersionOf formats a record version time so that later versions sort greater as strings.
func VersionOf(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

func atoi3(a, b, c string) (int, int, int, error) {
	var out [3]int
	for i, s := range [3]string{a, b, c} {
		s = strings.TrimSpace(s)
		if s == "" || len(s) > 4 || !isDigits(s) {
			return 0, 0, 0, fmt.Errorf("%q is not a number", s)
		}
		out[i], _ = strconv.Atoi(s)
	}
	return out[0], out[1], out[2], nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

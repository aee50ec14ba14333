package store

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lienthong/lienthong/canonical"
)

// Apply merges one accepted declaration into an identity's view and reports whether the view
// changed. It is pure: every store calls it inside its own atomic write.
//
// The newest declaration of each platform wins by the declaration's own time, then by source
// version, never by arrival order: a late older version changes nothing, an NCOVI correction
// (same record id and declared time, greater version) replaces its predecessor. Because every
// choice is a maximum over a total order and Verified is an "or", applying one set of
// declarations in any order gives the same view, except for Revision, which counts changes.
func Apply(v View, a Accepted) (View, bool) {
	s := SummaryOf(a.Declaration)
	out := v
	if out.QRID == "" {
		out.QRID = a.QRID
	}
	out.Verified = v.Verified || a.Verified

	latestChanged := true
	i := slices.IndexFunc(v.Latest, func(x Summary) bool { return x.Platform == s.Platform })
	switch {
	case i < 0:
		out.Latest = insertSorted(v.Latest, s)
	case newer(s, v.Latest[i]):
		out.Latest = slices.Clone(v.Latest)
		out.Latest[i] = s
	default:
		latestChanged = false
	}
	if n, ok := v.Newest(); !ok || newer(s, n) {
		out.Person = PersonOf(a.Declaration)
		out.Person.DocumentType, out.Person.DocumentMasked = v.Person.DocumentType, v.Person.DocumentMasked
	}
	// The document shown is the strongest any declaration carried (a tokhaiyte declaration
	// without one must not hide the CCCD another platform gave): a maximum over a total
	// order, so the view stays independent of arrival order.
	if d := a.Declaration.Person.Document; betterDocument(d.Type, Mask(d.Number), out.Person) {
		out.Person.DocumentType, out.Person.DocumentMasked = d.Type, Mask(d.Number)
	}
	if !latestChanged && out.Verified == v.Verified && out.QRID == v.QRID && out.Person == v.Person {
		return v, false
	}
	out.Inconsistencies = InconsistenciesOf(out.Latest)
	out.Revision = v.Revision + 1
	return out, true
}

// newer reports whether a sorts after b: declared time, then source version, then record id
// (only to make the order total, so that Apply does not depend on arrival order).
func newer(a, b Summary) bool {
	if !a.DeclaredAt.Equal(b.DeclaredAt) {
		return a.DeclaredAt.After(b.DeclaredAt)
	}
	if a.Version != b.Version {
		return a.Version > b.Version
	}
	if a.RecordID != b.RecordID {
		return a.RecordID > b.RecordID
	}
	return a.Platform > b.Platform
}

func insertSorted(l []Summary, s Summary) []Summary {
	i, _ := slices.BinarySearchFunc(l, s.Platform, func(x Summary, p canonical.Platform) int {
		return strings.Compare(string(x.Platform), string(p))
	})
	return slices.Concat(l[:i], []Summary{s}, l[i:]) // one new array: the view before stays as it was
}

// Newest returns the newest declaration across platforms, false when the view has none.
func (v View) Newest() (Summary, bool) {
	if len(v.Latest) == 0 {
		return Summary{}, false
	}
	n := v.Latest[0]
	for _, s := range v.Latest[1:] {
		if newer(s, n) {
			n = s
		}
	}
	return n, true
}

// Platforms lists the platforms that know the identity, sorted.
func (v View) Platforms() []canonical.Platform {
	out := make([]canonical.Platform, len(v.Latest))
	for i, s := range v.Latest {
		out[i] = s.Platform
	}
	return out
}

// SummaryOf returns the summary of a normalized declaration. The province compared is the
// 2025 successor code (or the code itself when it was declared in the 2025 set), so that a
// 2021 code and its 2025 successor agree.
func SummaryOf(d canonical.Declaration) Summary {
	province := d.Address.Province2025
	if province == "" && d.Address.CodeSet == canonical.CodeSet2025 {
		province = d.Address.ProvinceCode
	}
	return Summary{
		Platform:     d.Source.Platform,
		RecordID:     d.Source.RecordID,
		Version:      d.Source.Version,
		DeclaredAt:   d.DeclaredAt.UTC(),
		OnBehalf:     d.OnBehalf,
		HasSymptoms:  d.Health.HasSymptoms,
		Symptoms:     slices.Clone(d.Health.Symptoms),
		Exposures:    slices.Clone(d.Health.Exposures),
		NameKey:      d.Person.NameKey,
		BirthDate:    d.Person.BirthDate,
		Gender:       d.Person.Gender,
		Phone:        d.Person.Phone,
		ProvinceCode: province,
	}
}

// PersonOf returns the minimal person a checkpoint sees, with the document masked.
func PersonOf(d canonical.Declaration) Person {
	return Person{
		FullName:       d.Person.FullName,
		BirthYear:      d.Person.BirthDate.Year,
		DocumentType:   d.Person.Document.Type,
		DocumentMasked: Mask(d.Person.Document.Number),
	}
}

// Mask replaces all but the last 4 characters of a document number with '*'. A number of 4
// characters or fewer is masked whole: showing all of it would show the whole document.
func Mask(number string) string {
	n := utf8.RuneCountInString(number)
	if n == 0 {
		return ""
	}
	keep := 4
	if n <= keep {
		keep = 0
	}
	var b strings.Builder
	b.Grow(len(number))
	i := 0
	for _, r := range number {
		if i < n-keep {
			b.WriteByte('*')
		} else {
			b.WriteRune(r)
		}
		i++
	}
	return b.String()
}

// InconsistenciesOf compares every pair of platforms' newest declarations and returns the
// fields on which they disagree, sorted by field then platform pair. A field one side left
// empty (or unknown) is no disagreement.
func InconsistenciesOf(latest []Summary) []Inconsistency {
	var out []Inconsistency
	for i := range latest {
		for j := i + 1; j < len(latest); j++ {
			a, b := latest[i], latest[j]
			if a.Platform > b.Platform {
				a, b = b, a
			}
			for _, f := range disagreements(a, b) {
				out = append(out, Inconsistency{Field: f, PlatformA: a.Platform, PlatformB: b.Platform})
			}
		}
	}
	slices.SortFunc(out, func(x, y Inconsistency) int {
		if c := strings.Compare(string(x.Field), string(y.Field)); c != 0 {
			return c
		}
		if c := strings.Compare(string(x.PlatformA), string(y.PlatformA)); c != 0 {
			return c
		}
		return strings.Compare(string(x.PlatformB), string(y.PlatformB))
	})
	return out
}

func disagreements(a, b Summary) []Field {
	var fs []Field
	if a.NameKey != "" && b.NameKey != "" && a.NameKey != b.NameKey {
		fs = append(fs, FieldName)
	}
	if birthDatesDiffer(a.BirthDate, b.BirthDate) {
		fs = append(fs, FieldBirthDate)
	}
	if a.Gender != canonical.GenderUnspecified && b.Gender != canonical.GenderUnspecified && a.Gender != b.Gender {
		fs = append(fs, FieldGender)
	}
	if a.Phone != "" && b.Phone != "" && a.Phone != b.Phone {
		fs = append(fs, FieldPhone)
	}
	if a.ProvinceCode != "" && b.ProvinceCode != "" && a.ProvinceCode != b.ProvinceCode {
		fs = append(fs, FieldProvince)
	}
	return fs
}

// birthDatesDiffer: years differ when both are known; day and month only when both sides
// know them (tokhaiyte asks for the year alone).
func birthDatesDiffer(a, b canonical.BirthDate) bool {
	if a.Precision == canonical.PrecisionNone || b.Precision == canonical.PrecisionNone {
		return false
	}
	if a.Year != b.Year {
		return true
	}
	return a.Precision == canonical.PrecisionDay && b.Precision == canonical.PrecisionDay &&
		(a.Month != b.Month || a.Day != b.Day)
}

// Status is what a checkpoint sees about an identity at a given time. It is not stored: it
// depends on the clock.
type Status int8

// The statuses.
const (
	StatusNone   Status = iota // no declaration
	StatusClear                // a recent declaration without symptoms or exposure
	StatusScreen               // the newest declaration declared symptoms or an exposure
	StatusStale                // the newest declaration is older than the validity window
)

// String names the status as checkpoints see it.
func (s Status) String() string {
	switch s {
	case StatusClear:
		return "CLEAR"
	case StatusScreen:
		return "SCREEN"
	case StatusStale:
		return "STALE"
	}
	return "NONE"
}

// StatusOf returns the identity's status at now: NONE without declarations, STALE when the
// newest declaration is older than validity, SCREEN when it declared symptoms or an exposure,
// CLEAR otherwise. A declaration exactly validity old is still valid.
func StatusOf(v View, now time.Time, validity time.Duration) Status {
	n, ok := v.Newest()
	if !ok {
		return StatusNone
	}
	if now.Sub(n.DeclaredAt) > validity {
		return StatusStale
	}
	if n.HasSymptoms || len(n.Symptoms) > 0 || len(n.Exposures) > 0 {
		return StatusScreen
	}
	return StatusClear
}

// documentStrength orders document types: CCCD, then CMND, then passport.
var documentStrength = map[canonical.DocumentType]int{
	canonical.DocumentCCCD: 3, canonical.DocumentCMND: 2, canonical.DocumentPassport: 1,
}

// betterDocument reports whether a document of type t, masked m, beats the one p shows.
func betterDocument(t canonical.DocumentType, m string, p Person) bool {
	if ds, ps := documentStrength[t], documentStrength[p.DocumentType]; ds != ps {
		return ds > ps
	}
	return documentStrength[t] > 0 && m > p.DocumentMasked
}

// SortHistory orders declarations oldest first: declared time, then source version, then
// platform and record id. Both stores answer History in this order.
func SortHistory(ds []canonical.Declaration) {
	slices.SortStableFunc(ds, func(a, b canonical.Declaration) int {
		if c := a.DeclaredAt.Compare(b.DeclaredAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.Source.Version, b.Source.Version); c != 0 {
			return c
		}
		if c := strings.Compare(string(a.Source.Platform), string(b.Source.Platform)); c != 0 {
			return c
		}
		return strings.Compare(a.Source.RecordID, b.Source.RecordID)
	})
}

package canonical

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Normalize returns d with its text in the common form: NFC, trimmed, single-spaced; the
// name's match key; the phone in E.164; the document classified; the province resolved to its
// GSO code and 2025 successor; the nationality as an ISO code; symptom and exposure sets sorted
// and unique. It never fails: a value it cannot put in form is left as it was, for Validate to
// report. Normalize is idempotent: Normalize(Normalize(d)) equals Normalize(d). It does not
// modify the slices of d: sorted sets are copies.
func Normalize(d Declaration) Declaration {
	d.Person = normalizePerson(d.Person)
	d.Address = normalizeAddress(d.Address)
	d.Health = normalizeHealth(d.Health)
	d.DeclaredAt = d.DeclaredAt.UTC()
	d.ReceivedAt = d.ReceivedAt.UTC()
	return d
}

func normalizePerson(p Person) Person {
	p.FullName = NormalizeText(p.FullName)
	p.NameKey = FoldName(p.FullName)
	p.Phone = NormalizeText(p.Phone)
	if e164, ok := NormalizePhone(p.Phone); ok {
		p.Phone = e164
	}
	p.Email = lowerText(p.Email)
	p.Document = ClassifyDocument(NormalizeText(p.Document.Number))
	p.FormerCMND = stripSeparators(NormalizeText(p.FormerCMND))
	p.Nationality = NormalizeText(p.Nationality)
	if code, ok := NationalityCode(p.Nationality); ok {
		p.Nationality = code
	}
	p.SocialInsurance = stripSeparators(NormalizeText(p.SocialInsurance))
	return p
}

func normalizeAddress(a Address) Address {
	a.Province = NormalizeText(a.Province)
	a.District = NormalizeText(a.District)
	a.Ward = NormalizeText(a.Ward)
	a.Street = NormalizeText(a.Street)
	a.ProvinceCode = strings.TrimSpace(a.ProvinceCode)
	p, ok := resolveAddress(a)
	if !ok {
		return a // a wrong code or an unknown name is for Validate to report
	}
	a.ProvinceCode, a.CodeSet, a.Province2025 = p.Code, p.CodeSet, p.Successor
	return a
}

// resolveAddress finds an address's province. A code given by the partner is looked up in its
// code set (2021 when unnamed) and never replaced by the text; a 2-digit code given as the text
// together with a code set is looked up in that set; otherwise the text is resolved by name
// (ResolveProvince).
func resolveAddress(a Address) (Province, bool) {
	code := strings.TrimSpace(a.ProvinceCode)
	if text := strings.TrimSpace(a.Province); code == "" && a.CodeSet != "" && codeIndex(text) != 0 {
		code = text
	}
	if code == "" {
		return ResolveProvince(a.Province)
	}
	set := a.CodeSet
	if set == "" {
		set = CodeSet2021
	}
	return ProvinceByCode(set, code)
}

func normalizeHealth(h Health) Health {
	h.SymptomNote = NormalizeText(h.SymptomNote)
	h.PlacesNote = NormalizeText(h.PlacesNote)
	h.Symptoms = sortedSet(h.Symptoms)
	h.Exposures = sortedSet(h.Exposures)
	if h.Form == SymptomChecklist {
		h.HasSymptoms = len(h.Symptoms) > 0
	}
	for _, c := range h.Conditions {
		if NormalizeText(c) != c {
			conditions := make([]string, len(h.Conditions))
			for j, c := range h.Conditions {
				conditions[j] = NormalizeText(c)
			}
			h.Conditions = conditions
			break
		}
	}
	return h
}

// sortedSet returns a sorted copy of codes without duplicates, each code trimmed and, when it
// is valid UTF-8, lower-cased. nil stays nil.
func sortedSet[T ~string](codes []T) []T {
	if codes == nil || isSortedSet(codes) {
		return codes // already in form: shared, never modified
	}
	out := make([]T, len(codes))
	for i, c := range codes {
		out[i] = T(lowerText(string(c)))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// isSortedSet reports whether codes is strictly increasing and every code is in form.
func isSortedSet[T ~string](codes []T) bool {
	for i, c := range codes {
		if (i > 0 && codes[i-1] >= c) || lowerText(string(c)) != string(c) {
			return false
		}
	}
	return true
}

// lowerText is NormalizeText then lower case, repeated until stable so that it is idempotent
// even where lower-casing breaks NFC. Invalid UTF-8 is left as it is.
func lowerText(s string) string {
	if isCleanASCII(s) {
		// The common case, in one step: lower-cased, clean ASCII stays clean (and so in NFC);
		// ToLower returns s itself when it has no capitals.
		return strings.ToLower(s)
	}
	if !utf8.ValidString(s) {
		return s
	}
	for range 4 {
		next := NormalizeText(strings.ToLower(s))
		if next == s {
			break
		}
		s = next
	}
	return s
}

// stripSeparators removes spaces, dots and dashes from a number typed by a person.
func stripSeparators(s string) string {
	if !strings.ContainsAny(s, " .-") || !utf8.ValidString(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' || r == '-' {
			return -1
		}
		return r
	}, s)
}

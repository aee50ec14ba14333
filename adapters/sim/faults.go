package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// Fault is a rule a wrong declaration deliberately breaks.
type Fault string

// The faults, one or more per validation rule. Each yields exactly the reasons faultReasons
// lists.
const (
	FaultMissingName      Fault = "missing_name"
	FaultMissingBirthDate Fault = "missing_birth_date"
	FaultMissingProvince  Fault = "missing_province"
	FaultControlCharacter Fault = "control_character"
	FaultInvalidUTF8      Fault = "invalid_utf8"
	FaultNameTooLong      Fault = "name_too_long"
	FaultUnknownProvince  Fault = "unknown_province"
	FaultInvalidPhone     Fault = "invalid_phone"
	FaultInvalidDocument  Fault = "invalid_document"
	FaultCCCDProvince     Fault = "cccd_province"
	FaultCCCDBirthYear    Fault = "cccd_birth_year"
	FaultCCCDCentury      Fault = "cccd_century"
	FaultCCCDGender       Fault = "cccd_gender"
	FaultBirthFuture      Fault = "birth_date_future"
	FaultBirthTooOld      Fault = "birth_date_too_old"
	FaultDeclaredInFuture Fault = "declared_in_future"
	FaultUnknownSymptom   Fault = "unknown_symptom"
	FaultUnknownExposure  Fault = "unknown_exposure"
	FaultUnknownGender    Fault = "unknown_gender"
	FaultUnknownNation    Fault = "unknown_nationality"
	FaultBadBirthDate     Fault = "bad_birth_date"     // Bluezone NgaySinh that is no date
	FaultBadDeclaredTime  Fault = "bad_declared_time"  // tokhaiyte "Thời gian khai báo" that is no time
	FaultWrongColumnCount Fault = "wrong_column_count" // tokhaiyte row with a column missing
	FaultRegistryMismatch Fault = "registry_mismatch"  // someone else's CCCD: the register has another name
	FaultRegistryUnknown  Fault = "registry_unknown"   // a well-formed CCCD the register does not know
)

// faultSpec says where a fault can be injected and what it must produce.
type faultSpec struct {
	fault     Fault
	weight    int
	platforms []canonical.Platform // nil: every platform
	reasons   []canonical.Reason
	// eligible says whether a record can carry the fault without breaking another rule too.
	eligible func(r *Record, p *Person) bool
	registry bool // only when Config.Registry
	native   bool // applied to the encoded native record, not to the typed declaration
}

var (
	bz  = canonical.PlatformBluezone
	nc  = canonical.PlatformNCOVI
	tky = canonical.PlatformTokhaiyte
)

// anyRecord: every record can carry the fault.
func anyRecord(*Record, *Person) bool { return true }

// typedCCCD: the record carries the person's CCCD.
func typedCCCD(r *Record, p *Person) bool {
	return r.Intended.Person.Document.Type == canonical.DocumentCCCD
}

// noCCCD: the record carries no CCCD, so birth-date faults break no CCCD rule as well.
func noCCCD(r *Record, p *Person) bool { return !typedCCCD(r, p) }

// vietnamese: a Vietnamese national (a wrong nationality breaks no passport identity).
func vietnamese(r *Record, p *Person) bool {
	return p.Nationality == "VN" && r.Platform != tky || p.Nationality == "VN"
}

var faultSpecs = []faultSpec{
	{fault: FaultMissingName, weight: 6, reasons: reasons(canonical.ReasonRequired), eligible: anyRecord},
	{fault: FaultMissingBirthDate, weight: 4, reasons: reasons(canonical.ReasonRequired), eligible: noCCCD},
	{fault: FaultMissingProvince, weight: 5, reasons: reasons(canonical.ReasonRequired), eligible: anyRecord},
	{fault: FaultControlCharacter, weight: 2, reasons: reasons(canonical.ReasonControlCharacter), eligible: anyRecord},
	{fault: FaultInvalidUTF8, weight: 2, platforms: []canonical.Platform{tky}, reasons: reasons(canonical.ReasonInvalidUTF8), eligible: anyRecord},
	{fault: FaultNameTooLong, weight: 1, reasons: reasons(canonical.ReasonTooLong), eligible: anyRecord},
	{fault: FaultUnknownProvince, weight: 6, reasons: reasons(canonical.ReasonUnknownProvince), eligible: anyRecord},
	{fault: FaultInvalidPhone, weight: 10, reasons: reasons(canonical.ReasonInvalidPhone), eligible: anyRecord},
	{fault: FaultInvalidDocument, weight: 6, reasons: reasons(canonical.ReasonInvalidDocument), eligible: anyRecord},
	{fault: FaultCCCDProvince, weight: 5, reasons: reasons(canonical.ReasonCCCDProvince), eligible: typedCCCD},
	{fault: FaultCCCDBirthYear, weight: 12, reasons: reasons(canonical.ReasonCCCDBirthYear), eligible: typedCCCD},
	{fault: FaultCCCDCentury, weight: 5, reasons: reasons(canonical.ReasonCCCDCentury), eligible: typedCCCD},
	{fault: FaultCCCDGender, weight: 8, reasons: reasons(canonical.ReasonCCCDGender), eligible: typedCCCD},
	{fault: FaultBirthFuture, weight: 3, reasons: reasons(canonical.ReasonBirthDateFuture), eligible: noCCCD},
	{fault: FaultBirthTooOld, weight: 3, reasons: reasons(canonical.ReasonBirthDateTooOld), eligible: noCCCD},
	{fault: FaultDeclaredInFuture, weight: 3, platforms: []canonical.Platform{bz, nc}, reasons: reasons(canonical.ReasonDeclaredInFuture), eligible: anyRecord},
	{fault: FaultUnknownSymptom, weight: 4, platforms: []canonical.Platform{bz, nc}, reasons: reasons(canonical.ReasonUnknownSymptom), eligible: anyRecord},
	{fault: FaultUnknownExposure, weight: 2, platforms: []canonical.Platform{bz}, reasons: reasons(canonical.ReasonUnknownExposure), eligible: anyRecord},
	{fault: FaultUnknownGender, weight: 3, reasons: reasons(canonical.ReasonUnknownGender), eligible: anyRecord, native: true},
	{fault: FaultUnknownNation, weight: 2, reasons: reasons(canonical.ReasonUnknownNationality), eligible: vietnamese},
	{fault: FaultBadBirthDate, weight: 3, platforms: []canonical.Platform{bz}, reasons: reasons(canonical.ReasonMalformed), eligible: anyRecord, native: true},
	{fault: FaultBadDeclaredTime, weight: 3, platforms: []canonical.Platform{tky}, reasons: reasons(canonical.ReasonMalformed), eligible: anyRecord, native: true},
	// A row that cannot be read carries nothing but its id, so Validate also finds the required
	// fields missing.
	{fault: FaultWrongColumnCount, weight: 3, platforms: []canonical.Platform{tky}, reasons: reasons(canonical.ReasonMalformedRow, canonical.ReasonRequired), eligible: anyRecord, native: true},
	{fault: FaultRegistryMismatch, weight: 6, reasons: reasons(canonical.ReasonRegistryMismatch), eligible: typedCCCD, registry: true},
	{fault: FaultRegistryUnknown, weight: 3, reasons: reasons(canonical.ReasonRegistryUnknown), eligible: typedCCCD, registry: true},
}

func reasons(rs ...canonical.Reason) []canonical.Reason { return rs }

// injectFaults makes exactly round(Declarations × WrongShare) record versions wrong (NCOVI
// corrections, added later, are never wrong), each with one fault drawn by weight from the
// specs that apply.
func (b *builder) injectFaults() {
	cfg := b.pop.Config
	want := int(float64(cfg.Declarations)*cfg.WrongShare + 0.5)
	var specs []faultSpec
	var weights []int
	for _, s := range faultSpecs {
		if s.registry && !cfg.Registry {
			continue
		}
		specs = append(specs, s)
		weights = append(weights, s.weight)
	}
	order := b.rng.Perm(len(b.pop.Records))
	// Every spec gets at least one record first (so every rule is exercised), then by weight.
	queue := make([]int, 0, want)
	for i := range specs {
		if len(queue) < want {
			queue = append(queue, i)
		}
	}
	for len(queue) < want {
		queue = append(queue, pickWeighted(b.rng, weights))
	}
	next := 0
	for _, si := range queue {
		s := specs[si]
		found := false
		for tries := 0; tries < len(order); tries++ {
			r := b.pop.Records[order[(next+tries)%len(order)]]
			p := b.pop.byPerson[r.PersonID]
			if r.Fault != "" || b.pop.demoRole(p) != "" || b.pop.demoRole(b.pop.byPerson[r.DeclarerID]) != "" {
				continue
			}
			if s.platforms != nil && !slices.Contains(s.platforms, r.Platform) || !s.eligible(r, p) {
				continue
			}
			b.applyFault(r, p, s)
			next = (next + tries + 1) % len(order)
			found = true
			break
		}
		if !found {
			// No record can carry this fault (a tiny population): put a fault every record can
			// carry on any record, a demo person's only if there is no other.
			b.fallbackFault(order)
		}
	}
}

func (b *builder) fallbackFault(order []int) {
	for _, demoToo := range []bool{false, true} {
		for _, i := range order {
			r := b.pop.Records[i]
			p := b.pop.byPerson[r.PersonID]
			if r.Fault == "" && (demoToo || b.pop.demoRole(p) == "" && b.pop.demoRole(b.pop.byPerson[r.DeclarerID]) == "") {
				b.applyFault(r, p, specOf(FaultInvalidPhone))
				return
			}
		}
	}
}

// applyFault breaks the rule on the record's typed declaration (or marks it for the native
// encoder) and records the reasons the gateway must give.
func (b *builder) applyFault(r *Record, p *Person, s faultSpec) {
	clean := r.Typed
	r.clean = &clean
	r.Fault = s.fault
	r.Reasons = slices.Clone(s.reasons)
	d := &r.Typed
	switch s.fault {
	case FaultMissingName:
		d.Person.FullName = ""
	case FaultMissingBirthDate:
		d.Person.BirthDate = canonical.BirthDate{}
	case FaultMissingProvince:
		d.Address.Province, d.Address.ProvinceCode, d.Address.CodeSet = "", "", ""
	case FaultControlCharacter:
		f := strings.Fields(d.Person.FullName)
		d.Person.FullName = strings.Join(f[:len(f)-1], " ") + " \u0007" + f[len(f)-1]
	case FaultInvalidUTF8:
		d.Person.FullName = strings.Replace(d.Person.FullName, " ", " \xff\xfe", 1)
	case FaultNameTooLong:
		d.Person.FullName = strings.Repeat(canonical.NormalizeText(d.Person.FullName)+" ", 12) + "X"
		for len([]rune(d.Person.FullName)) <= 200 {
			d.Person.FullName = "X " + d.Person.FullName
		}
	case FaultUnknownProvince:
		if r.Platform == bz {
			d.Address.Province, d.Address.ProvinceCode = "03", "03"
		} else {
			d.Address.Province = abolishedProvinces[b.rng.IntN(len(abolishedProvinces))]
		}
	case FaultInvalidPhone:
		d.Person.Phone = []string{"0123 456", "091234567", "0000000000", "+84 12"}[b.rng.IntN(4)]
	case FaultInvalidDocument:
		d.Person.Document = canonical.Document{Number: []string{"0790900012", "12345", "079-09-000-12"}[b.rng.IntN(3)]}
	case FaultCCCDProvince:
		d.Person.Document = canonical.Document{Number: "003" + p.Document.Number[3:]}
	case FaultCCCDBirthYear:
		n := p.Document.Number
		yy := (int(n[4]-'0')*10 + int(n[5]-'0') + 1 + b.rng.IntN(8)) % 100
		d.Person.Document = canonical.Document{Number: fmt.Sprintf("%s%02d%s", n[:4], yy, n[6:])}
	case FaultCCCDCentury:
		n := p.Document.Number
		g := int(n[3]-'0') + 2
		d.Person.Document = canonical.Document{Number: fmt.Sprintf("%s%d%s", n[:3], g, n[4:])}
	case FaultCCCDGender:
		n := p.Document.Number
		g := int(n[3]-'0') ^ 1
		d.Person.Document = canonical.Document{Number: fmt.Sprintf("%s%d%s", n[:3], g, n[4:])}
	case FaultBirthFuture:
		d.Person.BirthDate = canonical.BirthDate{Year: r.DeclaredAt.Year() + 1 + b.rng.IntN(3), Precision: canonical.PrecisionYear}
	case FaultBirthTooOld:
		d.Person.BirthDate = canonical.BirthDate{Year: r.DeclaredAt.Year() - 140 - b.rng.IntN(20), Precision: canonical.PrecisionYear}
	case FaultDeclaredInFuture:
		// Ahead of the epoch by 2 to 24 hours, far outside the gateway's five-minute tolerance
		// when its clock is near the epoch.
		d.DeclaredAt = b.pop.Config.Epoch.Add(2*time.Hour + time.Duration(b.rng.Int64N(int64(22*time.Hour/time.Second)))*time.Second)
		r.DeclaredAt, r.UpdatedAt = d.DeclaredAt, d.DeclaredAt
		if r.Platform == nc {
			r.Version = canonical.VersionOf(r.UpdatedAt)
			d.Source.Version = r.Version
		}
	case FaultUnknownSymptom:
		// An old client's headache checkbox: the encoders send an unknown code as it is.
		code := canonical.Symptom(unknownNCOVISymptom)
		if r.Platform == bz {
			code = unknownBluezoneSymptom
		}
		d.Health.Symptoms = append(slices.Clone(d.Health.Symptoms), code)
	case FaultUnknownExposure:
		d.Health.Exposures = append(slices.Clone(d.Health.Exposures), unknownBluezoneExposure)
	case FaultUnknownNation:
		d.Person.Nationality = formerCountries[b.rng.IntN(len(formerCountries))]
	case FaultRegistryMismatch:
		// The declarant typed someone else's CCCD: one consistent with their own birth year and
		// gender (so no CCCD rule breaks), but the register holds another name.
		d.Person.Document = canonical.Document{Number: b.borrowedCCCD(p)}
	case FaultRegistryUnknown:
		d.Person.Document = canonical.Document{Number: b.unknownCCCD(p)}
	}
	r.Intended.DeclaredAt = d.DeclaredAt
	r.Intended.Source.Version = d.Source.Version
}

// borrowedCCCD returns a CCCD number with the person's prefix (province, century-gender,
// year) whose register entry carries another name.
func (b *builder) borrowedCCCD(p *Person) string {
	n := b.pg.cccd(p.BirthProvince, p.BirthDate.Year, p.Gender)
	other := &Person{FullName: b.pg.vietName(b.pg.familyName(), p.Gender)}
	for foldName(other.FullName) == foldName(p.FullName) {
		other.FullName = b.pg.vietName(b.pg.familyName(), p.Gender)
	}
	b.pop.registry[n] = Citizen{CCCD: n, FullName: other.FullName, DateOfBirth: p.BirthDate.String(), Gender: p.Gender.String(), ProvinceCode: p.BirthProvince}
	return n
}

// unknownCCCD returns a well-formed CCCD number consistent with the person that no register
// entry has.
func (b *builder) unknownCCCD(p *Person) string {
	return b.pg.cccd(p.BirthProvince, p.BirthDate.Year, p.Gender)
}

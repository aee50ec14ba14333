package store

import (
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// View is the precomputed state of one identity: everything a checkpoint lookup needs, in one
// read. Apply keeps it current as declarations arrive.
type View struct {
	QRID     string
	Verified bool   // keyed by a document, not by phone+name+birth year
	Person   Person // from the newest declaration
	// Latest holds the newest declaration of each platform that knows the person (by declared
	// time, then source version), sorted by platform.
	Latest []Summary
	// Inconsistencies lists fields on which the platforms' newest declarations disagree,
	// sorted by field then platform pair.
	Inconsistencies []Inconsistency
	// Revision counts the changes of this view (for compare-and-set in stores that need it).
	Revision uint64
}

// Person is the minimum a checkpoint needs to recognise someone.
type Person struct {
	FullName       string
	BirthYear      int
	DocumentType   canonical.DocumentType
	DocumentMasked string // all but the last 4 characters replaced by '*'
}

// Summary is one platform's newest declaration about an identity, with the fields the
// inconsistency check compares.
type Summary struct {
	Platform    canonical.Platform
	RecordID    string
	Version     string
	DeclaredAt  time.Time
	OnBehalf    bool
	HasSymptoms bool
	Symptoms    []canonical.Symptom
	Exposures   []canonical.Exposure

	// Compared across platforms.
	NameKey      string
	BirthDate    canonical.BirthDate
	Gender       canonical.Gender
	Phone        string
	ProvinceCode string // 2025 successor code, so 2021 and 2025 codes of one place agree
}

// Field names a person field compared across platforms.
type Field string

// The compared fields.
const (
	FieldName      Field = "name"
	FieldBirthDate Field = "birth_date"
	FieldGender    Field = "gender"
	FieldPhone     Field = "phone"
	FieldProvince  Field = "province"
)

// Inconsistency is one field on which two platforms' newest declarations disagree.
type Inconsistency struct {
	Field     Field
	PlatformA canonical.Platform // PlatformA < PlatformB
	PlatformB canonical.Platform
}

// InconsistencyQuery filters and pages the identities with inconsistencies.
type InconsistencyQuery struct {
	Field     Field              // "" for any
	PlatformA canonical.Platform // with PlatformB: only this pair ("" for any)
	PlatformB canonical.Platform
	PageSize  int    // default 100, at most 1000
	PageToken string // from the previous page; "" for the first
}

// RejectionQuery filters and pages rejections.
type RejectionQuery struct {
	Platform  canonical.Platform // "" for any
	Reason    canonical.Reason   // "" for any
	PageSize  int
	PageToken string
}

// Counter names what a count counts.
type Counter string

// The counters.
const (
	CounterDeclarations Counter = "declarations" // by platform, outcome, reason (rejected only), province
	CounterPassages     Counter = "passages"     // by station and decision
)

// Count is one counter cell. Days are calendar days in Asia/Ho_Chi_Minh of the declared time
// (declarations) or of the passage time (passages).
type Count struct {
	Counter  Counter
	Day      string // "2006-01-02"
	Platform canonical.Platform
	Outcome  Outcome          // accepted or rejected (duplicates are not counted)
	Reason   canonical.Reason // for rejections: one count per reason of the declaration
	Province string           // 2021 GSO code as declared ("" unknown)
	// Province2025 is the 2025 successor of Province (what CountQuery.Province2025 matches).
	Province2025 string
	Station      string   // passages only
	Decision     Decision // passages only
	N            int64
}

// CountQuery selects counter cells; empty fields match anything.
type CountQuery struct {
	Counter  Counter
	From, To string // inclusive day range "2006-01-02"; "" for open
	Platform canonical.Platform
	Reason   canonical.Reason
	Province string // a 2021 code, or a 2025 code when Province2025 is true
	// Province2025 makes Province match the 2025 successor of each cell's province.
	Province2025 bool
	Station      string
	Stations     []string // any of these stations (a checkpoint's area); nil for any
}

// Decision is what a station decided for a person passing.
type Decision int8

// Decisions at a station.
const (
	DecisionUnspecified Decision = iota
	DecisionAllowed              // let through
	DecisionScreened             // held for health screening
	DecisionRedirected           // sent on to the next station (congestion)
	DecisionRefused              // turned back
)

// String names the decision.
func (d Decision) String() string {
	switch d {
	case DecisionAllowed:
		return "allowed"
	case DecisionScreened:
		return "screened"
	case DecisionRedirected:
		return "redirected"
	case DecisionRefused:
		return "refused"
	}
	return "unspecified"
}

// Passage is one person passing one station: the population-movement record.
type Passage struct {
	ID        string // idempotency key chosen by the checkpoint system
	StationID string
	QRID      string
	Decision  Decision
	At        time.Time
}

// Access is one read of personal data: who looked up or read whom, when and why.
type Access struct {
	At        time.Time
	Principal string // the caller's principal id
	Role      string // partner, checkpoint, ministry
	Action    string // "lookup", "history", ...
	QRID      string
	Reason    string // required for history reads
}

// AccessQuery filters and pages the access log.
type AccessQuery struct {
	QRID      string // "" for any
	Principal string // "" for any
	PageSize  int
	PageToken string
}

package sim

import (
	"time"

	"github.com/lienthong/lienthong/canonical"
)

// Outcome is what the gateway must answer for a delivery of a record.
type Outcome string

// The outcomes, as adapters.Result spells them.
const (
	OutcomeAccepted  Outcome = "accepted"
	OutcomeDuplicate Outcome = "duplicate"
	OutcomeRejected  Outcome = "rejected"
)

// Record is one native record version: what a partner holds and delivers, and what the
// gateway must make of it.
type Record struct {
	Platform   canonical.Platform
	RecordID   string
	Version    string // "1" for Bluezone and tokhaiyte; canonical.VersionOf(updated_at) for NCOVI
	PersonID   string // whom the declaration is about
	DeclarerID string // who typed it: the person, or the guardian for a child
	DeclaredAt time.Time
	UpdatedAt  time.Time // NCOVI's updated_at; DeclaredAt elsewhere

	// Typed is the declaration as the platform holds it (messy text: NFD, capitals, phones as
	// typed, province names in any spelling): what the adapters' encoders are given.
	Typed canonical.Declaration
	// Intended is what Normalize must make of Typed, for the fields identity and consistency
	// depend on (name key, birth date, gender, nationality, document, phone, province codes).
	Intended canonical.Declaration

	Fault   Fault              // the rule deliberately broken; "" for a valid declaration
	Reasons []canonical.Reason // the exact reason codes the gateway must report, sorted; nil when valid

	Correction bool   // an NCOVI correction: a later version of an earlier record
	Superseded bool   // a newer version of the same record exists
	Late       bool   // delivered after a newer version of itself (NCOVI out-of-order)
	Variant    string // the deliberate cross-platform difference this record carries, if any

	clean *canonical.Declaration // Typed before the fault was injected (wrong records only)
}

// Outcome is the expected outcome of the record's first delivery.
func (r *Record) Outcome() Outcome {
	if r.Fault != "" {
		return OutcomeRejected
	}
	return OutcomeAccepted
}

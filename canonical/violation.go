package canonical

import (
	"fmt"
	"strings"
)

// Reason is a stable, machine-readable code for why a declaration was rejected.
// Codes never change meaning once published; new rules get new codes.
type Reason string

// The reason codes. Field names in violations use the canonical paths ("person.phone").
const (
	ReasonRequired           Reason = "required"            // a required field is empty
	ReasonMalformed          Reason = "malformed"           // a value does not have the expected shape
	ReasonInvalidUTF8        Reason = "invalid_utf8"        // text is not valid UTF-8
	ReasonControlCharacter   Reason = "control_character"   // text holds control characters
	ReasonTooLong            Reason = "too_long"            // text longer than the form allows
	ReasonUnknownProvince    Reason = "unknown_province"    // no province matches the name or code
	ReasonInvalidPhone       Reason = "invalid_phone"       // not a Vietnamese mobile or landline, nor a valid E.164 number
	ReasonInvalidDocument    Reason = "invalid_document"    // a document number of no known shape
	ReasonCCCDProvince       Reason = "cccd_province"       // CCCD province prefix is not a valid code
	ReasonCCCDBirthYear      Reason = "cccd_birth_year"     // CCCD year digits contradict the declared birth year
	ReasonCCCDCentury        Reason = "cccd_century"        // CCCD century digit contradicts the declared birth year
	ReasonCCCDGender         Reason = "cccd_gender"         // CCCD gender digit contradicts the declared gender
	ReasonBirthDateFuture    Reason = "birth_date_future"   // born after the declaration
	ReasonBirthDateTooOld    Reason = "birth_date_too_old"  // born more than 130 years ago
	ReasonDeclaredInFuture   Reason = "declared_in_future"  // declared more than 5 minutes ahead of the gateway clock
	ReasonUnknownSymptom     Reason = "unknown_symptom"     // a symptom code outside the common list
	ReasonUnknownExposure    Reason = "unknown_exposure"    // an exposure code outside the common list
	ReasonUnknownGender      Reason = "unknown_gender"      // a gender value outside the platform's list
	ReasonUnknownNationality Reason = "unknown_nationality" // a nationality that is no ISO code or known name
	ReasonMalformedRow       Reason = "malformed_row"       // a file row that cannot be read (wrong column count)
	ReasonRegistryMismatch   Reason = "registry_mismatch"   // the population register disagrees (name, birth date, gender)
	ReasonRegistryUnknown    Reason = "registry_unknown"    // the population register does not know the CCCD
	ReasonWrongPlatform      Reason = "wrong_platform"      // a partner submitted for another platform

	// The population register could not be asked (down, time-out, breaker open) and the
	// gateway is configured to reject CCCD declarations it cannot verify.
	ReasonRegistryUnavailable Reason = "registry_unavailable"
)

// Violation is one broken rule: which field, which rule, and a message for people.
type Violation struct {
	Field   string // canonical path of the field, e.g. "person.document.number"
	Reason  Reason
	Message string // English, for operators; never contains the rejected value's personal data
}

// Error formats the violation as "field: reason: message".
func (v Violation) Error() string {
	return fmt.Sprintf("%s: %s: %s", v.Field, v.Reason, v.Message)
}

// Violations is every rule a declaration broke; it is an error when non-empty.
type Violations []Violation

// Error joins the violations.
func (vs Violations) Error() string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Error()
	}
	return strings.Join(parts, "; ")
}

package canonical

import "time"

// Validate checks a normalized declaration against every rule and returns all the rules it
// breaks (with d.Problems first), or nil when it is valid. now is the gateway's clock.
func Validate(d Declaration, now time.Time) Violations {
	return append(Violations(nil), d.Problems...) // TODO(issue 2): being written.
}

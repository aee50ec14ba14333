// Package errs gives errors a kind that decides what happens downstream: retry or not, move a
// cursor or not, count against a circuit breaker or not, and which gRPC code a caller sees.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error.
type Kind int8

// The kinds. Other is the zero value: an error nobody classified is treated as internal.
const (
	Other           Kind = iota // unclassified: internal error, not retried
	Invalid                     // the input is wrong; retrying the same input fails the same way
	NotFound                    // the thing asked for does not exist
	Conflict                    // the write lost a race or holds a stale fencing token
	Transient                   // a dependency is unavailable or slow; retry later
	Permission                  // the caller may not do this
	Unauthenticated             // the caller is not who they claim, or said nothing
	Exhausted                   // the caller is over a rate or size limit
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Transient:
		return "transient"
	case Permission:
		return "permission"
	case Unauthenticated:
		return "unauthenticated"
	case Exhausted:
		return "exhausted"
	}
	return "internal"
}

// Error is an error with a kind and the operation that failed.
type Error struct {
	Kind Kind
	Op   string // the operation, e.g. "boltstore.WriteBatch"
	Err  error  // the cause; may be nil
}

// Error formats the error as "op: kind: cause".
func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s: %s", e.Op, e.Kind)
	}
	return fmt.Sprintf("%s: %s: %v", e.Op, e.Kind, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E returns an error of the given kind for op, wrapping cause (which may be nil).
func E(kind Kind, op string, cause error) error {
	return &Error{Kind: kind, Op: op, Err: cause}
}

// Errorf returns an error of the given kind for op with a formatted cause; %w wraps.
func Errorf(kind Kind, op, format string, args ...any) error {
	return &Error{Kind: kind, Op: op, Err: fmt.Errorf(format, args...)}
}

// KindOf returns the kind of the outermost classified error in err's chain, or Other.
func KindOf(err error) Kind {
	var e *Error
	for err != nil {
		if !errors.As(err, &e) {
			return Other
		}
		if e.Kind != Other {
			return e.Kind
		}
		err = e.Err
	}
	return Other
}

// Is reports whether err's kind is k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

package adapters

import (
	"errors"
	"fmt"
	"time"

	"github.com/lienthong/lienthong/canonical/errs"
)

// RetryAfterError is a partner's request to wait before trying again (HTTP 429 or 503 with
// Retry-After). Build it with ErrRetryAfter so that it carries the kind errs.Transient.
type RetryAfterError struct {
	After time.Duration // how long the partner asked us to wait
	Err   error         // the cause; may be nil
}

// Error formats the error as "retry after <d>: cause".
func (e *RetryAfterError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("retry after %s", e.After)
	}
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}

// Unwrap returns the cause.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// ErrRetryAfter returns an errs.Transient error for op that asks the caller to wait after.
func ErrRetryAfter(op string, after time.Duration, cause error) error {
	return errs.E(errs.Transient, op, &RetryAfterError{After: after, Err: cause})
}

// RetryAfter returns how long err asks to wait, if it carries a RetryAfterError.
func RetryAfter(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, false
}

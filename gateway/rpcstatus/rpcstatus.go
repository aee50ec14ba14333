// Package rpcstatus is the one place that maps the gateway's errors to gRPC statuses.
package rpcstatus

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

// RetryAfter is an error that tells the caller when to try again (rate limits).
type RetryAfter struct {
	After time.Duration
	Err   error
}

// Error returns the cause's text.
func (e *RetryAfter) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *RetryAfter) Unwrap() error { return e.Err }

// FromError maps err to a gRPC status error:
//   - canonical.Violations (anywhere in the chain) → InvalidArgument with a BadRequest detail
//     carrying one field violation per rule (field, reason code as description prefix);
//   - errs kinds → Invalid: InvalidArgument, NotFound: NotFound, Conflict: Aborted,
//     Transient: Unavailable, Permission: PermissionDenied, Unauthenticated: Unauthenticated,
//     Exhausted: ResourceExhausted (with RetryInfo when a RetryAfter is in the chain);
//   - context errors → DeadlineExceeded / Canceled;
//   - anything else → Internal with a fixed text: internal text never reaches a caller.
//
// A status error passes through unchanged.
func FromError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var vs canonical.Violations
	if errors.As(err, &vs) && len(vs) > 0 {
		return Violations(vs)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "canceled")
	}
	msg := publicMessage(err)
	switch errs.KindOf(err) {
	case errs.Invalid:
		return status.Error(codes.InvalidArgument, msg)
	case errs.NotFound:
		return status.Error(codes.NotFound, msg)
	case errs.Conflict:
		return status.Error(codes.Aborted, msg)
	case errs.Transient:
		return status.Error(codes.Unavailable, "the gateway's store or a dependency is unavailable; retry with back-off")
	case errs.Permission:
		return status.Error(codes.PermissionDenied, msg)
	case errs.Unauthenticated:
		return status.Error(codes.Unauthenticated, msg)
	case errs.Exhausted:
		st := status.New(codes.ResourceExhausted, msg)
		var ra *RetryAfter
		if errors.As(err, &ra) {
			if d, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(ra.After)}); derr == nil {
				st = d
			}
		}
		return st.Err()
	}
	return status.Error(codes.Internal, "internal error")
}

// Violations returns InvalidArgument with one BadRequest field violation per rule. The
// description starts with the stable reason code: "reason: message".
func Violations(vs canonical.Violations) error {
	st := status.New(codes.InvalidArgument, "invalid request: "+vs[0].Field+": "+string(vs[0].Reason))
	br := &errdetails.BadRequest{}
	for _, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       v.Field,
			Description: string(v.Reason) + ": " + v.Message,
			Reason:      string(v.Reason),
		})
	}
	if d, err := st.WithDetails(br); err == nil {
		st = d
	}
	return st.Err()
}

// publicMessage is the caller-safe text of an errs.Error: its innermost classified cause's
// text for kinds a caller can act on, never the operation names or wrapped internals.
func publicMessage(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Err != nil {
		return e.Err.Error()
	}
	return errs.KindOf(err).String()
}

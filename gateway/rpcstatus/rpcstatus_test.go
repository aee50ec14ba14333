package rpcstatus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/canonical/errs"
)

func TestFromError(t *testing.T) {
	secret := errors.New("dial tcp 10.0.0.7:6379: connection refused")
	tests := []struct {
		name string
		err  error
		code codes.Code
	}{
		{"invalid", errs.Errorf(errs.Invalid, "op", "qr: malformed"), codes.InvalidArgument},
		{"not found", errs.Errorf(errs.NotFound, "op", "no such identity"), codes.NotFound},
		{"conflict", errs.E(errs.Conflict, "op", nil), codes.Aborted},
		{"transient", errs.E(errs.Transient, "op", secret), codes.Unavailable},
		{"permission", errs.Errorf(errs.Permission, "op", "other station"), codes.PermissionDenied},
		{"unauthenticated", errs.Errorf(errs.Unauthenticated, "op", "token"), codes.Unauthenticated},
		{"exhausted", errs.E(errs.Exhausted, "op", &RetryAfter{After: time.Second, Err: errors.New("slow down")}), codes.ResourceExhausted},
		{"deadline", fmt.Errorf("store: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{"unclassified", secret, codes.Internal},
		{"violations", fmt.Errorf("ingest: %w", canonical.Violations{{Field: "person.phone", Reason: canonical.ReasonInvalidPhone, Message: "not a phone"}}), codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := status.Convert(FromError(tc.err))
			if st.Code() != tc.code {
				t.Fatalf("code %v, want %v", st.Code(), tc.code)
			}
			// Internal text (addresses, wrapped causes of unavailability) never reaches a caller.
			if tc.code == codes.Internal || tc.code == codes.Unavailable {
				if got := st.Message(); got == secret.Error() || containsAny(got, "10.0.0.7", "dial tcp") {
					t.Fatalf("internal text leaked: %q", got)
				}
			}
		})
	}
}

func TestViolationsCarryFieldAndReason(t *testing.T) {
	err := FromError(canonical.Violations{
		{Field: "person.document.number", Reason: canonical.ReasonCCCDBirthYear, Message: "year digits disagree"},
		{Field: "address.province", Reason: canonical.ReasonUnknownProvince, Message: "no province"},
	})
	st := status.Convert(err)
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			br = b
		}
	}
	if br == nil || len(br.FieldViolations) != 2 {
		t.Fatalf("details %v, want a BadRequest with 2 violations", st.Details())
	}
	if fv := br.FieldViolations[0]; fv.Field != "person.document.number" || fv.Reason != "cccd_birth_year" {
		t.Fatalf("first violation %v", fv)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

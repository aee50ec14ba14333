package auth

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/lienthong/lienthong/canonical/errs"
	"github.com/lienthong/lienthong/gateway/rpcstatus"
)

func testGuard(t *testing.T, limits Limits) *Guard {
	t.Helper()
	authn, err := NewAuthenticator([]Credential{
		{Principal: Principal{ID: "bz", Role: RolePartner, Platform: "bluezone"}, TokenSHA256: HashToken("bz-token")},
		{Principal: Principal{ID: "st1", Role: RoleCheckpoint, Station: "HCM-Q1-01", Area: Area{Province: "79"}}, TokenSHA256: HashToken("st-token")},
		{Principal: Principal{ID: "moh", Role: RoleMinistry}, TokenSHA256: HashToken("moh-token"), CertCN: "moh.gov.vn"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return NewGuard(authn, Policy{
		Roles: map[string][]Role{
			"/lienthong.v1.IngestService/SubmitDeclarations": {RolePartner},
			"/lienthong.v1.CheckpointService/Lookup":         {RoleCheckpoint},
			"/lienthong.v1.AuditService/GetStatistics":       {RoleMinistry, RoleCheckpoint},
		},
		Public: map[string]bool{"/grpc.health.v1.Health/Check": true},
	}, limits, nil)
}

func withToken(token string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
}

func TestGuardAdmit(t *testing.T) {
	g := testGuard(t, nil)
	tests := []struct {
		name   string
		ctx    context.Context
		method string
		want   errs.Kind // errs.Other means admitted
		id     string
	}{
		{"partner ingests", withToken("bz-token"), "/lienthong.v1.IngestService/SubmitDeclarations", errs.Other, "bz"},
		{"checkpoint looks up", withToken("st-token"), "/lienthong.v1.CheckpointService/Lookup", errs.Other, "st1"},
		{"ministry reads statistics", withToken("moh-token"), "/lienthong.v1.AuditService/GetStatistics", errs.Other, "moh"},
		{"no token", context.Background(), "/lienthong.v1.CheckpointService/Lookup", errs.Unauthenticated, ""},
		{"unknown token", withToken("guess"), "/lienthong.v1.CheckpointService/Lookup", errs.Unauthenticated, ""},
		// The configured hash itself is not a token: only its preimage authenticates.
		{"hash used as token", withToken(HashToken("bz-token")), "/lienthong.v1.IngestService/SubmitDeclarations", errs.Unauthenticated, ""},
		{"partner cannot look up", withToken("bz-token"), "/lienthong.v1.CheckpointService/Lookup", errs.Permission, ""},
		{"unlisted method is refused to all", withToken("moh-token"), "/lienthong.v1.Other/Thing", errs.Permission, ""},
		{"health is public", context.Background(), "/grpc.health.v1.Health/Check", errs.Other, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, err := g.admit(tc.ctx, tc.method)
			if got := errs.KindOf(err); err != nil && got != tc.want || err == nil && tc.want != errs.Other {
				t.Fatalf("admit: err %v (kind %v), want kind %v", err, got, tc.want)
			}
			if tc.id != "" {
				p, ok := FromContext(ctx)
				if !ok || p.ID != tc.id {
					t.Fatalf("principal %+v, want id %s", p, tc.id)
				}
			}
		})
	}
}

func TestGuardRateLimit(t *testing.T) {
	g := testGuard(t, Limits{RolePartner: {Rate: 0.001, Burst: 3}})
	method := "/lienthong.v1.IngestService/SubmitDeclarations"
	for i := 0; i < 3; i++ {
		if _, err := g.admit(withToken("bz-token"), method); err != nil {
			t.Fatalf("call %d within burst refused: %v", i, err)
		}
	}
	_, err := g.admit(withToken("bz-token"), method)
	if !errs.Is(err, errs.Exhausted) {
		t.Fatalf("call past burst: %v, want exhausted", err)
	}
	var ra *rpcstatus.RetryAfter
	if !errors.As(err, &ra) || ra.After <= 0 {
		t.Fatalf("exhausted error carries no retry delay: %v", err)
	}
	// Another role's principal is not limited by the partner's bucket.
	if _, err := g.admit(withToken("moh-token"), "/lienthong.v1.AuditService/GetStatistics"); err != nil {
		t.Fatalf("ministry limited by partner's bucket: %v", err)
	}
}

func TestNewAuthenticatorRejectsBadCredentials(t *testing.T) {
	tests := []struct {
		name string
		cred Credential
	}{
		{"partner without platform", Credential{Principal: Principal{ID: "p", Role: RolePartner}, TokenSHA256: HashToken("x")}},
		{"checkpoint without station", Credential{Principal: Principal{ID: "c", Role: RoleCheckpoint, Area: Area{Province: "79"}}, TokenSHA256: HashToken("x")}},
		{"unknown role", Credential{Principal: Principal{ID: "r", Role: "admin"}, TokenSHA256: HashToken("x")}},
		{"short hash", Credential{Principal: Principal{ID: "m", Role: RoleMinistry}, TokenSHA256: "abcd"}},
		{"no credential", Credential{Principal: Principal{ID: "m", Role: RoleMinistry}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewAuthenticator([]Credential{tc.cred}); !errs.Is(err, errs.Invalid) {
				t.Fatalf("got %v, want an invalid-kind error", err)
			}
		})
	}
}

// The authorization scheme is case-insensitive: "bearer", "BEARER" and "Bearer" all work.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	g := testGuard(t, nil)
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", scheme+" st-token"))
		if _, err := g.admit(ctx, "/lienthong.v1.CheckpointService/Lookup"); err != nil {
			t.Errorf("scheme %q refused: %v", scheme, err)
		}
	}
}

package procs

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
)

// Suite names one test suite's secrets, principals and tokens after it: Suite("e2e") has the
// principal "e2e-ministry" with the token "e2e-ministry-token".
type Suite string

// Secrets is the suite's partner secrets ("e2e-ncovi-feed-token").
func (s Suite) Secrets() Secrets {
	return Secrets{NCOVIToken: string(s) + "-ncovi-feed-token", TokhaiyteKey: string(s) + "-tokhaiyte-api-key", BluezoneSecret: string(s) + "-bluezone-webhook-secret"}
}

// MinistryToken is the bearer token of the suite's ministry principal.
func (s Suite) MinistryToken() string { return string(s) + "-ministry-token" }

// CheckpointToken is the bearer token of the suite's checkpoint principal.
func (s Suite) CheckpointToken() string { return string(s) + "-checkpoint-token" }

// PartnerToken is the bearer token of the suite's partner principal of platform p.
func (s Suite) PartnerToken(p canonical.Platform) string {
	return string(s) + "-partner-" + string(p) + "-token"
}

// Credentials are the suite's principals with their tokens' hashes: the ministry, the
// checkpoint HCM-Q1-001 in province 79, and one partner per platform.
func (s Suite) Credentials() []auth.Credential {
	creds := []auth.Credential{
		{Principal: auth.Principal{ID: string(s) + "-ministry", Role: auth.RoleMinistry}, TokenSHA256: auth.HashToken(s.MinistryToken())},
		{Principal: auth.Principal{ID: string(s) + "-checkpoint", Role: auth.RoleCheckpoint, Station: "HCM-Q1-001", Area: auth.Area{Province: "79"}}, TokenSHA256: auth.HashToken(s.CheckpointToken())},
	}
	for _, p := range PartnerPlatforms() {
		creds = append(creds, auth.Credential{Principal: auth.Principal{ID: string(s) + "-" + string(p), Role: auth.RolePartner, Platform: p}, TokenSHA256: auth.HashToken(s.PartnerToken(p))})
	}
	return creds
}

// Unlimited is per-role rate limits far above anything a test sends (the tests read every
// identity's history and look every identity up).
func Unlimited() map[auth.Role]config.Limit {
	unlimited := config.Limit{Rate: 1e6, Burst: 1e6}
	return map[auth.Role]config.Limit{auth.RoleMinistry: unlimited, auth.RoleCheckpoint: unlimited, auth.RolePartner: unlimited}
}

// GatewayConfig is what a test writes into a gateway's configuration file.
type GatewayConfig struct {
	Credentials   []auth.Credential
	Limits        map[auth.Role]config.Limit
	NCOVIPageSize int         // 0: the gateway's default
	TLS           *config.TLS // nil: plain gRPC
}

// WriteGatewayConfig writes c, with tokhaiyte's window at 6 h, as the JSON configuration file
// at path.
func WriteGatewayConfig(t testing.TB, path string, c GatewayConfig) {
	t.Helper()
	file := map[string]any{"credentials": c.Credentials, "limits": c.Limits, "tokhaiyte": map[string]any{"window": "6h"}}
	if c.NCOVIPageSize > 0 {
		file["ncovi"] = map[string]any{"page_size": c.NCOVIPageSize}
	}
	if c.TLS != nil {
		file["tls"] = c.TLS
	}
	b, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

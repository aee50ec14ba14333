package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// The partners' secrets, shared by partnersim and the gateway through the environment (so
// they stay out of the process list), and the principals' bearer tokens.
const (
	ncoviToken     = "e2e-ncovi-feed-token"
	tokhaiyteKey   = "e2e-tokhaiyte-api-key"
	bluezoneSecret = "e2e-bluezone-webhook-secret"

	tokMinistry   = "e2e-ministry-token"
	tokCheckpoint = "e2e-checkpoint-token"
)

// partnerToken is the bearer token of the partner principal of platform p.
func partnerToken(p canonical.Platform) string { return "e2e-partner-" + string(p) + "-token" }

var partnerPlatforms = []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte}

// startDeadline bounds how long a process may take to announce itself and become ready.
const startDeadline = 30 * time.Second

// simOptions is one partnersim process's command line.
type simOptions struct {
	declarations int
	seed         int64
	epoch        time.Time
	pushTo       string   // gateway HTTP base URL for Bluezone pushes; "" serves the feeds only
	extra        []string // more flags (faults, rate)
}

// simProc is a running partnersim with the URLs its start line announced.
type simProc struct {
	*proc
	truthPath string
	started   struct {
		NCOVI        string `json:"ncovi"`
		Tokhaiyte    string `json:"tokhaiyte"`
		Registry     string `json:"registry"`
		Declarations int    `json:"declarations"`
	}
}

// startPartnersim starts partnersim, waits for its JSON start line and returns it; the ground
// truth is written to truthPath.
func startPartnersim(t *testing.T, name string, o simOptions) *simProc {
	t.Helper()
	s := &simProc{truthPath: filepath.Join(t.TempDir(), name+"-truth.jsonl")}
	args := []string{"--declarations", strconv.Itoa(o.declarations), "--seed", strconv.FormatInt(o.seed, 10),
		"--epoch", o.epoch.Format(time.RFC3339), "--ground-truth", s.truthPath,
		"--push-attempts", "1000"}
	if o.pushTo != "" {
		args = append(args, "--push-to", o.pushTo)
	}
	args = append(args, o.extra...)
	env := []string{"PARTNERSIM_NCOVI_TOKEN=" + ncoviToken, "PARTNERSIM_TOKHAIYTE_KEY=" + tokhaiyteKey, "PARTNERSIM_BLUEZONE_SECRET=" + bluezoneSecret}
	s.proc = startProc(t, name, bins.partnersim, args, env)
	line := s.waitLine(t, s.stdoutPath, startDeadline, "start line", func(l []byte) bool { return json.Valid(l) })
	if err := json.Unmarshal(line, &s.started); err != nil || s.started.NCOVI == "" || s.started.Tokhaiyte == "" {
		t.Fatalf("%s start line %q: %v", name, line, err)
	}
	return s
}

// waitPushed waits for the pusher's report line and fails the test if the push gave up.
func (s *simProc) waitPushed(t *testing.T, deadline time.Duration) {
	t.Helper()
	line := s.waitLine(t, s.stdoutPath, deadline, "bluezone_push report", func(l []byte) bool {
		return json.Valid(l) && json.Unmarshal(l, &struct{}{}) == nil && containsKey(l, "bluezone_push")
	})
	var report struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(line, &report); err != nil || report.Error != "" {
		t.Fatalf("%s: bluezone push failed: %s", s.name, line)
	}
}

func containsKey(line []byte, key string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
}

// gatewayOptions is one `lienthong serve` process's setup.
type gatewayOptions struct {
	dataDir            string
	redis              string // "" for the embedded store
	grpcAddr, httpAddr string // "" for a free port
	ncoviURL           string
	tokhaiyteURL       string
	ncoviPageSize      int // 0: the default
}

// gatewayProc is a running `lienthong serve` with its addresses and clients.
type gatewayProc struct {
	*proc
	grpcAddr, httpAddr, dataDir string
	conns                       map[string]*grpc.ClientConn
}

// startGateway writes a configuration file (credentials for every role, no rate limits that a
// test would hit), starts `lienthong serve` and waits until /readyz answers 200.
func startGateway(t *testing.T, name string, o gatewayOptions) *gatewayProc {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), name+".json")
	writeGatewayConfig(t, cfgPath, o)
	grpcAddr, httpAddr := o.grpcAddr, o.httpAddr
	if grpcAddr == "" {
		grpcAddr = "127.0.0.1:0"
	}
	if httpAddr == "" {
		httpAddr = "127.0.0.1:0"
	}
	args := []string{"serve", "--config", cfgPath, "--data-dir", o.dataDir,
		"--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--log-format", "json", "--replica-id", name,
		"--bluezone", "--ncovi", "--ncovi-url", o.ncoviURL, "--ncovi-interval", "200ms",
		"--tokhaiyte", "--tokhaiyte-url", o.tokhaiyteURL, "--tokhaiyte-since", "240h", "--tokhaiyte-interval", "200ms"}
	if o.redis != "" {
		args = append(args, "--redis", o.redis)
	}
	env := []string{"LIENTHONG_NCOVI_TOKEN=" + ncoviToken, "LIENTHONG_TOKHAIYTE_KEY=" + tokhaiyteKey, "LIENTHONG_BLUEZONE_SECRET=" + bluezoneSecret}
	g := &gatewayProc{proc: startProc(t, name, bins.lienthong, args, env), dataDir: o.dataDir, conns: map[string]*grpc.ClientConn{}}
	line := g.waitLine(t, g.stderrPath, startDeadline, `"gateway serving" log line`, func(l []byte) bool {
		var m struct{ Msg string }
		return json.Unmarshal(l, &m) == nil && m.Msg == "gateway serving"
	})
	var serving struct{ GRPC, HTTP string }
	if err := json.Unmarshal(line, &serving); err != nil || serving.GRPC == "" || serving.HTTP == "" {
		t.Fatalf("%s: serving line %s: %v", name, line, err)
	}
	g.grpcAddr, g.httpAddr = serving.GRPC, serving.HTTP
	eventually(t, startDeadline, name+" /readyz", func() (bool, string) {
		resp, err := http.Get(g.httpURL() + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	t.Cleanup(func() {
		for _, c := range g.conns {
			c.Close()
		}
	})
	return g
}

func (g *gatewayProc) httpURL() string { return "http://" + g.httpAddr }

func writeGatewayConfig(t *testing.T, path string, o gatewayOptions) {
	t.Helper()
	principals := []auth.Principal{
		{ID: "e2e-ministry", Role: auth.RoleMinistry},
		{ID: "e2e-checkpoint", Role: auth.RoleCheckpoint, Station: "HCM-Q1-001", Area: auth.Area{Province: "79"}},
	}
	tokens := []string{tokMinistry, tokCheckpoint}
	for _, p := range partnerPlatforms {
		principals = append(principals, auth.Principal{ID: "e2e-" + string(p), Role: auth.RolePartner, Platform: p})
		tokens = append(tokens, partnerToken(p))
	}
	var creds []auth.Credential
	for i, p := range principals {
		creds = append(creds, auth.Credential{Principal: p, TokenSHA256: auth.HashToken(tokens[i])})
	}
	// The test reads every identity's history and looks every identity up: far above the
	// production per-principal rates.
	unlimited := config.Limit{Rate: 1e6, Burst: 1e6}
	file := map[string]any{
		"credentials": creds,
		"limits":      map[auth.Role]config.Limit{auth.RoleMinistry: unlimited, auth.RoleCheckpoint: unlimited, auth.RolePartner: unlimited},
		"tokhaiyte":   map[string]any{"window": "6h"},
	}
	if o.ncoviPageSize > 0 {
		file["ncovi"] = map[string]any{"page_size": o.ncoviPageSize}
	}
	b, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// bearer sends a bearer token with every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// clients are the gateway's services as one principal calls them.
type clients struct {
	audit      lienthongv1.AuditServiceClient
	checkpoint lienthongv1.CheckpointServiceClient
	ingest     lienthongv1.IngestServiceClient
}

// client returns the services called with token, over one connection per token.
func (g *gatewayProc) client(t *testing.T, token string) clients {
	t.Helper()
	c := g.conns[token]
	if c == nil {
		var err error
		c, err = grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
		if err != nil {
			t.Fatal(err)
		}
		g.conns[token] = c
	}
	return clients{audit: lienthongv1.NewAuditServiceClient(c), checkpoint: lienthongv1.NewCheckpointServiceClient(c), ingest: lienthongv1.NewIngestServiceClient(c)}
}

// callCtx bounds one call.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fmtCounts renders a small count map for failure messages.
func fmtCounts[K comparable](m map[K]int) string { return fmt.Sprint(m) }

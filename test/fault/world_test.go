package fault

import (
	"bufio"
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

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// The partners' secrets (passed through the environment) and the principals' bearer tokens.
const (
	ncoviToken     = "fault-ncovi-feed-token"
	tokhaiyteKey   = "fault-tokhaiyte-api-key"
	bluezoneSecret = "fault-bluezone-webhook-secret"

	tokMinistry   = "fault-ministry-token"
	tokCheckpoint = "fault-checkpoint-token"
)

func partnerToken(p canonical.Platform) string { return "fault-partner-" + string(p) + "-token" }

var platforms = []canonical.Platform{canonical.PlatformBluezone, canonical.PlatformNCOVI, canonical.PlatformTokhaiyte}

// startDeadline bounds how long a process may take to announce itself.
const startDeadline = 30 * time.Second

// simProc is a running partnersim with the URLs of its start line.
type simProc struct {
	*proc
	truthPath string
	started   struct {
		NCOVI     string `json:"ncovi"`
		Tokhaiyte string `json:"tokhaiyte"`
	}
}

// startPartnersim serves declarations (seed 1, epoch now) and pushes Bluezone's to pushTo.
func startPartnersim(t *testing.T, declarations int, pushTo string, extra ...string) *simProc {
	t.Helper()
	s := &simProc{truthPath: filepath.Join(t.TempDir(), "truth.jsonl")}
	args := []string{"--declarations", strconv.Itoa(declarations), "--seed", "1",
		"--epoch", time.Now().UTC().Format(time.RFC3339), "--ground-truth", s.truthPath, "--push-attempts", "100000"}
	if pushTo != "" {
		args = append(args, "--push-to", pushTo)
	}
	args = append(args, extra...)
	env := []string{"PARTNERSIM_NCOVI_TOKEN=" + ncoviToken, "PARTNERSIM_TOKHAIYTE_KEY=" + tokhaiyteKey, "PARTNERSIM_BLUEZONE_SECRET=" + bluezoneSecret}
	s.proc = startProc(t, "partnersim", bins.partnersim, args, env)
	line := s.waitLine(t, s.stdoutPath, startDeadline, "start line", func(l []byte) bool { return json.Valid(l) })
	if err := json.Unmarshal(line, &s.started); err != nil || s.started.NCOVI == "" || s.started.Tokhaiyte == "" {
		t.Fatalf("partnersim start line %q: %v", line, err)
	}
	return s
}

// waitPushed waits for the Bluezone pusher's report and fails the test if it gave up.
func (s *simProc) waitPushed(t *testing.T, deadline time.Duration) {
	t.Helper()
	line := s.waitLine(t, s.stdoutPath, deadline, "bluezone_push report", func(l []byte) bool {
		var m map[string]json.RawMessage
		if json.Unmarshal(l, &m) != nil {
			return false
		}
		_, ok := m["bluezone_push"]
		return ok
	})
	var report struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(line, &report); err != nil || report.Error != "" {
		t.Fatalf("bluezone push failed: %s", line)
	}
}

// summary reads the ground truth's summary line (written before the start line).
func (s *simProc) summary(t *testing.T) sim.Summary {
	t.Helper()
	f, err := os.Open(s.truthPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var sum sim.Summary
		if json.Unmarshal(sc.Bytes(), &sum) == nil && sum.Type == "summary" {
			return sum
		}
	}
	t.Fatalf("ground truth %s has no summary line (%v)", s.truthPath, sc.Err())
	return sim.Summary{}
}

// gatewayOptions is one `lienthong serve` process's setup.
type gatewayOptions struct {
	name              string // replica id and process name
	dataDir           string
	redis             string // "" for the embedded store
	grpcAddr          string // fixed, so a restart comes back on the same ports
	httpAddr          string
	ncoviURL          string // "" leaves NCOVI off
	tokhaiyteURL      string // "" leaves tokhaiyte off
	logLevel          string
	limits            map[auth.Role]config.Limit // nil: far above anything a test sends
	extraArgs         []string
	extraCredentials  []auth.Credential
	tls               *config.TLS
	skipReadyWait     bool
	ncoviPageSize     int // 0: the default (500)
	readyzWaitTimeout time.Duration
}

// gatewayProc is a running `lienthong serve`.
type gatewayProc struct {
	*proc
	opts  gatewayOptions
	conns map[string]*grpc.ClientConn
}

func startGateway(t *testing.T, o gatewayOptions) *gatewayProc {
	t.Helper()
	if o.grpcAddr == "" {
		o.grpcAddr = freeAddr(t)
	}
	if o.httpAddr == "" {
		o.httpAddr = freeAddr(t)
	}
	if o.logLevel == "" {
		o.logLevel = "info"
	}
	cfgPath := filepath.Join(t.TempDir(), "lienthong.json")
	writeGatewayConfig(t, cfgPath, o)
	args := []string{"serve", "--config", cfgPath, "--data-dir", o.dataDir,
		"--grpc-addr", o.grpcAddr, "--http-addr", o.httpAddr, "--log-format", "json", "--log-level", o.logLevel,
		"--replica-id", o.name, "--bluezone", "--retention-days", "0"}
	if o.ncoviURL != "" {
		args = append(args, "--ncovi", "--ncovi-url", o.ncoviURL, "--ncovi-interval", "200ms")
	}
	if o.tokhaiyteURL != "" {
		args = append(args, "--tokhaiyte", "--tokhaiyte-url", o.tokhaiyteURL, "--tokhaiyte-since", "240h", "--tokhaiyte-interval", "200ms")
	}
	if o.redis != "" {
		args = append(args, "--redis", o.redis)
	}
	args = append(args, o.extraArgs...)
	env := []string{"LIENTHONG_NCOVI_TOKEN=" + ncoviToken, "LIENTHONG_TOKHAIYTE_KEY=" + tokhaiyteKey, "LIENTHONG_BLUEZONE_SECRET=" + bluezoneSecret}
	g := &gatewayProc{proc: startProc(t, o.name, bins.lienthong, args, env), opts: o, conns: map[string]*grpc.ClientConn{}}
	t.Cleanup(g.closeConns)
	g.waitLine(t, g.stderrPath, startDeadline, `"gateway serving" log line`, func(l []byte) bool {
		var m struct{ Msg string }
		return json.Unmarshal(l, &m) == nil && m.Msg == "gateway serving"
	})
	if !o.skipReadyWait {
		eventually(t, startDeadline, o.name+" /readyz", func() (bool, string) {
			r, err := g.readyz()
			if err != nil {
				return false, err.Error()
			}
			return r.Status == "ready", r.Status
		})
	}
	return g
}

func (g *gatewayProc) closeConns() {
	for k, c := range g.conns {
		c.Close()
		delete(g.conns, k)
	}
}

// crash kills the gateway with SIGKILL: no shutdown, no flush.
func (g *gatewayProc) crash() {
	g.kill()
	g.closeConns()
}

func writeGatewayConfig(t *testing.T, path string, o gatewayOptions) {
	t.Helper()
	creds := []auth.Credential{
		{Principal: auth.Principal{ID: "fault-ministry", Role: auth.RoleMinistry}, TokenSHA256: auth.HashToken(tokMinistry)},
		{Principal: auth.Principal{ID: "fault-checkpoint", Role: auth.RoleCheckpoint, Station: "HCM-Q1-001", Area: auth.Area{Province: "79"}}, TokenSHA256: auth.HashToken(tokCheckpoint)},
	}
	for _, p := range platforms {
		creds = append(creds, auth.Credential{Principal: auth.Principal{ID: "fault-" + string(p), Role: auth.RolePartner, Platform: p}, TokenSHA256: auth.HashToken(partnerToken(p))})
	}
	creds = append(creds, o.extraCredentials...)
	limits := o.limits
	if limits == nil {
		unlimited := config.Limit{Rate: 1e6, Burst: 1e6}
		limits = map[auth.Role]config.Limit{auth.RoleMinistry: unlimited, auth.RoleCheckpoint: unlimited, auth.RolePartner: unlimited}
	}
	file := map[string]any{"credentials": creds, "limits": limits, "tokhaiyte": map[string]any{"window": "6h"}}
	if o.ncoviPageSize > 0 {
		file["ncovi"] = map[string]any{"page_size": o.ncoviPageSize}
	}
	if o.tls != nil {
		file["tls"] = o.tls
	}
	b, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// readiness is /readyz's body.
type readiness struct {
	Status string `json:"status"`
	Checks []struct {
		Name   string `json:"name"`
		Ready  bool   `json:"ready"`
		Error  string `json:"error"`
		Detail struct {
			Breaker      string `json:"breaker"`
			HoldingLease bool   `json:"holding_lease"`
			Pulled       int64  `json:"pulled"`
			LastError    string `json:"last_error"`
		} `json:"detail"`
	} `json:"checks"`
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func (g *gatewayProc) readyz() (readiness, error) {
	var r readiness
	resp, err := httpClient.Get("http://" + g.opts.httpAddr + "/readyz")
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("/readyz %s: %w", resp.Status, err)
	}
	return r, nil
}

// pullDetail is the readyz detail of one partner's runner ("ncovi", "tokhaiyte").
func (r readiness) pullDetail(partner string) (breaker string, holding bool, pulled int64, ok bool) {
	for _, c := range r.Checks {
		if c.Name == "pull:"+partner {
			return c.Detail.Breaker, c.Detail.HoldingLease, c.Detail.Pulled, true
		}
	}
	return "", false, 0, false
}

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

func (g *gatewayProc) client(t *testing.T, token string) clients {
	t.Helper()
	c := g.conns[token]
	if c == nil {
		var err error
		c, err = grpc.NewClient(g.opts.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
		if err != nil {
			t.Fatal(err)
		}
		g.conns[token] = c
	}
	return clients{audit: lienthongv1.NewAuditServiceClient(c), checkpoint: lienthongv1.NewCheckpointServiceClient(c), ingest: lienthongv1.NewIngestServiceClient(c)}
}

// counts is GetStatistics summed over days and provinces: "platform accepted" or
// "platform rejected:reason" → count.
type counts map[string]int64

func (c counts) total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

func readCounts(c clients) (counts, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.audit.GetStatistics(ctx, &lienthongv1.GetStatisticsRequest{})
	if err != nil {
		return nil, err
	}
	out := counts{}
	for _, dc := range resp.GetDeclarationCounts() {
		k := dc.GetPlatform() + " accepted"
		if dc.GetOutcome() == lienthongv1.Outcome_OUTCOME_REJECTED {
			k = dc.GetPlatform() + " rejected:" + dc.GetReason()
		}
		out[k] += dc.GetCount()
	}
	return out, nil
}

// truthCounts is the ground truth's counters in readCounts' shape.
func truthCounts(s sim.Summary) counts {
	out := counts{}
	for p, c := range s.Platforms {
		if c.Accepted > 0 {
			out[string(p)+" accepted"] = int64(c.Accepted)
		}
		for r, n := range c.ByReason {
			out[string(p)+" rejected:"+string(r)] = int64(n)
		}
	}
	return out
}

// diffCounts lists every cell where got and want differ.
func diffCounts(got, want counts) []string {
	var out []string
	for k, w := range want {
		if got[k] != w {
			out = append(out, fmt.Sprintf("%s: got %d, truth %d", k, got[k], w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s: got %d, truth has none", k, g))
		}
	}
	return out
}

// waitTruth waits until the gateway's statistics reach the truth's total, then requires them
// equal cell by cell: nothing lost, nothing counted twice.
func waitTruth(t *testing.T, g *gatewayProc, want counts, deadline time.Duration) {
	t.Helper()
	c := g.client(t, tokMinistry)
	eventually(t, deadline, "statistics reaching the ground truth", func() (bool, string) {
		if g.exited() {
			t.Fatalf("%s exited: %v", g.name, g.waitErr)
		}
		got, err := readCounts(c)
		if err != nil {
			return false, err.Error()
		}
		return got.total() >= want.total(), fmt.Sprintf("%d of %d", got.total(), want.total())
	})
	got, err := readCounts(c)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffCounts(got, want); len(d) > 0 {
		t.Fatalf("statistics differ from the ground truth in %d cells:\n%v", len(d), d)
	}
}

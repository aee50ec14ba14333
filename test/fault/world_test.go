package fault

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/adapters/sim"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/gateway/config"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/test/procs"
)

// The fault suite's principals, bearer tokens and partner secrets.
var (
	suite         = procs.Suite("fault")
	tokMinistry   = suite.MinistryToken()
	tokCheckpoint = suite.CheckpointToken()
)

// startPartnersim serves declarations (seed 1, epoch now) and pushes Bluezone's to pushTo.
func startPartnersim(t *testing.T, declarations int, pushTo string, extra ...string) *procs.Sim {
	t.Helper()
	return procs.StartPartnersim(t, "partnersim", bins.Partnersim, procs.SimOptions{Declarations: declarations, Seed: 1, Epoch: time.Now().UTC(),
		GroundTruth: filepath.Join(t.TempDir(), "truth.jsonl"), PushAttempts: 100000, PushTo: pushTo, Extra: extra},
		suite.Secrets(), procOpts, procs.StartDeadline)
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
	*procs.Proc
	opts  gatewayOptions
	conns procs.Conns // one connection per bearer token
}

func startGateway(t *testing.T, o gatewayOptions) *gatewayProc {
	t.Helper()
	if o.grpcAddr == "" {
		o.grpcAddr = procs.FreeAddr(t)
	}
	if o.httpAddr == "" {
		o.httpAddr = procs.FreeAddr(t)
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
	g := &gatewayProc{Proc: procs.Start(t, o.name, bins.Lienthong, args, suite.Secrets().GatewayEnv(), procOpts), opts: o, conns: procs.Conns{Addr: o.grpcAddr}}
	t.Cleanup(g.conns.Close)
	g.WaitServing(t, procs.StartDeadline)
	if !o.skipReadyWait {
		procs.Eventually(t, procs.StartDeadline, o.name+" /readyz", func() (bool, string) {
			r, err := g.readyz()
			if err != nil {
				return false, err.Error()
			}
			return r.Status == "ready", r.Status
		})
	}
	return g
}

// crash kills the gateway with SIGKILL: no shutdown, no flush.
func (g *gatewayProc) crash() {
	g.Kill()
	g.conns.Close()
}

func writeGatewayConfig(t *testing.T, path string, o gatewayOptions) {
	t.Helper()
	limits := o.limits
	if limits == nil {
		limits = procs.Unlimited()
	}
	procs.WriteGatewayConfig(t, path, procs.GatewayConfig{Credentials: append(suite.Credentials(), o.extraCredentials...),
		Limits: limits, NCOVIPageSize: o.ncoviPageSize, TLS: o.tls})
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

func readCounts(c procs.Clients) (counts, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Audit.GetStatistics(ctx, &lienthongv1.GetStatisticsRequest{})
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
	c := g.conns.Client(t, tokMinistry)
	procs.Eventually(t, deadline, "statistics reaching the ground truth", func() (bool, string) {
		if g.Exited() {
			t.Fatalf("%s exited: %v", g.Name, g.WaitErr())
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

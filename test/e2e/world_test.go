package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/test/procs"
)

// suite names the e2e principals, their bearer tokens and the partners' secrets (which reach
// partnersim and the gateway through the environment, so they stay out of the process list).
var (
	suite         = procs.Suite("e2e")
	tokMinistry   = suite.MinistryToken()
	tokCheckpoint = suite.CheckpointToken()
)

// simOptions is one partnersim process's command line.
type simOptions struct {
	declarations int
	seed         int64
	epoch        time.Time
	pushTo       string   // gateway HTTP base URL for Bluezone pushes; "" serves the feeds only
	extra        []string // more flags (faults, rate)
}

// startPartnersim starts partnersim, waits for its JSON start line and returns it; the ground
// truth is written to a file in the test's temp dir.
func startPartnersim(t *testing.T, name string, o simOptions) *procs.Sim {
	t.Helper()
	return procs.StartPartnersim(t, name, bins.Partnersim, procs.SimOptions{Declarations: o.declarations, Seed: o.seed, Epoch: o.epoch,
		GroundTruth: filepath.Join(t.TempDir(), name+"-truth.jsonl"), PushAttempts: 1000, PushTo: o.pushTo, Extra: o.extra},
		suite.Secrets(), procOpts, procs.StartDeadline)
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
	*procs.Proc
	grpcAddr, httpAddr, dataDir string
	conns                       procs.Conns // one connection per bearer token
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
	g := &gatewayProc{Proc: procs.Start(t, name, bins.Lienthong, args, suite.Secrets().GatewayEnv(), procOpts), dataDir: o.dataDir}
	line := g.WaitServing(t, procs.StartDeadline)
	var serving struct{ GRPC, HTTP string }
	if err := json.Unmarshal(line, &serving); err != nil || serving.GRPC == "" || serving.HTTP == "" {
		t.Fatalf("%s: serving line %s: %v", name, line, err)
	}
	g.grpcAddr, g.httpAddr = serving.GRPC, serving.HTTP
	g.conns.Addr = g.grpcAddr
	procs.Eventually(t, procs.StartDeadline, name+" /readyz", func() (bool, string) {
		resp, err := http.Get(g.httpURL() + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	t.Cleanup(g.conns.Close)
	return g
}

func (g *gatewayProc) httpURL() string { return "http://" + g.httpAddr }

func writeGatewayConfig(t *testing.T, path string, o gatewayOptions) {
	t.Helper()
	procs.WriteGatewayConfig(t, path, procs.GatewayConfig{Credentials: suite.Credentials(), Limits: procs.Unlimited(), NCOVIPageSize: o.ncoviPageSize})
}

// callCtx bounds one call.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fmtCounts renders a small count map for failure messages.
func fmtCounts[K comparable](m map[K]int) string { return fmt.Sprint(m) }

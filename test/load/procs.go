package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/lienthong/lienthong/canonical"
	"github.com/lienthong/lienthong/gateway/auth"
	"github.com/lienthong/lienthong/test/ports"
)

// pollInterval is how often a waited-on condition (a port answering) is checked.
const pollInterval = 20 * time.Millisecond

// startDeadline bounds how long a child process may take to answer.
const startDeadline = 60 * time.Second

// moduleRoot finds the repository root from the go tool.
func moduleRoot() (string, error) {
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the lienthong module: run the harness from the repository")
	}
	return filepath.Dir(mod), nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// buildGateway builds cmd/lienthong into dir and returns the binary's path.
func buildGateway(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "lienthong")
	cmd := exec.Command(goTool(), "build", "-o", bin, "./cmd/lienthong")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/lienthong: %v\n%s", err, out)
	}
	return bin, nil
}

// child is a process the harness started; its output is kept for error messages.
type child struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
}

func startChild(name string, cmd *exec.Cmd) (*child, error) {
	c := &child{name: name, cmd: cmd, out: &tailBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = c.out
	}
	cmd.Stderr = c.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); close(c.done) }()
	return c, nil
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits, then kills after 30 s.
func (c *child) stop() { c.stopWithin(30 * time.Second) }

// stopWithin sends SIGTERM and waits up to grace, then kills the process; it reports how long
// the process took and whether it ended by itself.
func (c *child) stopWithin(grace time.Duration) (took time.Duration, clean bool) {
	if c.exited() {
		return 0, true
	}
	start := time.Now()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return time.Since(start), true
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
		return time.Since(start), false
	}
}

// rssKiB reads VmRSS of the process from /proc.
func (c *child) rssKiB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS line")
}

// tailBuffer keeps the last 8 KiB written to it, and the gateway's count of lookups its
// access log dropped (from its "access log queue full" warnings, which carry the total).
type tailBuffer struct {
	mu            sync.Mutex
	b             []byte
	accessDropped int64
	incomplete    bool // the gateway logged "shutdown incomplete"
}

// droppedTotal finds dropped_total=N in a log line.
var droppedTotal = regexp.MustCompile(`access log queue full.*dropped_total=(\d+)`)

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range droppedTotal.FindAllSubmatch(p, -1) {
		if n, err := strconv.ParseInt(string(m[1]), 10, 64); err == nil && n > t.accessDropped {
			t.accessDropped = n
		}
	}
	if bytes.Contains(p, []byte("shutdown incomplete")) {
		t.incomplete = true
	}
	t.b = append(t.b, p...)
	if len(t.b) > 8192 {
		t.b = append([]byte(nil), t.b[len(t.b)-8192:]...)
	}
	return len(p), nil
}

// dropped is the highest dropped_total the gateway logged: a lower bound (it logs at 1, 2,
// 4, 8... drops).
func (t *tailBuffer) dropped() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.accessDropped
}

// shutdownIncomplete reports whether the gateway said its shutdown did not finish.
func (t *tailBuffer) shutdownIncomplete() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.incomplete
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// waitHealthy polls the gRPC health service at addr until it answers SERVING.
func waitHealthy(ctx context.Context, c *child, addr string) error {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	deadline := time.Now().Add(startDeadline)
	for {
		if c.exited() {
			return fmt.Errorf("%s exited at start:\n%s", c.name, c.out)
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer health checks on %s within %v (last: %v):\n%s", c.name, addr, startDeadline, err, c.out)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval): // polling a condition with a deadline
		}
	}
}

// The harness's principals; only their hashes go into the gateway's configuration.
const (
	tokCheckpoint = "load-checkpoint-token"
	tokBluezone   = "load-bluezone-token"
	tokNCOVI      = "load-ncovi-token"
	tokTokhaiyte  = "load-tokhaiyte-token"
)

// partnerToken is the token of each platform's partner principal.
var partnerToken = map[string]string{"bluezone": tokBluezone, "ncovi": tokNCOVI, "tokhaiyte": tokTokhaiyte}

// gatewayConfig is the JSON configuration the gateway is started with.
func gatewayConfig(grpcAddr, httpAddr, debugAddr, dataDir, redisURL string) ([]byte, error) {
	creds := []auth.Credential{
		{Principal: auth.Principal{ID: "load-checkpoint", Role: auth.RoleCheckpoint, Station: "LOAD-79-001", Area: auth.Area{Province: "79"}}, TokenSHA256: auth.HashToken(tokCheckpoint)},
	}
	for pl, tok := range partnerToken {
		creds = append(creds, auth.Credential{Principal: auth.Principal{ID: "load-" + pl, Role: auth.RolePartner, Platform: canonical.Platform(pl)}, TokenSHA256: auth.HashToken(tok)})
	}
	// Rate limits far above anything one machine can send: the harness measures the gateway,
	// not its limiter's refusals.
	unlimited := map[string]any{"rate": 1e9, "burst": 1_000_000_000}
	return json.MarshalIndent(map[string]any{
		"grpc_addr":      grpcAddr,
		"http_addr":      httpAddr,
		"debug_addr":     debugAddr,
		"data_dir":       dataDir,
		"redis":          redisURL,
		"retention_days": 0,
		"log_level":      "info",
		"credentials":    creds,
		"limits":         map[string]any{"partner": unlimited, "checkpoint": unlimited, "ministry": unlimited},
	}, "", "  ")
}

// startGateway writes the configuration and starts `lienthong serve` with it; it returns the
// gateway's gRPC address and its profiler's address.
func startGateway(ctx context.Context, bin, dir, redisURL string) (c *child, grpcAddr, debugAddr string, err error) {
	var httpAddr string
	for _, a := range []*string{&grpcAddr, &httpAddr, &debugAddr} {
		if *a, err = ports.FreeAddr(); err != nil {
			return nil, "", "", err
		}
	}
	cfg, err := gatewayConfig(grpcAddr, httpAddr, debugAddr, filepath.Join(dir, "data"), redisURL)
	if err != nil {
		return nil, "", "", err
	}
	path := filepath.Join(dir, "lienthong.json")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return nil, "", "", err
	}
	if c, err = startChild("lienthong serve", exec.Command(bin, "serve", "--config", path)); err != nil {
		return nil, "", "", err
	}
	if err := waitHealthy(ctx, c, grpcAddr); err != nil {
		c.stop()
		return nil, "", "", err
	}
	return c, grpcAddr, debugAddr, nil
}

// redisServer is a redis-server the harness started on a free port.
type redisServer struct {
	*child
	addr string
}

// startRedis starts an isolated redis-server without persistence in dir.
func startRedis(ctx context.Context, dir string) (*redisServer, error) {
	addr, err := ports.FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	c, err := startChild("redis-server", exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""))
	if err != nil {
		return nil, err
	}
	r := &redisServer{child: c, addr: addr}
	deadline := time.Now().Add(startDeadline)
	for {
		if out, err := r.cli("PING"); err == nil && strings.TrimSpace(out) == "PONG" {
			return r, nil
		}
		if c.exited() || time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("redis-server on %s did not answer PING:\n%s", addr, c.out)
		}
		select {
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(pollInterval): // polling a condition with a deadline
		}
	}
}

// cli runs one redis-cli command against the server.
func (r *redisServer) cli(args ...string) (string, error) {
	host, port, _ := net.SplitHostPort(r.addr)
	out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	return string(out), err
}

// usedMemory reads used_memory from INFO memory.
func (r *redisServer) usedMemory() (int64, error) {
	out, err := r.cli("INFO", "memory")
	if err != nil {
		return 0, fmt.Errorf("INFO memory: %v: %s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader([]byte(out)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("INFO memory has no used_memory line")
}

// Package redistest starts and stops real, isolated redis-server processes for tests.
//
// Every server listens on a free loopback port with its own temporary directory, is started
// by the test as a child process and is stopped in t.Cleanup. The harness never talks to a
// Redis it did not start (in particular not the machine's own one on 6379).
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/test/ports"
)

// startDeadline bounds how long a server may take to answer PING.
const startDeadline = 15 * time.Second

// pollInterval is how often a condition is checked while waiting on it.
const pollInterval = 10 * time.Millisecond

// Options configures one server.
type Options struct {
	// AppendOnly turns the append-only file on, so data survives Restart.
	AppendOnly bool
	// Args are extra redis-server arguments ("--maxmemory", "100mb", ...).
	Args []string
}

// Server is one redis-server child process owned by a test.
type Server struct {
	t    testing.TB
	opts Options
	dir  string
	port int
	args []string // fixed arguments, so Restart reuses port and dir

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *lockedWriter // the running process's output, for error messages
}

// Start starts an isolated redis-server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	return startWith(t, opts, (*Server).baseArgs)
}

// startWith starts a server whose command-line arguments args returns.
func startWith(t testing.TB, opts Options, args func(*Server) []string) *Server {
	t.Helper()
	requireBinaries(t)
	dir := t.TempDir()
	var lastErr error
	// A free port may still be taken by someone else before redis-server binds
	// it; try a few ports before giving up.
	for attempt := 0; attempt < 5; attempt++ {
		port, err := ports.Free()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		s := &Server{t: t, opts: opts, dir: dir, port: port}
		s.args = args(s)
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: start redis-server: %v", lastErr)
	return nil
}

func (s *Server) baseArgs() []string {
	aof := "no"
	if s.opts.AppendOnly {
		aof = "yes"
	}
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", aof,
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--logfile", "",
	}
	return append(args, s.opts.Args...)
}

// start runs the process and waits until it answers PING.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command("redis-server", s.args...)
	out := &lockedWriter{w: &bytes.Buffer{}}
	cmd.Stdout = out
	cmd.Stderr = out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done, s.out = cmd, done, out
	deadline := time.Now().Add(startDeadline)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, tail(out))
		default:
		}
		reply, err := Command(s.Addr(), time.Second, "PING")
		if err == nil && reply == "PONG" {
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d did not answer PING within %v (last: %q, %v)", s.port, startDeadline, reply, err)
		}
		time.Sleep(pollInterval) // polling a condition with a deadline
	}
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Dir returns the server's data directory.
func (s *Server) Dir() string { return s.dir }

// Stop stops the server and waits for it to exit; it is safe to call twice.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.cmd = nil
}

// Restart stops the server and starts it again on the same port and directory, so data in
// the append-only file survives.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart redis-server: %v", err)
	}
}

// Do sends one command to the server and returns its reply as text (see Command).
func (s *Server) Do(args ...string) (string, error) {
	return Command(s.Addr(), 5*time.Second, args...)
}

// StartSentinel starts a Sentinel (redis-server --sentinel) monitoring master under the name
// masterName, with a quorum of one, and waits until it reports the master's address.
func StartSentinel(t testing.TB, master *Server, masterName string) *Server {
	t.Helper()
	s := startWith(t, Options{}, func(s *Server) []string {
		conf := filepath.Join(s.dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 5000\n",
			s.port, s.dir, masterName, master.port, masterName)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatalf("redistest: write sentinel.conf: %v", err)
		}
		return []string{conf, "--sentinel"}
	})
	deadline := time.Now().Add(startDeadline)
	for {
		addr, err := s.Do("SENTINEL", "get-master-addr-by-name", masterName)
		if err == nil && strings.ReplaceAll(addr, "\n", ":") == master.Addr() {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: sentinel does not report master %s within %v: %q, %v", masterName, startDeadline, addr, err)
		}
		time.Sleep(pollInterval) // polling a condition with a deadline
	}
}

// Cluster is a Redis Cluster of masters without replicas, owned by a test.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts masters cluster-enabled servers, joins them into one cluster with
// redis-cli --cluster create, and waits until every node reports cluster_state:ok.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("redistest: a Redis Cluster needs at least 3 masters, got %d", masters)
	}
	c := &Cluster{}
	for i := 0; i < masters; i++ {
		busPort, err := ports.Free()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		c.Nodes = append(c.Nodes, Start(t, Options{Args: []string{
			"--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(busPort),
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000",
		}}))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(startDeadline)
	for _, n := range c.Nodes {
		for {
			info, err := n.Do("CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster node %s not ok within %v: %v\n%s", n.Addr(), startDeadline, err, info)
			}
			time.Sleep(pollInterval) // polling a condition with a deadline
		}
	}
	return c
}

// Addrs returns the host:port of every node.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// requireBinaries fails the test when redis-server or redis-cli is missing: tests that need
// Redis never skip silently.
func requireBinaries(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("redistest: %s not found on PATH in CI; the CI image must install redis-server (test/run does it with apt-get)", bin)
			}
			t.Fatalf("redistest: %s not found on PATH; run test/run, which installs it", bin)
		}
	}
}

// Command sends one command in RESP to addr and returns the reply: a simple or bulk string as
// is, an integer in decimal, an array's elements joined by newlines. A Redis error reply is
// returned as an error.
func Command(addr string, timeout time.Duration, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(conn))
}

func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", err
		}
		parts := make([]string, 0, max(n, 0))
		for i := 0; i < n; i++ {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// lockedWriter collects a child's output safely across goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func tail(l *lockedWriter) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.w.String()
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

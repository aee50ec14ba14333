package redistest

import (
	"fmt"
	"strings"
	"testing"
)

func TestServerStartsAnswersStopsAndRestarts(t *testing.T) {
	s := Start(t, Options{AppendOnly: true})
	if s.Addr() == "127.0.0.1:6379" {
		t.Fatalf("harness started on the machine's own Redis port")
	}
	if got, err := s.Do("PING"); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v; want PONG", got, err)
	}
	if _, err := s.Do("SET", "k", "v"); err != nil {
		t.Fatalf("SET: %v", err)
	}
	s.Stop()
	if _, err := s.Do("PING"); err == nil {
		t.Fatalf("PING answered after Stop")
	}
	s.Stop() // safe twice
	s.Restart()
	// The append-only file keeps what was written before the stop.
	if got, err := s.Do("GET", "k"); err != nil || got != "v" {
		t.Fatalf("GET after Restart = %q, %v; want v", got, err)
	}
}

func TestTwoServersAreIsolated(t *testing.T) {
	a := Start(t, Options{})
	b := Start(t, Options{})
	if a.Addr() == b.Addr() || a.Dir() == b.Dir() {
		t.Fatalf("servers share an address or directory: %s %s", a.Addr(), b.Addr())
	}
	if _, err := a.Do("SET", "only-a", "1"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Do("EXISTS", "only-a"); err != nil || got != "0" {
		t.Fatalf("EXISTS on b = %q, %v; want 0", got, err)
	}
}

func TestClusterReachesOK(t *testing.T) {
	c := StartCluster(t, 3)
	if len(c.Addrs()) != 3 {
		t.Fatalf("Addrs = %v", c.Addrs())
	}
	for _, n := range c.Nodes {
		info, err := n.Do("CLUSTER", "INFO")
		if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:3") {
			t.Fatalf("CLUSTER INFO on %s = %v\n%s", n.Addr(), err, info)
		}
	}
	// A key whose slot lives on another node is redirected, so the cluster really is sharded.
	moved := 0
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		if _, err := c.Nodes[0].Do("SET", k, "1"); err != nil && strings.HasPrefix(err.Error(), "MOVED") {
			moved++
		}
	}
	if moved == 0 {
		t.Fatalf("no key was redirected: the slots are not spread over the nodes")
	}
}

func TestSentinelReportsMaster(t *testing.T) {
	m := Start(t, Options{})
	s := StartSentinel(t, m, "lienthong")
	if got, err := s.Do("SENTINEL", "get-master-addr-by-name", "lienthong"); err != nil || strings.ReplaceAll(got, "\n", ":") != m.Addr() {
		t.Fatalf("sentinel master = %q, %v; want %s", got, err, m.Addr())
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message instead of stopping.
type fatalRecorder struct {
	testing.TB
	msgs []string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func TestMissingRedisFailsNeverSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no redis-server here
	for _, tt := range []struct {
		ci   string
		want string
	}{
		{"true", "in CI"},
		{"", "run test/run, which installs it"},
	} {
		t.Setenv("CI", tt.ci)
		f := &fatalRecorder{TB: t}
		requireBinaries(f)
		if len(f.msgs) == 0 || !strings.Contains(f.msgs[0], tt.want) {
			t.Errorf("CI=%q: failures %q, want one mentioning %q", tt.ci, f.msgs, tt.want)
		}
	}
}

package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/test/procs"
)

// TestDemoOnce runs `lienthong demo --once` as a newcomer would and checks that its own
// summary agrees with the simulator's expectation on every line that states one.
func TestDemoOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.Lienthong, "demo", "--once", "--declarations", "1200", "--seed", "3",
		"--data-dir", t.TempDir(), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = procs.StopDeadline
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("lienthong demo --once: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	checks := []struct {
		name string
		re   *regexp.Regexp
	}{
		// "all  received accepted duplicate rejected expected-accepted expected-rejected"
		{"accepted and rejected", regexp.MustCompile(`(?m)^\s*all\s+\d+\s+(\d+)\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)\s*$`)},
		{"identities", regexp.MustCompile(`Identities: (\d+) \(expected (\d+)\)`)},
		{"inconsistent identities", regexp.MustCompile(`Inconsistent identities: (\d+) \(expected (\d+)\)`)},
	}
	for _, c := range checks {
		m := c.re.FindStringSubmatch(out)
		if m == nil {
			t.Errorf("demo output has no %s line:\n%s", c.name, out)
			continue
		}
		got, want := m[1:1+(len(m)-1)/2], m[1+(len(m)-1)/2:]
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("demo %s: %v, expected %v", c.name, got, want)
		}
	}
	if !strings.Contains(out, "lienthong lookup 'LT1.") {
		t.Errorf("demo prints no signed QR to try:\n%s", out)
	}
	t.Logf("lienthong demo --once --declarations 1200 took %v", time.Since(start).Round(time.Millisecond))
}

// Package procs builds the lienthong and partnersim binaries and runs them as a test's child processes on loopback ports, waiting on their output with deadlines.
package procs

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PollInterval is how often a waited-on condition is checked.
const PollInterval = 20 * time.Millisecond

// StartDeadline bounds how long a process may take to announce itself and become ready.
const StartDeadline = 30 * time.Second

// StopDeadline bounds how long a process may take to exit after SIGTERM (the gateway's own
// shutdown budget is 20 s); after it the process is killed.
const StopDeadline = 30 * time.Second

// Bins holds the paths of the built binaries.
type Bins struct{ Lienthong, Partnersim string }

// Main is a test package's TestMain body: it builds the binaries into a fresh temporary
// directory (the package lives two levels below the module root), stores their paths in bins,
// runs m, removes the directory and returns the exit code. suite names the messages.
func Main(m *testing.M, suite string, bins *Bins) int {
	dir, err := os.MkdirTemp("", "lienthong-"+suite+"-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, suite+":", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	b, err := Build(filepath.Join("..", ".."), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, suite+": building the binaries:", err)
		return 1
	}
	*bins = b
	fmt.Fprintf(os.Stderr, "%s: built lienthong and partnersim in %s\n", suite, time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// Build builds cmd/lienthong and cmd/partnersim of the module at root into dir.
func Build(root, dir string) (Bins, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return Bins{}, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator), "./cmd/lienthong", "./cmd/partnersim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return Bins{}, fmt.Errorf("%v\n%s", err, out)
	}
	return Bins{Lienthong: filepath.Join(dir, "lienthong"), Partnersim: filepath.Join(dir, "partnersim")}, nil
}

// FreeAddr returns a loopback address nobody listens on now, so that a restarted process can
// come back on the same port. The port is drawn below the kernel's ephemeral range, where
// outgoing connections take their source ports and ":0" listeners theirs: between this check
// and the child's own bind, a connection of a test running in parallel cannot take it (with a
// port from ":0", one did: "bind: address already in use").
func FreeAddr(t testing.TB) string {
	t.Helper()
	high := ephemeralLow()
	for range 200 {
		port := lowestFreePort + rand.IntN(high-lowestFreePort)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken: draw again
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	t.Fatalf("no free loopback port between %d and %d after 200 draws", lowestFreePort, high)
	return ""
}

// lowestFreePort is the lowest port FreeAddr draws: above the well-known and most registered
// services' ports.
const lowestFreePort = 20000

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// ip_local_port_range; 32768, Linux's default, where it cannot be read or is too low to leave
// room below it).
func ephemeralLow() int {
	const fallback = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return fallback
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return fallback
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low < lowestFreePort+1000 {
		return fallback
	}
	return low
}

// Eventually polls cond until it returns true or deadline passes; on timeout it fails the
// test with the last description cond gave.
func Eventually(t testing.TB, deadline time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v; last: %s", what, deadline, last)
		}
		time.Sleep(PollInterval) // polling a condition with a deadline
	}
}

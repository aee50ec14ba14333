// Package procs builds the lienthong and partnersim binaries and runs them as a test's child processes on loopback ports, waiting on their output with deadlines.
package procs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/lienthong/lienthong/test/ports"
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
// come back on the same port (see ports.Free).
func FreeAddr(t testing.TB) string {
	t.Helper()
	a, err := ports.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
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

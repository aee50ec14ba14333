package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pollInterval is how often a waited-on condition is checked.
const pollInterval = 20 * time.Millisecond

// stopDeadline bounds how long a process may take to exit after SIGTERM (the gateway's own
// shutdown budget is 20 s).
const stopDeadline = 30 * time.Second

// bins holds the paths of the binaries TestMain built.
var bins struct{ lienthong, partnersim string }

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lienthong-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildBinaries(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the binaries:", err)
		return 1
	}
	return m.Run()
}

// buildBinaries builds cmd/lienthong and cmd/partnersim into dir, once for the package.
func buildBinaries(dir string) error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	start := time.Now()
	cmd := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator), "./cmd/lienthong", "./cmd/partnersim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	bins.lienthong = filepath.Join(dir, "lienthong")
	bins.partnersim = filepath.Join(dir, "partnersim")
	fmt.Fprintf(os.Stderr, "e2e: built lienthong and partnersim in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// proc is one child process owned by a test: its output goes to files in the test's temp dir.
type proc struct {
	name         string
	cmd          *exec.Cmd
	stdoutPath   string
	stderrPath   string
	done         chan struct{} // closed when the process has exited
	waitErr      error         // set before done is closed
	stoppedByUs  bool
	stopDuration time.Duration
}

// startProc starts bin with args; it is stopped (SIGTERM, then SIGKILL after stopDeadline) in
// t.Cleanup, and its stderr is printed when the test failed.
func startProc(t *testing.T, name, bin string, args, env []string) *proc {
	t.Helper()
	dir := t.TempDir()
	p := &proc{name: name, stdoutPath: filepath.Join(dir, name+".stdout"), stderrPath: filepath.Join(dir, name+".stderr"), done: make(chan struct{})}
	stdout, err := os.Create(p.stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(p.stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	p.cmd.Env = append(os.Environ(), env...)
	setDeathSignal(p.cmd)
	if err := p.cmd.Start(); err != nil {
		stdout.Close()
		stderr.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		stdout.Close()
		stderr.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("---- %s stderr (last 6 KiB) ----\n%s", p.name, tailFile(p.stderrPath, 6<<10))
		}
	})
	return p
}

// stop sends SIGTERM and waits for the exit, killing the process after stopDeadline. It
// returns the exit code (-1 when killed) and is safe to call twice.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return exitCode(p.waitErr)
	default:
	}
	p.stoppedByUs = true
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		p.stopDuration = time.Since(start)
		return exitCode(p.waitErr)
	case <-time.After(stopDeadline):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not exit within %v of SIGTERM; killed", p.name, stopDeadline)
		return -1
	}
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// waitLine polls path until a line satisfies match, or the deadline passes or the process
// exits (then it fails the test with the process's output).
func (p *proc) waitLine(t *testing.T, path string, deadline time.Duration, what string, match func(line []byte) bool) []byte {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		if line := findLine(path, match); line != nil {
			return line
		}
		if p.exited() {
			if line := findLine(path, match); line != nil {
				return line
			}
			t.Fatalf("%s exited (%v) before %s:\n%s", p.name, p.waitErr, what, tailFile(p.stderrPath, 4<<10))
		}
		if time.Now().After(end) {
			t.Fatalf("%s: no %s within %v:\n%s", p.name, what, deadline, tailFile(p.stderrPath, 4<<10))
		}
		time.Sleep(pollInterval) // polling a condition with a deadline
	}
}

func findLine(path string, match func([]byte) bool) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	// Only whole lines: the last one may still be being written.
	b = b[:bytes.LastIndexByte(b, '\n')+1]
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if match(sc.Bytes()) {
			return append([]byte(nil), sc.Bytes()...)
		}
	}
	return nil
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimRight(string(b), "\n")
}

// eventually polls cond until it returns true or deadline passes; on timeout it fails the
// test with the last description cond gave.
func eventually(t *testing.T, deadline time.Duration, what string, cond func() (bool, string)) {
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
		time.Sleep(pollInterval) // polling a condition with a deadline
	}
}

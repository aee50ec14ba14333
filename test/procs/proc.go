package procs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Options is how a test treats one child process.
type Options struct {
	// StderrTail is how many bytes of the end of the process's stderr are logged when the
	// test failed.
	StderrTail int
	// FailSlowStop makes Stop fail the test when the process is still running StopDeadline
	// after SIGTERM (it is killed either way).
	FailSlowStop bool
}

// Proc is one child process owned by a test: its output goes to files in the test's temp dir.
type Proc struct {
	Name       string
	StdoutPath string
	StderrPath string
	// StopDuration is how long the process took to exit after Stop's SIGTERM.
	StopDuration time.Duration

	opts    Options
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// Start starts bin with args and env added to the test's environment; t.Cleanup stops it
// (SIGTERM, then SIGKILL after StopDeadline) and logs the tail of its stderr when the test
// failed.
func Start(t testing.TB, name, bin string, args, env []string, o Options) *Proc {
	t.Helper()
	dir := t.TempDir()
	p := &Proc{Name: name, StdoutPath: filepath.Join(dir, name+".stdout"), StderrPath: filepath.Join(dir, name+".stderr"),
		opts: o, done: make(chan struct{})}
	stdout, err := os.Create(p.StdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(p.StderrPath)
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
		p.Stop(t)
		if t.Failed() {
			t.Logf("---- %s stderr (last %d bytes) ----\n%s", p.Name, o.StderrTail, TailFile(p.StderrPath, o.StderrTail))
		}
	})
	return p
}

// Stop sends SIGTERM and waits for the exit, killing the process after StopDeadline. It
// returns the exit code (-1 when killed) and is safe to call twice.
func (p *Proc) Stop(t testing.TB) int {
	t.Helper()
	select {
	case <-p.done:
		return exitCode(p.waitErr)
	default:
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		p.StopDuration = time.Since(start)
		return exitCode(p.waitErr)
	case <-time.After(StopDeadline):
		p.Kill()
		if p.opts.FailSlowStop {
			t.Errorf("%s did not exit within %v of SIGTERM; killed", p.Name, StopDeadline)
		}
		return -1
	}
}

// Kill sends SIGKILL and waits for the exit: a crash, no shutdown.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitErr is what waiting for the process returned; it is meaningful once Exited is true.
func (p *Proc) WaitErr() error {
	select {
	case <-p.done:
		return p.waitErr
	default:
		return nil
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

// WaitLine polls path until a whole line satisfies match, failing the test with the process's
// stderr after deadline or when the process exits without writing it.
func (p *Proc) WaitLine(t testing.TB, path string, deadline time.Duration, what string, match func(line []byte) bool) []byte {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		if line := FindLine(path, match); line != nil {
			return line
		}
		if p.Exited() {
			if line := FindLine(path, match); line != nil {
				return line
			}
			t.Fatalf("%s exited (%v) before %s:\n%s", p.Name, p.waitErr, what, TailFile(p.StderrPath, 4<<10))
		}
		if time.Now().After(end) {
			t.Fatalf("%s: no %s within %v:\n%s", p.Name, what, deadline, TailFile(p.StderrPath, 4<<10))
		}
		time.Sleep(PollInterval) // polling a condition with a deadline
	}
}

// FindLine returns a copy of the first whole line of the file at path that satisfies match,
// or nil.
func FindLine(path string, match func(line []byte) bool) []byte {
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

// TailFile returns the last n bytes of the file at path, or the reason it could not be read.
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimRight(string(b), "\n")
}

package fault

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
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

// bins holds the paths of the binaries TestMain built.
var bins struct{ lienthong, partnersim string }

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lienthong-fault-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fault:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fault:", err)
		return 1
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator), "./cmd/lienthong", "./cmd/partnersim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "fault: building the binaries: %v\n%s", err, out)
		return 1
	}
	bins.lienthong, bins.partnersim = filepath.Join(dir, "lienthong"), filepath.Join(dir, "partnersim")
	return m.Run()
}

// proc is one child process owned by a test; its output goes to files in a temp dir.
type proc struct {
	name       string
	cmd        *exec.Cmd
	stdoutPath string
	stderrPath string
	done       chan struct{} // closed when the process has exited
	waitErr    error
}

// startProc starts bin with args and env; t.Cleanup stops it (SIGTERM, then SIGKILL) and
// prints the tail of its stderr when the test failed.
func startProc(t *testing.T, name, bin string, args, env []string) *proc {
	t.Helper()
	dir := t.TempDir()
	p := &proc{name: name, stdoutPath: filepath.Join(dir, "stdout"), stderrPath: filepath.Join(dir, "stderr"), done: make(chan struct{})}
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
	p.cmd.SysProcAttr = deathSignal()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		stdout.Close()
		stderr.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("---- %s stderr (tail) ----\n%s", p.name, tailFile(p.stderrPath, 4<<10))
		}
	})
	return p
}

// kill sends SIGKILL and waits for the exit: the crash the tests inflict.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits up to 30 s, then kills. Safe to call twice.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitLine polls path until a whole line satisfies match, failing the test after deadline
// or when the process exits without writing it.
func (p *proc) waitLine(t *testing.T, path string, deadline time.Duration, what string, match func([]byte) bool) []byte {
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
	b = b[:bytes.LastIndexByte(b, '\n')+1] // whole lines only
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

// eventually polls cond until it holds or deadline passes; on timeout it fails the test with
// the last description cond gave.
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

// freeAddr returns a loopback address nobody listens on now, so a restarted gateway can come
// back on the same ports (partnersim keeps pushing to the same URL).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

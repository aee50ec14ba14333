package procs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shell starts sh running script as a child of t.
func shell(t *testing.T, name, script string) *Proc {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Fatalf("these tests run /bin/sh: %v", err)
	}
	return Start(t, name, "/bin/sh", []string{"-c", script}, []string{"PROCS_TEST_WORD=ready"}, Options{StderrTail: 1 << 10, FailSlowStop: true})
}

func TestStopReportsTheExitCode(t *testing.T) {
	// The child announces itself on stdout (with a word from the environment Start adds) and
	// exits 3 on SIGTERM.
	p := shell(t, "term3", `trap 'exit 3' TERM; echo "$PROCS_TEST_WORD"; echo oops >&2; while :; do sleep 0.05; done`)
	line := p.WaitLine(t, p.StdoutPath, 10*time.Second, "ready line", func(l []byte) bool { return string(l) == "ready" })
	if string(line) != "ready" {
		t.Fatalf("WaitLine = %q, want ready", line)
	}
	if p.Exited() {
		t.Fatal("Exited before Stop")
	}
	if code := p.Stop(t); code != 3 {
		t.Errorf("Stop = %d, want the child's exit code 3", code)
	}
	if !p.Exited() || p.WaitErr() == nil {
		t.Errorf("after Stop: Exited %v, WaitErr %v; want true and an exit error", p.Exited(), p.WaitErr())
	}
	if p.StopDuration <= 0 {
		t.Errorf("StopDuration %v, want > 0", p.StopDuration)
	}
	// A second Stop sends nothing and reports the same code.
	if code := p.Stop(t); code != 3 {
		t.Errorf("second Stop = %d, want 3", code)
	}
	if got := TailFile(p.StderrPath, 100); got != "oops" {
		t.Errorf("stderr tail %q, want oops", got)
	}
}

func TestKillEndsAProcessThatIgnoresSIGTERM(t *testing.T) {
	p := shell(t, "stubborn", `trap '' TERM; echo up; exec sleep 60`)
	p.WaitLine(t, p.StdoutPath, 10*time.Second, "up line", func(l []byte) bool { return string(l) == "up" })
	p.Kill()
	if !p.Exited() {
		t.Fatal("Kill returned before the process exited")
	}
	if code := exitCode(p.WaitErr()); code != -1 {
		t.Errorf("exit code after SIGKILL %d, want -1", code)
	}
}

func TestFindLineReadsWholeLinesOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, []byte("first\nsecond\nthi"), 0o600); err != nil {
		t.Fatal(err)
	}
	match := func(want string) func([]byte) bool {
		return func(l []byte) bool { return strings.HasPrefix(string(l), want) }
	}
	if got := FindLine(path, match("second")); string(got) != "second" {
		t.Errorf("FindLine(second) = %q", got)
	}
	// The last line has no newline yet: it may still be being written.
	if got := FindLine(path, match("thi")); got != nil {
		t.Errorf("FindLine found the unfinished line %q", got)
	}
	if got := FindLine(filepath.Join(t.TempDir(), "missing"), match("")); got != nil {
		t.Errorf("FindLine on a missing file = %q, want nil", got)
	}
}

func TestTailFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("abcdef\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n    int
		want string
	}{
		{100, "abcdef"},
		{5, "def"}, // the last 5 bytes are "def\n\n"; trailing newlines are trimmed
	} {
		if got := TailFile(path, tc.n); got != tc.want {
			t.Errorf("TailFile(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := TailFile(filepath.Join(t.TempDir(), "missing"), 10); !strings.HasPrefix(got, "(") {
		t.Errorf("TailFile of a missing file = %q, want the error in parentheses", got)
	}
}

func TestFreeAddrIsLoopback(t *testing.T) {
	if a := FreeAddr(t); !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("FreeAddr = %q, want 127.0.0.1:port", a)
	}
}

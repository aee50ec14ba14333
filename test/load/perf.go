package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// profiler records the gateway process with Linux perf during one phase, when --perf names
// a folder: nothing is added to the gateway. Read a profile with
//
//	perf report -i DIR/embedded-lookup.perf.data --no-children --sort symbol
type profiler struct {
	dir string // "" records nothing
}

// record starts `perf record` on pid into dir/name.perf.data; the returned function stops it.
func (p profiler) record(name string, pid int) (stop func() error, err error) {
	if p.dir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, err
	}
	out := filepath.Join(p.dir, name+".perf.data")
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", out)
	tail := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = tail, tail
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record: %w", err)
	}
	return func() error {
		_ = cmd.Process.Signal(syscall.SIGINT)
		// perf ends with the signal's status after writing its file.
		if err := cmd.Wait(); err != nil && !strings.Contains(tail.String(), "Captured and wrote") {
			return fmt.Errorf("perf record %s: %v: %s", name, err, tail)
		}
		return nil
	}, nil
}

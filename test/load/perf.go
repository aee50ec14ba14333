package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// profiler records the gateway process during one phase: with Linux perf when --perf names a
// folder, and with the Go profiler on the gateway's debug address when --pprof names one.
// Nothing is recorded otherwise. Read the profiles with
//
//	perf report -i DIR/embedded-lookup.perf.data --no-children --sort symbol
//	go tool pprof -top DIR/embedded-lookup.cpu.pprof
type profiler struct {
	perfDir, pprofDir string
	debugAddr         string // the gateway's debug_addr
}

// record starts recording pid as name for at most seconds (the Go profile's length; perf
// records until stopped); the returned function stops it and waits for the files.
func (p profiler) record(name string, pid int, seconds int) (stop func() error, err error) {
	stopPerf, err := p.perf(name, pid)
	if err != nil {
		return nil, err
	}
	done := p.cpuProfile(name, max(1, seconds))
	return func() error {
		err := stopPerf()
		if perr := <-done; err == nil {
			err = perr
		}
		return err
	}, nil
}

// perf starts `perf record` on pid into perfDir/name.perf.data.
func (p profiler) perf(name string, pid int) (stop func() error, err error) {
	if p.perfDir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(p.perfDir, 0o755); err != nil {
		return nil, err
	}
	out := filepath.Join(p.perfDir, name+".perf.data")
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

// cpuProfile fetches a CPU profile of seconds from the gateway's /debug/pprof/profile into
// pprofDir/name.cpu.pprof and then its allocation profile into name.allocs.pprof; the
// channel says when both are written.
func (p profiler) cpuProfile(name string, seconds int) <-chan error {
	done := make(chan error, 1)
	if p.pprofDir == "" || p.debugAddr == "" {
		done <- nil
		return done
	}
	go func() {
		err := os.MkdirAll(p.pprofDir, 0o755)
		if err == nil {
			err = p.fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds), filepath.Join(p.pprofDir, name+".cpu.pprof"), time.Duration(seconds+30)*time.Second)
		}
		if err == nil {
			err = p.fetch("/debug/pprof/allocs", filepath.Join(p.pprofDir, name+".allocs.pprof"), 30*time.Second)
		}
		done <- err
	}()
	return done
}

// self records the harness's own CPU profile (the load generator's cost) into
// pprofDir/name.cpu.pprof until the returned function is called.
func (p profiler) self(name string) (stop func() error, err error) {
	if p.pprofDir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(p.pprofDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(p.pprofDir, name+".cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

func (p profiler) fetch(path, out string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.debugAddr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("pprof %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof %s: %s", path, resp.Status)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

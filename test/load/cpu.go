package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's CPU times (100 on every
// architecture Go supports).
const clockTicks = 100

// procCPU is the user plus system CPU time pid has used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count fields after its closing parenthesis.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] { // utime and stime, fields 14 and 15
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// stealTime is the machine's steal time so far, over all CPUs (0 where /proc/stat has none).
func stealTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	ticks, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// selfCPU is the user plus system CPU time this process (the load generator) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procSwitches is how many times the threads of pid have left their core, of their own
// accord (to wait) or not: the sum over /proc/PID/task/*/status, since a process's own status
// counts only its first thread.
func procSwitches(pid int) (int64, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, t := range tasks {
		path := fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended meanwhile
		}
		c, err := statusSwitches(string(b))
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		n += c
	}
	return n, nil
}

// statusSwitches is the voluntary and involuntary context switches a /proc status file counts.
func statusSwitches(status string) (int64, error) {
	var n int64
	for _, line := range strings.Split(status, "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "voluntary_ctxt_switches" && name != "nonvoluntary_ctxt_switches") {
			continue
		}
		c, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// selfSwitches is how many times this process's threads, ended ones included, have left
// their core.
func selfSwitches() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Nvcsw + ru.Nivcsw
}

// cpuShare is the CPU time the processes of one closed-loop run used during it, and how many
// context switches they made: on these virtual machines a switch is dear, and waiting on
// another process (a gateway on Redis) makes more of them.
type cpuShare struct {
	Client, Server, Redis time.Duration // Redis: 0 when no redis-server serves the run
	// Steal is the time the hypervisor gave this machine's virtual CPUs to others (all CPUs,
	// /proc/stat): how much the shared machine's other tenants took meanwhile.
	Steal time.Duration

	ClientSwitches, ServerSwitches, RedisSwitches int64
}

// plus is c and d added field by field (rounds of one run).
func (c cpuShare) plus(d cpuShare) cpuShare {
	return cpuShare{
		Client: c.Client + d.Client, Server: c.Server + d.Server, Redis: c.Redis + d.Redis, Steal: c.Steal + d.Steal,
		ClientSwitches: c.ClientSwitches + d.ClientSwitches, ServerSwitches: c.ServerSwitches + d.ServerSwitches,
		RedisSwitches: c.RedisSwitches + d.RedisSwitches,
	}
}

// minus is c less d field by field (a reading after a run less the one before it).
func (c cpuShare) minus(d cpuShare) cpuShare {
	return cpuShare{
		Client: c.Client - d.Client, Server: c.Server - d.Server, Redis: c.Redis - d.Redis, Steal: c.Steal - d.Steal,
		ClientSwitches: c.ClientSwitches - d.ClientSwitches, ServerSwitches: c.ServerSwitches - d.ServerSwitches,
		RedisSwitches: c.RedisSwitches - d.RedisSwitches,
	}
}

// perRequest is d divided among n requests, in microseconds.
func perRequest(d time.Duration, n int) float64 { return perEach(float64(d.Microseconds()), n) }

// perEach is v divided among n requests; 0 when there were none.
func perEach(v float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return v / float64(n)
}

// measureCPU runs fn and returns the CPU time and context switches of this process, server
// and (when redisPID is not 0) the redis-server meanwhile: where the machine's cores went.
func measureCPU(server, redisPID int, fn func()) (cpuShare, error) {
	read := func() (c cpuShare, err error) {
		c.Client, c.ClientSwitches, c.Steal = selfCPU(), selfSwitches(), stealTime()
		if c.Server, err = procCPU(server); err != nil {
			return c, err
		}
		if c.ServerSwitches, err = procSwitches(server); err != nil {
			return c, err
		}
		if redisPID != 0 {
			if c.Redis, err = procCPU(redisPID); err != nil {
				return c, err
			}
			c.RedisSwitches, err = procSwitches(redisPID)
		}
		return c, err
	}
	before, err := read()
	if err != nil {
		return cpuShare{}, err
	}
	fn()
	after, err := read()
	if err != nil {
		return cpuShare{}, err
	}
	return after.minus(before), nil
}

// stealShare is steal time over a phase of wall time elapsed, as a share of all the machine's
// cores.
func stealShare(steal, elapsed time.Duration) float64 {
	return ratio(steal.Seconds(), elapsed.Seconds()*float64(runtime.NumCPU()))
}

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

// Rounds add up to the run they stand for: the quantiles are those of all their requests, not
// an average of each round's.
func TestLatenciesPlusIsOneRun(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		slices.Sort(d)
		return d
	}
	fast := summarize(ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 2), 0, time.Second, nil)
	slow := summarize(ms(9, 9, 9, 9, 9, 9, 9, 9, 9, 9), 2, 3*time.Second, errors.New("first"))
	var all latencies
	for _, l := range []latencies{fast, slow} {
		all = all.plus(l)
	}
	if all.Requests != 20 || all.Errors != 2 || all.Elapsed != 4*time.Second || all.FirstError == nil {
		t.Fatalf("sum: %d requests, %d errors, %v, first error %v; want 20, 2, 4s and one", all.Requests, all.Errors, all.Elapsed, all.FirstError)
	}
	if all.RPS() != 5 {
		t.Errorf("RPS %v, want 5 (20 requests in 4 s)", all.RPS())
	}
	if all.P50 != 2*time.Millisecond || all.P99 != 9*time.Millisecond {
		t.Errorf("p50 %v, p99 %v; want 2ms and 9ms (the 10th and 20th of 20)", all.P50, all.P99)
	}
	a := cpuShare{Client: 1, Server: 2, Steal: 7, ClientSwitches: 10, ServerSwitches: 20}
	b := cpuShare{Client: 3, Server: 4, Redis: 5, Steal: 1, ClientSwitches: 30, ServerSwitches: 40, RedisSwitches: 50}
	want := cpuShare{Client: 4, Server: 6, Redis: 5, Steal: 8, ClientSwitches: 40, ServerSwitches: 60, RedisSwitches: 50}
	if c := a.plus(b); c != want {
		t.Errorf("cpu sum %+v, want %+v", c, want)
	}
	if c := want.minus(a); c != b {
		t.Errorf("cpu difference %+v, want %+v", c, b)
	}
}

// The switches of another process are those of all its threads: this process (the test) runs
// several, among them the Go runtime's monitor, which sleeps and wakes every few microseconds
// to milliseconds, so the count is more than its first thread alone reports.
func TestProcSwitchesCountsEveryThread(t *testing.T) {
	pid := os.Getpid()
	all, err := procSwitches(pid)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	first, err := statusSwitches(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if first == 0 || all <= first {
		t.Errorf("procSwitches %d, first thread alone %d", all, first)
	}
	if _, err := procSwitches(-1); err == nil {
		t.Error("procSwitches of no process: no error")
	}
}

// Each closed-loop run draws requests of its own: a round that replayed the rounds before it
// would flatter a store that caches what it was asked.
func TestClosedLoopRunsDoNotReplayEachOther(t *testing.T) {
	first := func() uint64 {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var v uint64
		closedLoop(ctx, 1, time.Hour, func(_ context.Context, _ int, rng *rand.Rand) error {
			v = rng.Uint64()
			cancel()
			return nil
		})
		return v
	}
	if a, b := first(), first(); a == b {
		t.Fatalf("two runs' first draws are both %d: the second replays the first", a)
	}
}

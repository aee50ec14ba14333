package main

import (
	"errors"
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
	if c := (cpuShare{Client: 1, Server: 2}).plus(cpuShare{Client: 3, Server: 4, Redis: 5}); c != (cpuShare{4, 6, 5}) {
		t.Errorf("cpu sum %+v", c)
	}
}

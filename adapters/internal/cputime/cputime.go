// Package cputime reads the process's CPU time, so benchmarks on a shared machine can report
// throughput per CPU-second as well as per wall-clock second.
package cputime

import (
	"testing"
	"time"
)

// Report adds "records/cpu-s" to b: records processed per second of this process's CPU time
// (user + system, all threads, so the garbage collector's work counts) since start, which was
// read with Self before the loop. It reports nothing where CPU time cannot be read.
func Report(b *testing.B, start time.Duration, records int) {
	used := Self() - start
	if used <= 0 || start < 0 {
		return
	}
	b.ReportMetric(float64(records)/used.Seconds(), "records/cpu-s")
}

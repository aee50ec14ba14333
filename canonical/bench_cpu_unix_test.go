//go:build unix

package canonical

import "syscall"

// processCPU returns the CPU time (user + system) the test process has used, in nanoseconds,
// so that a benchmark on a shared machine can report CPU cost as well as wall time.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

//go:build !unix

package canonical

// processCPU is unknown here; the benchmark then reports no CPU figures.
func processCPU() int64 { return 0 }

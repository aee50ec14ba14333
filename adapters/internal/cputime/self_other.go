//go:build !unix

package cputime

import "time"

// Self returns -1: CPU time is not read on this system.
func Self() time.Duration { return -1 }

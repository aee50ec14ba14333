//go:build !linux

package procs

import "os/exec"

// setDeathSignal does nothing where the kernel has no parent-death signal; t.Cleanup still
// stops every child.
func setDeathSignal(*exec.Cmd) {}

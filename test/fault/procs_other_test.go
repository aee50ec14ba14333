//go:build !linux

package fault

import "syscall"

func deathSignal() *syscall.SysProcAttr { return nil }

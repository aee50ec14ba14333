package fault

import "syscall"

// deathSignal kills a child when the test binary dies, so no process outlives a crashed test.
func deathSignal() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }

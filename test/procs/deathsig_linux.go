package procs

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the child die with the test binary if the test binary is killed.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

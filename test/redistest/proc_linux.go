package redistest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills the server if the test process dies without running its cleanups.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

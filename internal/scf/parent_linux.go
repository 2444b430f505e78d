package scf

import (
	"os/exec"
	"syscall"
)

// setParentDeath makes the kernel kill the function if the invoker dies,
// so that no process is left behind.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

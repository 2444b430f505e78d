package redistest

import (
	"os/exec"
	"syscall"
)

// setParentDeath makes the kernel kill redis-server if the test binary dies
// before its cleanup runs, so that no server is left behind.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

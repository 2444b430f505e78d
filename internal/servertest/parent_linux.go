package servertest

import "syscall"

// setParentDeath makes the kernel kill the server if the test binary dies
// before its cleanup runs, so that no server is left behind.
func setParentDeath(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

//go:build !linux

package servertest

import "syscall"

func setParentDeath(*syscall.SysProcAttr) {}

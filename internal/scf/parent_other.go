//go:build !linux

package scf

import "os/exec"

func setParentDeath(*exec.Cmd) {}

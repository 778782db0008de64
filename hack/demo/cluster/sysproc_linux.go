package main

import "syscall"

// sysProcAttr puts the child in its own process group, away from the
// terminal's Ctrl-C, and has the kernel kill it should this program die
// without stopping it (SIGKILL, a crash), so no sluice outlives the demo.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

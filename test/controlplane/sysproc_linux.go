package controlplane

import "syscall"

// sysProcAttr makes the kernel kill a child when the test binary dies
// without running its cleanups (a panic, a test timeout, SIGKILL), so no
// etcd or kube-apiserver outlives the tests that started it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

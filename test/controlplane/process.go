package controlplane

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is one child the harness started. It is only ever signalled through
// its own PID, so nothing else on the machine can be hit.
type process struct {
	name    string
	path    string
	args    []string
	logPath string

	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{} // closed once Wait returned
	waitErr error         // valid after exited is closed
}

func (p *process) start() error {
	if p.running() {
		return fmt.Errorf("%s: already running as PID %d", p.name, p.cmd.Process.Pid)
	}
	// Appending keeps the log of an earlier run of the same process, which is
	// what one wants to read after a restart went wrong.
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", p.name, err)
	}
	fmt.Fprintf(logFile, "=== %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(append([]string{p.path}, p.args...), " "))
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("%s: start %s: %w", p.name, p.path, err)
	}
	p.cmd = cmd
	p.logFile = logFile
	exited := make(chan struct{})
	p.exited = exited
	go func() {
		err := cmd.Wait()
		p.waitErr = err
		logFile.Close()
		close(exited)
	}()
	return nil
}

// running reports whether the process was started and has not exited.
func (p *process) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// exitErr describes how the process ended, or nil while it runs.
func (p *process) exitErr() error {
	if p.cmd == nil || p.running() {
		return nil
	}
	if p.waitErr != nil {
		return fmt.Errorf("%s (PID %d) exited: %w", p.name, p.cmd.Process.Pid, p.waitErr)
	}
	return fmt.Errorf("%s (PID %d) exited with status 0", p.name, p.cmd.Process.Pid)
}

// stop asks the process to terminate and kills it if it has not done so
// within grace. It returns once the process is gone.
func (p *process) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	pid := p.cmd.Process.Pid
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGTERM PID %d: %w", p.name, pid, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.exited:
		return nil
	case <-timer.C:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGKILL PID %d: %w", p.name, pid, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: PID %d still running 10s after SIGKILL", p.name, pid)
	}
}

// tail returns the last n lines of the process's log, for error messages.
func (p *process) tail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(%s log unreadable: %v)", p.name, err)
	}
	data = bytes.TrimRight(data, "\n")
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- last %d lines of %s ---\n%s", len(lines), p.logPath, bytes.Join(lines, []byte("\n")))
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// errAddrInUse is what listening on a taken port fails with.
var errAddrInUse = syscall.EADDRINUSE

// checkFree fails with a clear message when addr cannot be listened on; what
// is the flag or object that chose it. Another process may take the port
// between this check and its use; the waits that follow catch that too.
func checkFree(addr, what string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, errAddrInUse) {
			return fmt.Errorf("%s: %s is already in use (another demo or sluice running?): %w", what, addr, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return ln.Close()
}

// freeAddr replaces port 0 in addr with a port free a moment ago, since
// sluice's flags want a real port and the demo prints it.
func freeAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// process is the sluice controller this program started; it is only ever
// signalled through its own PID.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// startProcess runs path with args; its output goes to logPath and, when
// echo is set, to echo as well.
func startProcess(name, path string, args []string, logPath string, echo io.Writer) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", name, err)
	}
	var out io.Writer = logFile
	if echo != nil {
		out = io.MultiWriter(logFile, echo)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = out, logFile
	// Its own process group keeps the terminal's Ctrl-C away from it, so
	// that it stops when this program says, in order.
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, path, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// exitErr describes how the process ended, or nil while it runs.
func (p *process) exitErr() error {
	select {
	case <-p.exited:
	default:
		return nil
	}
	if p.waitErr != nil {
		return fmt.Errorf("%s (PID %d) exited: %w", p.name, p.cmd.Process.Pid, p.waitErr)
	}
	return fmt.Errorf("%s (PID %d) exited", p.name, p.cmd.Process.Pid)
}

// stop sends SIGTERM and, after grace, SIGKILL; it returns once the process
// is gone or 5 more seconds have passed.
func (p *process) stop(grace time.Duration) error {
	pid := p.cmd.Process.Pid
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGTERM PID %d: %w", p.name, pid, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGKILL PID %d: %w", p.name, pid, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s: PID %d still running after SIGKILL", p.name, pid)
	}
}

// tail returns the end of the process's log, for error messages.
func (p *process) tail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(%s unreadable: %v)", p.logPath, err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- last %d lines of %s ---\n%s", len(lines), p.logPath, bytes.Join(lines, []byte("\n")))
}

// waitReady polls url until it answers 200, the process exits, or timeout
// passes.
func (p *process) waitReady(url string, timeout time.Duration, stop <-chan struct{}) error {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		last = err
		if err := p.exitErr(); err != nil {
			return fmt.Errorf("%w before it was ready\n%s", err, p.tail(30))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (%s: %v)\n%s", p.name, timeout, url, last, p.tail(30))
		}
		select {
		case <-stop:
			return errInterrupted
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// prefixWriter writes each complete line it is given to w after prefix,
// for showing a child's output among the program's own; lines that start
// with skip, when set, are left out.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	skip   string
	buf    []byte
}

func (pw *prefixWriter) Write(p []byte) (int, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.buf = append(pw.buf, p...)
	for {
		i := bytes.IndexByte(pw.buf, '\n')
		if i < 0 {
			break
		}
		line := pw.buf[:i]
		pw.buf = pw.buf[i+1:]
		if pw.skip != "" && bytes.HasPrefix(line, []byte(pw.skip)) {
			continue
		}
		if _, err := fmt.Fprintf(pw.w, "%s%s\n", pw.prefix, line); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

package dataplane

import (
	"io"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// rawConn is a TCP connection whose reads and writes are non-blocking
// system calls made without the Go scheduler's system-call bookkeeping.
//
// A proxy pinned to one core spends most of its time in short read and
// write calls on non-blocking sockets. Go marks each as a possibly
// blocking system call; when one lasts past a scheduler tick (a loopback
// write runs the receiver's TCP path inline and often does), the runtime
// hands the processor to another thread and takes it back afterwards:
// two thread wake-ups and context switches for nothing, since the call
// never blocks. Raw calls cannot block here (the socket is non-blocking,
// EAGAIN parks the goroutine on the poller as net.Conn does), so they skip
// that bookkeeping. Deadlines, Close and everything else stay Go's.
type rawConn struct {
	*net.TCPConn
	rc syscall.RawConn

	// One state per direction: a tunnel reads and writes the same
	// connection from two goroutines.
	rd, wr rawIO
}

// rawIO holds a call's buffer and result for the callbacks, which are
// bound once per wrapper so that a read or a write allocates nothing.
type rawIO struct {
	p     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool // read or write
	now   func(fd uintptr) bool // read that never waits

	deadline lazyDeadline
}

var rawConnPool sync.Pool

// newRawConn wraps c when it is a TCP connection; anything else is
// returned as it is. putRawConn gives the wrapper back once nothing uses
// it any more; closing c stays with whoever accepted or dialed it.
func newRawConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	r, _ := rawConnPool.Get().(*rawConn)
	if r == nil {
		r = &rawConn{}
		r.rd.fn = r.rd.read
		r.rd.now = r.rd.readOnce
		r.wr.fn = r.wr.write
	}
	r.TCPConn, r.rc = tc, rc
	return r
}

func putRawConn(c net.Conn) {
	if r, ok := c.(*rawConn); ok {
		r.TCPConn, r.rc, r.rd.p, r.wr.p = nil, nil, nil, nil
		r.rd.deadline, r.wr.deadline = lazyDeadline{}, lazyDeadline{}
		rawConnPool.Put(r)
	}
}

func (r *rawIO) read(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.p[0])), uintptr(len(r.p)))
		switch e {
		case 0:
			r.n, r.errno = int(n), 0
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			r.n, r.errno = 0, e
			return true
		}
	}
}

// write writes as much of r.p as the socket takes; it asks to wait for
// room only when it took nothing more.
func (r *rawIO) write(fd uintptr) bool {
	for r.n < len(r.p) {
		rest := r.p[r.n:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
		switch e {
		case 0:
			r.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			r.errno = e
			return true
		}
	}
	return true
}

func (r *rawConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.rd.p = p
	err := r.rc.Read(r.rd.fn)
	r.rd.p = nil
	if err != nil {
		return 0, err
	}
	if r.rd.errno != 0 {
		return 0, r.opError("read", r.rd.errno)
	}
	if r.rd.n == 0 {
		return 0, io.EOF
	}
	return r.rd.n, nil
}

func (r *rawConn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w := &r.wr
	w.p, w.n, w.errno = p, 0, 0
	err := r.rc.Write(w.fn)
	n := w.n
	w.p = nil
	if err != nil {
		return n, err
	}
	if w.errno != 0 {
		return n, r.opError("write", w.errno)
	}
	return n, nil
}

func (r *rawConn) opError(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Source: r.LocalAddr(), Addr: r.RemoteAddr(), Err: errno}
}

// ReadFrom and WriteTo hand whole-stream copies to the TCP connection
// underneath, where Go splices between sockets.
func (r *rawConn) ReadFrom(src io.Reader) (int64, error) {
	if s, ok := src.(*rawConn); ok {
		src = s.TCPConn
	}
	return r.TCPConn.ReadFrom(src)
}

func (r *rawConn) WriteTo(dst io.Writer) (int64, error) {
	if d, ok := dst.(*rawConn); ok {
		dst = d.TCPConn
	}
	return r.TCPConn.WriteTo(dst)
}

// readNow reads what the socket holds already, without waiting: 0 when
// nothing is there yet or on EOF or an error, which the next regular Read
// reports. It lets a response whose body arrived in several segments leave
// in one write.
func (r *rawConn) readNow(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	d := &r.rd
	d.p, d.n, d.errno = p, 0, 0
	err := r.rc.Read(d.now)
	d.p = nil
	if err != nil || d.errno != 0 {
		return 0
	}
	return d.n
}

// readOnce is read that never asks to wait.
func (r *rawIO) readOnce(fd uintptr) bool {
	if !r.read(fd) {
		r.n = 0
	}
	return true
}

// Deadlines: every request moves its connections' deadlines forward, and
// each move re-arms a runtime timer under a lock. A deadline is therefore
// set a little past the one asked for, and a later request whose deadline
// falls inside that margin leaves it alone: an idle timeout fires at most
// deadlineSlack of its length late (capped at maxDeadlineSlack), never early.
const (
	deadlineSlackDiv = 16
	maxDeadlineSlack = 250 * time.Millisecond
)

// lazyDeadline is the deadline last set on one direction of a connection,
// and the margin it was given.
type lazyDeadline struct {
	at    time.Time
	slack time.Duration
}

// update sets t (plus a margin) through set unless the deadline in force
// already lies between t and t plus that margin. Skipping reads no clock.
func (d *lazyDeadline) update(t time.Time, set func(time.Time) error) error {
	if t.IsZero() {
		d.at, d.slack = t, 0
		return set(t)
	}
	if d.slack > 0 && !d.at.Before(t) && d.at.Sub(t) <= d.slack {
		return nil
	}
	d.slack = min(time.Until(t)/deadlineSlackDiv, maxDeadlineSlack)
	if d.slack > 0 {
		t = t.Add(d.slack)
	}
	d.at = t
	return set(t)
}

func (r *rawConn) SetReadDeadline(t time.Time) error {
	return r.rd.deadline.update(t, r.TCPConn.SetReadDeadline)
}

func (r *rawConn) SetWriteDeadline(t time.Time) error {
	return r.wr.deadline.update(t, r.TCPConn.SetWriteDeadline)
}

func (r *rawConn) SetDeadline(t time.Time) error {
	if err := r.SetReadDeadline(t); err != nil {
		return err
	}
	return r.SetWriteDeadline(t)
}

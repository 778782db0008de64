package sock

import (
	"syscall"
	"time"
	"unsafe"
)

// rawIO holds a call's buffer and result for the poller callbacks, which
// are bound once per Conn so that a read or a write allocates nothing.
type rawIO struct {
	p     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool // read or write
	now   func(fd uintptr) bool // read that never waits

	deadline lazyDeadline
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

// readOnce is read that never asks to wait.
func (r *rawIO) readOnce(fd uintptr) bool {
	if !r.read(fd) {
		r.n = 0
	}
	return true
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

package sock

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// A Loop relays TCP sessions on one goroutine, with an epoll set of its
// own: HAProxy's event loop, inside Go.
//
// Relaying each session with two goroutines on Go's poller costs, per
// session, an fcntl and two epoll_ctl calls per socket (the poller adds
// every socket and removes it before close), two goroutine starts, and a
// park and wake-up each time a side waits. A Loop adds each socket to its
// set once, edge-triggered, and lets close remove it; between events it
// runs no goroutine switch at all. The loop waits on Go's poller for its
// own epoll descriptor to turn readable, so it parks like any goroutine
// and never holds a thread in a blocking call.
type Loop struct {
	epfd int
	ep   *os.File // epfd on Go's poller, where the loop parks
	rc   syscall.RawConn
	wake int // eventfd: Abort and Close reach a parked loop through it

	// mu guards the table of relays, which submitters on other
	// goroutines add to, and the requests below.
	mu       sync.Mutex
	slots    []slot
	free     []int32
	aborting bool
	closing  bool
	// timed counts relays with a deadline: the loop then wakes every tick.
	timed atomic.Int32

	done chan struct{}

	// The loop goroutine's own.
	events  [128]syscall.EpollEvent
	nevents int
	ready   [128]*Relay // the relay of each event, looked up under mu
	buf     [copyBufSize]byte
	armed   bool  // a wake-up deadline is set on ep
	now     int64 // monotonic nanoseconds, read once per batch of events
	waitFn  func(fd uintptr) bool
}

type slot struct {
	r   *Relay
	gen uint32
}

// copyBufSize is how much a relay reads at once while it copies; a read
// that fills it marks a bulk stream, which moves to splice.
const copyBufSize = 16 << 10

// tick is how often a loop with deadlines looks for expired ones: idle and
// connect timeouts fire up to a tick late, never early.
const tick = 50 * time.Millisecond

// wakeData marks the eventfd's events.
const wakeData = -1

var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

// NewLoop starts a loop; Close stops it.
func NewLoop() (*Loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// os.NewFile puts a non-blocking descriptor on Go's poller; an epoll
	// descriptor is readable when events wait in it.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	wfd, _, e := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("eventfd2", e)
	}
	l := &Loop{epfd: epfd, wake: int(wfd), done: make(chan struct{})}
	if err := l.ctl(syscall.EPOLL_CTL_ADD, l.wake, syscall.EPOLLIN|epollET, wakeData, 0); err != nil {
		syscall.Close(epfd)
		syscall.Close(l.wake)
		return nil, err
	}
	l.ep = os.NewFile(uintptr(epfd), "epoll")
	rc, err := l.ep.SyscallConn()
	if err != nil {
		l.ep.Close()
		syscall.Close(l.wake)
		return nil, err
	}
	l.rc = rc
	l.waitFn = l.poll
	go l.run()
	return l, nil
}

// ErrLoopClosed is returned by Start once Close has been called.
var ErrLoopClosed = errors.New("relay loop closed")

// Start hands r to the loop, which owns r.Client and r.Server from here
// (both must be Conns off the poller, from Listener and DialStart) until
// it calls one of r.Hooks' methods that gives them back. It may be called
// from any goroutine. On error nothing was taken.
func (l *Loop) Start(r *Relay) error {
	if r.Client.s != nil || r.Server.s != nil || r.Client.fd < 0 || r.Server.fd < 0 {
		return errors.New("relay: connections must be off the poller")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return ErrLoopClosed
	}
	r.init(l)
	var i int32
	if n := len(l.free); n > 0 {
		i = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		i = int32(len(l.slots))
		l.slots = append(l.slots, slot{})
	}
	s := &l.slots[i]
	s.gen++
	s.r = r
	r.slot, r.gen = i, s.gen
	err := l.add(r, sideClient)
	if err == nil {
		if err = l.add(r, sideServer); err != nil {
			// The client is in the set: take it out before giving it back.
			_ = l.ctl(syscall.EPOLL_CTL_DEL, r.Client.fd, 0, 0, 0)
		}
	}
	if err != nil {
		s.r = nil
		l.free = append(l.free, i)
		if r.timed {
			r.timed = false
			l.timed.Add(-1)
		}
		r.loop = nil
		return err
	}
	return nil
}

// epollET is EPOLLET as the unsigned flag it is (syscall's is negative).
const epollET = 1 << 31

// relayEvents: a relay's sockets are watched for everything, once, edge
// triggered; the relay remembers which side can be read or written.
const relayEvents = syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET

func (l *Loop) add(r *Relay, side int) error {
	c := r.Client
	if side == sideServer {
		c = r.Server
	}
	return l.ctl(syscall.EPOLL_CTL_ADD, c.fd, relayEvents, r.slot, r.gen<<1|uint32(side))
}

func (l *Loop) ctl(op, fd int, events uint32, data int32, tag uint32) error {
	ev := syscall.EpollEvent{Events: events, Fd: data, Pad: int32(tag)}
	_, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(l.epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
	if e != 0 {
		return os.NewSyscallError("epoll_ctl", e)
	}
	return nil
}

// Abort ends every relay the loop holds now, as a drain's deadline does;
// the loop goes on running the ones started later.
func (l *Loop) Abort() {
	l.mu.Lock()
	l.aborting = true
	l.mu.Unlock()
	l.signal()
}

// Close ends every relay and stops the loop, and returns once it has.
func (l *Loop) Close() {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	l.signal()
	<-l.done
}

func (l *Loop) signal() {
	one := uint64(1)
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(l.wake), uintptr(unsafe.Pointer(&one)), 8)
}

// Len is the number of relays the loop holds.
func (l *Loop) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.slots) - len(l.free)
}

func (l *Loop) run() {
	defer close(l.done)
	for {
		l.wait()
		l.now = monotonic()
		l.mu.Lock()
		closing, aborting := l.closing, l.aborting
		l.aborting = false
		for i, ev := range l.events[:l.nevents] {
			l.ready[i] = nil
			if ev.Fd == wakeData {
				var v uint64
				syscall.RawSyscall(syscall.SYS_READ, uintptr(l.wake), uintptr(unsafe.Pointer(&v)), 8)
				continue
			}
			if s := l.slots[ev.Fd]; s.r != nil && s.gen == uint32(ev.Pad)>>1 {
				l.ready[i] = s.r
			}
		}
		l.mu.Unlock()
		for i, ev := range l.events[:l.nevents] {
			// nil: the wake-up, or a relay that ended earlier in this
			// batch (end clears its entries).
			if r := l.ready[i]; r != nil {
				r.event(int(uint32(ev.Pad)&1), ev.Events)
			}
		}
		if aborting || closing || (l.timed.Load() > 0 && !l.armed) {
			l.sweep(aborting || closing)
		}
		if closing {
			l.ep.Close()
			syscall.Close(l.wake)
			return
		}
	}
}

// wait fills events, parking on Go's poller while there are none.
func (l *Loop) wait() {
	l.nevents = 0
	timed := l.timed.Load() > 0
	if timed && !l.armed {
		_ = l.ep.SetReadDeadline(time.Now().Add(tick))
		l.armed = true
	} else if !timed && l.armed {
		_ = l.ep.SetReadDeadline(time.Time{})
		l.armed = false
	}
	if err := l.rc.Read(l.waitFn); err != nil {
		// The tick: the caller sweeps.
		l.armed = false
	}
}

// poll takes what events are ready, without waiting.
func (l *Loop) poll(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			// EBADF once Close has closed ep: the loop is stopping.
			l.nevents = 0
			return true
		}
		l.nevents = int(n)
		return n > 0
	}
}

// sweep ends relays past their deadline, or every relay when all is set.
func (l *Loop) sweep(all bool) {
	l.mu.Lock()
	var due []*Relay
	for i := range l.slots {
		r := l.slots[i].r
		if r == nil {
			continue
		}
		if all || r.expired(l.now) {
			due = append(due, r)
		}
	}
	l.mu.Unlock()
	for _, r := range due {
		if all {
			r.end(ErrAborted)
			continue
		}
		r.timeout()
	}
}

// release takes r out of the table: its slot may be reused, and r by its
// owner once the hook that ends it has returned.
func (l *Loop) release(r *Relay) {
	for i := range l.ready[:l.nevents] {
		if l.ready[i] == r {
			l.ready[i] = nil
		}
	}
	if r.timed {
		r.timed = false
		l.timed.Add(-1)
	}
	l.mu.Lock()
	s := &l.slots[r.slot]
	if s.r == r {
		s.r = nil
		l.free = append(l.free, r.slot)
	}
	l.mu.Unlock()
}

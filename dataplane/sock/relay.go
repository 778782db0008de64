package sock

import (
	"errors"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// A Relay is one TCP session on a Loop: the bytes of each side go to the
// other until both have closed their sending side, each half-close
// forwarded. A short exchange is copied through the loop's buffer; a
// stream that fills it moves to splice, through a pipe of its own.
//
// The owner fills the exported fields and calls Loop.Start; from then on
// the loop owns the Relay and both connections until Hooks.Ended.
type Relay struct {
	Client, Server *Conn
	// Connecting: the handshake with Server is still going on (DialStart
	// said so); ConnectTimeout bounds it (0: no limit).
	Connecting     bool
	ConnectTimeout time.Duration
	// Idle ends the relay after this long without a byte in either
	// direction (0: never), as HAProxy's timeout tunnel does.
	Idle  time.Duration
	Hooks RelayHooks

	// In and Out count the bytes delivered to the server and to the
	// client. Err is why the relay ended early: nil when both sides
	// closed in order.
	In, Out int64
	Err     error
	// Detached: the relay ended with its client given back, open and
	// untouched (see ConnectFailed).
	Detached bool

	// The loop's.
	loop     *Loop
	slot     int32
	gen      uint32
	timed    bool  // counted in loop.timed
	deadline int64 // of the handshake, monotonic; 0: none
	idle     int64
	last     int64 // the last event
	side     [2]sideState
	dir      [2]direction
	spliced  bool // a direction moved to splice
}

// RelayHooks is what a Loop tells a relay's owner, on the loop's
// goroutine. The hooks must not block: the loop's other relays wait.
type RelayHooks interface {
	// Connected: the loop saw the server's handshake succeed.
	Connected(r *Relay)
	// ConnectFailed: the handshake failed, or outlasted ConnectTimeout.
	// r.Server is closed (the owner recycles it). The owner decides what
	// comes next: Redial after setting r.Server and r.Connecting to a new
	// attempt, GiveUp to end the relay with err, or Detach to take the
	// client back untouched (it has not been read from).
	ConnectFailed(r *Relay, err error) Next
	// Ended is the last call: both connections are closed (the owner
	// recycles them), unless r.Detached, where the client is the owner's
	// again. r is the owner's from here.
	Ended(r *Relay)
}

// Next is what a relay does after a failed handshake.
type Next uint8

const (
	GiveUp Next = iota
	Redial
	Detach
)

// Errors a relay ends with.
var (
	ErrAborted     = errors.New("relay aborted")
	ErrIdle        = errors.New("relay idle timeout")
	ErrConnTimeout = errors.New("connect timeout")
)

const (
	sideClient = 0
	sideServer = 1
)

// sideState is what the last events said of one socket: edge-triggered
// events come once, so readiness is remembered until a call finds EAGAIN.
type sideState struct {
	readable, writable bool
	// hup: the peer's FIN (or an error) has been seen. Until then a read
	// shorter than the buffer has emptied the socket, and the next bytes
	// to arrive bring an event: no read to find EAGAIN, as in HAProxy.
	hup bool
}

// direction is one way of a relay: dir[0] client to server, dir[1] back.
type direction struct {
	pend     []byte // read but not yet written (dst was full)
	pendBuf  *[]byte
	pipe     pipe
	inPipe   int
	splicing bool
	eof      bool // src is done; what remains is to deliver pend and the pipe
	done     bool // and so is dst's sending side
}

func (r *Relay) init(l *Loop) {
	r.loop = l
	r.In, r.Out, r.Err, r.Detached = 0, 0, nil, false
	r.side = [2]sideState{{writable: true}, {writable: true}}
	r.dir = [2]direction{}
	r.spliced = false
	r.last = monotonic()
	r.deadline = 0
	if r.Connecting && r.ConnectTimeout > 0 {
		r.deadline = r.last + int64(r.ConnectTimeout)
	}
	r.idle = int64(r.Idle)
	r.timed = r.deadline != 0 || r.idle != 0
	if r.timed {
		l.timed.Add(1)
	}
}

func (r *Relay) expired(now int64) bool {
	if r.Connecting {
		return r.deadline != 0 && now >= r.deadline
	}
	return r.idle > 0 && now-r.last >= r.idle
}

func (r *Relay) timeout() {
	if r.Connecting {
		r.connectFailed(ErrConnTimeout)
		return
	}
	r.end(ErrIdle)
}

const (
	evReadable = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
	evWritable = syscall.EPOLLOUT | syscall.EPOLLHUP | syscall.EPOLLERR
	evHup      = syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
)

func (r *Relay) event(side int, ev uint32) {
	r.last = r.loop.now
	if ev&evReadable != 0 {
		r.side[side].readable = true
		if ev&evHup != 0 {
			r.side[side].hup = true
		}
	}
	if ev&evWritable != 0 {
		r.side[side].writable = true
	}
	if r.Connecting {
		if side != sideServer || ev&evWritable == 0 {
			return
		}
		// Writable without an error: the handshake is done. An error
		// or hang-up: SO_ERROR tells which.
		if ev&(syscall.EPOLLERR|syscall.EPOLLHUP) != 0 {
			err := soError(r.Server.fd)
			if err == nil {
				err = os.NewSyscallError("connect", syscall.ECONNRESET)
			}
			r.connectFailed(err)
			return
		}
		r.Connecting = false
		r.Hooks.Connected(r)
	}
	if r.flow(0) {
		return
	}
	r.flow(1)
}

func soError(fd int) error {
	var v int32
	l := uint32(4)
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_ERROR,
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return os.NewSyscallError("getsockopt", e)
	}
	if v != 0 {
		return os.NewSyscallError("connect", syscall.Errno(v))
	}
	return nil
}

func (r *Relay) connectFailed(err error) {
	l := r.loop
	_ = r.Server.Close()
	r.side[sideServer] = sideState{writable: true}
	switch r.Hooks.ConnectFailed(r, err) {
	case Redial:
		r.deadline = 0
		if r.Connecting && r.ConnectTimeout > 0 {
			r.deadline = l.now + int64(r.ConnectTimeout)
			if !r.timed {
				r.timed = true
				l.timed.Add(1)
			}
		}
		if aerr := l.add(r, sideServer); aerr != nil {
			r.connectFailed(aerr)
			return
		}
		if !r.Connecting {
			r.Hooks.Connected(r)
			r.flow(0)
		}
	case Detach:
		_ = l.ctl(syscall.EPOLL_CTL_DEL, r.Client.fd, 0, 0, 0)
		r.Detached = true
		l.release(r)
		r.Hooks.Ended(r)
	default:
		r.end(err)
	}
}

// flow moves what it can in direction d; it reports whether the relay
// ended.
func (r *Relay) flow(d int) bool {
	x := &r.dir[d]
	if x.done {
		return false
	}
	src, dst := r.Client, r.Server
	if d == 1 {
		src, dst = dst, src
	}
	rs, ws := &r.side[d], &r.side[1-d]
	for {
		if len(x.pend) > 0 {
			if !ws.writable {
				return false
			}
			n, e := rawWrite(dst.fd, x.pend)
			if e == syscall.EAGAIN {
				ws.writable = false
				return false
			}
			if e != 0 {
				return r.fail(d, "write", e)
			}
			r.count(d, n)
			x.pend = x.pend[n:]
			if len(x.pend) > 0 {
				continue
			}
			putCopyBuf(x.pendBuf)
			x.pend, x.pendBuf = nil, nil
		}
		if x.inPipe > 0 {
			if !ws.writable {
				return false
			}
			n, e := rawSplice(x.pipe.r, dst.fd, x.inPipe)
			if e == syscall.EAGAIN {
				ws.writable = false
				return false
			}
			if e != 0 {
				return r.fail(d, "write", e)
			}
			r.count(d, n)
			x.inPipe -= n
			continue
		}
		if x.eof {
			x.done = true
			if r.dir[1-d].done {
				r.end(nil)
				return true
			}
			// The other way goes on: forward the half-close.
			_ = rawShutdown(dst.fd, syscall.SHUT_WR)
			return false
		}
		if !rs.readable {
			return false
		}
		if x.splicing {
			// The pipe is empty here: EAGAIN means src has nothing.
			n, e := rawSplice(src.fd, x.pipe.w, pipeSize)
			switch {
			case e == syscall.EAGAIN:
				rs.readable = false
				return false
			case e == syscall.EINVAL && x.inPipe == 0:
				// Not a pair splice can join: copy.
				putPipe(x.pipe, true)
				x.splicing = false
			case e != 0:
				return r.fail(d, "read", e)
			case n == 0:
				x.eof = true
			default:
				x.inPipe = n
			}
			continue
		}
		buf := r.loop.buf[:]
		n, e := rawRead(src.fd, buf)
		if e == syscall.EAGAIN {
			rs.readable = false
			return false
		}
		if e != 0 {
			return r.fail(d, "read", e)
		}
		if n == 0 {
			x.eof = true
			continue
		}
		if n < len(buf) && !rs.hup {
			rs.readable = false // drained (see sideState.hup)
		}
		if n == len(buf) {
			// A bulk stream: the next reads splice.
			if p, err := getPipe(); err == nil {
				x.pipe, x.splicing = p, true
				r.spliced = true
			}
		}
		w := 0
		if ws.writable {
			m, e := rawWrite(dst.fd, buf[:n])
			switch e {
			case 0:
				w = m
				r.count(d, m)
			case syscall.EAGAIN:
				ws.writable = false
			default:
				return r.fail(d, "write", e)
			}
		}
		if w < n {
			x.pendBuf = getCopyBuf()
			x.pend = append((*x.pendBuf)[:0], buf[w:n]...)
		}
	}
}

func (r *Relay) count(d, n int) {
	if d == 0 {
		r.In += int64(n)
	} else {
		r.Out += int64(n)
	}
}

func (r *Relay) fail(d int, op string, e syscall.Errno) bool {
	c := r.Client
	if (d == 0) == (op == "write") {
		c = r.Server
	}
	r.end(c.opError(op, os.NewSyscallError(op, e)))
	return true
}

// end closes both connections and hands r back to its owner.
func (r *Relay) end(err error) {
	l := r.loop
	r.Err = err
	_ = r.Client.Close() // close takes the socket out of the epoll set
	if r.Server != nil && !r.Server.closed.Load() {
		_ = r.Server.Close()
	}
	for i := range r.dir {
		x := &r.dir[i]
		if x.splicing {
			putPipe(x.pipe, x.inPipe == 0)
		}
		if x.pendBuf != nil {
			putCopyBuf(x.pendBuf)
		}
		r.dir[i] = direction{}
	}
	l.release(r)
	r.Hooks.Ended(r)
}

func rawRead(fd int, p []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

func rawWrite(fd int, p []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e != syscall.EINTR {
			return int(n), e
		}
	}
}

func rawSplice(in, out, n int) (int, syscall.Errno) {
	for {
		m, _, e := syscall.RawSyscall6(syscall.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), spliceNonblock|spliceMove)
		if e != syscall.EINTR {
			return int(m), e
		}
	}
}

// spliceMove asks the kernel to move pages rather than copy them.
const spliceMove = 0x1 // SPLICE_F_MOVE

var copyBufs = make(chan *[]byte, 64)

// getCopyBuf is a buffer for bytes a full socket did not take.
func getCopyBuf() *[]byte {
	select {
	case b := <-copyBufs:
		return b
	default:
		b := make([]byte, 0, copyBufSize)
		return &b
	}
}

func putCopyBuf(b *[]byte) {
	select {
	case copyBufs <- b:
	default:
	}
}

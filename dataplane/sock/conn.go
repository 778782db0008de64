// Package sock is the TCP connection of sluice's engines: a non-blocking
// socket read and written with raw system calls that waits on Go's poller
// only when a call would block, accepted and dialed without Go's address
// bookkeeping, and spliced to another one for bulk streams.
//
// A proxy pinned to one core spends most of its time in short read and
// write calls on non-blocking sockets. Go marks each as a possibly
// blocking system call; when one lasts past a scheduler tick (a loopback
// write runs the receiver's TCP path inline and often does), the runtime
// hands the processor to another thread and takes it back afterwards:
// two thread wake-ups and context switches for nothing, since the call
// never blocks. Raw calls cannot block here (the socket is non-blocking,
// EAGAIN parks the goroutine on the poller as net.Conn does), so they skip
// that bookkeeping.
//
// An accepted connection joins the poller only when it first has to wait:
// a client whose request is there at accept (TCP_DEFER_ACCEPT) and whose
// response leaves in one write is served and closed without the two
// epoll_ctl calls and the poller's bookkeeping.
package sock

import (
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// socket is what a Conn needs of the owner of its descriptor once it is on
// the poller: *net.TCPConn (wrapped) or *os.File (dialed, or accepted and
// registered). Both keep the deadlines and close the descriptor safely
// while other goroutines use it.
type socket interface {
	SyscallConn() (syscall.RawConn, error)
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Close() error
}

// Conn is a TCP connection. It implements net.Conn.
//
// An accepted Conn off the poller belongs to one goroutine, which alone
// reads, writes, sets deadlines and closes it: its raw calls on the
// descriptor take no lock, so a Close elsewhere could let them reach a
// descriptor number the kernel has handed to someone else. Register puts
// it on the poller (whose reference count makes every call safe from any
// goroutine) before a second goroutine uses it. Interrupt and Abort may be
// called from anywhere until the owner closes it.
type Conn struct {
	fd  int             // the descriptor; -1 once closed off the poller
	s   socket          // nil while off the poller
	rc  syscall.RawConn // s's
	tcp *net.TCPConn    // wrapped: its addresses
	to  netip.AddrPort  // dialed: the server's address; accepted: the client's

	// mu orders the owner's Register and Close of a Conn off the poller
	// with Interrupt and Abort from other goroutines.
	mu sync.Mutex
	// polled is set once s is: it publishes s to Interrupt and Abort.
	polled atomic.Bool
	// interrupted (under mu): an Interrupt came while off the poller;
	// the first wait starts with an expired read deadline.
	interrupted bool
	// closed is set by Close: os reports I/O on a closed file with its
	// own error, and callers expect net.ErrClosed.
	closed atomic.Bool

	// One state per direction: a tunnel reads and writes the same
	// connection from two goroutines.
	rd, wr rawIO
	// Deadlines asked for while off the poller, set when it joins.
	rdPending, wrPending time.Time

	// Poller callbacks of CloseWrite and Dial, bound once per Conn (a
	// closure handed to the poller escapes: two allocations a call), and
	// their results. Only the goroutine that half-closes or dials c uses
	// them.
	shutFn    func(fd uintptr)
	shutErr   error
	awaitFn   func(fd uintptr) bool
	await     awaitState
	connectFn func(fd uintptr) bool
	connect   connectState
}

var connPool sync.Pool

func getConn() *Conn {
	c, _ := connPool.Get().(*Conn)
	if c == nil {
		c = &Conn{}
		c.rd.fn = c.rd.read
		c.rd.now = c.rd.readOnce
		c.wr.fn = c.wr.write
		c.shutFn = c.shutdownWrite
		c.awaitFn = c.awaitStep
		c.connectFn = c.connect.check
	}
	c.fd = -1
	// Put cleared it; a Close of the old owner's after its Put must not
	// reach the new one.
	c.closed.Store(false)
	return c
}

// setSocket puts c on the poller through s.
func (c *Conn) setSocket(s socket) error {
	rc, err := s.SyscallConn()
	if err != nil {
		return err
	}
	c.s, c.rc = s, rc
	c.polled.Store(true)
	return nil
}

// Wrap returns c as a Conn when it is a *net.TCPConn, anything else
// (a Conn included) as it is. Closing stays with whoever accepted or
// dialed c; Put gives a wrapper back once nothing uses it any more.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	w := getConn()
	if err := w.setSocket(tc); err != nil {
		Put(w)
		return c
	}
	w.tcp = tc
	return w
}

// Put recycles c's wrapper (a no-op for other connections). c must not be
// used afterwards.
func Put(c net.Conn) {
	w, ok := c.(*Conn)
	if !ok {
		return
	}
	w.fd, w.s, w.rc, w.tcp, w.to = -1, nil, nil, nil, netip.AddrPort{}
	w.polled.Store(false)
	w.interrupted = false
	w.closed.Store(false)
	w.rd.p, w.wr.p = nil, nil
	w.rd.deadline, w.wr.deadline = lazyDeadline{}, lazyDeadline{}
	w.rdPending, w.wrPending = time.Time{}, time.Time{}
	connPool.Put(w)
}

// Register puts c on the poller now, as a connection that two goroutines
// are about to share must be. It is a no-op for one already there. Only
// c's owner calls it.
func (c *Conn) Register() error {
	if c.s != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return &net.OpError{Op: "register", Net: "tcp", Addr: c.RemoteAddr(), Err: net.ErrClosed}
	}
	// A non-blocking descriptor given to os.NewFile joins the poller,
	// which is all a socket needs from it; the File owns it from here.
	f := os.NewFile(uintptr(c.fd), "tcp")
	if err := c.setSocket(f); err != nil {
		// Only a nil File fails, and NewFile of a valid descriptor is
		// never nil: the descriptor stays c's to close.
		return c.opError("register", err)
	}
	var err error
	if !c.rdPending.IsZero() {
		err = f.SetReadDeadline(c.rdPending)
	}
	if c.interrupted && err == nil {
		err = f.SetReadDeadline(time.Now())
	}
	if !c.wrPending.IsZero() && err == nil {
		err = f.SetWriteDeadline(c.wrPending)
	}
	c.rdPending, c.wrPending = time.Time{}, time.Time{}
	if err != nil {
		return c.opError("register", err)
	}
	return nil
}

func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r := &c.rd
	if c.s == nil {
		if c.closed.Load() {
			return 0, c.opError("read", net.ErrClosed)
		}
		r.p = p
		done := r.read(uintptr(c.fd))
		r.p = nil
		if done {
			return c.readResult()
		}
		// Nothing there yet: wait on the poller.
		if err := c.Register(); err != nil {
			return 0, err
		}
	}
	r.p = p
	err := c.rc.Read(r.fn)
	r.p = nil
	if err != nil {
		return 0, c.opError("read", err)
	}
	return c.readResult()
}

func (c *Conn) readResult() (int, error) {
	r := &c.rd
	if r.errno != 0 {
		return 0, c.opError("read", r.errno)
	}
	if r.n == 0 {
		return 0, io.EOF
	}
	return r.n, nil
}

func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w := &c.wr
	w.p, w.n, w.errno = p, 0, 0
	if c.s == nil {
		if c.closed.Load() {
			w.p = nil
			return 0, c.opError("write", net.ErrClosed)
		}
		if w.write(uintptr(c.fd)) {
			n, errno := w.n, w.errno
			w.p = nil
			if errno != 0 {
				return n, c.opError("write", errno)
			}
			return n, nil
		}
		// The send queue is full: wait on the poller for room.
		if err := c.Register(); err != nil {
			n := w.n
			w.p = nil
			return n, err
		}
	}
	err := c.rc.Write(w.fn)
	n := w.n
	w.p = nil
	if err != nil {
		return n, c.opError("write", err)
	}
	if w.errno != 0 {
		return n, c.opError("write", w.errno)
	}
	return n, nil
}

// WriteAndAwait writes p, a request whose answer comes next, and waits
// until c has something to read: the next Read finds the answer there.
// The usual way, the first read after a write finds nothing yet and waits
// on the poller; here the write happens inside the poller's read call,
// after it has forgotten earlier wake-ups and before the answer can come,
// so that the wait needs no failed read first (one system call less per
// request, as in HAProxy). A peer that sent something before p and keeps
// the connection open and silent afterwards is not noticed until the next
// read deadline: a server never does that to a request it has yet to
// receive. If the wait ends by a deadline or a close, the next Read
// reports it. Off the poller, or if the socket does not take all of p at
// once, it is Write.
func (c *Conn) WriteAndAwait(p []byte) (int, error) {
	if c.s == nil || len(p) == 0 {
		return c.Write(p)
	}
	w := &c.wr
	w.p, w.n, w.errno = p, 0, 0
	c.await = awaitWrite
	_ = c.rc.Read(c.awaitFn) // its error is the next Read's to report
	n, errno, state := w.n, w.errno, c.await
	w.p = nil
	switch {
	case errno != 0:
		return n, c.opError("write", errno)
	case state == awaitWrite:
		// The poller refused before writing (closed, or a read
		// deadline passed): write the usual way, which reports it.
		return c.Write(p)
	case state == awaitPartial:
		m, err := c.Write(p[n:])
		return n + m, err
	}
	return n, nil
}

// awaitState is where WriteAndAwait's poller callback is.
type awaitState uint8

const (
	awaitWrite   awaitState = iota // p is still to write
	awaitReply                     // written; waiting for something to read
	awaitPartial                   // the socket took part of p
)

func (c *Conn) awaitStep(fd uintptr) bool {
	if c.await != awaitWrite {
		return true // woken: there is something to read
	}
	done := c.wr.write(fd)
	switch {
	case c.wr.errno != 0:
		return true
	case !done:
		c.await = awaitPartial
		return true
	}
	c.await = awaitReply
	return false
}

// ReadNow reads what the socket holds already, without waiting: 0 when
// nothing is there yet or on EOF or an error, which the next Read
// reports. It lets a response whose body arrived in several segments
// leave in one write.
func (c *Conn) ReadNow(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	r := &c.rd
	r.p, r.n, r.errno = p, 0, 0
	var err error
	if c.s == nil {
		r.readOnce(uintptr(c.fd))
	} else {
		err = c.rc.Read(r.now)
	}
	r.p = nil
	if err != nil || r.errno != 0 {
		return 0
	}
	return r.n
}

// opError reports err as net.Conn does; a closed file says net.ErrClosed
// like a closed net.Conn.
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		return oe // from the poller of a wrapped connection, already wrapped
	}
	if c.closed.Load() {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// control runs f on the descriptor: through the poller's reference count
// when c is on it, directly when only its owner can be using it.
func (c *Conn) control(f func(fd int) error) error {
	if c.s == nil {
		if c.closed.Load() {
			return net.ErrClosed
		}
		return f(c.fd)
	}
	var ferr error
	if err := c.rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// CloseWrite sends a FIN: the peer reads EOF, and can still send.
func (c *Conn) CloseWrite() error {
	if c.tcp != nil {
		return c.tcp.CloseWrite()
	}
	var err error
	if c.s == nil {
		if c.closed.Load() {
			err = net.ErrClosed
		} else {
			err = rawShutdown(c.fd, syscall.SHUT_WR)
		}
	} else if err = c.rc.Control(c.shutFn); err == nil {
		err, c.shutErr = c.shutErr, nil
	}
	if err != nil {
		return c.opError("close", os.NewSyscallError("shutdown", err))
	}
	return nil
}

func (c *Conn) shutdownWrite(fd uintptr) { c.shutErr = rawShutdown(int(fd), syscall.SHUT_WR) }

// Close is the owner's: off the poller, nothing else may be using c.
func (c *Conn) Close() error {
	if c.s != nil {
		c.closed.Store(true)
		return c.s.Close()
	}
	c.mu.Lock()
	if c.closed.Swap(true) {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	// Past this point Abort leaves the descriptor alone: its number may
	// belong to another connection as soon as it is closed.
	fd := c.fd
	c.fd = -1
	c.mu.Unlock()
	if err := rawClose(fd); err != nil {
		return c.opError("close", os.NewSyscallError("close", err))
	}
	return nil
}

// Closed reports whether Close has been called.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Interrupt wakes a goroutine waiting to read from c, as an expired read
// deadline does; the owner's next SetReadDeadline lifts it. Off the
// poller nobody waits yet: the first wait starts expired. It is how a
// drain reaches connections idle between requests.
func (c *Conn) Interrupt() {
	if !c.polled.Load() {
		c.mu.Lock()
		if !c.polled.Load() {
			c.interrupted = true
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
	_ = c.s.SetReadDeadline(time.Now())
}

// Abort ends c for whoever is using it: both directions are shut down, so
// a read returns EOF and a write fails, waiting or not. The owner still
// closes c; an Abort after that does nothing.
func (c *Conn) Abort() {
	if !c.polled.Load() {
		c.mu.Lock()
		if !c.polled.Load() {
			if !c.closed.Load() {
				_ = rawShutdown(c.fd, syscall.SHUT_RDWR)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
	_ = c.rc.Control(func(fd uintptr) { _ = rawShutdown(int(fd), syscall.SHUT_RDWR) })
}

func (c *Conn) LocalAddr() net.Addr {
	if c.tcp != nil {
		return c.tcp.LocalAddr()
	}
	// Only logs and errors ask for it: learned when asked.
	var sa syscall.Sockaddr
	_ = c.control(func(fd int) (err error) {
		sa, err = syscall.Getsockname(fd)
		return err
	})
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
	}
	return &net.TCPAddr{}
}

func (c *Conn) RemoteAddr() net.Addr {
	if c.tcp != nil {
		return c.tcp.RemoteAddr()
	}
	return net.TCPAddrFromAddrPort(c.to)
}

// RemoteAddrPort is the peer's address without an allocation.
func (c *Conn) RemoteAddrPort() netip.AddrPort {
	if c.tcp != nil {
		if ta, ok := c.tcp.RemoteAddr().(*net.TCPAddr); ok {
			return ta.AddrPort()
		}
	}
	return c.to
}

func (c *Conn) setReadDeadline(t time.Time) error {
	if c.s == nil {
		c.rdPending = t
		return nil
	}
	return c.s.SetReadDeadline(t)
}

func (c *Conn) setWriteDeadline(t time.Time) error {
	if c.s == nil {
		c.wrPending = t
		return nil
	}
	return c.s.SetWriteDeadline(t)
}

func (c *Conn) SetReadDeadline(t time.Time) error {
	return c.rd.deadline.update(t, c.setReadDeadline)
}

func (c *Conn) SetWriteDeadline(t time.Time) error {
	return c.wr.deadline.update(t, c.setWriteDeadline)
}

func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SyscallConn gives the descriptor to code that needs it (socket options);
// c joins the poller first.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	if err := c.Register(); err != nil {
		return nil, err
	}
	return c.rc, nil
}

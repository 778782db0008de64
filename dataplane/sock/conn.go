// Package sock is the TCP connection of sluice's engines: a non-blocking
// socket read and written with raw system calls that waits on Go's poller
// only when a call would block, dialed without Go's resolver machinery, and
// spliced to another one for bulk streams.
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
package sock

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// socket is what a Conn needs of the descriptor's owner: *net.TCPConn
// for accepted connections, *os.File for dialed ones. Both register the
// descriptor with Go's poller and keep its deadlines.
type socket interface {
	SyscallConn() (syscall.RawConn, error)
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Close() error
}

// Conn is a TCP connection. It implements net.Conn.
type Conn struct {
	s   socket
	rc  syscall.RawConn
	tcp *net.TCPConn   // accepted: its addresses; nil when dialed
	to  netip.AddrPort // dialed: the server's address

	// closed is set by Close: os reports I/O on a closed file with its
	// own error, and callers expect net.ErrClosed.
	closed atomic.Bool

	// One state per direction: a tunnel reads and writes the same
	// connection from two goroutines.
	rd, wr rawIO
}

var connPool sync.Pool

func getConn(s socket) (*Conn, error) {
	rc, err := s.SyscallConn()
	if err != nil {
		return nil, err
	}
	c, _ := connPool.Get().(*Conn)
	if c == nil {
		c = &Conn{}
		c.rd.fn = c.rd.read
		c.rd.now = c.rd.readOnce
		c.wr.fn = c.wr.write
	}
	c.s, c.rc = s, rc
	return c, nil
}

// Wrap returns c as a Conn when it is a TCP connection, anything else as
// it is. Closing stays with whoever accepted or dialed c; Put gives the
// wrapper back once nothing uses it any more.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	w, err := getConn(tc)
	if err != nil {
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
	w.s, w.rc, w.tcp, w.to = nil, nil, nil, netip.AddrPort{}
	w.closed.Store(false)
	w.rd.p, w.wr.p = nil, nil
	w.rd.deadline, w.wr.deadline = lazyDeadline{}, lazyDeadline{}
	connPool.Put(w)
}

// Dial connects to addr, waiting at most timeout (0: no limit) for the
// handshake. Nagle's algorithm is off, as on Go's TCP connections: a proxy
// writes whole heads and bodies.
//
// A handshake done by the time connect returns (loopback) costs socket,
// setsockopt, connect, fcntl and epoll_ctl for the poller, and getpeername;
// Go's dialer adds address resolution, a context per dial, getsockname and
// an SO_ERROR read.
func Dial(addr netip.AddrPort, timeout time.Duration) (*Conn, error) {
	sa, family, err := sockaddr(addr)
	if err != nil {
		return nil, dialError(addr, err)
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, dialError(addr, os.NewSyscallError("socket", err))
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		syscall.Close(fd)
		return nil, dialError(addr, os.NewSyscallError("setsockopt", err))
	}
	pending := false
	switch err := syscall.Connect(fd, sa); err {
	case nil, syscall.EISCONN:
	// An interrupted connect goes on in the background, as one in progress.
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		pending = true
	default:
		syscall.Close(fd)
		return nil, dialError(addr, os.NewSyscallError("connect", err))
	}
	// A non-blocking descriptor given to os.NewFile is registered with the
	// poller, which is all a socket needs from it.
	f := os.NewFile(uintptr(fd), "tcp")
	c, err := getConn(f)
	if err != nil {
		f.Close()
		return nil, dialError(addr, err)
	}
	c.to = addr
	if pending {
		if err := c.awaitConnect(timeout); err != nil {
			f.Close()
			Put(c)
			return nil, dialError(addr, err)
		}
	}
	return c, nil
}

// awaitConnect waits for the handshake of a non-blocking connect: the
// socket turns writable, and SO_ERROR tells how it ended.
func (c *Conn) awaitConnect(timeout time.Duration) error {
	if timeout > 0 {
		if err := c.s.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		defer c.s.SetWriteDeadline(time.Time{})
	}
	first := true
	var soerr error
	err := c.rc.Write(func(fd uintptr) bool {
		// The poller forgets a wake-up that came before this call, so the
		// first look is at the socket: a peer name means the handshake is
		// done (on loopback it often is); otherwise SO_ERROR tells a
		// failure from a handshake still going on. After a wake-up,
		// SO_ERROR alone tells.
		looked := first
		first = false
		if looked {
			if _, err := syscall.Getpeername(int(fd)); err == nil {
				return true
			}
		}
		n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err != nil {
			soerr = os.NewSyscallError("getsockopt", err)
			return true
		}
		switch e := syscall.Errno(n); e {
		case 0, syscall.EISCONN:
			return !looked
		case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
			return false
		default:
			soerr = os.NewSyscallError("connect", e)
			return true
		}
	})
	if err != nil {
		return err
	}
	return soerr
}

func sockaddr(addr netip.AddrPort) (syscall.Sockaddr, int, error) {
	ip := addr.Addr()
	switch {
	case ip.Is4() || ip.Is4In6():
		return &syscall.SockaddrInet4{Port: int(addr.Port()), Addr: ip.Unmap().As4()}, syscall.AF_INET, nil
	case ip.Is6() && ip.Zone() == "":
		return &syscall.SockaddrInet6{Port: int(addr.Port()), Addr: ip.As16()}, syscall.AF_INET6, nil
	}
	return nil, 0, errors.New("address needs the system dialer")
}

// Dialable reports whether Dial takes addr: an IPv4 or IPv6 address
// without a zone.
func Dialable(addr netip.AddrPort) bool {
	_, _, err := sockaddr(addr)
	return err == nil && addr.Port() != 0
}

func dialError(addr netip.AddrPort, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: err}
}

func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r := &c.rd
	r.p = p
	err := c.rc.Read(r.fn)
	r.p = nil
	if err != nil {
		return 0, c.opError("read", err)
	}
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
	err := c.rc.Read(r.now)
	r.p = nil
	if err != nil || r.errno != 0 {
		return 0
	}
	return r.n
}

// opError reports err as net.Conn does; a closed dialed connection says
// net.ErrClosed like an accepted one.
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		return oe // from the poller of an accepted connection, already wrapped
	}
	if c.closed.Load() {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// CloseWrite sends a FIN: the peer reads EOF, and can still send.
func (c *Conn) CloseWrite() error {
	if c.tcp != nil {
		return c.tcp.CloseWrite()
	}
	var serr error
	err := c.rc.Control(func(fd uintptr) {
		serr = syscall.Shutdown(int(fd), syscall.SHUT_WR)
	})
	if err == nil && serr != nil {
		err = os.NewSyscallError("shutdown", serr)
	}
	if err != nil {
		return c.opError("close", err)
	}
	return nil
}

func (c *Conn) Close() error {
	c.closed.Store(true)
	return c.s.Close()
}

func (c *Conn) LocalAddr() net.Addr {
	if c.tcp != nil {
		return c.tcp.LocalAddr()
	}
	// Dialed connections learn their own address only when asked: it is
	// for logs and errors.
	var sa syscall.Sockaddr
	_ = c.rc.Control(func(fd uintptr) { sa, _ = syscall.Getsockname(int(fd)) })
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

func (c *Conn) SetReadDeadline(t time.Time) error {
	return c.rd.deadline.update(t, c.s.SetReadDeadline)
}

func (c *Conn) SetWriteDeadline(t time.Time) error {
	return c.wr.deadline.update(t, c.s.SetWriteDeadline)
}

func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SyscallConn gives the descriptor to code that needs it (socket options).
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

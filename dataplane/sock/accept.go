package sock

import (
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
)

// Listener accepts TCP connections as Conns off the poller. Go's Accept
// registers every connection with the poller and asks the kernel for its
// local address and sets TCP_NODELAY: three system calls, and one more
// (epoll_ctl at close) for a connection that never waits.
//
// It implements net.Listener; Accept returns *Conn, which the caller
// closes and then gives back with Put.
type Listener struct {
	// f is the listening socket. Go's listener offers no way to wait for
	// a connection other than its own Accept (its raw Read is refused),
	// so the socket moves to a File, whose raw Read waits on the poller.
	f      *os.File
	rc     syscall.RawConn
	addr   net.Addr
	closed atomic.Bool
	// inherit: accepted sockets inherit TCP_NODELAY from the listener
	// (Linux does), so Accept need not set it on each.
	inherit bool
	checked bool

	// The result of the callback, kept here so that it is bound once.
	nfd int
	to  netip.AddrPort
	err error
	fn  func(fd uintptr) bool
}

// NewListener takes over ln: it is closed, and the socket it listened on
// lives on in the Listener, which the caller closes instead.
func NewListener(ln *net.TCPListener) (*Listener, error) {
	f, err := ln.File()
	if err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	l := &Listener{f: f, rc: rc, addr: ln.Addr()}
	l.fn = l.accept
	// Nagle off on the listener, for the connections to inherit.
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	}); err == nil && serr == nil {
		l.inherit = true
	}
	// The File holds its own descriptor of the socket (ln.File is a dup).
	if err := ln.Close(); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

func (l *Listener) accept(fd uintptr) bool {
	for {
		nfd, to, errno := rawAccept4(int(fd))
		switch errno {
		case 0:
			l.nfd, l.to, l.err = nfd, to, nil
			return true
		case syscall.EINTR, syscall.ECONNABORTED:
			// A client that gave up in the queue: take the next.
		case syscall.EAGAIN:
			return false
		default:
			l.err = os.NewSyscallError("accept4", errno)
			return true
		}
	}
}

// Accept waits for the next connection; it returns a *Conn. Only one
// goroutine may call it. Errors of the closed listener satisfy
// errors.Is(err, net.ErrClosed).
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.AcceptConn()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AcceptConn is Accept with the connection's own type.
func (l *Listener) AcceptConn() (*Conn, error) {
	if err := l.rc.Read(l.fn); err != nil {
		if l.closed.Load() {
			err = net.ErrClosed // os reports it as its own "file already closed"
		}
		return nil, l.opError(err)
	}
	if l.err != nil {
		return nil, l.opError(l.err)
	}
	fd := l.nfd
	if !l.checked {
		// Inheriting TCP_NODELAY is Linux's behaviour, not a promise:
		// the first connection tells.
		l.checked = true
		if v, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); err != nil || v == 0 {
			l.inherit = false
		}
	}
	if !l.inherit {
		// Nagle off, as Go does on accepted connections: heads and small
		// bodies leave at once.
		if err := rawSetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
			rawClose(fd)
			return nil, l.opError(os.NewSyscallError("setsockopt", err))
		}
	}
	c := getConn()
	c.fd = fd
	c.to = l.to
	return c, nil
}

func (l *Listener) opError(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err}
}

// Close stops the listener; a blocked Accept returns net.ErrClosed.
// Connections accepted already are left alone.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return l.opError(net.ErrClosed)
	}
	if err := l.f.Close(); err != nil {
		return l.opError(err)
	}
	return nil
}

// Addr is the address listened on.
func (l *Listener) Addr() net.Addr { return l.addr }

// SyscallConn gives the listening socket to code that sets options on it
// (TCP_DEFER_ACCEPT).
func (l *Listener) SyscallConn() (syscall.RawConn, error) { return l.rc, nil }

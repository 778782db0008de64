package sock

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// Dial connects to addr, waiting at most timeout (0: no limit) for the
// handshake. Nagle's algorithm is off, as on Go's TCP connections: a proxy
// writes whole heads and bodies.
//
// A handshake done by the time connect returns (loopback) costs socket,
// setsockopt, connect, fcntl and epoll_ctl for the poller, and getpeername;
// Go's dialer adds address resolution, a context per dial, getsockname and
// an SO_ERROR read.
func Dial(addr netip.AddrPort, timeout time.Duration) (*Conn, error) {
	c, connected, err := DialStart(addr)
	if err != nil {
		return nil, err
	}
	if err := c.Register(); err != nil {
		c.Close()
		Put(c)
		return nil, dialError(addr, err)
	}
	if !connected {
		if err := c.awaitConnect(timeout); err != nil {
			c.Close()
			Put(c)
			return nil, dialError(addr, err)
		}
	}
	return c, nil
}

// DialStart starts connecting to addr and returns at once with a Conn off
// the poller: connected reports whether the handshake is already done (on
// loopback it usually is); otherwise the socket turns writable when it
// ends, and ConnectError tells how. A Loop waits for it that way.
func DialStart(addr netip.AddrPort) (c *Conn, connected bool, err error) {
	fam, err := family(addr)
	if err != nil {
		return nil, false, dialError(addr, err)
	}
	fd, err := syscall.Socket(fam, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, false, dialError(addr, os.NewSyscallError("socket", err))
	}
	if err := rawSetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		rawClose(fd)
		return nil, false, dialError(addr, os.NewSyscallError("setsockopt", err))
	}
	connected = true
	switch err := rawConnect(fd, addr); err {
	case 0, syscall.EISCONN:
	// An interrupted connect goes on in the background, as one in progress.
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		connected = false
	default:
		rawClose(fd)
		return nil, false, dialError(addr, os.NewSyscallError("connect", err))
	}
	c = getConn()
	c.fd = fd
	c.to = addr
	return c, connected, nil
}

// awaitConnect waits for the handshake of a non-blocking connect: the
// socket turns writable, and SO_ERROR tells how it ended.
func (c *Conn) awaitConnect(timeout time.Duration) error {
	// On loopback the handshake is often done by the time connect
	// returns: then there is no deadline to arm and disarm (a runtime
	// timer each). Nobody else holds c yet, so its descriptor is ours.
	if rawConnected(c.fd) {
		return nil
	}
	if timeout > 0 {
		if err := c.s.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		defer c.s.SetWriteDeadline(time.Time{})
	}
	c.connect = connectState{first: true}
	err := c.rc.Write(c.connectFn)
	soerr := c.connect.err
	c.connect = connectState{}
	if err != nil {
		return err
	}
	return soerr
}

// connectState is awaitConnect's poller callback and what it found.
type connectState struct {
	first bool
	err   error
}

func (s *connectState) check(fd uintptr) bool {
	// The poller forgets a wake-up that came before this call, so the
	// first look is at the socket: a peer name means the handshake is
	// done (on loopback it often is); otherwise SO_ERROR tells a
	// failure from a handshake still going on. After a wake-up,
	// SO_ERROR alone tells.
	looked := s.first
	s.first = false
	if looked && rawConnected(int(fd)) {
		return true
	}
	n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err != nil {
		s.err = os.NewSyscallError("getsockopt", err)
		return true
	}
	switch e := syscall.Errno(n); e {
	case 0, syscall.EISCONN:
		return !looked
	case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
		return false
	default:
		s.err = os.NewSyscallError("connect", e)
		return true
	}
}

// family is the socket family Dial uses for addr.
func family(addr netip.AddrPort) (int, error) {
	ip := addr.Addr()
	switch {
	case ip.Is4() || ip.Is4In6():
		return syscall.AF_INET, nil
	case ip.Is6() && ip.Zone() == "":
		return syscall.AF_INET6, nil
	}
	return 0, errors.New("address needs the system dialer")
}

// Dialable reports whether Dial takes addr: an IPv4 or IPv6 address
// without a zone.
func Dialable(addr netip.AddrPort) bool {
	_, err := family(addr)
	return err == nil && addr.Port() != 0
}

func dialError(addr netip.AddrPort, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: err}
}

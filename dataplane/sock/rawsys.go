package sock

import (
	"net/netip"
	"syscall"
	"unsafe"
)

// The socket calls of a connection's life (accept, connect, setsockopt,
// shutdown, close) as raw system calls, as reads and writes are (see
// rawio.go). On a non-blocking socket none of them blocks, but a loopback
// connect or shutdown runs the peer's TCP path inline and can take tens of
// microseconds. Through syscall.Syscall every one of them tells the
// runtime it may block: the first after the process went idle wakes the
// runtime's monitor thread, which then polls every 20 µs and hands the
// processor of a call that outlasts a poll to another thread.
//
// Raw calls return the addresses as netip values, without the Sockaddr
// that syscall allocates for each accept and connect.

func rawAccept4(fd int) (int, netip.AddrPort, syscall.Errno) {
	var rsa syscall.RawSockaddrAny
	l := uint32(syscall.SizeofSockaddrAny)
	nfd, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, uintptr(fd),
		uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)),
		syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, netip.AddrPort{}, e
	}
	return int(nfd), rawAddrPort(&rsa), 0
}

func rawAddrPort(rsa *syscall.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port))
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), ntohs(sa.Port))
	}
	return netip.AddrPort{}
}

// ntohs reads a port kept in network byte order.
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func htons(p uint16) uint16 {
	var v uint16
	b := (*[2]byte)(unsafe.Pointer(&v))
	b[0], b[1] = byte(p>>8), byte(p)
	return v
}

// rawConnect starts connecting fd (of family AF_INET for an IPv4 addr,
// AF_INET6 otherwise) to addr.
func rawConnect(fd int, addr netip.AddrPort) syscall.Errno {
	ip := addr.Addr()
	var e syscall.Errno
	if ip.Is4() || ip.Is4In6() {
		sa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Port: htons(addr.Port()), Addr: ip.Unmap().As4()}
		_, _, e = syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), syscall.SizeofSockaddrInet4)
	} else {
		sa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Port: htons(addr.Port()), Addr: ip.As16()}
		_, _, e = syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), syscall.SizeofSockaddrInet6)
	}
	return e
}

func rawSetsockoptInt(fd, level, opt, v int) error {
	iv := int32(v)
	_, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&iv)), 4, 0)
	if e != 0 {
		return e
	}
	return nil
}

func rawShutdown(fd, how int) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0)
	if e != 0 {
		return e
	}
	return nil
}

func rawClose(fd int) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// rawConnected reports whether fd has a peer: its handshake is done.
func rawConnected(fd int) bool {
	var rsa syscall.RawSockaddrAny
	l := uint32(syscall.SizeofSockaddrAny)
	_, _, e := syscall.RawSyscall(syscall.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	return e == 0
}

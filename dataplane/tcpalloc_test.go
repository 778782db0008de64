//go:build !race

package dataplane

import (
	"context"
	"net/netip"
	"syscall"
	"testing"
	"unsafe"

	"sluice.dev/sluice/config"
)

// A blocking loopback socket driven with bare system calls: the client and
// server of TestTCPSessionAllocs allocate nothing, so what is counted is
// the proxy's.
func rawListen(tb testing.TB) (int, netip.AddrPort) {
	tb.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Listen(fd, 128); err != nil {
		tb.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { syscall.Shutdown(fd, syscall.SHUT_RDWR); syscall.Close(fd) })
	return fd, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
}

func rawDial(addr *syscall.RawSockaddrInet4) (int, error) {
	fd, _, e := syscall.RawSyscall(syscall.SYS_SOCKET, syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	if _, _, e := syscall.Syscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(addr)), syscall.SizeofSockaddrInet4); e != 0 {
		syscall.Close(int(fd))
		return -1, e
	}
	return int(fd), nil
}

func rawSockaddr(ap netip.AddrPort) *syscall.RawSockaddrInet4 {
	sa := &syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ap.Addr().As4()}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(ap.Port()>>8), byte(ap.Port())
	return sa
}

// readAll reads fd to EOF into buf, returning the byte count.
func readAll(fd int, buf []byte) int {
	n := 0
	for {
		m, _, e := syscall.Syscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&buf[n])), uintptr(len(buf)-n))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 || m == 0 {
			return n
		}
		n += int(m)
	}
}

// tcpSessionRig runs a proxy in mode tcp in front of a server that answers
// 64 bytes and closes, and returns one session through it (accept,
// connect, "64\n" one way, 64 bytes and a close the other), which records
// its first failure in *failed.
func tcpSessionRig(t testing.TB) (session func(), failed *error) {
	lfd, baddr := rawListen(t)
	answer := make([]byte, 64)
	go func() {
		req := make([]byte, 16)
		for {
			fd, _, e := syscall.Syscall6(syscall.SYS_ACCEPT4, uintptr(lfd), 0, 0, syscall.SOCK_CLOEXEC, 0, 0)
			if e == syscall.EINTR {
				continue
			}
			if e != 0 {
				return
			}
			// The request ("64\n") in one read, as loopback delivers it.
			syscall.Syscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&req[0])), uintptr(len(req)))
			syscall.Syscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&answer[0])), uintptr(len(answer)))
			syscall.Close(int(fd))
		}
	}()
	port := freePort(t)
	cfg := &config.Config{
		Frontends: []*config.Frontend{{Name: "fe", Mode: config.ModeTCP, Binds: []config.Bind{{Host: "127.0.0.1", Port: port}}, DefaultBackend: "app"}},
		Backends: []*config.Backend{{Name: "app", Mode: config.ModeTCP, Servers: []config.Server{
			{Name: "s1", Host: "127.0.0.1", Port: int(baddr.Port()), Weight: 1}}}},
	}
	rt := New(Options{})
	if err := rt.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Shutdown(context.Background()) })
	paddr := rawSockaddr(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port)))
	req := []byte("64\n")
	buf := make([]byte, 256)
	failed = new(error)
	session = func() {
		fd, err := rawDial(paddr)
		if err != nil {
			if *failed == nil {
				*failed = err
			}
			return
		}
		syscall.Syscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&req[0])), uintptr(len(req)))
		if n := readAll(fd, buf); n != 64 && *failed == nil {
			*failed = syscall.EPROTO
		}
		syscall.Close(fd)
	}
	return session, failed
}

// TestTCPSessionAllocs counts what a mode tcp session allocates in the
// proxy.
func TestTCPSessionAllocs(t *testing.T) {
	session, failed := tcpSessionRig(t)
	for range 200 {
		session()
	}
	if *failed != nil {
		t.Fatal(*failed)
	}
	allocs := testing.AllocsPerRun(2000, session)
	if *failed != nil {
		t.Fatal(*failed)
	}
	t.Logf("allocations per mode tcp session: %.2f", allocs)
	if allocs > maxTCPSessionAllocs {
		t.Fatalf("a mode tcp session allocates %.2f times, want at most %.2f", allocs, maxTCPSessionAllocs)
	}
}

// BenchmarkTCPSession times a whole mode tcp session, client and server
// included (they share the machine with the proxy): latency, not CPU.
func BenchmarkTCPSession(b *testing.B) {
	session, failed := tcpSessionRig(b)
	b.ReportAllocs()
	for b.Loop() {
		session()
	}
	if *failed != nil {
		b.Fatal(*failed)
	}
}

// maxTCPSessionAllocs: a session on a relay loop reuses everything (the
// connections, the session and its relay, the loop's buffer); only a
// collection emptying a pool between runs could make it allocate.
const maxTCPSessionAllocs = 0.05

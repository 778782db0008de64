// Package support holds what the test suites share: a buffer that a child
// process and the test write and read at once, free loopback ports, a
// loopback server for hand-written peers, and certificates made for the
// test.
package support

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer safe for one writer (a child's output) and
// readers in other goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago
// and that no earlier call of this process returned: the kernel may hand
// a port just released to the next listener asking for any, so two calls
// in a row (an HTTP and an HTTPS port, say) could otherwise get the same.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		given.Lock()
		seen := given.addrs[addr]
		given.addrs[addr] = true
		given.Unlock()
		if !seen {
			return addr
		}
	}
	tb.Fatal("no loopback port left that was not handed out before")
	return ""
}

// given are the addresses FreeAddr returned.
var given = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// FreePort is FreeAddr's port.
func FreePort(tb testing.TB) int {
	tb.Helper()
	_, port, _ := net.SplitHostPort(FreeAddr(tb))
	n, _ := strconv.Atoi(port)
	return n
}

// ServeConns listens on 127.0.0.1 and runs handle on each connection it
// accepts, closing the connection afterwards, until the test ends. It
// returns the listener's address.
func ServeConns(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// TCPPair returns the two ends of a loopback TCP connection, the dialed one
// first; both are closed when the test ends.
func TCPPair(tb testing.TB) (dialed, accepted net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		peers <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	peer := <-peers
	if peer == nil {
		c.Close()
		tb.Fatal("accept failed")
	}
	tb.Cleanup(func() { c.Close(); peer.Close() })
	return c, peer
}

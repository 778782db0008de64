package support

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

func TestSyncBufferConcurrent(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				fmt.Fprintf(&b, "x")
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := strings.Count(b.String(), "x"); got != 800 {
		t.Fatalf("%d bytes written, want 800", got)
	}
}

func TestFreePortIsBindable(t *testing.T) {
	port := FreePort(t)
	if port <= 0 || port > 65535 {
		t.Fatalf("port %d", port)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("port %d not free: %v", port, err)
	}
	ln.Close()
}

// Ports handed out are never handed out again within a process, however
// often the kernel offers a released one.
func TestFreeAddrDistinct(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		a := FreeAddr(t)
		if seen[a] {
			t.Fatalf("%s handed out twice", a)
		}
		seen[a] = true
	}
}

// ServeConns serves every connection, several at once, and closes each
// when its handler returns: the client reads the answer up to EOF.
func TestServeConns(t *testing.T) {
	addr := ServeConns(t, func(c net.Conn) {
		line := make([]byte, 5)
		if _, err := io.ReadFull(c, line); err == nil {
			_, _ = c.Write(append([]byte("re:"), line...))
		}
	})
	conns := make([]net.Conn, 3)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		fmt.Fprintf(c, "ping%d", i)
		got, err := io.ReadAll(c)
		if err != nil || string(got) != fmt.Sprintf("re:ping%d", i) {
			t.Fatalf("connection %d: %q, %v", i, got, err)
		}
	}
}

// TCPPair's ends are connected to each other, both ways.
func TestTCPPair(t *testing.T) {
	a, b := TCPPair(t)
	for _, dir := range []struct{ from, to net.Conn }{{a, b}, {b, a}} {
		if _, err := dir.from.Write([]byte("hi")); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 2)
		if _, err := io.ReadFull(dir.to, got); err != nil || string(got) != "hi" {
			t.Fatalf("read %q, %v", got, err)
		}
	}
}

package dataplane

import (
	"bytes"
	"context"
	"io"
	"net"
	"syscall"
	"testing"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/sock"
	"sluice.dev/sluice/test/support"
)

// tcpPair returns the two ends of a loopback TCP connection: the first as
// the engines hold it (a sock.Conn), or as Go's *net.TCPConn when plain.
func tcpPair(t *testing.T, plain bool) (net.Conn, net.Conn) {
	t.Helper()
	c, peer := support.TCPPair(t)
	if plain {
		return c, peer
	}
	return sock.Wrap(c), peer
}

// copyAuto carries every byte of short exchanges and of bulk streams (which
// move to the splice path after the first full buffer), wrapped or not.
func TestCopyAuto(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		plain bool
	}{
		{"empty", 0, false},
		{"small", 64, false},
		{"one buffer", 16 << 10, false},
		{"bulk", 3<<20 + 17, false},
		{"bulk, plain net.Conn", 3<<20 + 17, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, srcPeer := tcpPair(t, tc.plain)
			dst, dstPeer := tcpPair(t, tc.plain)
			payload := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstu\n"), tc.size/32+1)[:tc.size]
			go func() {
				srcPeer.Write(payload)
				srcPeer.(*net.TCPConn).CloseWrite()
			}()
			got := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(dstPeer)
				got <- b
			}()
			n, err := copyAuto(dst, src)
			if err != nil || n != int64(tc.size) {
				t.Fatalf("copyAuto = %d, %v; want %d", n, err, tc.size)
			}
			dst.(interface{ CloseWrite() error }).CloseWrite()
			if b := <-got; !bytes.Equal(b, payload) {
				t.Fatalf("peer got %d bytes, not the %d sent", len(b), len(payload))
			}
		})
	}
}

func deferAcceptOf(t *testing.T, rt *Runtime) int {
	t.Helper()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.listeners) != 1 {
		t.Fatalf("%d listeners, want 1", len(rt.listeners))
	}
	var v int
	for _, l := range rt.listeners {
		rc, err := l.ln.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var serr error
		rc.Control(func(fd uintptr) {
			v, serr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT)
		})
		if serr != nil {
			t.Fatal(serr)
		}
	}
	return v
}

// Mode http listeners wait for the client's first bytes in the kernel; a
// reload that turns the same bind to mode tcp (where servers may speak
// first) turns that off, and back.
func TestDeferAcceptFollowsMode(t *testing.T) {
	port := freePort(t)
	cfg := func(mode config.Mode) *config.Config {
		return &config.Config{
			Frontends: []*config.Frontend{{Name: "fe", Mode: mode, Binds: []config.Bind{{Host: "127.0.0.1", Port: port}}, DefaultBackend: "app"}},
			Backends:  []*config.Backend{{Name: "app", Mode: mode, Servers: []config.Server{{Name: "s1", Host: "127.0.0.1", Port: 1, Weight: 1}}}},
		}
	}
	rt := New(Options{})
	t.Cleanup(func() { rt.Shutdown(context.Background()) })
	var first net.Listener
	for i, step := range []struct {
		mode config.Mode
		on   bool
	}{{config.ModeHTTP, true}, {config.ModeTCP, false}, {config.ModeHTTP, true}} {
		if err := rt.Apply(cfg(step.mode)); err != nil {
			t.Fatal(err)
		}
		if got := deferAcceptOf(t, rt) != 0; got != step.on {
			t.Fatalf("step %d (mode %v): defer-accept on = %v, want %v", i, step.mode, got, step.on)
		}
		// One listener throughout, sock's (whose connections join the
		// poller only when they wait) in both modes.
		rt.mu.Lock()
		for _, l := range rt.listeners {
			if _, ok := l.ln.(*sock.Listener); !ok {
				t.Errorf("step %d: listener is a %T, want a *sock.Listener", i, l.ln)
			}
			if first == nil {
				first = l.ln
			} else if l.ln != first {
				t.Errorf("step %d: the reload replaced the listener", i)
			}
		}
		rt.mu.Unlock()
	}
}

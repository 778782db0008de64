package sock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/test/support"
)

// accepted returns the two ends of a loopback TCP connection, the first
// one wrapped in a Conn.
func accepted(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	c, peer := support.TCPPair(t)
	w, ok := Wrap(c).(*Conn)
	if !ok {
		t.Fatal("a TCP connection was not wrapped")
	}
	t.Cleanup(func() { w.Close() })
	return w, peer
}

// dialed returns a Conn made by Dial and the peer it reached.
func dialed(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		peers <- c
	}()
	c, err := Dial(ln.Addr().(*net.TCPAddr).AddrPort(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	peer := <-peers
	if peer == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	return c, peer
}

// newListener is a Listener on a free loopback port.
func newListener(t *testing.T) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewListener(ln.(*net.TCPListener))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// listened returns a Conn taken by a Listener (off the poller) and the
// client that dialed it.
func listened(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	l := newListener(t)
	defer l.Close()
	peer, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := l.AcceptConn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	return c, peer
}

var kinds = []struct {
	name string
	pair func(*testing.T) (*Conn, net.Conn)
}{{"wrapped", accepted}, {"dialed", dialed}, {"listened", listened}}

func TestReadWrite(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			c, peer := k.pair(t)
			if _, err := peer.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != "hello" {
				t.Fatalf("Read = %q, %v", buf[:n], err)
			}

			// A write larger than the socket buffers parks until the peer reads.
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
			got := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(io.LimitReader(peer, int64(len(big))))
				got <- b
			}()
			n, err = c.Write(big)
			if err != nil || n != len(big) {
				t.Fatalf("Write = %d, %v", n, err)
			}
			if b := <-got; !bytes.Equal(b, big) {
				t.Fatalf("peer read %d bytes, not the %d written", len(b), len(big))
			}

			if err := peer.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if n, err := c.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("Read after the peer's FIN = %d, %v; want 0, EOF", n, err)
			}

			// Our FIN: the peer reads EOF and can still send.
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := peer.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("peer Read after CloseWrite = %d, %v; want 0, EOF", n, err)
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			c, peer := k.pair(t)
			if got, want := c.LocalAddr().String(), peer.RemoteAddr().String(); got != want {
				t.Errorf("LocalAddr = %s, want %s", got, want)
			}
			if got, want := c.RemoteAddr().String(), peer.LocalAddr().String(); got != want {
				t.Errorf("RemoteAddr = %s, want %s", got, want)
			}
			if _, ok := c.RemoteAddr().(*net.TCPAddr); !ok {
				t.Errorf("RemoteAddr is a %T, want *net.TCPAddr", c.RemoteAddr())
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			c, _ := k.pair(t)
			if err := c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			_, err := c.Read(make([]byte, 8))
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read past the deadline = %v, want a timeout", err)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("Read past the deadline = %v, not a net.Error timeout", err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			c, peer := k.pair(t)
			// The peer resets the connection: a later write fails with the errno.
			if err := peer.(*net.TCPConn).SetLinger(0); err != nil {
				t.Fatal(err)
			}
			peer.Close()
			var err error
			deadline := time.Now().Add(5 * time.Second)
			for err == nil && time.Now().Before(deadline) {
				_, err = c.Write([]byte("x"))
				time.Sleep(time.Millisecond)
			}
			var errno syscall.Errno
			if !errors.As(err, &errno) || (errno != syscall.ECONNRESET && errno != syscall.EPIPE) {
				t.Fatalf("Write to a reset connection = %v, want ECONNRESET or EPIPE", err)
			}

			// Closed locally: Read reports net.ErrClosed, as net.Conn does.
			c2, _ := k.pair(t)
			c2.Close()
			if _, err := c2.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Read on a closed connection = %v, want net.ErrClosed", err)
			}
			if _, err := c2.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Write on a closed connection = %v, want net.ErrClosed", err)
			}
		})
	}
}

func TestReadNow(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			c, peer := k.pair(t)
			buf := make([]byte, 16)
			if n := c.ReadNow(buf); n != 0 {
				t.Fatalf("ReadNow with nothing sent = %d, want 0", n)
			}
			if _, err := peer.Write([]byte("ready")); err != nil {
				t.Fatal(err)
			}
			var n int
			for i := 0; i < 1000 && n == 0; i++ { // loopback delivery is not instant
				n = c.ReadNow(buf)
				if n == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			if string(buf[:n]) != "ready" {
				t.Fatalf("ReadNow = %q, want %q", buf[:n], "ready")
			}
		})
	}
}

func TestDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	_, err = Dial(addr, time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial to a closed port = %v, want connection refused", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" || oe.Addr.String() != addr.String() {
		t.Fatalf("Dial error %#v does not name the dial and %s", err, addr)
	}
}

// neverAccepting is the address of a loopback listener with a backlog of
// 0 that never accepts: it takes one handshake, and drops the next SYNs.
func neverAccepting(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
}

// A listener that never accepts, with a backlog of 0, takes one handshake;
// the next SYNs are dropped and the dial runs into its timeout.
func TestDialTimeout(t *testing.T) {
	addr := neverAccepting(t)
	var held []*Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 8 {
		start := time.Now()
		c, err := Dial(addr, 200*time.Millisecond)
		if err == nil {
			held = append(held, c)
			continue
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Dial to a full backlog = %v, want a timeout", err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("Dial gave up after %v, before its timeout", d)
		}
		return
	}
	t.Fatalf("%d dials to a listener that never accepts all succeeded", len(held))
}

func TestDialable(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:80", true},
		{"[::1]:80", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"[fe80::1%eth0]:80", false},
		{"127.0.0.1:0", false},
	} {
		if got := Dialable(netip.MustParseAddrPort(tc.addr)); got != tc.want {
			t.Errorf("Dialable(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// A wrapper given back and taken again starts clean: no deadline of its
// previous connection carries over.
func TestPutClears(t *testing.T) {
	c, _ := accepted(t)
	c.SetReadDeadline(time.Now().Add(time.Hour))
	// accepted's cleanup closes c after this Put: getConn must not hand
	// out a Conn that Close marks closed.
	Put(c)
	c2, peer := accepted(t)
	if !c2.rd.deadline.at.IsZero() || c2.tcp == nil {
		t.Fatalf("reused wrapper carries state: %+v", c2.rd.deadline)
	}
	peer.Write([]byte("x"))
	if n, err := c2.Read(make([]byte, 4)); n != 1 || err != nil {
		t.Fatalf("Read on a reused wrapper = %d, %v", n, err)
	}
}

// WriteAndAwait delivers the request and returns once the answer is
// there; a silent peer holds it until the read deadline, which the next
// Read reports; a peer that closes wakes it, and Read finds the EOF.
func TestWriteAndAwait(t *testing.T) {
	t.Run("answer", func(t *testing.T) {
		c, peer := dialed(t)
		go func() {
			buf := make([]byte, 4)
			if _, err := io.ReadFull(peer, buf); err == nil {
				time.Sleep(50 * time.Millisecond)
				peer.Write(append([]byte("re:"), buf...))
			}
		}()
		start := time.Now()
		if n, err := c.WriteAndAwait([]byte("ping")); n != 4 || err != nil {
			t.Fatalf("WriteAndAwait = %d, %v", n, err)
		}
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Fatalf("WriteAndAwait returned after %v, before the answer", d)
		}
		got := make([]byte, 16)
		n := c.ReadNow(got)
		if string(got[:n]) != "re:ping" {
			t.Fatalf("after WriteAndAwait the socket held %q, want re:ping", got[:n])
		}
	})
	t.Run("silent", func(t *testing.T) {
		c, peer := dialed(t)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		start := time.Now()
		if n, err := c.WriteAndAwait([]byte("ping")); n != 4 || err != nil {
			t.Fatalf("WriteAndAwait = %d, %v", n, err)
		}
		if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
			t.Fatalf("WriteAndAwait on a silent peer returned after %v, want its read deadline", d)
		}
		if _, err := c.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read after the deadline = %v, want a timeout", err)
		}
		buf := make([]byte, 4)
		peer.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("peer read %q, %v", buf, err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, peer := dialed(t)
		go func() {
			io.ReadFull(peer, make([]byte, 4))
			peer.Close()
		}()
		if _, err := c.WriteAndAwait([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(make([]byte, 4)); n != 0 || err != io.EOF {
			t.Fatalf("Read after the peer closed = %d, %v; want EOF", n, err)
		}
	})
	t.Run("off the poller", func(t *testing.T) {
		c, peer := listened(t)
		if n, err := c.WriteAndAwait([]byte("ping")); n != 4 || err != nil {
			t.Fatalf("WriteAndAwait = %d, %v", n, err)
		}
		buf := make([]byte, 4)
		peer.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("peer read %q, %v", buf, err)
		}
	})
}

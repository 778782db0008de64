package sock

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/test/support"
)

// hooks records what a loop tells a relay's owner; next decides what
// follows a failed handshake.
type hooks struct {
	connected atomic.Int32
	mu        sync.Mutex
	failures  []error
	next      func(r *Relay, err error) Next
	ended     chan *Relay
}

func newHooks() *hooks { return &hooks{ended: make(chan *Relay, 16)} }

func (h *hooks) Connected(*Relay) { h.connected.Add(1) }

func (h *hooks) ConnectFailed(r *Relay, err error) Next {
	h.mu.Lock()
	h.failures = append(h.failures, err)
	h.mu.Unlock()
	Put(r.Server)
	r.Server = nil
	if h.next == nil {
		return GiveUp
	}
	return h.next(r, err)
}

func (h *hooks) Ended(r *Relay) { h.ended <- r }

func (h *hooks) wait(t *testing.T, within time.Duration) *Relay {
	t.Helper()
	select {
	case r := <-h.ended:
		return r
	case <-time.After(within):
		t.Fatalf("the relay did not end within %v", within)
		return nil
	}
}

func newLoop(t *testing.T) *Loop {
	t.Helper()
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// startRelay connects a client to a Listener of its own, dials server and
// hands both to l. It returns the client's end.
func startRelay(t *testing.T, l *Loop, h RelayHooks, server netip.AddrPort, setup func(*Relay)) (net.Conn, *Relay) {
	t.Helper()
	ln := newListener(t)
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := ln.AcceptConn()
	if err != nil {
		t.Fatal(err)
	}
	s, done, err := DialStart(server)
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{Client: c, Server: s, Connecting: !done, Hooks: h}
	if setup != nil {
		setup(r)
	}
	if err := l.Start(r); err != nil {
		t.Fatal(err)
	}
	return client, r
}

// serve runs handle on every connection to a new loopback listener.
func serve(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	return netip.MustParseAddrPort(support.ServeConns(t, handle))
}

// echo answers "echo:" and what it read, once the client has half-closed.
func echo(c net.Conn) {
	data, _ := io.ReadAll(c)
	_, _ = c.Write(append([]byte("echo:"), data...))
}

// A short exchange: the client's half-close reaches the server, whose
// answer and close reach the client; the counts are the bytes delivered.
func TestLoopRelayHalfClose(t *testing.T) {
	l := newLoop(t)
	h := newHooks()
	client, r := startRelay(t, l, h, serve(t, echo), nil)
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if err := client.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil || string(got) != "echo:ping" {
		t.Fatalf("client read %q, %v; want echo:ping", got, err)
	}
	if e := h.wait(t, 5*time.Second); e != r || r.Err != nil || r.In != 4 || r.Out != 9 || r.Detached {
		t.Fatalf("relay ended with err %v, in %d, out %d, detached %v; want nil, 4, 9, false", r.Err, r.In, r.Out, r.Detached)
	}
	if !r.Client.Closed() || !r.Server.Closed() {
		t.Fatal("an ended relay left a connection open")
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("the loop still holds %d relays", n)
	}
}

// Bulk streams both ways at once arrive whole; they move to splice, whose
// pipes go back to the pool when the relay ends.
func TestLoopRelayBulk(t *testing.T) {
	const size = 24 << 20
	pattern := func(seed byte) io.Reader {
		b := make([]byte, 64<<10)
		for i := range b {
			b[i] = byte(i*7) + seed
		}
		return io.LimitReader(repeat{b}, size)
	}
	digest := func(r io.Reader) ([32]byte, int64) {
		h := sha256.New()
		n, _ := io.Copy(h, r)
		var d [32]byte
		copy(d[:], h.Sum(nil))
		return d, n
	}
	want, _ := digest(pattern(1))
	wantUp, _ := digest(pattern(2))
	gotUp := make(chan [32]byte, 1)
	server := serve(t, func(c net.Conn) {
		go func() {
			_, _ = io.Copy(c, pattern(1))
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		d, _ := digest(c)
		gotUp <- d
		time.Sleep(100 * time.Millisecond) // let the download finish before the close
	})
	l := newLoop(t)
	h := newHooks()
	client, r := startRelay(t, l, h, server, nil)
	go func() {
		_, _ = io.Copy(client, pattern(2))
		_ = client.(*net.TCPConn).CloseWrite()
	}()
	_ = client.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, n := digest(client)
	if n != size || got != want {
		t.Fatalf("client got %d bytes (digest match %v), want %d", n, got == want, size)
	}
	if d := <-gotUp; d != wantUp {
		t.Fatal("the server got other bytes than the client sent")
	}
	h.wait(t, 5*time.Second)
	if r.Err != nil || r.In != size || r.Out != size {
		t.Fatalf("relay ended with %v, in %d, out %d; want nil and %d each way", r.Err, r.In, r.Out, size)
	}
	if !r.spliced {
		t.Fatal("the bulk streams were not spliced")
	}
	if after := freePipes(); after < 2 {
		t.Fatalf("%d free pipes after two bulk streams: the relay kept its pipes", after)
	}
}

type repeat struct{ b []byte }

func (r repeat) Read(p []byte) (int, error) { return copy(p, r.b), nil }

// fullBacklog is the address of a listener that never accepts and whose
// backlog is full: a connect to it stays in progress.
func fullBacklog(t *testing.T) netip.AddrPort {
	t.Helper()
	addr := neverAccepting(t)
	for range 8 {
		c, done, err := DialStart(addr)
		if err != nil {
			t.Fatal(err)
		}
		if !done && !rawConnected(c.fd) {
			time.Sleep(20 * time.Millisecond)
			if !rawConnected(c.fd) {
				c.Close()
				return addr
			}
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("every connect to a listener that never accepts succeeded")
	return netip.AddrPort{}
}

// A handshake that outlasts ConnectTimeout fails; the owner redials
// another server, and the session goes on there.
func TestLoopConnectTimeoutRedial(t *testing.T) {
	stuck := fullBacklog(t)
	good := serve(t, echo)
	l := newLoop(t)
	h := newHooks()
	h.next = func(r *Relay, err error) Next {
		s, done, derr := DialStart(good)
		if derr != nil {
			return GiveUp
		}
		r.Server, r.Connecting = s, !done
		return Redial
	}
	start := time.Now()
	var connecting bool
	client, r := startRelay(t, l, h, stuck, func(r *Relay) {
		r.ConnectTimeout = 150 * time.Millisecond
		connecting = r.Connecting
	})
	if !connecting {
		t.Fatal("the connect to a full backlog was done at once")
	}
	if _, err := client.Write([]byte("sent early")); err != nil {
		t.Fatal(err)
	}
	_ = client.(*net.TCPConn).CloseWrite()
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil || string(got) != "echo:sent early" {
		t.Fatalf("client read %q, %v; want the answer of the second server", got, err)
	}
	h.wait(t, 5*time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.failures) != 1 || !errors.Is(h.failures[0], ErrConnTimeout) {
		t.Fatalf("handshake failures %v, want one connect timeout", h.failures)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("the connect timed out after %v, before its timeout", d)
	}
	if r.Err != nil || h.connected.Load() == 0 && r.Connecting {
		t.Fatalf("relay ended with %v", r.Err)
	}
}

// A refused handshake that the owner gives up on ends the relay with the
// error, and the client sees its connection closed.
func TestLoopConnectRefusedGiveUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	l := newLoop(t)
	h := newHooks()
	lst := newListener(t)
	defer lst.Close()
	client, err := net.Dial("tcp", lst.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := lst.AcceptConn()
	if err != nil {
		t.Fatal(err)
	}
	// On loopback the refusal comes after connect returns, as from afar.
	s, done, err := DialStart(closed)
	if err != nil {
		t.Fatal(err)
	}
	if done {
		t.Fatal("a connect to a closed port succeeded")
	}
	r := &Relay{Client: c, Server: s, Connecting: true, Hooks: h}
	if err := l.Start(r); err != nil {
		t.Fatal(err)
	}
	h.wait(t, 5*time.Second)
	if !errors.Is(r.Err, syscall.ECONNREFUSED) {
		t.Fatalf("relay ended with %v, want connection refused", r.Err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := client.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("client read %d, %v after the relay gave up; want its close", n, err)
	}
}

// Detach gives the client back untouched and open: what it sent is still
// there for the owner to read.
func TestLoopDetach(t *testing.T) {
	stuck := fullBacklog(t)
	l := newLoop(t)
	h := newHooks()
	h.next = func(*Relay, error) Next { return Detach }
	client, r := startRelay(t, l, h, stuck, func(r *Relay) { r.ConnectTimeout = 100 * time.Millisecond })
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	h.wait(t, 5*time.Second)
	if !r.Detached || r.Client.Closed() || l.Len() != 0 {
		t.Fatalf("detached %v, client closed %v, relays left %d; want true, false, 0", r.Detached, r.Client.Closed(), l.Len())
	}
	defer r.Client.Close()
	_ = r.Client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 5)
	if _, err := io.ReadFull(r.Client, got); err != nil || string(got) != "hello" {
		t.Fatalf("the detached client read %q, %v; want hello", got, err)
	}
	if _, err := r.Client.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(client, got[:4]); err != nil || string(got[:4]) != "back" {
		t.Fatalf("client read %q, %v; want back", got[:4], err)
	}
}

// Idle ends a relay with no byte either way for that long, and only then:
// traffic in one direction keeps it alive.
func TestLoopIdle(t *testing.T) {
	const idle = 200 * time.Millisecond
	server := serve(t, func(c net.Conn) {
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			_, _ = c.Write(buf[:n])
		}
	})
	l := newLoop(t)
	h := newHooks()
	client, r := startRelay(t, l, h, server, func(r *Relay) { r.Idle = idle })
	start := time.Now()
	buf := make([]byte, 1)
	for range 8 {
		// Every 100 ms a byte: never idle for 200.
		time.Sleep(idle / 2)
		if _, err := client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(client, buf); err != nil {
			t.Fatalf("an active relay was cut after %v: %v", time.Since(start), err)
		}
	}
	quiet := time.Now()
	h.wait(t, 5*time.Second)
	d := time.Since(quiet)
	if !errors.Is(r.Err, ErrIdle) || d < idle || d > idle+time.Second {
		t.Fatalf("relay ended with %v after %v idle; want the idle timeout after %v", r.Err, d, idle)
	}
	if n, err := client.Read(buf); n != 0 || err == nil {
		t.Fatalf("client read %d, %v after the idle timeout; want its close", n, err)
	}
}

// Abort ends every relay; the loop goes on serving new ones. Close ends
// the rest and stops the loop.
func TestLoopAbortAndClose(t *testing.T) {
	hold := serve(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	l, err := NewLoop()
	if err != nil {
		t.Fatal(err)
	}
	h := newHooks()
	var clients []net.Conn
	for range 3 {
		c, _ := startRelay(t, l, h, hold, nil)
		clients = append(clients, c)
	}
	l.Abort()
	for range 3 {
		if r := h.wait(t, 5*time.Second); !errors.Is(r.Err, ErrAborted) {
			t.Fatalf("an aborted relay ended with %v", r.Err)
		}
	}
	for _, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("client read %d, %v after the abort; want its close", n, err)
		}
	}
	client, r := startRelay(t, l, h, serve(t, echo), nil)
	_ = client.(*net.TCPConn).CloseWrite()
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, _ := io.ReadAll(client); !bytes.Equal(got, []byte("echo:")) {
		t.Fatalf("a relay started after Abort answered %q", got)
	}
	if h.wait(t, 5*time.Second) != r || r.Err != nil {
		t.Fatalf("relay after Abort ended with %v", r.Err)
	}
	startRelay(t, l, h, hold, nil)
	l.Close()
	if r := h.wait(t, 5*time.Second); !errors.Is(r.Err, ErrAborted) {
		t.Fatalf("Close ended a relay with %v", r.Err)
	}
	if err := l.Start(&Relay{Client: &Conn{}, Server: &Conn{}}); err == nil {
		t.Fatal("a closed loop took a relay")
	}
}

// A client that does not read yet fills its socket while the server sends
// in small pieces (each read shorter than the relay's buffer, so it keeps
// copying): what the relay read but could not write waits in the relay,
// and arrives in order.
func TestLoopRelaySlowReader(t *testing.T) {
	const chunk, chunks = 2 << 10, 1024 // 2 MiB in small, spaced writes
	server := serve(t, func(c net.Conn) {
		b := make([]byte, chunk)
		for i := range chunks {
			for j := range b {
				b[j] = byte(i + j)
			}
			if _, err := c.Write(b); err != nil {
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	})
	ln := newListener(t)
	defer ln.Close()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		// A small receive window: the relay's writes to it block soon.
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	client, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ln.AcceptConn()
	if err != nil {
		t.Fatal(err)
	}
	// And a small send buffer on the relay's side of it (no autotuning).
	if err := rawSetsockoptInt(c.fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096); err != nil {
		t.Fatal(err)
	}
	s, done, err := DialStart(server)
	if err != nil {
		t.Fatal(err)
	}
	l := newLoop(t)
	h := newHooks()
	r := &Relay{Client: c, Server: s, Connecting: !done, Hooks: h}
	if err := l.Start(r); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the server writes on; nobody reads
	_ = client.(*net.TCPConn).CloseWrite()
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil || len(got) != chunk*chunks {
		t.Fatalf("client read %d bytes, %v; want %d", len(got), err, chunk*chunks)
	}
	for i := range chunks {
		for j := 0; j < chunk; j += 97 {
			if got[i*chunk+j] != byte(i+j) {
				t.Fatalf("byte %d of chunk %d is %d, want %d: out of order or lost", j, i, got[i*chunk+j], byte(i+j))
			}
		}
	}
	h.wait(t, 5*time.Second)
	if r.Err != nil || r.Out != chunk*chunks {
		t.Fatalf("relay ended with %v, out %d", r.Err, r.Out)
	}
}

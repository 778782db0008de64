package dataplane

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection, the first one
// wrapped in a rawConn.
func tcpPair(t *testing.T) (*rawConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	rc, ok := newRawConn(c).(*rawConn)
	if !ok {
		t.Fatal("a TCP connection was not wrapped")
	}
	t.Cleanup(func() { rc.Close(); peer.Close() })
	return rc, peer
}

func TestRawConnReadWrite(t *testing.T) {
	rc, peer := tcpPair(t)
	if _, err := peer.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := rc.Read(buf)
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
	n, err = rc.Write(big)
	if err != nil || n != len(big) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatalf("peer read %d bytes, not the %d written", len(b), len(big))
	}

	if err := peer.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after the peer's FIN = %d, %v; want 0, EOF", n, err)
	}
}

func TestRawConnDeadline(t *testing.T) {
	rc, _ := tcpPair(t)
	if err := rc.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err := rc.Read(make([]byte, 8))
	if !isTimeout(err) {
		t.Fatalf("Read past the deadline = %v, want a timeout", err)
	}
}

func TestRawConnErrors(t *testing.T) {
	rc, peer := tcpPair(t)
	// The peer resets the connection: a later write fails with the errno.
	if err := peer.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	peer.Close()
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		_, err = rc.Write([]byte("x"))
		time.Sleep(time.Millisecond)
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) || (errno != syscall.ECONNRESET && errno != syscall.EPIPE) {
		t.Fatalf("Write to a reset connection = %v, want ECONNRESET or EPIPE", err)
	}

	// Closed locally: Read reports net.ErrClosed, as net.Conn does.
	rc2, _ := tcpPair(t)
	rc2.Close()
	if _, err := rc2.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read on a closed connection = %v, want net.ErrClosed", err)
	}
}

func TestRawConnReadNow(t *testing.T) {
	rc, peer := tcpPair(t)
	buf := make([]byte, 16)
	if n := rc.readNow(buf); n != 0 {
		t.Fatalf("readNow with nothing sent = %d, want 0", n)
	}
	if _, err := peer.Write([]byte("ready")); err != nil {
		t.Fatal(err)
	}
	var n int
	for i := 0; i < 1000 && n == 0; i++ { // loopback delivery is not instant
		n = rc.readNow(buf)
		if n == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if string(buf[:n]) != "ready" {
		t.Fatalf("readNow = %q, want %q", buf[:n], "ready")
	}
}

// Whole-stream copies between two wrapped connections go to the TCP
// connections underneath (where Go splices) and carry every byte.
func TestRawConnCopy(t *testing.T) {
	src, srcPeer := tcpPair(t)
	dst, dstPeer := tcpPair(t)
	payload := bytes.Repeat([]byte("x"), 1<<20)
	go func() {
		srcPeer.Write(payload)
		srcPeer.Close()
	}()
	got := make(chan int, 1)
	go func() {
		b, _ := io.ReadAll(dstPeer)
		got <- len(b)
	}()
	n, err := io.Copy(dst, src)
	if err != nil || n != int64(len(payload)) {
		t.Fatalf("io.Copy = %d, %v", n, err)
	}
	dst.CloseWrite()
	if m := <-got; m != len(payload) {
		t.Fatalf("peer got %d bytes, want %d", m, len(payload))
	}
}

func TestLazyDeadline(t *testing.T) {
	now := time.Now()
	var set []time.Time
	record := func(t time.Time) error { set = append(set, t); return nil }
	var d lazyDeadline

	// First deadline: set with a margin of 1/16 of its distance.
	if err := d.update(now.Add(16*time.Second), record); err != nil {
		t.Fatal(err)
	}
	if len(set) != 1 || set[0].Before(now.Add(16*time.Second)) || set[0].After(now.Add(17*time.Second)) {
		t.Fatalf("first update set %v, want within [16s, 17s] from now", set)
	}
	// A later deadline inside the margin: nothing to do.
	d.update(now.Add(16*time.Second+100*time.Millisecond), record)
	if len(set) != 1 {
		t.Fatalf("update inside the margin re-armed the timer: %v", set)
	}
	// Past the margin: set again.
	d.update(now.Add(18*time.Second), record)
	if len(set) != 2 || set[1].Before(now.Add(18*time.Second)) {
		t.Fatalf("update past the margin: %v", set)
	}
	// A shorter timeout (keep-alive after a long request): never late by
	// more than the margin, so it is set.
	d.update(now.Add(time.Second), record)
	if len(set) != 3 || set[2].After(now.Add(time.Second+maxDeadlineSlack)) {
		t.Fatalf("shorter deadline: %v", set)
	}
	// Zero clears, always.
	d.update(time.Time{}, record)
	if len(set) != 4 || !set[3].IsZero() {
		t.Fatalf("clearing: %v", set)
	}
	// Long timeouts get at most maxDeadlineSlack of margin.
	d.update(now.Add(time.Hour), record)
	if got := set[4].Sub(now.Add(time.Hour)); got > maxDeadlineSlack {
		t.Fatalf("margin %v on a one-hour deadline, want at most %v", got, maxDeadlineSlack)
	}
}

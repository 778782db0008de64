package dataplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/test/support"
)

// logLines waits until log holds n lines, and returns them.
func logLines(t *testing.T, log *support.SyncBuffer, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := log.String()
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		if s != "" && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log has %q, want %d lines", s, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// applyConfig applies src, a configuration whose first %d is the
// frontend's port (args fill the rest), with an access log.
func applyConfig(t *testing.T, src string, args ...any) (*Runtime, string, *support.SyncBuffer) {
	t.Helper()
	port := freePort(t)
	cfg, _, err := config.Parse("t.cfg", []byte(fmt.Sprintf(src, append([]any{port}, args...)...)))
	if err != nil {
		t.Fatal(err)
	}
	log := &support.SyncBuffer{}
	rt := New(Options{AccessLog: log})
	if err := rt.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
	return rt, fmt.Sprintf("127.0.0.1:%d", port), log
}

// tcpProxy applies a mode tcp frontend "fe" (plus feLine, when given)
// whose default backend "app" is beLines, its %s filled from args.
func tcpProxy(t *testing.T, feLine, beLines string, args ...any) (*Runtime, string, *support.SyncBuffer) {
	t.Helper()
	src := "frontend fe\n    mode tcp\n    bind 127.0.0.1:%d\n    default_backend app\n"
	if feLine != "" {
		src += "    " + feLine + "\n"
	}
	return applyConfig(t, src+"backend app\n    mode tcp"+beLines, args...)
}

// echoOnce answers "echo:" and what it read once the client half-closed.
func echoOnce(c net.Conn) {
	data, _ := io.ReadAll(c)
	_, _ = c.Write(append([]byte("echo:"), data...))
}

// exchange sends msg, half-closes, and returns what came back.
func exchange(t *testing.T, addr, msg string) (string, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	_ = c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	return string(got), err
}

// dialProxy connects to addr, with 5 s for the whole exchange; the test's
// end closes the connection.
func dialProxy(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// A refused connection is retried, on another server with redispatch: no
// session fails, and the log names the server that served it.
func TestTCPRetryRedispatch(t *testing.T) {
	good := support.ServeConns(t, echoOnce)
	_, addr, log := tcpProxy(t, "", `
    retries 2
    option redispatch
    server down %s
    server up %s
`, closedAddr(t), good)
	for i := range 6 {
		got, err := exchange(t, addr, fmt.Sprint("m", i))
		if err != nil || got != fmt.Sprint("echo:m", i) {
			t.Fatalf("session %d: %q, %v", i, got, err)
		}
	}
	for _, l := range logLines(t, log, 6) {
		if !strings.Contains(l, " fe app/up ") || !strings.HasSuffix(l, " 7 --") {
			t.Errorf("log line %q: want app/up, 7 bytes out, --", l)
		}
	}
}

// Without retries left, a refused session is closed and logged SC.
func TestTCPConnectFailureLogged(t *testing.T) {
	_, addr, log := tcpProxy(t, "", `
    retries 0
    server down %s
`, closedAddr(t))
	got, err := exchange(t, addr, "x")
	if got != "" {
		t.Fatalf("a session to a refusing server answered %q (%v)", got, err)
	}
	if l := logLines(t, log, 1)[0]; !strings.Contains(l, " fe app/<NOSRV> ") || !strings.HasSuffix(l, " 0 SC") {
		t.Fatalf("log line %q: want app/<NOSRV>, 0 bytes, SC", l)
	}
}

// A server at its maxconn makes the next session wait in the queue, on a
// goroutine of its own, until the first one ends.
func TestTCPQueuedSession(t *testing.T) {
	good := support.ServeConns(t, echoOnce)
	_, addr, log := tcpProxy(t, "", `
    timeout queue 5s
    server s1 %s maxconn 1
`, good)
	first := dialProxy(t, addr)
	if _, err := io.WriteString(first, "one"); err != nil {
		t.Fatal(err)
	}
	second := make(chan string, 1)
	go func() {
		got, err := exchange(t, addr, "two")
		if err != nil {
			got = err.Error()
		}
		second <- got
	}()
	select {
	case got := <-second:
		t.Fatalf("the second session got %q while the only slot was held", got)
	case <-time.After(200 * time.Millisecond):
	}
	_ = first.(*net.TCPConn).CloseWrite()
	if got, err := io.ReadAll(first); err != nil || string(got) != "echo:one" {
		t.Fatalf("first session: %q, %v", got, err)
	}
	if got := <-second; got != "echo:two" {
		t.Fatalf("queued session: %q", got)
	}
	lines := logLines(t, log, 2)
	if !strings.HasSuffix(lines[1], " 8 --") {
		t.Fatalf("queued session's log line %q: want 8 bytes out, --", lines[1])
	}
}

// timeout client / server end a session silent both ways, logged cD, on a
// relay loop (server by address) and on goroutines (server by name).
func TestTCPIdleTimeout(t *testing.T) {
	silent := support.ServeConns(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	_, port, _ := net.SplitHostPort(silent)
	for _, server := range []string{silent, "localhost:" + port} {
		t.Run(server, func(t *testing.T) {
			_, addr, log := tcpProxy(t, "timeout client 200ms", `
    timeout server 100ms
    server s1 %s
`, server)
			c := dialProxy(t, addr)
			start := time.Now()
			if n, err := c.Read(make([]byte, 1)); n != 0 || isTimeout(err) {
				t.Fatalf("read %d, %v; want the proxy's close", n, err)
			}
			if d := time.Since(start); d < 200*time.Millisecond {
				t.Fatalf("closed after %v, before the larger of timeout client and server", d)
			}
			if l := logLines(t, log, 1)[0]; !strings.HasSuffix(l, " 0 cD") {
				t.Fatalf("log line %q: want cD", l)
			}
		})
	}
}

// Shutdown lets sessions run until its context ends, then cuts them, each
// logged KD.
func TestTCPShutdownCutsSessions(t *testing.T) {
	silent := support.ServeConns(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	rt, addr, log := tcpProxy(t, "", `
    server s1 %s
`, silent)
	var clients []net.Conn
	for range 3 {
		c := dialProxy(t, addr)
		if _, err := io.WriteString(c, "held"); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := rt.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with open sessions = %v, want the deadline", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("Shutdown cut sessions after %v, before its deadline", d)
	}
	for _, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || isTimeout(err) {
			t.Fatalf("client read %d, %v after Shutdown; want its close", n, err)
		}
	}
	for _, l := range logLines(t, log, 3) {
		if !strings.HasSuffix(l, " KD") {
			t.Errorf("log line %q: want KD", l)
		}
	}
}

// A session is idle only when no byte moves either way: a server that
// streams to a silent client outlives the timeout, on a relay loop (server
// by address) and on goroutines (server by name).
func TestTCPIdleOneWay(t *testing.T) {
	ticker := support.ServeConns(t, func(c net.Conn) {
		for range 8 {
			time.Sleep(60 * time.Millisecond)
			if _, err := c.Write([]byte("t")); err != nil {
				return
			}
		}
	})
	_, port, _ := net.SplitHostPort(ticker)
	for _, server := range []string{ticker, "localhost:" + port} {
		t.Run(server, func(t *testing.T) {
			_, addr, log := tcpProxy(t, "", `
    timeout tunnel 200ms
    server s1 %s
`, server)
			c := dialProxy(t, addr)
			got, err := io.ReadAll(c)
			c.Close()
			if err != nil || string(got) != "tttttttt" {
				t.Fatalf("silent client got %q, %v; want 8 ticks over 480 ms", got, err)
			}
			if l := logLines(t, log, 1)[0]; !strings.HasSuffix(l, " 8 --") {
				t.Fatalf("log line %q: want 8 bytes, --", l)
			}
		})
	}
}

// Many sessions at once, short and bulk, spread over the relay loops:
// every byte comes back to the session that sent it.
func TestTCPConcurrentSessions(t *testing.T) {
	echo := support.ServeConns(t, func(c net.Conn) { _, _ = io.Copy(c, c) })
	_, addr, log := tcpProxy(t, "timeout client 5s", `
    timeout server 5s
    balance roundrobin
    server s1 %s
    server s2 %s
`, echo, echo)
	const sessions, parallel = 120, 12
	errs := make(chan error, sessions)
	sem := make(chan struct{}, parallel)
	for i := range sessions {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			size := 1 + (i*7919)%(200<<10) // up to 200 KiB: some splice
			msg := bytes.Repeat([]byte{byte('a' + i%26)}, size)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			go func() {
				_, _ = c.Write(msg)
				_ = c.(*net.TCPConn).CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("session %d: %d of %d bytes back, %v", i, len(got), size, err)
				return
			}
			errs <- nil
		}()
	}
	for range sessions {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range logLines(t, log, sessions) {
		if !strings.HasSuffix(l, " --") {
			t.Fatalf("log line %q: want --", l)
		}
	}
}

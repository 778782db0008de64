package dataplane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/sock"
)

// listenTCP is the default listener: sock's, whose connections join the
// poller only when they have to wait (see sock.Listener). TCP keep-alive
// probes are off on accepted connections, as in HAProxy without option
// clitcpka: idle limits are the timeouts' job.
func listenTCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return ln, nil
	}
	sl, err := sock.NewListener(tl)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return sl, nil
}

// setDeferAccept asks the kernel to hand over connections on ln only once
// their first data has arrived (TCP_DEFER_ACCEPT, HAProxy's bind option
// defer-accept). Right for mode http, where the client speaks first: the
// first read finds the request instead of parking, one wake-up less per
// connection. Wrong for protocols where the server speaks first, so mode
// tcp listeners have it off. Listeners without a socket are left alone.
func setDeferAccept(ln net.Listener, on bool) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	secs := 0
	if on {
		secs = 1
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, secs)
	})
	if err != nil {
		return err
	}
	return serr
}

// dialTCP opens a server connection, without TCP keep-alive probes (HAProxy's
// default without option srvtcpka) and with Nagle off, which is what a
// proxy writing whole heads wants. Servers named by an IP address, as
// every server from the controller is, get sluice's own dial; names go
// through Go's resolver.
func dialTCP(addr string, timeout time.Duration) (net.Conn, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil && sock.Dialable(ap) {
		c, err := sock.Dial(ap, timeout)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return sock.Wrap(c), nil
}

// A client connection's life: accepted, tracked for drains, served by the
// engine of its frontend's mode, released.

type connState struct {
	busy atomic.Bool // a request is in progress
}

func (rt *Runtime) acceptLoop(l *listener) {
	defer close(l.done)
	var backoff time.Duration
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as every server does.
			backoff = min(max(backoff*2, 5*time.Millisecond), time.Second)
			rt.log.Warn("accept failed", "address", l.key, "error", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if limit := rt.maxConn.Load(); limit > 0 {
			for rt.curConn.Load() >= limit {
				// Stop accepting while at global maxconn; clients wait in the
				// kernel's backlog, as with HAProxy.
				time.Sleep(time.Millisecond)
				if rt.draining.Load() {
					break
				}
			}
		}
		rt.connWG.Add(1)
		rt.curConn.Add(1)
		if sc, ok := conn.(*sock.Conn); ok && rt.startTCP(sc, l) {
			continue
		}
		s := getConnStart()
		s.rt, s.conn, s.l = rt, conn, l
		go s.fn()
	}
}

// connStart hands a new connection to its goroutine. `go
// rt.serveConn(conn, l)` allocates a closure for the arguments on every
// connection; a connStart is kept for the next one.
type connStart struct {
	rt   *Runtime
	conn net.Conn
	l    *listener
	fn   func() // run, bound once
}

var connStarts sync.Pool

func getConnStart() *connStart {
	s, _ := connStarts.Get().(*connStart)
	if s == nil {
		s = &connStart{}
		s.fn = s.run
	}
	return s
}

func (s *connStart) run() {
	rt, conn, l := s.rt, s.conn, s.l
	s.rt, s.conn, s.l = nil, nil, nil
	connStarts.Put(s)
	rt.serveConn(conn, l)
}

func (rt *Runtime) track(conn net.Conn) *connState {
	st := &connState{}
	rt.connsMu.Lock()
	rt.conns[conn] = st
	rt.connsMu.Unlock()
	return st
}

func (rt *Runtime) untrack(conn net.Conn) {
	rt.connsMu.Lock()
	delete(rt.conns, conn)
	rt.connsMu.Unlock()
}

func (rt *Runtime) serveConn(conn net.Conn, l *listener) {
	defer rt.connWG.Done()
	defer rt.curConn.Add(-1)
	// Closed once untracked: a drain may Abort or Interrupt a tracked
	// connection, and one off the poller is closed by its owner only.
	defer closeConn(conn)
	slot := l.slot
	t := rt.table.Load()
	fe := t.frontends[slot]
	if fe == nil {
		return
	}
	st := rt.track(conn)
	defer rt.untrack(conn)
	fe.metrics.conns.Inc()
	fe.metrics.curConns.Inc()
	defer fe.metrics.curConns.Dec()
	if fe.mode == config.ModeTCP && t.tlsAt(slot) == nil {
		st.busy.Store(true)
		rt.serveTCP(conn, slot, t)
		return
	}
	hc := sock.Wrap(conn)
	if hc != conn {
		defer sock.Put(hc)
	}
	var client net.Conn = hc
	var info tlsInfo
	if t.tlsAt(slot) != nil {
		st.busy.Store(true)
		// TLS keeps the connection on the poller from the start: the
		// handshake always waits for the client's second flight, and
		// crypto/tls reads and writes from two goroutines in a tunnel.
		if sc, ok := hc.(*sock.Conn); ok {
			if err := sc.Register(); err != nil {
				rt.log.Debug("client connection not registered", "frontend", fe.name, "error", err)
				return
			}
		}
		tc, ti, err := handshake(hc, l.tls, fe.timeouts.client)
		if err != nil {
			fe.metrics.tlsFail.Inc()
			rt.log.Debug("TLS handshake failed", "frontend", fe.name, "client", conn.RemoteAddr().String(), "error", err)
			return
		}
		client, info = tc, ti
		if fe.mode == config.ModeTCP {
			// The TLS session carries the stream; it is relayed in clear.
			rt.serveTCP(client, slot, t)
			return
		}
	}
	br := getReader(client, clientBufSize)
	c := getHTTPConn(rt, client, slot, br, st)
	c.tls = info
	c.serve()
	putHTTPConn(c)
	putReader(br)
}

// closeConn closes a client connection and recycles it when it is sock's.
func closeConn(c net.Conn) {
	_ = c.Close()
	sock.Put(c)
}

// abortConn ends a connection another goroutine is serving: it wakes
// whatever waits on it, and the owner closes it.
func abortConn(c net.Conn) {
	if sc, ok := c.(*sock.Conn); ok {
		sc.Abort()
		return
	}
	_ = c.Close()
}

// Shutdown stops accepting, lets requests in flight finish, closes idle
// keep-alive connections, and waits until every connection is gone or ctx
// ends (then the rest are cut off: shut down, and closed by their owners).
func (rt *Runtime) Shutdown(ctx context.Context) error {
	rt.mu.Lock()
	rt.closed = true
	rt.draining.Store(true)
	for key, l := range rt.listeners {
		_ = l.ln.Close()
		<-l.done
		delete(rt.listeners, key)
	}
	rt.mu.Unlock()

	done := make(chan struct{})
	go func() { rt.connWG.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		rt.wakeIdle()
		select {
		case <-done:
			rt.closeLoops()
			rt.registry.Close()
			rt.accessLog.close()
			return nil
		case <-ctx.Done():
			if ls := rt.loops.Load(); ls != nil {
				ls.abort()
			}
			rt.connsMu.Lock()
			for c := range rt.conns {
				abortConn(c)
			}
			rt.connsMu.Unlock()
			<-done
			rt.closeLoops()
			rt.registry.Close()
			rt.accessLog.close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (rt *Runtime) closeLoops() {
	if ls := rt.loops.Swap(nil); ls != nil {
		ls.close()
	}
}

// wakeIdle interrupts connections waiting for their next request, so they
// notice the drain and close.
func (rt *Runtime) wakeIdle() {
	rt.connsMu.Lock()
	defer rt.connsMu.Unlock()
	for c, st := range rt.conns {
		if st.busy.Load() {
			continue
		}
		if sc, ok := c.(*sock.Conn); ok {
			sc.Interrupt() // its deadlines are its owner's to set
		} else {
			_ = c.SetReadDeadline(time.Now())
		}
	}
}

var httpConnPool sync.Pool

func getHTTPConn(rt *Runtime, conn net.Conn, slot int, br *bufio.Reader, st *connState) *httpConn {
	c, _ := httpConnPool.Get().(*httpConn)
	if c == nil {
		c = &httpConn{out: make([]byte, 0, 4096)}
	}
	c.init(rt, conn, slot, br, st)
	return c
}

func putHTTPConn(c *httpConn) {
	c.conn = nil
	c.tls = tlsInfo{}
	c.br = nil
	c.rt = nil
	c.st = nil
	c.flow = flowWriter{}
	httpConnPool.Put(c)
}

package dataplane

import (
	"bufio"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/backend"
	"sluice.dev/sluice/dataplane/sock"
)

// serveTCP runs one client connection in mode tcp: pick a server, connect,
// and relay bytes both ways until both sides have finished.
func (rt *Runtime) serveTCP(conn net.Conn, slot int, t *Table, br *bufio.Reader) {
	start := time.Now()
	fe := t.frontends[slot]
	be := fe.defaultBE
	var entry logEntry
	entry.start = start
	if be == nil {
		entry.term = "PC"
		rt.logTCP(conn, fe, nil, nil, &entry)
		return
	}
	tm := resolveTimeouts(config.Timeouts{}, be.timeouts)
	var key []byte
	if be.balance.Algorithm == config.BalanceSource {
		key = addrKey(conn.RemoteAddr())
	}
	srv := be.pool.Pick(key, nil)
	if srv == nil {
		// The table may have been swapped and this backend's servers
		// retired under us: use the live one.
		if nt := rt.table.Load(); nt != t {
			if nfe := nt.frontends[slot]; nfe != nil && nfe.mode == config.ModeTCP && nfe.defaultBE != nil {
				fe, be = nfe, nfe.defaultBE
				srv = be.pool.Pick(key, nil)
			}
		}
	}
	var up net.Conn
	var err error
	for attempt := 0; srv != nil; attempt++ {
		var s *backend.Server
		s, err = be.pool.Acquire(context.Background(), srv)
		if err != nil {
			entry.term = "sQ"
			rt.logTCP(conn, fe, be, srv, &entry)
			return
		}
		srv = s
		tc := time.Now()
		up, err = dialTCP(srv.Addr, tm.connect)
		entry.tConnect = time.Since(tc)
		if err == nil {
			srv.ReportSuccess()
			break
		}
		srv.ReportConnectFailure(err)
		srv.Release()
		if attempt >= be.retries {
			srv = nil
			break
		}
		if be.redispatch {
			if next := be.pool.Pick(key, srv); next != nil {
				srv = next
			}
		}
	}
	if up == nil {
		entry.term = "SC"
		rt.logTCP(conn, fe, be, srv, &entry)
		return
	}
	defer srv.Release()
	// Idle limits in mode tcp are timeout client / server, as in HAProxy;
	// a tunnel timeout overrides both.
	idle := be.timeouts.Tunnel
	if idle == 0 {
		idle = max(fe.raw.Client, be.timeouts.Server)
	}
	rc := sock.Wrap(conn)
	in, out := tunnel(rc, br, up, nil, idle)
	_ = up.Close()
	if rc != conn {
		sock.Put(rc) // a wrapper of ours; conn is its owner's to recycle
	}
	sock.Put(up)
	entry.bytesIn, entry.bytesOut = in, out
	entry.term = "--"
	fe.metrics.bytesIn.Add(float64(in))
	fe.metrics.bytesOut.Add(float64(out))
	be.metrics.bytesOut.Add(uint64(in))
	be.metrics.bytesIn.Add(uint64(out))
	rt.logTCP(conn, fe, be, srv, &entry)
}

// tunnel relays bytes between a client and a server in both directions
// until both have closed their sending side, forwarding each half-close.
// Bytes already buffered on either side are sent first. With idle == 0
// there is no inactivity limit and a stream that fills a buffer moves to
// the kernel's splice path (io.Copy between TCP connections); otherwise
// each side is closed after idle without traffic in its direction.
func tunnel(client net.Conn, cbr *bufio.Reader, server net.Conn, sbr *bufio.Reader, idle time.Duration) (in, out int64) {
	// Two goroutines share both connections from here.
	register(client)
	register(server)
	t := getTunnelRun()
	t.client, t.server, t.sbr, t.idle = client, server, sbr, idle
	t.wg.Add(1)
	go t.fn()
	in = pipe(server, client, cbr, idle, &t.finished)
	t.wg.Wait()
	out = t.out
	putTunnelRun(t)
	return in, out
}

// tunnelRun is what tunnel shares with the goroutine that copies the
// server's side, kept for the next session: a closure, its captured
// variables and the WaitGroup would be four allocations per session.
type tunnelRun struct {
	client, server net.Conn
	sbr            *bufio.Reader
	idle           time.Duration
	out            int64
	finished       atomic.Int32
	wg             sync.WaitGroup
	fn             func() // serverToClient, bound once
}

var tunnelRuns sync.Pool

func getTunnelRun() *tunnelRun {
	t, _ := tunnelRuns.Get().(*tunnelRun)
	if t == nil {
		t = &tunnelRun{}
		t.fn = t.serverToClient
	}
	return t
}

func putTunnelRun(t *tunnelRun) {
	t.client, t.server, t.sbr, t.out = nil, nil, nil, 0
	t.finished.Store(0)
	tunnelRuns.Put(t)
}

func (t *tunnelRun) serverToClient() {
	defer t.wg.Done()
	t.out = pipe(t.client, t.server, t.sbr, t.idle, &t.finished)
}

// pipe copies src to dst (after what br holds), then half-closes dst,
// unless the other direction has already finished: both connections are
// closed next, and the close sends the FIN, one system call fewer.
func pipe(dst, src net.Conn, br *bufio.Reader, idle time.Duration, finished *atomic.Int32) int64 {
	var n int64
	if br != nil && br.Buffered() > 0 {
		buf, _ := br.Peek(br.Buffered())
		m, err := dst.Write(buf)
		n += int64(m)
		br.Discard(m)
		if err != nil {
			closeBoth(dst, src)
			return n
		}
	}
	var err error
	var m int64
	if idle <= 0 {
		m, err = copyAuto(dst, src)
	} else {
		m, err = copyIdle(dst, src, idle)
	}
	n += m
	if err != nil {
		closeBoth(dst, src)
		return n
	}
	if finished.Add(1) == 2 {
		return n
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		_ = dst.Close()
	}
	return n
}

// register puts c on the poller when it is a sock.Conn off it. A failure
// leaves it on the poller or closed (every call then fails without
// touching the descriptor): either way safe to share.
func register(c net.Conn) {
	if sc, ok := c.(*sock.Conn); ok {
		_ = sc.Register()
	}
}

func closeBoth(a, b net.Conn) {
	_ = a.Close()
	_ = b.Close()
}

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyIdle copies until EOF, failing when src stays silent for idle.
func copyIdle(dst, src net.Conn, idle time.Duration) (int64, error) {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	var n int64
	for {
		_ = src.SetReadDeadline(time.Now().Add(idle))
		r, err := src.Read(buf)
		if r > 0 {
			_ = dst.SetWriteDeadline(time.Now().Add(idle))
			w, werr := dst.Write(buf[:r])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// copyAuto copies until EOF through a buffer while the stream is small
// (a short exchange costs the same system calls either way, and splicing
// needs a pipe), and hands the rest to io.Copy, which splices between TCP
// connections, once a read fills the buffer: the stream is bulk.
func copyAuto(dst, src net.Conn) (int64, error) {
	bp := copyBufPool.Get().(*[]byte)
	buf := (*bp)[:16<<10]
	var n int64
	for {
		r, err := src.Read(buf)
		if r > 0 {
			w, werr := dst.Write(buf[:r])
			n += int64(w)
			if werr != nil {
				copyBufPool.Put(bp)
				return n, werr
			}
		}
		if err == io.EOF {
			copyBufPool.Put(bp)
			return n, nil
		}
		if err != nil {
			copyBufPool.Put(bp)
			return n, err
		}
		if r == len(buf) {
			break
		}
	}
	copyBufPool.Put(bp)
	m, err := io.Copy(dst, src)
	return n + m, err
}

func addrKey(a net.Addr) []byte {
	if ta, ok := a.(*net.TCPAddr); ok {
		if v4 := ta.IP.To4(); v4 != nil {
			return v4
		}
		return ta.IP
	}
	return nil
}

package dataplane

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/backend"
	"sluice.dev/sluice/dataplane/sock"
)

// A mode tcp session: pick a server, connect, relay bytes both ways until
// both sides have finished, log it.
//
// A session accepted below net (a sock.Conn) whose server slot is free at
// once and whose server has an IP address runs on a relay loop, with no
// goroutine of its own: accepted, routed and dialed on its listener's
// goroutine, relayed and logged on the loop's (see sock.Loop). The others
// (TLS, servers named by host names, a full server whose queue must be
// waited in) run on a goroutine with blocking calls: serveTCP.
type tcpSession struct {
	relay sock.Relay
	rt    *Runtime
	fe    *frontend
	// counted is the frontend whose current-connection gauge startTCP
	// raised: route may move fe to a newer table's.
	counted *frontend
	be      *backendRoute
	srv     *backend.Server
	held    bool // a slot on srv is taken
	conn    net.Conn
	key     []byte
	attempt int
	connect time.Duration
	dialed  time.Time
	entry   logEntry
}

var tcpSessions sync.Pool

func getTCPSession(rt *Runtime, conn net.Conn) *tcpSession {
	s, _ := tcpSessions.Get().(*tcpSession)
	if s == nil {
		s = &tcpSession{}
	}
	s.rt, s.conn = rt, conn
	s.entry.start = time.Now()
	return s
}

func putTCPSession(s *tcpSession) {
	line := s.entry.line
	*s = tcpSession{}
	s.entry.line = line[:0]
	tcpSessions.Put(s)
}

// route finds the session's backend and first server; false: the frontend
// has no backend.
func (s *tcpSession) route(t *Table, slot int) bool {
	s.fe = t.frontends[slot]
	be := s.fe.defaultBE
	if be == nil {
		s.entry.term = "PC"
		return false
	}
	s.be = be
	s.connect = resolveTimeouts(config.Timeouts{}, be.timeouts).connect
	if be.balance.Algorithm == config.BalanceSource {
		s.key = addrKey(s.conn.RemoteAddr())
	}
	s.srv = be.pool.Pick(s.key, nil)
	if s.srv == nil {
		// The table may have been swapped and this backend's servers
		// retired under us: use the live one.
		if nt := s.rt.table.Load(); nt != t {
			if nfe := nt.frontends[slot]; nfe != nil && nfe.mode == config.ModeTCP && nfe.defaultBE != nil {
				s.fe, s.be = nfe, nfe.defaultBE
				s.srv = s.be.pool.Pick(s.key, nil)
			}
		}
	}
	return true
}

// idle is the session's inactivity limit: timeout client / server in mode
// tcp, as in HAProxy, or timeout tunnel, which overrides both.
func (s *tcpSession) idle() time.Duration {
	if t := s.be.timeouts.Tunnel; t > 0 {
		return t
	}
	return max(s.fe.raw.Client, s.be.timeouts.Server)
}

// failed records a failed connection to s.srv and moves to the server the
// retries go to; false when they are spent.
func (s *tcpSession) failed(err error) bool {
	s.entry.tConnect = time.Since(s.dialed)
	s.srv.ReportConnectFailure(err)
	s.srv.Release()
	s.held = false
	if s.attempt >= s.be.retries {
		s.srv = nil
		s.entry.term = "SC"
		return false
	}
	s.attempt++
	if s.be.redispatch {
		if next := s.be.pool.Pick(s.key, s.srv); next != nil {
			s.srv = next
		}
	}
	return true
}

func (s *tcpSession) connected() {
	s.entry.tConnect = time.Since(s.dialed)
	s.srv.ReportSuccess()
}

// dialOutcome is what dialNow did.
type dialOutcome uint8

const (
	dialStarted dialOutcome = iota // relay.Server is connecting or connected
	dialWait                       // only a goroutine can go on (see serveRest)
	dialFailed                     // every attempt failed
)

// dialNow starts connecting to a server without waiting for anything,
// trying the next ones while connects fail at once.
func (s *tcpSession) dialNow() dialOutcome {
	for s.srv != nil {
		srv, ok := s.be.pool.TryAcquire(s.srv)
		if !ok {
			return dialWait
		}
		s.srv, s.held = srv, true
		ap, err := netip.ParseAddrPort(srv.Addr)
		if err != nil || !sock.Dialable(ap) {
			return dialWait
		}
		s.dialed = time.Now()
		c, done, err := sock.DialStart(ap)
		if err == nil {
			s.relay.Server, s.relay.Connecting = c, !done
			if done {
				s.connected()
			}
			return dialStarted
		}
		if !s.failed(err) {
			return dialFailed
		}
	}
	s.entry.term = "SC"
	return dialFailed
}

// dialBlocking connects to a server, waiting in the backend's queue and
// for the handshake as needed; nil when every attempt failed.
func (s *tcpSession) dialBlocking() net.Conn {
	for s.srv != nil {
		if !s.held {
			srv, err := s.be.pool.Acquire(context.Background(), s.srv)
			if err != nil {
				s.entry.term = "sQ"
				return nil
			}
			s.srv, s.held = srv, true
		}
		s.dialed = time.Now()
		up, err := dialTCP(s.srv.Addr, s.connect)
		if err == nil {
			s.connected()
			return up
		}
		if !s.failed(err) {
			return nil
		}
	}
	s.entry.term = "SC"
	return nil
}

// relayBlocking relays the session with two goroutines (see tunnel).
func (s *tcpSession) relayBlocking(up net.Conn) {
	rc := sock.Wrap(s.conn)
	in, out, idled := tunnel(rc, nil, up, nil, s.idle())
	_ = up.Close()
	if rc != s.conn {
		sock.Put(rc) // a wrapper of ours; conn is its owner's to recycle
	}
	sock.Put(up)
	s.entry.bytesIn, s.entry.bytesOut = in, out
	s.entry.term = "--"
	if idled {
		s.entry.term = "cD"
	}
}

// log counts the session's bytes, writes its line and gives its server
// slot back.
func (s *tcpSession) log() {
	if s.be != nil {
		in, out := s.entry.bytesIn, s.entry.bytesOut
		s.fe.metrics.bytesIn.Add(float64(in))
		s.fe.metrics.bytesOut.Add(float64(out))
		s.be.metrics.bytesOut.Add(uint64(in))
		s.be.metrics.bytesIn.Add(uint64(out))
	}
	s.rt.logTCP(s.conn, s.fe, s.be, s.srv, &s.entry)
	if s.held {
		s.srv.Release()
		s.held = false
	}
}

// serveTCP runs a mode tcp session on the calling goroutine; the caller
// owns conn, tracks it and closes it.
func (rt *Runtime) serveTCP(conn net.Conn, slot int, t *Table) {
	s := getTCPSession(rt, conn)
	if s.route(t, slot) {
		if up := s.dialBlocking(); up != nil {
			s.relayBlocking(up)
		}
	}
	s.log()
	putTCPSession(s)
}

// startTCP serves c when its listener's frontend is in mode tcp without
// TLS, and reports whether it did. It never waits: a session that has to
// goes on in a goroutine of its own.
func (rt *Runtime) startTCP(c *sock.Conn, l *listener) bool {
	loops := rt.loops.Load()
	t := rt.table.Load()
	fe := t.frontends[l.slot]
	if loops == nil || fe == nil || fe.mode != config.ModeTCP || t.tlsAt(l.slot) != nil {
		return false
	}
	fe.metrics.conns.Inc()
	fe.metrics.curConns.Inc()
	s := getTCPSession(rt, c)
	s.counted = fe
	if !s.route(t, l.slot) {
		s.end()
		return true
	}
	switch s.dialNow() {
	case dialFailed:
		s.end()
	case dialWait:
		go s.serveRest()
	case dialStarted:
		r := &s.relay
		r.Client, r.Hooks = c, s
		r.Idle, r.ConnectTimeout = s.idle(), s.connect
		if err := loops.next().Start(r); err != nil {
			// No room in the loop's epoll set: relay on goroutines.
			rt.log.Warn("relay loop refused a session", "frontend", fe.name, "error", err)
			go s.relayRest()
		}
	}
	return true
}

// serveRest goes on with a session startTCP could not finish without
// waiting: for a slot in the server queue, or for a name's resolution.
func (s *tcpSession) serveRest() {
	s.rt.track(s.conn).busy.Store(true)
	defer s.rt.untrack(s.conn)
	if up := s.dialBlocking(); up != nil {
		s.relayBlocking(up)
	}
	s.end()
}

// relayRest relays a connected session that a loop did not take.
func (s *tcpSession) relayRest() {
	s.rt.track(s.conn).busy.Store(true)
	defer s.rt.untrack(s.conn)
	up := s.relay.Server
	s.relay.Server = nil
	s.relayBlocking(up)
	s.end()
}

// end finishes a session startTCP took: it logs it and releases what the
// acceptance took (see serveConn for the goroutine's counterpart).
func (s *tcpSession) end() {
	rt, fe := s.rt, s.counted
	s.log()
	if c, ok := s.conn.(*sock.Conn); ok && !c.Closed() {
		_ = c.Close()
	}
	sock.Put(s.conn)
	fe.metrics.curConns.Dec()
	putTCPSession(s)
	rt.curConn.Add(-1)
	rt.connWG.Done()
}

// The relay loop's hooks, on the loop's goroutine.

func (s *tcpSession) Connected(*sock.Relay) { s.connected() }

func (s *tcpSession) ConnectFailed(r *sock.Relay, err error) sock.Next {
	sock.Put(r.Server)
	r.Server = nil
	if !s.failed(err) {
		return sock.GiveUp
	}
	switch s.dialNow() {
	case dialStarted:
		return sock.Redial
	case dialWait:
		return sock.Detach
	}
	return sock.GiveUp
}

func (s *tcpSession) Ended(r *sock.Relay) {
	if r.Detached {
		go s.serveRest()
		return
	}
	if r.Server != nil {
		sock.Put(r.Server)
		r.Server = nil
	}
	if s.entry.term == "" {
		s.entry.bytesIn, s.entry.bytesOut = r.In, r.Out
		switch r.Err {
		case sock.ErrIdle:
			s.entry.term = "cD"
		case sock.ErrAborted:
			s.entry.term = "KD"
		default:
			s.entry.term = "--"
		}
	}
	s.end()
}

// loopSet is the relay loops of a Runtime, one per processor; sessions go
// to them in turn.
type loopSet struct {
	loops []*sock.Loop
	n     atomic.Uint32
}

func newLoopSet(n int) (*loopSet, error) {
	ls := &loopSet{}
	for range n {
		l, err := sock.NewLoop()
		if err != nil {
			ls.close()
			return nil, err
		}
		ls.loops = append(ls.loops, l)
	}
	return ls, nil
}

func (ls *loopSet) next() *sock.Loop {
	return ls.loops[int(ls.n.Add(1))%len(ls.loops)]
}

func (ls *loopSet) abort() {
	for _, l := range ls.loops {
		l.Abort()
	}
}

func (ls *loopSet) close() {
	for _, l := range ls.loops {
		l.Close()
	}
}

// tunnel relays bytes between a client and a server in both directions
// until both have closed their sending side, forwarding each half-close.
// Bytes already buffered on either side are sent first. With idle == 0
// there is no inactivity limit and a stream that fills a buffer moves to
// the kernel's splice path (io.Copy between TCP connections); otherwise
// both sides are closed after idle with no byte in either direction
// (idled reports it), so a one-way stream is not cut.
func tunnel(client net.Conn, cbr *bufio.Reader, server net.Conn, sbr *bufio.Reader, idle time.Duration) (in, out int64, idled bool) {
	// Two goroutines share both connections from here.
	register(client)
	register(server)
	t := getTunnelRun()
	t.client, t.server, t.sbr, t.idle = client, server, sbr, idle
	t.wg.Add(1)
	go t.fn()
	in = pipe(server, client, cbr, idle, &t.shared)
	t.wg.Wait()
	out = t.out
	idled = t.shared.idled.Load()
	putTunnelRun(t)
	return in, out, idled
}

// tunnelRun is what tunnel shares with the goroutine that copies the
// server's side, kept for the next session: a closure, its captured
// variables and the WaitGroup would be four allocations per session.
type tunnelRun struct {
	client, server net.Conn
	sbr            *bufio.Reader
	idle           time.Duration
	out            int64
	shared         pipeShared
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
	t.shared.finished.Store(0)
	t.shared.active.Store(0)
	t.shared.idled.Store(false)
	tunnelRuns.Put(t)
}

func (t *tunnelRun) serverToClient() {
	defer t.wg.Done()
	t.out = pipe(t.client, t.server, t.sbr, t.idle, &t.shared)
}

// pipe copies src to dst (after what br holds), then half-closes dst,
// unless the other direction has already finished: both connections are
// closed next, and the close sends the FIN, one system call fewer.
func pipe(dst, src net.Conn, br *bufio.Reader, idle time.Duration, sh *pipeShared) int64 {
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
		m, err = copyIdle(dst, src, idle, &sh.active)
	}
	n += m
	if err != nil {
		if isTimeout(err) {
			sh.idled.Store(true)
		}
		closeBoth(dst, src)
		return n
	}
	if sh.finished.Add(1) == 2 {
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

// pipeShared is what the two directions of a tunnel share.
type pipeShared struct {
	finished atomic.Int32
	// active is when bytes last moved either way (Unix nanoseconds): a
	// session is idle only when both directions are, as with HAProxy's
	// timeout tunnel; a download with a silent client goes on.
	active atomic.Int64
	// idled: the tunnel ended on its idle timeout.
	idled atomic.Bool
}

// copyIdle copies until EOF, failing once neither src nor the other
// direction (active) has carried a byte for idle.
func copyIdle(dst, src net.Conn, idle time.Duration, active *atomic.Int64) (int64, error) {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	var n int64
	for {
		now := time.Now()
		_ = src.SetReadDeadline(now.Add(idle))
		r, err := src.Read(buf)
		if r > 0 {
			now = time.Now()
			active.Store(now.UnixNano())
			_ = dst.SetWriteDeadline(now.Add(idle))
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
			if isTimeout(err) && time.Since(time.Unix(0, active.Load())) < idle {
				continue // the other way is busy: wait on
			}
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

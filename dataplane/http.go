package dataplane

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/backend"
	"sluice.dev/sluice/dataplane/h1"
	"sluice.dev/sluice/dataplane/sock"
)

// clientBufSize bounds a request head: a request line or header block that
// does not fit is answered 414 or 431, as HAProxy does with tune.bufsize.
const clientBufSize = 16 << 10

// inlineBody is the largest body forwarded together with its head in a
// single write when it is already buffered.
const inlineBody = 16 << 10

// httpConn is the state of one client connection in mode http. It is
// reused for every request on the connection; nothing in it is allocated
// per request.
type httpConn struct {
	rt   *Runtime
	conn net.Conn
	slot int
	br   *bufio.Reader
	out  []byte // outgoing head (and small body), reused
	tmp  []byte // scratch for rewritten header values
	req  h1.Request
	resp h1.Response
	rv   request

	src     netip.Addr
	srcKey  []byte // src as 4 or 16 bytes, the `balance source` key
	srcStr  []byte // src as text, for X-Forwarded-For and logs
	srcPort uint16
	st      *connState
	tls     tlsInfo // the client connection's TLS, if any

	// cache keeps the last upstream connections used by this client, so a
	// keep-alive client reuses them without touching the servers' shared
	// idle lists.
	cache [2]*upstream

	edits     []*reqRule
	respEdits []*respRule

	// headSent is set once the request head has been consumed from br; its
	// slices stay readable until br reads again.
	headSent bool
	isHead   bool // the request's method is HEAD (kept: body reads may reuse br)

	served int
	log    logEntry

	// clock is the time the engine last read, at most one request's
	// processing ago: deadlines are set from it rather than from a clock
	// read each (ten a request, 2-3 % of the proxy's CPU). They already
	// fire up to a margin late (see sock's lazyDeadline), which covers
	// the staleness.
	clock time.Time
	flow  flowWriter // see flowing
}

// now reads the clock and keeps it for the deadlines that follow.
func (c *httpConn) now() time.Time {
	c.clock = time.Now()
	return c.clock
}

func (c *httpConn) init(rt *Runtime, conn net.Conn, slot int, br *bufio.Reader, st *connState) {
	c.rt, c.conn, c.slot, c.br, c.st = rt, conn, slot, br, st
	c.served = 0
	c.clock = time.Time{}
	c.src = netip.Addr{}
	c.srcKey = c.srcKey[:0]
	c.srcStr = c.srcStr[:0]
	var ap netip.AddrPort
	if sc, ok := conn.(*sock.Conn); ok {
		ap = sc.RemoteAddrPort() // RemoteAddr would allocate
	} else if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		ap = ta.AddrPort()
	}
	if ap.IsValid() {
		c.src = ap.Addr().Unmap()
		c.srcPort = ap.Port()
		c.srcKey = append(c.srcKey, c.src.AsSlice()...)
		c.srcStr = c.src.AppendTo(c.srcStr)
	}
}

func (c *httpConn) release() {
	for i, u := range c.cache {
		if u != nil {
			c.parkShared(u)
			c.cache[i] = nil
		}
	}
}

// serve runs requests until the connection must close.
func (c *httpConn) serve() {
	defer c.release()
	for {
		t := c.rt.table.Load()
		fe := t.frontends[c.slot]
		if fe == nil || fe.mode != config.ModeHTTP || c.rt.draining.Load() && c.served > 0 {
			return
		}
		if c.br.Buffered() == 0 {
			wait := fe.timeouts.keepAlive
			if c.served == 0 {
				wait = fe.timeouts.httpRequest
				c.now()
			}
			_ = c.conn.SetReadDeadline(c.clock.Add(wait))
		}
		c.st.busy.Store(false)
		err := c.readHead()
		c.st.busy.Store(true)
		c.log.start = c.now()
		if err != nil {
			c.headError(fe, err)
			return
		}
		if !c.handle(t, fe) {
			return
		}
		c.served++
	}
}

// readHead reads until a whole request head is buffered and parsed.
func (c *httpConn) readHead() error {
	c.req.Reset()
	for {
		n := c.br.Buffered()
		if n > 0 {
			buf, _ := c.br.Peek(n)
			err := c.req.Parse(buf, n >= c.br.Size())
			if err != h1.ErrNeedMore {
				return err
			}
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			if n > 0 && isTimeout(err) {
				return errRequestTimeout
			}
			return err
		}
	}
}

var errRequestTimeout = errors.New("request head timeout")

// headError answers a request head that could not be read, if there is
// anyone to answer.
func (c *httpConn) headError(fe *frontend, err error) {
	var he *h1.Error
	switch {
	case errors.As(err, &he):
		c.replyAndLog(fe, replyFor(he.Status), "PR")
	case err == errRequestTimeout:
		c.replyAndLog(fe, reply408, "cR")
	}
	// Anything else is a client that went away or an idle keep-alive
	// connection that timed out: nothing to say.
}

func (c *httpConn) replyAndLog(fe *frontend, r *reply, term string) {
	c.out = r.appendTo(c.out[:0], true)
	_ = c.conn.SetWriteDeadline(time.Now().Add(fe.timeouts.client))
	n, _ := c.conn.Write(c.out)
	fe.metrics.requests[classIndex(r.status)].Inc()
	fe.metrics.bytesOut.Add(float64(n))
	c.log.reset()
	c.log.status = r.status
	c.log.bytesOut = int64(n)
	c.log.term = term
	c.writeLog(fe, nil)
}

// handle serves one parsed request and reports whether the connection
// stays open for another.
func (c *httpConn) handle(t *Table, fe *frontend) bool {
	req := &c.req
	c.rv.reset(req, c.src, &c.tls)
	c.log.reset()
	c.headSent = false
	c.isHead = string(req.Method) == "HEAD"
	if c.rt.accessLog != nil {
		c.log.setRequest(req)
	}
	fe.metrics.bytesIn.Add(float64(req.HeadLen))
	for {
		keep, moved := c.route(t, fe)
		if !moved {
			return keep
		}
		// The table was swapped while this request was being routed and
		// its servers were retired: route it again on the new table.
		t = c.rt.table.Load()
		next := t.frontends[c.slot]
		if next == nil || next.mode != config.ModeHTTP {
			return c.localReply(fe, nil, reply503, "PR")
		}
		fe = next
	}
}

// route applies the frontend's rules, chooses the backend and forwards.
// moved reports that no server was found in a table that is no longer the
// live one.
func (c *httpConn) route(t *Table, fe *frontend) (keep, moved bool) {
	c.edits = c.edits[:0]
	if r := c.applyReqRules(fe.reqRules); r != nil {
		return c.ruleReply(fe, nil, r), false
	}
	be := fe.selectBackend(&c.rv)
	if be == nil {
		be = fe.defaultBE
	}
	if be == nil {
		// No use_backend matched and there is no default_backend: HAProxy answers 503.
		return c.localReply(fe, nil, reply503, "PR"), false
	}
	if r := c.applyReqRules(be.reqRules); r != nil {
		return c.ruleReply(fe, be, r), false
	}
	return c.forward(t, fe, be)
}

// applyReqRules evaluates http-request rules in order. Header edits are
// collected for when the head is written; a final rule (deny, return,
// redirect) stops evaluation and is returned.
func (c *httpConn) applyReqRules(rules []reqRule) *reqRule {
	for i := range rules {
		r := &rules[i]
		if !r.cond.eval(&c.rv) {
			continue
		}
		if r.final() {
			return r
		}
		c.edits = append(c.edits, r)
	}
	return nil
}

// ruleReply answers a request with a deny, return or redirect rule.
func (c *httpConn) ruleReply(fe *frontend, be *backendRoute, r *reqRule) bool {
	if r.reply != nil {
		return c.localReply(fe, be, r.reply, "PR")
	}
	// Redirects to a prefix or a scheme depend on the request.
	rd := r.redirect
	b := appendStatusLine(c.out[:0], r.status)
	b = append(b, "\r\nLocation: "...)
	switch rd.Kind {
	case config.RedirectScheme:
		b = append(b, rd.Value...)
		b = append(b, "://"...)
		b = append(b, hostForScheme(c.req.Host, rd.Value)...)
	case config.RedirectPrefix:
		b = append(b, trimSlash(rd.Value)...)
	}
	b = append(b, c.req.Path...)
	if !rd.DropQuery && len(c.req.Query) > 0 {
		b = append(b, '?')
		b = append(b, c.req.Query...)
	}
	b = append(b, "\r\nContent-Length: 0\r\n"...)
	c.out = b
	return c.finishLocal(fe, be, r.status, "PR")
}

// hostForScheme drops from a Host the default port of the scheme being
// left (http://a:80 becomes https://a, not https://a:80), as HAProxy does;
// any other port is kept.
func hostForScheme(host []byte, scheme string) []byte {
	var old string
	switch {
	case strings.EqualFold(scheme, "https"):
		old = ":80"
	case strings.EqualFold(scheme, "http"):
		old = ":443"
	default:
		return host
	}
	if len(host) > len(old) && string(host[len(host)-len(old):]) == old {
		return host[:len(host)-len(old)]
	}
	return host
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// localReply answers with a response the proxy builds itself.
func (c *httpConn) localReply(fe *frontend, be *backendRoute, r *reply, term string) bool {
	keep := c.discardRequest() && c.canKeepAlive()
	c.out = r.appendTo(c.out[:0], !keep)
	return c.sendLocal(fe, be, r.status, term, keep)
}

// finishLocal completes a head already in c.out and sends it.
func (c *httpConn) finishLocal(fe *frontend, be *backendRoute, status int, term string) bool {
	keep := c.discardRequest() && c.canKeepAlive()
	if !keep {
		c.out = append(c.out, "Connection: close\r\n"...)
	}
	c.out = append(c.out, "\r\n"...)
	return c.sendLocal(fe, be, status, term, keep)
}

func (c *httpConn) sendLocal(fe *frontend, be *backendRoute, status int, term string, keep bool) bool {
	_ = c.conn.SetWriteDeadline(time.Now().Add(fe.timeouts.client))
	n, err := c.conn.Write(c.out)
	fe.metrics.requests[classIndex(status)].Inc()
	fe.metrics.bytesOut.Add(float64(n))
	if be != nil {
		be.metrics.requests[classIndex(status)].Inc()
	}
	c.log.status = status
	c.log.bytesOut = int64(n)
	c.log.term = term
	c.writeLog(fe, be)
	return keep && err == nil
}

// discardRequest drops the head of a request answered locally and, when it
// is already buffered, its body, so the connection can carry the next
// request. Once the request was handed to a server its body state is
// uncertain and the connection closes instead.
func (c *httpConn) discardRequest() bool {
	if c.headSent {
		return false
	}
	c.headSent = true
	c.br.Discard(c.req.HeadLen)
	if c.req.Chunked {
		return false
	}
	n := c.req.ContentLength
	if n <= 0 {
		return true
	}
	if int64(c.br.Buffered()) >= n {
		c.br.Discard(int(n))
		return true
	}
	return false
}

// canKeepAlive reports whether the client side may stay open.
func (c *httpConn) canKeepAlive() bool {
	return !c.req.Close && !c.rt.draining.Load()
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// balanceKey extracts the input of a hash-based balance algorithm.
func (c *httpConn) balanceKey(be *backendRoute) []byte {
	switch be.balance.Algorithm {
	case config.BalanceSource:
		return c.srcKey
	case config.BalanceURI:
		return c.req.Path
	case config.BalanceURLParam:
		v, _ := h1.QueryParam(c.req.Query, be.balanceArg)
		return v
	case config.BalanceHdr:
		for i := range c.req.Headers {
			h := &c.req.Headers[i]
			if equalFoldBytes(h.Name, be.balanceArg) {
				return h.Value
			}
		}
	}
	return nil
}

// pick chooses the server for this request: the persistence cookie's if it
// designates a usable server, else the balancer's.
func (c *httpConn) pick(be *backendRoute, p *persistence, exclude *backend.Server) *backend.Server {
	if p.server != nil && p.server != exclude && p.server.Up() {
		p.valid = true
		return p.server
	}
	p.valid = false
	return be.pool.Pick(c.balanceKey(be), exclude)
}

// upstreamFor returns a connection to srv: from this client's cache, from
// the server's idle list, or a new one. reused tells the caller the
// connection may have been closed by the server meanwhile.
func (c *httpConn) upstreamFor(srv *backend.Server, connect time.Duration) (u *upstream, reused bool, err error) {
	for i, cu := range c.cache {
		if cu != nil && cu.srv == srv {
			c.cache[i] = nil
			return cu, true, nil
		}
	}
	if ic := srv.GetIdle(); ic != nil {
		return ic.(*upstream), true, nil
	}
	u, err = dialUpstream(srv, connect)
	return u, false, err
}

// park keeps a reusable upstream in this client's cache, moving the older
// one to its server's shared idle list.
func (c *httpConn) park(u *upstream) {
	for i := range c.cache {
		if c.cache[i] == nil {
			c.cache[i] = u
			return
		}
	}
	old := c.cache[0]
	c.cache[0], c.cache[1] = c.cache[1], u
	c.parkShared(old)
}

func (c *httpConn) parkShared(u *upstream) {
	if !u.srv.PutIdle(u) {
		_ = u.Close()
	}
}

// forward sends the request to a server of be and relays the response.
func (c *httpConn) forward(t *Table, fe *frontend, be *backendRoute) (keep, moved bool) {
	req := &c.req
	now := c.clock
	tm := resolveTimeouts(config.Timeouts{}, be.timeouts)
	var p persistence
	if be.cookie != nil {
		p = be.cookie.lookup(req, be.pool, now.Unix())
	}
	srv := c.pick(be, &p, nil)
	if srv == nil {
		if c.rt.table.Load() != t {
			return false, true
		}
		return c.localReply(fe, be, reply503, "SC"), false
	}
	srv, waited, err := c.acquire(be, srv, &p)
	if err != nil {
		return c.localReply(fe, be, reply503, "sQ"), false
	}
	c.log.tQueue = 0
	if waited {
		c.log.tQueue = c.now().Sub(now)
	}
	// srv may change on redispatch: release whichever holds the slot.
	defer func() { srv.Release() }()

	// A request without a body can be sent again if a reused connection
	// turns out to be dead: nothing of it reached the application.
	replayable := !req.Chunked && req.ContentLength <= 0
	retries := be.retries
	// Response rules only look at the request, which body reads may
	// overwrite: decide them now.
	c.respEdits = c.respEdits[:0]
	c.collectRespEdits(be.respRules)
	c.collectRespEdits(fe.respRules)
	var u *upstream
	for attempt := 0; ; attempt++ {
		tc := c.clock
		var reused bool
		u, reused, err = c.upstreamFor(srv, tm.connect)
		if err != nil {
			srv.ReportConnectFailure(err)
			if retries > 0 {
				retries--
				if be.redispatch {
					// Like HAProxy, a redispatch may break persistence.
					if next := c.pick(be, &persistence{}, srv); next != nil && next != srv {
						if s2, err2 := be.pool.Acquire(context.Background(), next); err2 == nil {
							srv.Release()
							srv = s2
							p.valid = false
						}
					}
				}
				continue
			}
			c.log.server = srv.Name
			if isTimeout(err) {
				return c.localReply(fe, be, reply503, "sC"), false
			}
			return c.localReply(fe, be, reply503, "SC"), false
		}
		c.log.tConnect = 0
		if !reused {
			c.log.tConnect = c.now().Sub(tc)
		}
		sent, err := c.sendRequest(u, fe, be, srv, tm)
		if err == nil {
			err = c.readResponseHead(u, tm)
		}
		if err == nil {
			srv.ReportSuccess()
			break
		}
		_ = u.Close()
		u = nil
		var he *h1.Error
		if errors.As(err, &he) && he.Status < 500 {
			// The client's body is malformed (a bad chunk): it never reached
			// the server as a valid request.
			c.log.server = srv.Name
			return c.localReply(fe, be, replyFor(he.Status), "CD"), false
		}
		if reused && replayable && !sent {
			// The server closed an idle connection under us; try a fresh one.
			continue
		}
		if reused && replayable && errors.Is(err, errNoResponse) {
			continue
		}
		c.log.server = srv.Name
		if isTimeout(err) {
			return c.localReply(fe, be, reply504, "sH"), false
		}
		return c.localReply(fe, be, reply502, "SH"), false
	}
	c.log.server = srv.Name
	return c.relayResponse(fe, be, srv, u, &p, tm), false
}

var errNoResponse = errors.New("server closed the connection without responding")

// sendRequest writes the request head, and its body, to the server. sent
// reports whether any byte of the body went out (after which a retry is no
// longer possible).
func (c *httpConn) sendRequest(u *upstream, fe *frontend, be *backendRoute, srv *backend.Server, tm timeouts) (sent bool, err error) {
	req := &c.req
	_ = u.conn.SetDeadline(c.clock.Add(tm.server))
	c.out = c.appendRequestHead(c.out[:0], fe, be)
	headLen := req.HeadLen
	body := req.ContentLength
	if req.Expect100 && (body > 0 || req.Chunked) {
		// The proxy answers the expectation itself once it has a server
		// connection, as nginx does, so a server that ignores Expect cannot
		// leave the client waiting.
		_ = c.conn.SetWriteDeadline(time.Now().Add(fe.timeouts.client))
		if _, err := c.conn.Write(continue100); err != nil {
			return false, err
		}
	}
	if c.headSent {
		headLen = 0 // a retry: the head is already consumed
	}
	inline := body > 0 && body <= inlineBody && int64(c.br.Buffered()-headLen) >= body
	if inline {
		buf, _ := c.br.Peek(headLen + int(body))
		c.out = append(c.out, buf[headLen:]...)
	}
	if !c.headSent {
		c.headSent = true
		c.br.Discard(headLen)
	}
	if sc, ok := u.conn.(*sock.Conn); ok && (inline || body <= 0 && !req.Chunked) {
		// The whole request: what comes next is the response.
		_, err = sc.WriteAndAwait(c.out)
	} else {
		_, err = u.conn.Write(c.out)
	}
	if err != nil {
		return false, err
	}
	be.metrics.bytesOut.Add(uint64(len(c.out)))
	switch {
	case inline:
		c.br.Discard(int(body))
		c.log.bytesIn += body
	case body > 0:
		_ = c.conn.SetReadDeadline(time.Now().Add(fe.timeouts.client))
		n, err := h1.CopyLength(c.flowing(u.conn, tm.server, c.conn, fe.timeouts.client), c.br, body)
		c.log.bytesIn += n
		if err != nil {
			return true, err
		}
	case req.Chunked:
		_ = c.conn.SetReadDeadline(time.Now().Add(fe.timeouts.client))
		n, err := h1.CopyChunked(c.flowing(u.conn, tm.server, c.conn, fe.timeouts.client), c.br)
		c.log.bytesIn += n
		if err != nil {
			return true, err
		}
	}
	if !inline && (body > 0 || req.Chunked) {
		// The wait for the response starts once the body is sent.
		_ = u.conn.SetReadDeadline(time.Now().Add(tm.server))
	}
	return body > 0 || req.Chunked, nil
}

var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// appendRequestHead writes the head sent to the server: origin-form target,
// hop-by-hop headers removed, rules applied, X-Forwarded-* added.
func (c *httpConn) appendRequestHead(b []byte, fe *frontend, be *backendRoute) []byte {
	req := &c.req
	b = append(b, req.Method...)
	b = append(b, ' ')
	path := req.Path
	for _, e := range c.edits {
		if e.action == config.ActionSetPath {
			path = e.value
		}
	}
	b = append(b, path...)
	if len(req.Query) > 0 {
		b = append(b, '?')
		b = append(b, req.Query...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.Host...)
	b = append(b, "\r\n"...)
	forwarded := fe.forwardFor || be.forwardFor
	for i := range req.Headers {
		h := &req.Headers[i]
		if h1.EqualFold(h.Name, "Host") || h1.EqualFold(h.Name, "Expect") {
			continue
		}
		if h1.Drop(req.Headers, h.Name) {
			if !(req.Upgrade && h1.EqualFold(h.Name, "Upgrade")) {
				continue
			}
		}
		if forwarded && (h1.EqualFold(h.Name, "X-Forwarded-Proto") || h1.EqualFold(h.Name, "X-Forwarded-Host")) {
			continue
		}
		if c.editedAway(h.Name) {
			continue
		}
		value := h.Value
		if be.cookie != nil && h1.EqualFold(h.Name, "Cookie") {
			if v, changed := be.cookie.requestCookie(c.tmp[:0], h.Value); changed {
				c.tmp = v
				if len(v) == 0 {
					continue
				}
				value = v
			}
		}
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, value...)
		b = append(b, "\r\n"...)
	}
	if req.Chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case req.Upgrade:
		b = append(b, "Connection: Upgrade\r\n"...)
	case be.serverClose:
		b = append(b, "Connection: close\r\n"...)
	}
	if forwarded {
		b = append(b, "X-Forwarded-For: "...)
		b = append(b, c.srcStr...)
		if c.tls.on {
			b = append(b, "\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: "...)
		} else {
			b = append(b, "\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: "...)
		}
		b = append(b, req.Host...)
		b = append(b, "\r\n"...)
	}
	for _, e := range c.edits {
		if e.action == config.ActionSetHeader || e.action == config.ActionAddHeader {
			b = append(b, e.name...)
			b = append(b, ": "...)
			b = append(b, e.value...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// editedAway reports whether an http-request rule removes or replaces the
// header.
func (c *httpConn) editedAway(name []byte) bool {
	for _, e := range c.edits {
		if (e.action == config.ActionDelHeader || e.action == config.ActionSetHeader) && equalFoldBytes(name, e.name) {
			return true
		}
	}
	return false
}

// readResponseHead reads the server's response head, skipping interim
// (1xx) responses other than 101, which are relayed to the client.
func (c *httpConn) readResponseHead(u *upstream, tm timeouts) error {
	start := c.clock // the request was sent since
	for {
		c.resp.Reset()
		got := false
		for {
			n := u.br.Buffered()
			if n > 0 {
				got = true
				buf, _ := u.br.Peek(n)
				err := c.resp.Parse(buf, n >= u.br.Size())
				if err == nil {
					break
				}
				if err != h1.ErrNeedMore {
					return err
				}
			}
			if _, err := u.br.Peek(n + 1); err != nil {
				if !got && !isTimeout(err) {
					return errNoResponse
				}
				return err
			}
		}
		if c.resp.Status >= 200 || c.resp.Status == 101 {
			c.log.tResponse = c.now().Sub(start)
			return nil
		}
		buf, _ := u.br.Peek(c.resp.HeadLen)
		if _, err := c.conn.Write(buf); err != nil {
			return err
		}
		u.br.Discard(c.resp.HeadLen)
	}
}

// relayResponse writes the response head and body to the client, and
// decides the fate of both connections.
func (c *httpConn) relayResponse(fe *frontend, be *backendRoute, srv *backend.Server, u *upstream, p *persistence, tm timeouts) bool {
	resp := &c.resp
	req := &c.req
	sm := be.serverMetricsFor(srv)
	be.metrics.respTime.Observe(c.log.tResponse.Seconds())

	if resp.Status == 101 {
		if !req.Upgrade {
			_ = u.Close()
			return c.localReply(fe, be, reply502, "SH")
		}
		buf, _ := u.br.Peek(resp.HeadLen)
		c.out = append(c.out[:0], buf...)
		u.br.Discard(resp.HeadLen)
		c.count(fe, be, sm, 101)
		_ = c.conn.SetWriteDeadline(time.Now().Add(fe.timeouts.client))
		if _, err := c.conn.Write(c.out); err != nil {
			_ = u.Close()
			return false
		}
		c.log.status = 101
		c.log.term = "--"
		in, out, idled := tunnel(c.conn, c.br, u.conn, u.br, tm.tunnel)
		if idled {
			c.log.term = "cD"
		}
		_ = u.Close()
		c.log.bytesIn += in
		c.log.bytesOut += out
		c.writeLog(fe, be)
		return false
	}

	mode := resp.BodyMode(c.method())
	keepServer := !resp.Close && !be.serverClose && mode != h1.BodyUntilClose
	keepClient := c.canKeepAlive() && mode != h1.BodyUntilClose
	// An HTTP/1.0 client cannot read chunked framing: it gets the body
	// de-chunked, delimited by the end of the connection.
	dechunk := mode == h1.BodyChunked && c.req.Minor == 0
	if dechunk {
		keepClient = false
	}
	c.out = c.appendResponseHead(c.out[:0], be, srv, p, mode, keepClient, dechunk)

	headLen := resp.HeadLen
	var sent int64
	var err error
	switch mode {
	case h1.BodyNone:
		u.br.Discard(headLen)
		sent, err = c.writeClient(fe)
	case h1.BodyLength:
		n := resp.ContentLength
		avail := int64(u.br.Buffered() - headLen)
		inline := min(n, avail)
		if inline > 0 {
			buf, _ := u.br.Peek(headLen + int(inline))
			c.out = append(c.out, buf[headLen:]...)
		}
		u.br.Discard(headLen + int(inline))
		if n > inline {
			inline += c.appendReady(u, n-inline)
		}
		sent, err = c.writeClient(fe)
		if err == nil && n > inline {
			var m int64
			m, err = h1.CopyLength(c.flowing(c.conn, fe.timeouts.client, u.conn, tm.server), u.br, n-inline)
			sent += m
		}
	case h1.BodyChunked:
		u.br.Discard(headLen)
		sent, err = c.writeClient(fe)
		if err == nil {
			var m int64
			w := c.flowing(c.conn, fe.timeouts.client, u.conn, tm.server)
			if dechunk {
				m, err = h1.CopyDechunked(w, u.br)
			} else {
				m, err = h1.CopyChunked(w, u.br)
			}
			sent += m
		}
	case h1.BodyUntilClose:
		u.br.Discard(headLen)
		sent, err = c.writeClient(fe)
		if err == nil {
			var m int64
			m, err = io.Copy(c.flowing(c.conn, fe.timeouts.client, u.conn, tm.server), u.br)
			sent += m
		}
	}
	c.count(fe, be, sm, resp.Status)
	c.log.status = resp.Status
	c.log.bytesOut = sent
	be.metrics.bytesIn.Add(uint64(sent))
	if err != nil {
		keepServer, keepClient = false, false
		c.log.term = "SD"
		if isTimeout(err) {
			c.log.term = "sD"
		}
	} else {
		c.log.term = "--"
	}
	if keepServer {
		c.park(u)
	} else {
		_ = u.Close()
	}
	c.writeLog(fe, be)
	return keepClient
}

// coalesceMax bounds how large a response may grow in c.out to leave in
// one write.
const coalesceMax = 32 << 10

// appendReady appends to c.out the part of the next rest body bytes that
// the server has already sent, when the response fits in coalesceMax: a
// body that spans more than one read then reaches the client in one write
// instead of two.
func (c *httpConn) appendReady(u *upstream, rest int64) int64 {
	rc, ok := u.conn.(*sock.Conn)
	if !ok || u.br.Buffered() > 0 || int64(len(c.out))+rest > coalesceMax {
		return 0
	}
	start := len(c.out)
	c.out = slices.Grow(c.out, int(rest))
	got := rc.ReadNow(c.out[start : start+int(rest)])
	c.out = c.out[:start+got]
	return int64(got)
}

func (c *httpConn) count(fe *frontend, be *backendRoute, sm *serverMetrics, status int) {
	i := classIndex(status)
	fe.metrics.requests[i].Inc()
	be.metrics.requests[i].Inc()
	if sm != nil {
		sm.requests[i].Inc()
	}
}

// flowing is the destination of a body that moves the idle deadlines of
// both connections forward on every write: timeout client and timeout
// server bound inactivity, as in HAProxy, so a long download or upload
// that keeps flowing is not cut. Kept in c: no allocation per body.
func (c *httpConn) flowing(dst net.Conn, dstIdle time.Duration, src net.Conn, srcIdle time.Duration) io.Writer {
	c.flow = flowWriter{dst: dst, dstIdle: dstIdle, src: src, srcIdle: srcIdle}
	return &c.flow
}

type flowWriter struct {
	dst, src         net.Conn
	dstIdle, srcIdle time.Duration
}

func (w *flowWriter) Write(p []byte) (int, error) {
	now := time.Now()
	_ = w.dst.SetWriteDeadline(now.Add(w.dstIdle))
	_ = w.src.SetReadDeadline(now.Add(w.srcIdle))
	return w.dst.Write(p)
}

func (c *httpConn) writeClient(fe *frontend) (int64, error) {
	_ = c.conn.SetWriteDeadline(c.clock.Add(fe.timeouts.client))
	n, err := c.conn.Write(c.out)
	fe.metrics.bytesOut.Add(float64(n))
	return int64(n), err
}

func (c *httpConn) collectRespEdits(rules []respRule) {
	for i := range rules {
		if rules[i].cond.eval(&c.rv) {
			c.respEdits = append(c.respEdits, &rules[i])
		}
	}
}

// appendResponseHead writes the head sent to the client.
func (c *httpConn) appendResponseHead(b []byte, be *backendRoute, srv *backend.Server, p *persistence, mode h1.BodyMode, keep, dechunk bool) []byte {
	resp := &c.resp
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(resp.Status), 10)
	b = append(b, ' ')
	b = append(b, resp.Reason...)
	b = append(b, "\r\n"...)
	ck := be.cookie
	serverSetOurs := false
	for i := range resp.Headers {
		h := &resp.Headers[i]
		if h1.Drop(resp.Headers, h.Name) {
			// A coding other than chunked is relayed as received: the body
			// is passed through until the server closes.
			if !(resp.Coded && h1.EqualFold(h.Name, "Transfer-Encoding")) {
				continue
			}
		}
		if c.respEditedAway(h.Name) {
			continue
		}
		value := h.Value
		if ck != nil && h1.EqualFold(h.Name, "Set-Cookie") {
			v, ours, drop := ck.responseSetCookie(c.tmp[:0], h.Value, srv)
			if ours {
				serverSetOurs = true
			}
			if drop {
				continue
			}
			if v != nil {
				c.tmp = v
				value = v
			}
		}
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, value...)
		b = append(b, "\r\n"...)
	}
	if ck != nil && ck.mode == config.CookieInsert && !(serverSetOurs && ck.preserve) {
		now := time.Now().Unix()
		if ck.needInsert(*p, srv, now) {
			b = append(b, "Set-Cookie: "...)
			b = ck.appendInsert(b, srv, *p, now)
			b = append(b, "\r\n"...)
			if ck.nocache {
				b = append(b, "Cache-Control: private\r\n"...)
			}
		}
	}
	if mode == h1.BodyChunked && !dechunk {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	for _, e := range c.respEdits {
		if e.action == config.ActionSetHeader || e.action == config.ActionAddHeader {
			b = append(b, e.name...)
			b = append(b, ": "...)
			b = append(b, e.value...)
			b = append(b, "\r\n"...)
		}
	}
	switch {
	case !keep:
		b = append(b, "Connection: close\r\n"...)
	case c.req.Minor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, "\r\n"...)
}

func (c *httpConn) respEditedAway(name []byte) bool {
	for _, e := range c.respEdits {
		if (e.action == config.ActionDelHeader || e.action == config.ActionSetHeader) && equalFoldBytes(name, e.name) {
			return true
		}
	}
	return false
}

var methodHead = []byte("HEAD")

// method is the request method as far as response framing cares.
func (c *httpConn) method() []byte {
	if c.isHead {
		return methodHead
	}
	return nil
}

// acquire takes a server slot: a persistent request waits for its own
// server, others may be moved to any server with room. waited is false
// when it surely did not queue, so the queue time needs no clock read.
func (c *httpConn) acquire(be *backendRoute, srv *backend.Server, p *persistence) (s *backend.Server, waited bool, err error) {
	if p.valid {
		s, err = be.pool.AcquireServer(context.Background(), srv)
		return s, true, err
	}
	if s, ok := be.pool.TryAcquire(srv); ok {
		return s, false, nil
	}
	s, err = be.pool.Acquire(context.Background(), srv)
	return s, true, err
}

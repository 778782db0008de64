package backend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"sluice.dev/sluice/config"
)

// Defaults of the `server` check parameters, as in HAProxy.
const (
	DefaultInter = 2 * time.Second
	DefaultRise  = 2
	DefaultFall  = 3
)

// checkSettings is everything a checker needs; comparable, so that a reload
// restarts a checker only when something changed.
type checkSettings struct {
	addr           string
	inter          time.Duration
	rise, fall     int
	connectTimeout time.Duration // for the TCP connection
	timeout        time.Duration // for the whole check
	request        string        // HTTP request, "" for a TCP check
	expect         int           // expected status, 0: any 2xx or 3xx
}

func newCheckSettings(b *config.Backend, cs *config.Server) checkSettings {
	set := checkSettings{inter: cs.Inter, rise: cs.Rise, fall: cs.Fall}
	if set.inter <= 0 {
		set.inter = DefaultInter
	}
	if set.rise <= 0 {
		set.rise = DefaultRise
	}
	if set.fall <= 0 {
		set.fall = DefaultFall
	}
	port := cs.Port
	if cs.CheckPort != 0 {
		port = cs.CheckPort
	}
	set.addr = net.JoinHostPort(cs.Host, strconv.Itoa(port))
	// HAProxy: connect within min(inter, timeout connect); with timeout
	// check the response gets that much more, else the check fits in inter.
	set.connectTimeout = set.inter
	if c := b.Timeouts.Connect; c > 0 && c < set.connectTimeout {
		set.connectTimeout = c
	}
	set.timeout = set.inter
	if c := b.Timeouts.Check; c > 0 {
		set.timeout = set.connectTimeout + c
	}
	if b.Check.Enabled {
		method, uri := b.Check.Method, b.Check.URI
		if method == "" {
			method = "OPTIONS"
		}
		if uri == "" {
			uri = "/"
		}
		set.request = method + " " + uri + " HTTP/1.1\r\nHost: " + set.addr +
			"\r\nUser-Agent: sluice-check\r\nConnection: close\r\n\r\n"
		set.expect = b.Check.ExpectStatus
	}
	return set
}

// checker is the goroutine checking one server.
type checker struct {
	st     *state
	set    checkSettings
	gen    uint64
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has returned
}

// run checks every inter, the interval counted from the end of a check as
// HAProxy does. The first check runs at once when immediate is set.
func (c *checker) run(ctx context.Context, immediate bool) {
	defer c.st.reg.wg.Done()
	defer close(c.done)
	first := c.set.inter
	if immediate {
		first = 0
	}
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.once(ctx)
		t.Reset(c.set.inter)
	}
}

// once runs one check and records it. A panic (a bug, or a misbehaving
// Dialer) loses this check's result but not the checker.
func (c *checker) once(ctx context.Context) {
	defer func() { _ = recover() }()
	res := probe(ctx, c.st.reg.dialer, &c.set)
	if ctx.Err() != nil {
		return // stopped during the check: the result means nothing
	}
	c.st.recordCheck(c.gen, res)
}

// probe connects to the server and, for an HTTP check, reads the status of
// the response to the check request.
func probe(ctx context.Context, d Dialer, set *checkSettings) CheckResult {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, set.connectTimeout)
	conn, err := d.DialContext(dctx, "tcp", set.addr)
	cancel()
	if err != nil {
		res := CheckResult{Reason: "Layer4 connection problem", Detail: err.Error()}
		if isTimeout(err) {
			res.Reason = "Layer4 timeout"
		}
		res.Duration = time.Since(start)
		return res
	}
	defer conn.Close()
	if set.request == "" {
		return CheckResult{OK: true, Reason: "Layer4 check passed", Duration: time.Since(start)}
	}
	res := httpCheck(ctx, conn, set, start)
	res.Duration = time.Since(start)
	return res
}

func httpCheck(ctx context.Context, conn net.Conn, set *checkSettings, start time.Time) CheckResult {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetDeadline(start.Add(set.timeout))
	if _, err := io.WriteString(conn, set.request); err != nil {
		return l7Failure(err)
	}
	// "HTTP/1.1 200" is all we need of the response.
	var buf [64]byte
	n, err := io.ReadAtLeast(conn, buf[:], len("HTTP/1.1 200"))
	if err != nil {
		return l7Failure(err)
	}
	status, ok := parseStatus(buf[:n])
	if !ok {
		return CheckResult{Reason: "Layer7 invalid response", Detail: strconv.Quote(string(buf[:n]))}
	}
	if set.expect != 0 && status != set.expect || set.expect == 0 && (status < 200 || status > 399) {
		return CheckResult{Reason: "Layer7 wrong status " + strconv.Itoa(status), Status: status}
	}
	return CheckResult{OK: true, Reason: "Layer7 check passed", Status: status}
}

func l7Failure(err error) CheckResult {
	if isTimeout(err) {
		return CheckResult{Reason: "Layer7 timeout", Detail: err.Error()}
	}
	return CheckResult{Reason: "Layer7 invalid response", Detail: err.Error()}
}

// parseStatus reads the status code of an HTTP/1.x status line.
func parseStatus(b []byte) (int, bool) {
	if len(b) < 12 || !bytes.HasPrefix(b, []byte("HTTP/1.")) || b[8] != ' ' {
		return 0, false
	}
	if len(b) > 12 && b[12] != ' ' && b[12] != '\r' && b[12] != '\n' {
		return 0, false
	}
	code := 0
	for _, c := range b[9:12] {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, code >= 100
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

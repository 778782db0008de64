package dataplane

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"sluice.dev/sluice/dataplane/backend"
	"sluice.dev/sluice/dataplane/h1"
)

// accessLog writes one line per request (mode http) or session (mode tcp),
// in the spirit of HAProxy's httplog:
//
//	127.0.0.1:41234 [25/Nov/2026:04:55:00.123] http web/s1 0/0/1/2/3 200 512 -- "GET /blog HTTP/1.1"
//
// fields: client, accept date, frontend, backend/server, timers
// Tw (queue) / Tc (connect) / Tr (server response head) / Ta (total), all in
// milliseconds, status, bytes sent to the client, termination state, request
// line. Lines are buffered and flushed at least every 100ms.
type accessLog struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newAccessLog(w io.Writer) *accessLog {
	l := &accessLog{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go l.flusher()
	return l
}

func (l *accessLog) flusher() {
	defer close(l.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.mu.Lock()
			_ = l.w.Flush()
			l.mu.Unlock()
		case <-l.stop:
			l.mu.Lock()
			_ = l.w.Flush()
			l.mu.Unlock()
			return
		}
	}
}

func (l *accessLog) write(line []byte) {
	l.mu.Lock()
	_, _ = l.w.Write(line)
	l.mu.Unlock()
}

func (l *accessLog) close() {
	if l == nil {
		return
	}
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

// logEntry collects what a log line says about one request.
type logEntry struct {
	start     time.Time
	tQueue    time.Duration
	tConnect  time.Duration
	tResponse time.Duration
	status    int
	bytesIn   int64
	bytesOut  int64
	server    string
	term      string
	reqLine   []byte
	line      []byte
}

func (e *logEntry) reset() {
	e.tQueue, e.tConnect, e.tResponse = 0, 0, 0
	e.status = 0
	e.bytesIn, e.bytesOut = 0, 0
	e.server = ""
	e.term = "--"
	e.reqLine = e.reqLine[:0]
}

// setRequest copies the request line: the head's bytes do not outlive the
// request body.
func (e *logEntry) setRequest(r *h1.Request) {
	b := e.reqLine[:0]
	b = append(b, r.Method...)
	b = append(b, ' ')
	t := r.Target
	if len(t) > 1024 {
		t = t[:1024]
	}
	b = append(b, t...)
	b = append(b, " HTTP/1."...)
	b = strconv.AppendInt(b, int64(r.Minor), 10)
	e.reqLine = b
}

func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendInt(b, d.Milliseconds(), 10)
}

func (e *logEntry) format(client []byte, port uint16, fe *frontend, be *backendRoute, srv string, tcp bool) []byte {
	b := e.line[:0]
	b = append(b, client...)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(port), 10)
	b = append(b, " ["...)
	b = e.start.AppendFormat(b, "02/Jan/2006:15:04:05.000")
	b = append(b, "] "...)
	b = append(b, fe.name...)
	b = append(b, ' ')
	if be != nil {
		b = append(b, be.name...)
	} else {
		b = append(b, "<NOSRV>"...)
	}
	b = append(b, '/')
	if srv != "" {
		b = append(b, srv...)
	} else {
		b = append(b, "<NOSRV>"...)
	}
	b = append(b, ' ')
	b = appendMillis(b, e.tQueue)
	b = append(b, '/')
	b = appendMillis(b, e.tConnect)
	b = append(b, '/')
	if !tcp {
		b = appendMillis(b, e.tResponse)
		b = append(b, '/')
	}
	b = appendMillis(b, time.Since(e.start))
	b = append(b, ' ')
	if !tcp {
		b = strconv.AppendInt(b, int64(e.status), 10)
		b = append(b, ' ')
	}
	b = strconv.AppendInt(b, e.bytesOut, 10)
	b = append(b, ' ')
	b = append(b, e.term...)
	if !tcp {
		b = append(b, " \""...)
		b = append(b, e.reqLine...)
		b = append(b, '"')
	}
	b = append(b, '\n')
	e.line = b
	return b
}

func (c *httpConn) writeLog(fe *frontend, be *backendRoute) {
	if c.rt.accessLog == nil {
		return
	}
	c.rt.accessLog.write(c.log.format(c.srcStr, c.srcPort, fe, be, c.log.server, false))
}

func (rt *Runtime) logTCP(conn net.Conn, fe *frontend, be *backendRoute, srv *backend.Server, e *logEntry) {
	if rt.accessLog == nil {
		return
	}
	var client []byte
	var port uint16
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		client = ap.Addr().Unmap().AppendTo(nil)
		port = ap.Port()
	}
	name := ""
	if srv != nil {
		name = srv.Name
	}
	rt.accessLog.write(e.format(client, port, fe, be, name, true))
}

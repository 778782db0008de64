package backend

import (
	"sync"
	"time"
)

// IdleConn is an idle keep-alive connection to a server. The engine stores
// its own upstream connection type and gets it back with a type assertion.
type IdleConn interface{ Close() error }

// idleList is a server's stack of idle connections. It is a ring buffer of
// fixed capacity used as a stack: the newest connection sits on top, so
// entries are ordered by the time they went idle, oldest at the bottom.
type idleList struct {
	mu     sync.Mutex
	buf    []idleEntry // allocated by the first Put
	start  int         // index of the bottom entry
	n      int
	closed bool // the server was retired: keep nothing more
}

type idleEntry struct {
	c     IdleConn
	since time.Duration // Registry.clock when the connection went idle
}

// closeBatch bounds how many connections are closed per lock round: they are
// closed outside the lock (a TLS close may write), from a stack array.
const closeBatch = 8

// PutIdle offers c for reuse by later requests to s. It returns false when
// the connection was not kept (idle reuse off, or s retired); the caller then
// closes it. When the list is full its oldest connection is closed to make
// room, since the newest is the least likely to have been closed by the
// server.
func (s *Server) PutIdle(c IdleConn) bool {
	r := s.st.reg
	if r.maxIdle <= 0 {
		return false
	}
	now := r.clock()
	l := &s.st.idle
	var drop [closeBatch]IdleConn
	k := 0
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	if l.buf == nil {
		l.buf = make([]idleEntry, r.maxIdle)
	}
	// Make room, and take the chance to drop a few expired ones from the
	// bottom so that a busy server does not hold stale connections.
	for l.n > 0 && k < closeBatch && (l.n == len(l.buf) || now-l.buf[l.start].since >= r.idleTimeout) {
		drop[k] = l.popBottom()
		k++
	}
	l.buf[(l.start+l.n)%len(l.buf)] = idleEntry{c: c, since: now}
	l.n++
	l.mu.Unlock()
	for _, d := range drop[:k] {
		d.Close()
	}
	return true
}

// GetIdle takes the most recently idled connection to s, or returns nil. It
// never returns a connection idle for the idle timeout or longer; finding
// one on top means all of them are that old, and they are closed.
func (s *Server) GetIdle() IdleConn {
	st := s.st
	l := &st.idle
	l.mu.Lock()
	if l.n == 0 {
		l.mu.Unlock()
		return nil
	}
	now := st.reg.clock()
	top := (l.start + l.n - 1) % len(l.buf)
	e := l.buf[top]
	if now-e.since < st.reg.idleTimeout {
		l.buf[top] = idleEntry{}
		l.n--
		l.mu.Unlock()
		return e.c
	}
	l.mu.Unlock()
	l.prune(now, st.reg.idleTimeout)
	return nil
}

// IdleLen is the number of idle connections kept for s.
func (s *Server) IdleLen() int {
	l := &s.st.idle
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// popBottom removes the oldest entry; mu is held and n > 0.
func (l *idleList) popBottom() IdleConn {
	c := l.buf[l.start].c
	l.buf[l.start] = idleEntry{}
	l.start++
	if l.start == len(l.buf) {
		l.start = 0
	}
	l.n--
	return c
}

// prune closes the connections idle for timeout or longer.
func (l *idleList) prune(now, timeout time.Duration) {
	for {
		var drop [closeBatch]IdleConn
		k := 0
		l.mu.Lock()
		for l.n > 0 && k < closeBatch && now-l.buf[l.start].since >= timeout {
			drop[k] = l.popBottom()
			k++
		}
		l.mu.Unlock()
		for _, d := range drop[:k] {
			d.Close()
		}
		if k < closeBatch {
			return
		}
	}
}

// drain closes every idle connection; with retire, the list keeps no more.
func (l *idleList) drain(retire bool) {
	for {
		var drop [closeBatch]IdleConn
		k := 0
		l.mu.Lock()
		if retire {
			l.closed = true
		}
		for l.n > 0 && k < closeBatch {
			drop[k] = l.popBottom()
			k++
		}
		l.mu.Unlock()
		for _, d := range drop[:k] {
			d.Close()
		}
		if k < closeBatch {
			return
		}
	}
}

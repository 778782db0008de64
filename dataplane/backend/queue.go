package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of Acquire and AcquireServer, wrapped with the backend's name.
var (
	ErrNoServer       = errors.New("no server available")
	ErrQueueTimeout   = errors.New("queue timeout")
	ErrServerDown     = errors.New("server went down")
	ErrServerRetired  = errors.New("server removed by a reload")
	ErrBackendRetired = errors.New("backend removed by a reload")
)

func (p *Pool) errorf(err error) error { return fmt.Errorf("backend %q: %w", p.name, err) }

// queue holds the requests of one backend waiting for a slot. It is shared
// by every generation of the backend, as the servers are. Requests wait in
// FIFO order; one bound to a server (hashing, persistence) accepts only that
// server's slots, the others any server their pool may use.
type queue struct {
	// waiting is read without the lock by Release: the queue is only
	// entered when someone waits.
	waiting atomic.Int64

	mu         sync.Mutex
	head, tail *waiter
	closed     error // set when the backend is retired
}

type waiter struct {
	prev, next *waiter
	queued     bool
	bound      *state  // nil: any eligible server of pool
	server     *Server // the caller's view of bound
	pool       *Pool
	// ch receives the state whose slot was handed over, or nil with err set.
	ch  chan *state
	err error
}

var waiters = sync.Pool{New: func() any { return &waiter{ch: make(chan *state, 1)} }}

// accepts reports whether w may take a slot on st.
func (w *waiter) accepts(st *state) bool {
	if w.bound != nil {
		return w.bound == st
	}
	return w.pool.eligible(st)
}

// push appends w; mu is held.
func (q *queue) push(w *waiter) {
	w.queued = true
	w.prev, w.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.waiting.Add(1)
}

// unlink removes w; mu is held.
func (q *queue) unlink(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	q.waiting.Add(-1)
}

// dispatch hands st's free slots to the oldest waiters that accept st.
func (q *queue) dispatch(st *state) {
	q.mu.Lock()
	for w := q.head; w != nil; {
		next := w.next
		if w.accepts(st) {
			if !st.tryAcquire() {
				break
			}
			q.unlink(w)
			w.ch <- st
		}
		w = next
	}
	q.mu.Unlock()
}

// rescan gives waiters not bound to a server any free slot their pool may
// use now. Releases and servers coming up hand slots over by themselves;
// this covers the rest: a reload raising maxconn, and a backup taking over
// from one that went down.
func (q *queue) rescan() {
	if q.waiting.Load() == 0 {
		return
	}
	q.mu.Lock()
	for w := q.head; w != nil; {
		next := w.next
		if w.bound == nil {
			if s := w.pool.acquireAny(); s != nil {
				q.unlink(w)
				w.ch <- s.st
			}
		}
		w = next
	}
	q.mu.Unlock()
}

// evict fails the waiters bound to st.
func (q *queue) evict(st *state, err error) {
	if q.waiting.Load() == 0 {
		return
	}
	q.mu.Lock()
	for w := q.head; w != nil; {
		next := w.next
		if w.bound == st {
			q.unlink(w)
			w.err = err
			w.ch <- nil
		}
		w = next
	}
	q.mu.Unlock()
}

// close fails every waiter and refuses new ones.
func (q *queue) close(err error) {
	q.mu.Lock()
	q.closed = err
	for w := q.head; w != nil; {
		next := w.next
		q.unlink(w)
		w.err = err
		w.ch <- nil
		w = next
	}
	q.mu.Unlock()
}

// wait queues the caller for a slot on bound (or, if bound is nil, on any
// server of p that load balancing may use) until one is handed over, the
// queue timeout passes or ctx is done.
func (p *Pool) wait(ctx context.Context, bound *Server) (*Server, error) {
	q := p.q
	w := waiters.Get().(*waiter)
	w.pool = p
	if bound != nil {
		w.bound, w.server = bound.st, bound
	}
	q.mu.Lock()
	if q.closed != nil {
		err := q.closed
		q.mu.Unlock()
		putWaiter(w)
		return nil, p.errorf(err)
	}
	// Queue first, then try again under the lock: a Release that freed a
	// slot after our first try either sees us queued (it reads waiting after
	// freeing the slot) or freed it before we take the lock here.
	q.push(w)
	var got *Server
	var err error
	if bound != nil {
		switch {
		case bound.st.tryAcquire():
			got = bound
		case bound.st.flags.Load() != 0:
			err = ErrServerDown
		}
	} else {
		got = p.acquireAny()
	}
	if got != nil || err != nil {
		q.unlink(w)
		q.mu.Unlock()
		putWaiter(w)
		if err != nil {
			return nil, p.errorf(err)
		}
		return got, nil
	}
	q.mu.Unlock()

	timer := time.NewTimer(p.queueTimeout)
	defer timer.Stop()
	select {
	case st := <-w.ch:
		return p.handed(w, st)
	case <-timer.C:
		err = ErrQueueTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	q.mu.Lock()
	if w.queued {
		q.unlink(w)
		q.mu.Unlock()
		putWaiter(w)
		return nil, p.errorf(err)
	}
	q.mu.Unlock()
	// A slot (or an eviction) raced with the timeout: it is in ch already,
	// since hand-overs happen under mu. Give a slot back and fail, so that an
	// error always means no slot is held.
	if st := <-w.ch; st != nil {
		p.q.giveBack(st)
	}
	putWaiter(w)
	return nil, p.errorf(err)
}

// handed turns what a waiter received into Acquire's result.
func (p *Pool) handed(w *waiter, st *state) (*Server, error) {
	bound, err := w.server, w.err
	putWaiter(w)
	if st == nil {
		return nil, p.errorf(err)
	}
	if bound != nil {
		return bound, nil
	}
	return p.members[st], nil
}

// giveBack releases a slot that was handed to a waiter who left.
func (q *queue) giveBack(st *state) {
	st.active.Add(-1)
	if q.waiting.Load() > 0 {
		q.dispatch(st)
	}
}

func putWaiter(w *waiter) {
	w.prev, w.next, w.queued, w.bound, w.server, w.pool, w.err = nil, nil, false, nil, nil, nil, nil
	waiters.Put(w)
}

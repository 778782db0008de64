package backend

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"sluice.dev/sluice/config"
)

// Pool is one backend in one routing-table generation: its servers, as that
// generation configured them, and its balancer. It is immutable but for the
// balancer's counter.
type Pool struct {
	name    string
	balance config.Balance

	servers   []*Server // declaration order, all of them
	primaries []*Server // load-balanced: not backup, not disabled, weight > 0
	weights   []int64   // weights of primaries
	backups   []*Server // backup, not disabled, weight > 0, declaration order

	sched []uint32 // smooth WRR order, indices into primaries
	ring  ring     // hashing algorithms only

	cookies map[string]*Server
	members map[*state]*Server // primaries and backups, by live state

	q            *queue
	queueTimeout time.Duration

	_  [64]byte // keep the counter off the read-mostly cache lines
	rr atomic.Uint64
	_  [56]byte
}

func newPool(b *config.Backend, servers []*Server, q *queue, rings ringCache) *Pool {
	p := &Pool{
		name:         b.Name,
		balance:      b.Balance,
		servers:      servers,
		cookies:      map[string]*Server{},
		members:      map[*state]*Server{},
		q:            q,
		queueTimeout: queueTimeout(b.Timeouts),
	}
	for _, s := range servers {
		if s.Cookie != "" {
			// Two servers with one cookie value: the first declared wins.
			if _, dup := p.cookies[s.Cookie]; !dup {
				p.cookies[s.Cookie] = s
			}
		}
		if s.Disabled || s.Weight == 0 {
			continue
		}
		p.members[s.st] = s
		if s.Backup {
			p.backups = append(p.backups, s)
		} else {
			p.primaries = append(p.primaries, s)
			p.weights = append(p.weights, int64(s.Weight))
		}
	}
	if len(p.primaries) == 0 {
		return p
	}
	switch p.balance.Algorithm {
	case config.BalanceLeastConn, config.BalanceFirst:
	default:
		p.sched = buildSchedule(p.weights)
	}
	if p.hashed() {
		names := make([]string, len(p.primaries))
		for i, s := range p.primaries {
			names[i] = s.Name
		}
		p.ring = rings.get(b.Name, names, p.weights)
	}
	return p
}

// queueTimeout is `timeout queue`, else `timeout connect` (as in HAProxy),
// else DefaultQueueTimeout.
func queueTimeout(t config.Timeouts) time.Duration {
	switch {
	case t.Queue > 0:
		return t.Queue
	case t.Connect > 0:
		return t.Connect
	}
	return DefaultQueueTimeout
}

// Name is the backend's name.
func (p *Pool) Name() string { return p.name }

// Balance is the backend's balance line.
func (p *Pool) Balance() config.Balance { return p.balance }

// Servers are all the backend's servers in declaration order, including
// disabled, weight-0 and backup ones. The slice must not be modified.
func (p *Pool) Servers() []*Server { return p.servers }

// QueueTimeout is how long Acquire waits for a slot.
func (p *Pool) QueueTimeout() time.Duration { return p.queueTimeout }

// QueueLen is the number of requests waiting for a slot in the backend
// (shared by every generation of it).
func (p *Pool) QueueLen() int { return int(p.q.waiting.Load()) }

// hashed reports whether the algorithm maps a key to a server.
func (p *Pool) hashed() bool {
	switch p.balance.Algorithm {
	case config.BalanceSource, config.BalanceURI, config.BalanceURLParam, config.BalanceHdr:
		return true
	}
	return false
}

// Pick chooses a server for a request, or returns nil when no server is up.
//
// key is what the algorithm hashes (client IP bytes, 4 of them for IPv4, for
// source; the path or URI for uri; the parameter's or header's value for
// url_param and hdr); nil when the algorithm needs none or the request lacks
// it, which falls back to round robin. exclude (may be nil) is a server that
// just failed: any other usable server is preferred to it, but it is
// returned when it is the only one up.
//
// Pick prefers a server with a free slot. When every up server is at
// maxconn it returns one of them anyway, for Acquire to queue on. Hashing
// algorithms ignore maxconn: the key's server is returned and the request
// queues for it. Backups are used only when no primary is up (see the
// package documentation).
func (p *Pool) Pick(key []byte, exclude *Server) *Server {
	var ex *state
	if exclude != nil {
		ex = exclude.st
	}
	var s *Server
	if len(p.primaries) > 0 {
		switch p.balance.Algorithm {
		case config.BalanceLeastConn:
			s = p.pickLeastConn(ex)
		case config.BalanceFirst:
			s = p.pickFirst(ex)
		case config.BalanceRandom:
			s = p.pickRandom(ex)
		case config.BalanceSource, config.BalanceURI, config.BalanceURLParam, config.BalanceHdr:
			if key != nil {
				s = p.pickHash(key, ex)
			} else {
				s = p.pickRR(ex)
			}
		default:
			s = p.pickRR(ex)
		}
	}
	if s != nil {
		return s
	}
	return p.pickBackup(ex)
}

// fallback remembers the second-best candidates met while picking: an up
// server at maxconn (the request will queue) and, last resort, the excluded
// server.
type fallback struct {
	full, excluded *Server
}

// take reports whether s can take the request now, and remembers it as a
// fallback when it is up but full or excluded.
func (f *fallback) take(s *Server, ex *state) bool {
	st := s.st
	if st.flags.Load() != 0 {
		return false
	}
	if st == ex {
		if f.excluded == nil {
			f.excluded = s
		}
		return false
	}
	if !st.hasRoom() {
		if f.full == nil {
			f.full = s
		}
		return false
	}
	return true
}

func (f *fallback) server() *Server {
	if f.full != nil {
		return f.full
	}
	return f.excluded
}

// pickRR walks the schedule. Every probe consumes a turn of the shared
// counter, so an unavailable server's turns are spread over the others in
// proportion to their weights rather than all given to its successor. After
// one probe per server it falls back to a plain scan, which bounds the work
// when most servers are down.
func (p *Pool) pickRR(ex *state) *Server {
	var fb fallback
	n := uint64(len(p.sched))
	for range p.primaries {
		s := p.primaries[p.sched[p.rr.Add(1)%n]]
		if fb.take(s, ex) {
			return s
		}
	}
	start := int(p.sched[p.rr.Load()%n])
	for k := range p.primaries {
		i := start + k
		if i >= len(p.primaries) {
			i -= len(p.primaries)
		}
		if s := p.primaries[i]; fb.take(s, ex) {
			return s
		}
	}
	return fb.server()
}

// pickLeastConn returns the server with the lowest (active+1)/weight. The
// scan starts one server further at every call, and the first of equals
// wins, which is round robin among equally loaded servers.
func (p *Pool) pickLeastConn(ex *state) *Server {
	var fb fallback
	n := len(p.primaries)
	start := int(p.rr.Add(1) % uint64(n))
	var best *Server
	var bestLoad, bestWeight int64
	for k := range n {
		i := start + k
		if i >= n {
			i -= n
		}
		s := p.primaries[i]
		if !fb.take(s, ex) {
			continue
		}
		load, w := s.st.active.Load()+1, p.weights[i]
		if best == nil || load*bestWeight < bestLoad*w {
			best, bestLoad, bestWeight = s, load, w
		}
	}
	if best != nil {
		return best
	}
	return fb.server()
}

// pickFirst returns the first server, in declaration order, with a free slot.
func (p *Pool) pickFirst(ex *state) *Server {
	var fb fallback
	for _, s := range p.primaries {
		if fb.take(s, ex) {
			return s
		}
	}
	return fb.server()
}

// pickRandom draws two servers with probability proportional to their
// weights (uniform draws from the weighted schedule) and keeps the one with
// the lower active/weight: HAProxy's random(2).
func (p *Pool) pickRandom(ex *state) *Server {
	var fb fallback // unused beyond take: pickRR redoes the fallbacks
	n := uint64(len(p.sched))
	i, j := p.sched[rand.Uint64N(n)], p.sched[rand.Uint64N(n)]
	a, b := p.primaries[i], p.primaries[j]
	okA, okB := fb.take(a, ex), fb.take(b, ex)
	switch {
	case okA && okB:
		// active/weight, as HAProxy compares them: at equal load the first
		// draw wins, so an idle farm gets exactly the weighted draw.
		if b.st.active.Load()*p.weights[i] < a.st.active.Load()*p.weights[j] {
			return b
		}
		return a
	case okA:
		return a
	case okB:
		return b
	}
	// Both draws were unusable: the scan finds a server if there is one.
	return p.pickRR(ex)
}

// pickHash returns the first up server at or after the key's point on the
// ring. Servers at maxconn are not skipped: the request is bound to its
// server and queues for it.
func (p *Pool) pickHash(key []byte, ex *state) *Server {
	pts := p.ring.points
	n := len(pts)
	i, _ := slices.BinarySearch(pts, hash32(key))
	var excluded *Server
	for k := range n {
		if i >= n {
			i = 0
		}
		s := p.primaries[p.ring.owner[i]]
		if s.st.flags.Load() == 0 {
			if s.st != ex {
				return s
			}
			excluded = s
		}
		// A long walk means most servers are down: stop if all are.
		if k == 2*len(p.primaries) && !p.anyPrimaryUp(ex) {
			return p.primaryIfUp(ex)
		}
		i++
	}
	return excluded
}

// primaryIfUp returns the primary whose state is st if it is up.
func (p *Pool) primaryIfUp(st *state) *Server {
	for _, s := range p.primaries {
		if s.st == st && st.flags.Load() == 0 {
			return s
		}
	}
	return nil
}

// anyPrimaryUp reports whether a primary other than ex is up.
func (p *Pool) anyPrimaryUp(ex *state) bool {
	for _, s := range p.primaries {
		if s.st.flags.Load() == 0 && s.st != ex {
			return true
		}
	}
	return false
}

// pickBackup returns the first up backup, skipping ex unless it is the only
// one.
func (p *Pool) pickBackup(ex *state) *Server {
	var excluded *Server
	for _, s := range p.backups {
		if s.st.flags.Load() != 0 {
			continue
		}
		if s.st != ex {
			return s
		}
		excluded = s
	}
	return excluded
}

// activeBackup is the backup that takes traffic now, if any.
func (p *Pool) activeBackup() *Server {
	if p.anyPrimaryUp(nil) {
		return nil
	}
	return p.pickBackup(nil)
}

// ByCookie returns the server whose persistence cookie value is v, or nil
// when v names no server of the backend or that server is not Up (HAProxy
// then load-balances the request and the engine sets a new cookie). A
// weight-0 server is returned: it still takes persistent traffic. A server at
// maxconn is returned too; AcquireServer queues for it.
func (p *Pool) ByCookie(v []byte) *Server {
	s := p.cookies[string(v)]
	if s == nil || !s.Up() {
		return nil
	}
	return s
}

// Acquire takes a slot for a request that Pick sent to s, and returns the
// server the request must use. Without maxconn this is one atomic add and
// returns s. When s is full the request may go to any other eligible server
// with a free slot; when all are full it waits in the backend's queue, FIFO,
// until a slot frees on any eligible server or the queue timeout passes.
// With a hashing algorithm the request is bound to s and waits for s only.
// On error no slot is held. Every success must be paired with one Release
// on the returned server.
func (p *Pool) Acquire(ctx context.Context, s *Server) (*Server, error) {
	if s == nil {
		return nil, p.errorf(ErrNoServer)
	}
	if s.st.tryAcquire() {
		return s, nil
	}
	if p.hashed() {
		return p.wait(ctx, s)
	}
	if t := p.acquireAny(); t != nil {
		return t, nil
	}
	return p.wait(ctx, nil)
}

// TryAcquire is Acquire without the wait: false when s is full and so is
// every server it could go to instead; the caller then waits with Acquire.
func (p *Pool) TryAcquire(s *Server) (*Server, bool) {
	if s == nil {
		return nil, false
	}
	if s.st.tryAcquire() {
		return s, true
	}
	if p.hashed() {
		return nil, false
	}
	if t := p.acquireAny(); t != nil {
		return t, true
	}
	return nil, false
}

// AcquireServer takes a slot on s for a request that must go to s (cookie
// persistence), waiting in the queue for s alone when s is full. It fails
// at once with ErrServerDown if s is full and not up, or later if s goes down
// while the request waits.
func (p *Pool) AcquireServer(ctx context.Context, s *Server) (*Server, error) {
	if s == nil {
		return nil, p.errorf(ErrNoServer)
	}
	if s.st.tryAcquire() {
		return s, nil
	}
	return p.wait(ctx, s)
}

// acquireAny takes a free slot on any server that load balancing may use
// now: an up primary or, when none is up, the active backup.
func (p *Pool) acquireAny() *Server {
	up := false
	for _, s := range p.primaries {
		if s.st.flags.Load() == 0 {
			up = true
			if s.st.tryAcquire() {
				return s
			}
		}
	}
	if up {
		return nil
	}
	if b := p.pickBackup(nil); b != nil && b.st.tryAcquire() {
		return b
	}
	return nil
}

// eligible reports whether a request queued without a bound server may take
// a slot on st: st is up, a member of this pool, and load balancing would
// use it now.
func (p *Pool) eligible(st *state) bool {
	s, ok := p.members[st]
	if !ok || st.flags.Load() != 0 {
		return false
	}
	return !s.Backup || p.activeBackup() == s
}

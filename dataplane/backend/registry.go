package backend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"sluice.dev/sluice/config"
)

const (
	// DefaultQueueTimeout is how long a request waits for a slot when the
	// backend sets neither `timeout queue` nor `timeout connect`.
	DefaultQueueTimeout = 5 * time.Second
	// DefaultIdleTimeout is how long an idle server connection is kept. It
	// is below the 5s after which common servers (Node.js, Apache) close
	// idle keep-alive connections, so that a reused connection is rarely
	// one the server is closing at that very moment.
	DefaultIdleTimeout = 4 * time.Second
	// DefaultMaxIdlePerServer caps each server's idle list.
	DefaultMaxIdlePerServer = 64
)

// Dialer opens check connections; *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// RegistryOptions configure a Registry. The zero value is usable.
type RegistryOptions struct {
	// OnTransition is called when a server goes up or down. Calls for one
	// server are made one at a time, in order, from the checker's goroutine
	// or the one that called ReportConnectFailure; it should be quick and
	// must not call Registry methods. A panic in it is recovered.
	OnTransition func(Transition)
	// Dialer opens check connections; nil means a net.Dialer.
	Dialer Dialer
	// Now is the clock of idle connections; nil means time.Now.
	Now func() time.Time
	// IdleTimeout: 0 means DefaultIdleTimeout; negative keeps no idle
	// connections.
	IdleTimeout time.Duration
	// MaxIdlePerServer: 0 means DefaultMaxIdlePerServer; negative keeps no
	// idle connections.
	MaxIdlePerServer int
}

// Registry owns the live state of every server across reloads, keyed by
// backend name, server name and address.
type Registry struct {
	onTransition func(Transition)
	dialer       Dialer
	now          func() time.Time // nil: the monotonic clock
	base         time.Time
	idleTimeout  time.Duration
	maxIdle      int // <= 0: no idle connections

	mu      sync.Mutex
	servers map[serverKey]*state
	queues  map[string]*queue
	rings   ringCache
	closed  bool

	stop chan struct{}
	wg   sync.WaitGroup // checkers and the idle janitor
}

type serverKey struct{ backend, server, addr string }

// NewRegistry returns an empty Registry. Close it to stop its goroutines.
func NewRegistry(opts RegistryOptions) *Registry {
	r := &Registry{
		onTransition: opts.OnTransition,
		dialer:       opts.Dialer,
		now:          opts.Now,
		idleTimeout:  opts.IdleTimeout,
		maxIdle:      opts.MaxIdlePerServer,
		servers:      map[serverKey]*state{},
		queues:       map[string]*queue{},
		rings:        ringCache{},
		stop:         make(chan struct{}),
	}
	if r.dialer == nil {
		r.dialer = &net.Dialer{}
	}
	if r.now != nil {
		r.base = r.now()
	} else {
		r.base = time.Now()
	}
	if r.idleTimeout == 0 {
		r.idleTimeout = DefaultIdleTimeout
	}
	if r.maxIdle == 0 {
		r.maxIdle = DefaultMaxIdlePerServer
	}
	if r.idleTimeout < 0 {
		r.maxIdle = 0
	}
	if r.maxIdle > 0 {
		r.wg.Add(1)
		go r.janitor()
	}
	return r
}

// Build compiles one backend into a Pool. Servers the Registry already knows
// (same backend, server name and address) keep their live state; their new
// settings (weight, maxconn, check parameters...) take effect now, for every
// generation. Health checkers are started, restarted with new parameters or
// stopped as the configuration says. Servers that the new table no longer
// uses live on until Sweep.
func (r *Registry) Build(b *config.Backend) (*Pool, error) {
	if b == nil {
		return nil, errors.New("backend: nil backend")
	}
	if err := validate(b); err != nil {
		return nil, fmt.Errorf("backend %q: %w", b.Name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, fmt.Errorf("backend %q: registry closed", b.Name)
	}
	q := r.queues[b.Name]
	if q == nil {
		q = &queue{}
		r.queues[b.Name] = q
	}
	servers := make([]*Server, len(b.Servers))
	for i := range b.Servers {
		cs := &b.Servers[i]
		key := serverKey{b.Name, cs.Name, cs.Addr()}
		st := r.servers[key]
		if st == nil {
			st = &state{key: key, reg: r, q: q}
			r.servers[key] = st
		}
		servers[i] = r.apply(st, b, cs)
	}
	p := newPool(b, servers, q, r.rings)
	// A larger maxconn or a new server may serve requests already waiting.
	for _, s := range servers {
		if q.waiting.Load() > 0 {
			q.dispatch(s.st)
		}
	}
	q.rescan()
	return p, nil
}

// apply gives st the settings of cs and returns this generation's view.
func (r *Registry) apply(st *state, b *config.Backend, cs *config.Server) *Server {
	view := &Server{
		Backend:  b.Name,
		Name:     cs.Name,
		Addr:     st.key.addr,
		Weight:   cs.Weight,
		Backup:   cs.Backup,
		Cookie:   serverCookie(b, cs, st.key.addr),
		MaxConn:  cs.MaxConn,
		Disabled: cs.Disabled,
		Checked:  cs.Check && !cs.Disabled,
		st:       st,
	}
	if old := st.view.Load(); old != nil && *old == *view {
		view = old
	} else {
		st.view.Store(view)
	}
	st.limit.Store(int64(cs.MaxConn))
	if cs.Disabled {
		st.flags.Or(flagDisabled)
		st.q.evict(st, ErrServerDown)
	} else {
		st.flags.And(^flagDisabled)
	}
	var set checkSettings
	if view.Checked {
		set = newCheckSettings(b, cs)
	}
	if c := st.checker; c != nil && (!view.Checked || c.set != set) {
		r.stopChecker(st)
	}
	switch {
	case view.Checked && st.checker == nil:
		r.startChecker(st, set)
	case !view.Checked:
		st.uncheck()
	}
	return view
}

// startChecker starts checking st; r.mu is held.
func (r *Registry) startChecker(st *state, set checkSettings) {
	st.hmu.Lock()
	h := &st.h
	if !h.checked {
		h.checked, h.confirmed = true, false
	}
	h.gen++
	h.rise, h.fall = set.rise, set.fall
	h.okRun, h.failRun = 0, 0
	gen, immediate := h.gen, !h.confirmed
	st.hmu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	c := &checker{st: st, set: set, gen: gen, cancel: cancel, done: make(chan struct{})}
	st.checker = c
	r.wg.Add(1)
	go c.run(ctx, immediate)
}

// stopChecker stops st's checker without waiting for it (Close waits); a
// result it delivers late is dropped by its generation. r.mu is held.
func (r *Registry) stopChecker(st *state) {
	st.checker.cancel()
	st.checker = nil
	st.hmu.Lock()
	st.h.gen++
	st.hmu.Unlock()
}

// uncheck marks st as not checked: it counts as healthy. A server that was
// down only by its checks comes back, which is reported.
func (st *state) uncheck() {
	st.hmu.Lock()
	st.h.checked = false
	st.passiveFails.Store(0)
	if st.flags.Load()&flagDown == 0 {
		st.hmu.Unlock()
		return
	}
	st.goUp()
	if st.flags.Load() != 0 { // disabled: not Up anyway, nothing to report
		st.hmu.Unlock()
		return
	}
	st.transition(true, CauseConfig, CheckResult{OK: true, Reason: "health check removed"})
}

// Sweep retires every server and backend that none of the live pools uses:
// checkers stop, idle connections are closed, queued requests fail, and a
// later Build creates them anew. The engine calls it with the pools of the
// table it just installed. Requests still running on a retired server may
// Release it normally.
func (r *Registry) Sweep(live []*Pool) {
	used := map[*state]bool{}
	names := map[string]bool{}
	for _, p := range live {
		if p == nil {
			continue
		}
		names[p.name] = true
		for _, s := range p.servers {
			used[s.st] = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, st := range r.servers {
		if !used[st] {
			r.retire(st)
			delete(r.servers, k)
		}
	}
	for name, q := range r.queues {
		if !names[name] {
			q.close(ErrBackendRetired)
			delete(r.queues, name)
		}
	}
	for name := range r.rings {
		if !names[name] {
			delete(r.rings, name)
		}
	}
}

// retire takes st out of service for good; r.mu is held.
func (r *Registry) retire(st *state) {
	st.flags.Or(flagRetired)
	if st.checker != nil {
		r.stopChecker(st)
	}
	st.q.evict(st, ErrServerRetired)
	st.idle.drain(true)
}

// Close retires everything and waits for every checker to return.
func (r *Registry) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	for k, st := range r.servers {
		r.retire(st)
		delete(r.servers, k)
	}
	for name, q := range r.queues {
		q.close(ErrBackendRetired)
		delete(r.queues, name)
	}
	close(r.stop)
	r.mu.Unlock()
	r.wg.Wait()
}

// clock is the time elapsed since the registry was made. Without a custom
// clock it reads only the monotonic clock, half the cost of time.Now.
func (r *Registry) clock() time.Duration {
	if r.now != nil {
		return r.now().Sub(r.base)
	}
	return time.Since(r.base)
}

// notify calls the transition callback.
func (r *Registry) notify(t Transition) {
	if r.onTransition == nil {
		return
	}
	defer func() { _ = recover() }()
	r.onTransition(t)
}

// janitor closes idle connections that outlived the idle timeout on servers
// that no request visits (GetIdle and PutIdle prune the busy ones).
func (r *Registry) janitor() {
	defer r.wg.Done()
	period := min(max(r.idleTimeout/2, 10*time.Millisecond), time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	var states []*state
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		states = states[:0]
		for _, st := range r.servers {
			states = append(states, st)
		}
		r.mu.Unlock()
		now := r.clock()
		for _, st := range states {
			st.idle.prune(now, r.idleTimeout)
		}
	}
}

// validate rejects what the runtime cannot honour.
func validate(b *config.Backend) error {
	switch b.Balance.Algorithm {
	case config.BalanceRoundRobin, config.BalanceStaticRR, config.BalanceLeastConn, config.BalanceFirst,
		config.BalanceSource, config.BalanceURI, config.BalanceRandom:
	case config.BalanceURLParam, config.BalanceHdr:
		if b.Balance.Param == "" {
			return errors.New("balance: missing parameter name")
		}
	default:
		return fmt.Errorf("balance: unknown algorithm %d", b.Balance.Algorithm)
	}
	if b.Check.Enabled {
		if strings.ContainsAny(b.Check.Method, " \t\r\n") {
			return fmt.Errorf("httpchk: invalid method %q", b.Check.Method)
		}
		if strings.ContainsAny(b.Check.URI, " \t\r\n") {
			return fmt.Errorf("httpchk: invalid URI %q", b.Check.URI)
		}
	}
	seen := make(map[string]bool, len(b.Servers))
	for i := range b.Servers {
		s := &b.Servers[i]
		if err := validateServer(s); err != nil {
			return fmt.Errorf("server %q: %w", s.Name, err)
		}
		if seen[s.Name] {
			return fmt.Errorf("server %q: declared twice", s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

func validateServer(s *config.Server) error {
	switch {
	case s.Name == "":
		return errors.New("no name")
	case s.Host == "":
		return errors.New("no address")
	case s.Port < 1 || s.Port > 65535:
		return fmt.Errorf("port %d out of range", s.Port)
	case s.CheckPort < 0 || s.CheckPort > 65535:
		return fmt.Errorf("check port %d out of range", s.CheckPort)
	case s.Weight < 0 || s.Weight > 256:
		return fmt.Errorf("weight %d out of range 0..256", s.Weight)
	case s.MaxConn < 0:
		return fmt.Errorf("negative maxconn %d", s.MaxConn)
	case s.Inter < 0 || s.Rise < 0 || s.Fall < 0:
		return errors.New("negative check parameter")
	}
	return nil
}

// serverCookie is the server's persistence cookie value: its `cookie`, or
// with `cookie ... dynamic` and none given, one derived from the backend's
// dynamic-cookie-key and the server's address, as HAProxy does, so every
// replica and every restart agrees on it without configuration.
func serverCookie(b *config.Backend, cs *config.Server, addr string) string {
	if cs.Cookie != "" || b.Cookie == nil || !b.Cookie.Dynamic {
		return cs.Cookie
	}
	sum := sha256.Sum256([]byte(b.DynamicCookieKey + "\x00" + addr))
	return hex.EncodeToString(sum[:8])
}

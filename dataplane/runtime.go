package dataplane

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/backend"
)

// Options configure a Runtime.
type Options struct {
	// Registerer receives the dataplane's metrics; nil keeps them private.
	Registerer prometheus.Registerer
	// AccessLog receives one line per request or TCP session; nil: no log.
	AccessLog io.Writer
	// Logger receives events: reloads, listener changes, server state.
	Logger *slog.Logger
	// Listen opens a listener; nil listens on TCP (see listenTCP). TLS is
	// not the listener's business: binds with ssl are terminated above it.
	Listen func(addr string) (net.Listener, error)
}

// Runtime owns the listeners, the current routing table and the live state
// of every server. Apply swaps tables; nothing on the request path locks.
type Runtime struct {
	opts      Options
	log       *slog.Logger
	metrics   *Metrics
	registry  *backend.Registry
	accessLog *accessLog

	table atomic.Pointer[Table]

	mu        sync.Mutex // serialises Apply and Shutdown
	gen       uint64
	listeners map[string]*listener
	slots     map[string]int
	closed    bool

	draining atomic.Bool
	connsMu  sync.Mutex
	conns    map[net.Conn]*connState
	connWG   sync.WaitGroup
	maxConn  atomic.Int64
	curConn  atomic.Int64

	// loops relay mode tcp sessions; started with the first mode tcp
	// frontend.
	loops atomic.Pointer[loopSet]
}

type listener struct {
	key         string
	slot        int
	ln          net.Listener
	done        chan struct{}
	deferAccept bool // TCP_DEFER_ACCEPT is on (mode http)
	// tls serves handshakes on this listener whenever the current table
	// says its bind is ssl; it lives as long as the listener so that
	// session tickets survive reloads.
	tls *tls.Config
}

// New creates a Runtime serving nothing until the first Apply.
func New(opts Options) *Runtime {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Listen == nil {
		opts.Listen = listenTCP
	}
	rt := &Runtime{
		opts:      opts,
		log:       opts.Logger,
		metrics:   NewMetrics(opts.Registerer),
		listeners: map[string]*listener{},
		slots:     map[string]int{},
		conns:     map[net.Conn]*connState{},
	}
	if opts.AccessLog != nil {
		rt.accessLog = newAccessLog(opts.AccessLog)
	}
	rt.registry = backend.NewRegistry(backend.RegistryOptions{OnTransition: rt.onTransition})
	opts.Registerer.MustRegister(&serverCollector{rt: rt})
	rt.table.Store(&Table{})
	return rt
}

// Table is the routing table serving now.
func (rt *Runtime) Table() *Table { return rt.table.Load() }

// Apply compiles cfg and makes it the live table: new listeners open,
// removed ones close (their connections finish what they are doing), and
// servers that remain keep their health and idle connections. On error the
// previous table keeps serving untouched.
//
// cfg, and everything it points to, must not be modified once applied: a
// backend or use_backend condition that the next configuration holds again
// by the same pointer is taken as unchanged, and its compiled form (and
// validation) is reused. Building each configuration anew, or sharing only
// values that did not change, as the Kubernetes translation does, is safe.
func (rt *Runtime) Apply(cfg *config.Config) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return errors.New("runtime is shut down")
	}
	err := rt.apply(cfg)
	if err != nil {
		rt.metrics.reloads.WithLabelValues("failure").Inc()
		rt.log.Error("configuration rejected, previous table keeps serving", "error", err)
		return err
	}
	rt.metrics.reloads.WithLabelValues("success").Inc()
	return nil
}

func (rt *Runtime) apply(cfg *config.Config) error {
	old := rt.table.Load()
	if err := validate(old, cfg); err != nil {
		return err
	}
	// Open what is new before compiling, so a port that cannot be bound
	// rejects the whole change.
	wanted := map[string]bool{}
	var opened []*listener
	for _, f := range cfg.Frontends {
		for _, b := range f.Binds {
			key := bindKey(b)
			wanted[key] = true
			if _, ok := rt.listeners[key]; ok {
				continue
			}
			ln, err := rt.opts.Listen(key)
			if err != nil {
				for _, l := range opened {
					_ = l.ln.Close()
				}
				return fmt.Errorf("frontend %q: bind %s: %w", f.Name, key, err)
			}
			slot, ok := rt.slots[key]
			if !ok {
				slot = len(rt.slots)
				rt.slots[key] = slot
			}
			opened = append(opened, &listener{key: key, slot: slot, ln: ln, done: make(chan struct{}), tls: rt.listenerTLS(slot)})
		}
	}
	if err := rt.startLoops(cfg); err != nil {
		for _, l := range opened {
			_ = l.ln.Close()
		}
		return err
	}
	t, swaps, err := compile(old, cfg, rt.registry, rt.metrics, rt.slots, len(rt.slots))
	if err != nil {
		for _, l := range opened {
			_ = l.ln.Close()
		}
		rt.registry.Sweep(old.pools())
		return err
	}
	rt.gen++
	t.gen = rt.gen
	rt.maxConn.Store(int64(cfg.Global.MaxConn))
	rt.table.Store(t)
	rt.metrics.generation.Set(float64(t.gen))
	for _, l := range opened {
		rt.listeners[l.key] = l
		go rt.acceptLoop(l)
		rt.log.Info("listening", "address", l.key)
	}
	for _, f := range cfg.Frontends {
		rt.deferAccept(f)
	}
	for key, l := range rt.listeners {
		if !wanted[key] {
			_ = l.ln.Close()
			<-l.done
			delete(rt.listeners, key)
			rt.log.Info("listener closed", "address", key)
		}
	}
	if old.cfg == nil {
		rt.registry.Sweep(t.pools())
	} else {
		rt.registry.Retire(swaps)
	}
	rt.log.Info("routing table live", "generation", t.gen, "frontends", len(cfg.Frontends), "backends", len(cfg.Backends))
	return nil
}

// startLoops starts the relay loops when cfg is the first configuration
// with a mode tcp frontend: one per processor Go runs on.
func (rt *Runtime) startLoops(cfg *config.Config) error {
	if rt.loops.Load() != nil {
		return nil
	}
	for _, f := range cfg.Frontends {
		if f.Mode == config.ModeTCP {
			ls, err := newLoopSet(runtime.GOMAXPROCS(0))
			if err != nil {
				return fmt.Errorf("relay loops: %w", err)
			}
			rt.loops.Store(ls)
			return nil
		}
	}
	return nil
}

// deferAccept keeps TCP_DEFER_ACCEPT on f's listeners in step with its
// mode, including a bind that a reload moves between modes.
func (rt *Runtime) deferAccept(f *config.Frontend) {
	on := f.Mode == config.ModeHTTP
	for _, b := range f.Binds {
		l := rt.listeners[bindKey(b)]
		if l == nil || l.deferAccept == on {
			continue
		}
		if err := setDeferAccept(l.ln, on); err != nil {
			rt.log.Warn("defer-accept not set", "address", l.key, "error", err)
			continue
		}
		l.deferAccept = on
	}
}

func (t *Table) pools() []*backend.Pool {
	ps := make([]*backend.Pool, 0, len(t.backends))
	for _, b := range t.backends {
		ps = append(ps, b.pool)
	}
	return ps
}

// Addrs returns the bound address of every listener (useful with port 0).
func (rt *Runtime) Addrs() map[string]net.Addr {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make(map[string]net.Addr, len(rt.listeners))
	for k, l := range rt.listeners {
		out[k] = l.ln.Addr()
	}
	return out
}

func (rt *Runtime) onTransition(tr backend.Transition) {
	state := "down"
	if tr.Up {
		state = "up"
	}
	s := tr.Server
	rt.metrics.srvTrans.WithLabelValues(s.Backend, s.Name, state).Inc()
	rt.log.Warn("server "+state, "backend", s.Backend, "server", s.Name, "cause", tr.Cause.String(),
		"reason", tr.Reason, "detail", tr.Detail, "check_duration", tr.Duration)
}

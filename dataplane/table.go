package dataplane

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/backend"
)

// Table is one immutable generation of the routing configuration. The
// runtime swaps whole tables with one atomic store; a request keeps the table
// it started with until it ends.
type Table struct {
	gen uint64
	cfg *config.Config
	// frontends is indexed by listener slot; a slot with no frontend in this
	// generation belongs to a listener being drained.
	frontends []*frontend
	// tls is indexed by listener slot like frontends: nil for plain TCP.
	tls      []*tlsBind
	backends map[string]*backendRoute
}

// Generation is the table's sequence number, 1 for the first.
func (t *Table) Generation() uint64 { return t.gen }

// Config is the configuration the table was compiled from.
func (t *Table) Config() *config.Config { return t.cfg }

// Effective timeouts when a config leaves one unset (see README).
const (
	defaultTimeoutConnect     = 5 * time.Second
	defaultTimeoutClient      = 60 * time.Second
	defaultTimeoutServer      = 60 * time.Second
	defaultTimeoutHTTPRequest = 10 * time.Second
)

type timeouts struct {
	connect, client, server, httpRequest, keepAlive, queue, tunnel time.Duration
}

func resolveTimeouts(fe, be config.Timeouts) timeouts {
	pick := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	t := timeouts{
		connect:     pick(be.Connect, defaultTimeoutConnect),
		client:      pick(fe.Client, defaultTimeoutClient),
		server:      pick(be.Server, defaultTimeoutServer),
		httpRequest: pick(fe.HTTPRequest, defaultTimeoutHTTPRequest),
	}
	// As in HAProxy: keep-alive falls back to http-request, queue to connect,
	// tunnel to the larger of client and server.
	t.keepAlive = pick(fe.HTTPKeepAlive, t.httpRequest)
	t.queue = pick(be.Queue, t.connect)
	t.tunnel = be.Tunnel
	if t.tunnel == 0 {
		t.tunnel = fe.Tunnel
	}
	if t.tunnel == 0 {
		t.tunnel = max(t.client, t.server)
	}
	return t
}

// frontend is a compiled config.Frontend.
type frontend struct {
	cfg        *config.Frontend
	name       string
	mode       config.Mode
	timeouts   timeouts // client side; server side comes from the backend
	raw        config.Timeouts
	forwardFor bool
	acls       *aclScope
	reqRules   []reqRule
	respRules  []respRule
	switching  []switchBlock
	// rules are the compiled use_backend rules, index for index with
	// cfg.UseBackends.
	rules     []switchRule
	defaultBE *backendRoute
	metrics   *frontendMetrics
	// conds are the compiled use_backend conditions, by the configuration
	// value they came from, for the next generation to reuse.
	conds map[*config.Condition]compiledCond
}

// compiledCond is a use_backend condition and the hosts it is restricted to
// (see requiredHosts).
type compiledCond struct {
	cond  *cond
	hosts []string
}

type switchRule struct {
	cond  *cond
	hosts []string
	be    *backendRoute
}

// backendRoute is a compiled config.Backend.
type backendRoute struct {
	cfg         *config.Backend
	name        string
	mode        config.Mode
	pool        *backend.Pool
	balance     config.Balance
	balanceArg  []byte
	cookie      *cookieRule
	timeouts    config.Timeouts
	retries     int
	redispatch  bool
	serverClose bool
	forwardFor  bool
	reqRules    []reqRule
	respRules   []respRule
	metrics     *backendMetrics
	// srvMetrics are the counts of pool.Servers(), index for index;
	// srvIndex finds a server's index in a large pool.
	srvMetrics []*serverMetrics
	srvIndex   map[*backend.Server]int
}

// compile builds a Table from a validated config. slots maps bind addresses
// to listener slots; nslots is the length of the frontend index. What prev
// (nil for none) compiled from the very same configuration values is reused
// (see Runtime.Apply), so a change costs in proportion to what it touched.
// The swaps are the pools of prev that the table replaced or dropped, for
// Registry.Retire.
func compile(prev *Table, cfg *config.Config, reg *backend.Registry, m *Metrics, slots map[string]int, nslots int) (*Table, []backend.PoolSwap, error) {
	t := &Table{cfg: cfg, frontends: make([]*frontend, nslots), tls: make([]*tlsBind, nslots)}
	var prevFrontends map[string]*frontend
	if prev != nil {
		prevFrontends = map[string]*frontend{}
		for _, fe := range prev.frontends {
			if fe != nil {
				prevFrontends[fe.name] = fe
			}
		}
	}
	// The previous generation's backends, updated with what changed: a
	// copy of the map costs much less than filling a new one.
	if prev != nil && prev.backends != nil {
		t.backends = maps.Clone(prev.backends)
	} else {
		t.backends = make(map[string]*backendRoute, len(cfg.Backends))
	}
	var errs []error
	var swaps []backend.PoolSwap
	kept := 0 // backends of prev still in the table, under the same name
	for _, b := range cfg.Backends {
		var prevBR *backendRoute
		if prev != nil {
			prevBR = prev.backends[b.Name]
		}
		if prevBR != nil {
			kept++
			if prevBR.cfg == b {
				continue
			}
		}
		br, err := compileBackend(b, reg, prevBR)
		if err != nil {
			errs = append(errs, fmt.Errorf("backend %q: %w", b.Name, err))
			continue
		}
		t.backends[b.Name] = br
		if prevBR != nil {
			swaps = append(swaps, backend.PoolSwap{Old: prevBR.pool, New: br.pool})
		}
	}
	// Backend names are unique (cfg is valid), so the counts tell whether
	// some of prev's backends are gone; find them only then.
	if prev != nil && (kept != len(prev.backends) || len(t.backends) != len(cfg.Backends)) {
		names := make(map[string]bool, len(cfg.Backends))
		for _, b := range cfg.Backends {
			names[b.Name] = true
		}
		for name, br := range t.backends {
			if !names[name] {
				delete(t.backends, name)
				swaps = append(swaps, backend.PoolSwap{Old: br.pool})
			}
		}
	}
	// Backends recompiled or gone: rules naming them need their new form.
	touched := make(map[string]bool, len(swaps))
	for _, sw := range swaps {
		touched[sw.Old.Name()] = true
	}
	keep := func(name string) bool { return !touched[name] }
	for _, f := range cfg.Frontends {
		fe, err := compileFrontendFrom(prevFrontends[f.Name], f, t.backends, keep, m)
		if err != nil {
			errs = append(errs, fmt.Errorf("frontend %q: %w", f.Name, err))
			continue
		}
		for _, b := range f.Binds {
			slot, ok := slots[bindKey(b)]
			if !ok {
				return nil, nil, fmt.Errorf("BUG: no listener slot for %s", b.Addr())
			}
			t.frontends[slot] = fe
			if b.TLS == nil {
				continue
			}
			var prevTLS *tlsBind
			if prev != nil && slot < len(prev.tls) {
				prevTLS = prev.tls[slot]
			}
			if t.tls[slot], err = compileTLS(prevTLS, f.Mode, b.TLS, cfg.Certificates); err != nil {
				errs = append(errs, bindError(f, b, err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return t, swaps, nil
}

func bindKey(b config.Bind) string { return b.Addr() }

func compileFrontend(f *config.Frontend, backends map[string]*backendRoute, m *Metrics) (*frontend, error) {
	return compileFrontendFrom(nil, f, backends, nil, m)
}

// compileFrontendFrom compiles f, reusing from prev (the previous
// generation's frontend of that name, or nil) the compiled use_backend
// conditions of the very same configuration values when everything they
// depend on, the frontend's ACLs, is unchanged; and prev's compiled rules
// at either end of the list that are prev's own, when keep says the backend
// they name is the one prev's table had.
func compileFrontendFrom(prev *frontend, f *config.Frontend, backends map[string]*backendRoute, keep func(string) bool, m *Metrics) (*frontend, error) {
	var reuse map[*config.Condition]compiledCond
	if prev != nil && (prev.cfg == f || slices.EqualFunc(prev.cfg.ACLs, f.ACLs, func(a, b config.ACL) bool { return reflect.DeepEqual(a, b) })) {
		reuse = prev.conds
	}
	scope, err := newACLScope(f.ACLs, nil)
	if err != nil {
		return nil, err
	}
	fe := &frontend{
		cfg:        f,
		name:       f.Name,
		mode:       f.Mode,
		timeouts:   resolveTimeouts(f.Timeouts, config.Timeouts{}),
		raw:        f.Timeouts,
		forwardFor: f.Options.ForwardFor,
		acls:       scope,
		metrics:    m.frontend(f.Name),
	}
	if fe.reqRules, err = compileReqRules(f.HTTPRequest, scope); err != nil {
		return nil, err
	}
	if fe.respRules, err = compileRespRules(f.HTTPResponse, scope); err != nil {
		return nil, err
	}
	var head, tail int
	if reuse != nil && keep != nil {
		head, tail = sameEnds(prev.cfg.UseBackends, f.UseBackends, keep)
	}
	rules := make([]switchRule, 0, len(f.UseBackends))
	cloned := head+tail > 0 && len(reuse) <= 2*len(f.UseBackends)
	if cloned {
		// The conditions of the rules kept are prev's; those of rules
		// gone linger, harmless, until they are as many as the rules.
		fe.conds = maps.Clone(reuse)
	} else {
		fe.conds = make(map[*config.Condition]compiledCond, len(f.UseBackends))
	}
	if head > 0 {
		rules = append(rules, prev.rules[:head]...)
	}
	for _, ub := range f.UseBackends[head : len(f.UseBackends)-tail] {
		be, ok := backends[ub.Backend]
		if !ok {
			return nil, fmt.Errorf("use_backend: no backend %q", ub.Backend)
		}
		cc, ok := fe.conds[ub.Cond]
		if !ok && ub.Cond != nil {
			cc, ok = reuse[ub.Cond]
		}
		if !ok {
			c, err := scope.compileCond(ub.Cond)
			if err != nil {
				return nil, fmt.Errorf("use_backend %s: %w", ub.Backend, err)
			}
			cc = compiledCond{cond: c, hosts: requiredHosts(c)}
		}
		if ub.Cond != nil {
			fe.conds[ub.Cond] = cc
		}
		rules = append(rules, switchRule{cond: cc.cond, hosts: cc.hosts, be: be})
	}
	if tail > 0 {
		rules = append(rules, prev.rules[len(prev.rules)-tail:]...)
	}
	if !cloned {
		// The middle's conditions are in; add those of the ends.
		add := func(i int) {
			if c := f.UseBackends[i].Cond; c != nil {
				fe.conds[c] = compiledCond{cond: rules[i].cond, hosts: rules[i].hosts}
			}
		}
		for i := 0; i < head; i++ {
			add(i)
		}
		for i := len(rules) - tail; i < len(rules); i++ {
			add(i)
		}
	}
	fe.rules = rules
	fe.switching = buildSwitching(rules)
	if f.DefaultBackend != "" {
		be, ok := backends[f.DefaultBackend]
		if !ok {
			return nil, fmt.Errorf("default_backend: no backend %q", f.DefaultBackend)
		}
		fe.defaultBE = be
	}
	return fe, nil
}

// compileBackend compiles b; prev, the previous generation's backend of the
// same name or nil, hands over its metrics.
func compileBackend(b *config.Backend, reg *backend.Registry, prev *backendRoute) (*backendRoute, error) {
	pool, err := reg.Build(b)
	if err != nil {
		return nil, err
	}
	scope, err := newACLScope(b.ACLs, nil)
	if err != nil {
		return nil, err
	}
	br := &backendRoute{
		cfg:         b,
		name:        b.Name,
		mode:        b.Mode,
		pool:        pool,
		balance:     b.Balance,
		balanceArg:  []byte(strings.ToLower(b.Balance.Param)),
		timeouts:    b.Timeouts,
		retries:     b.Retries,
		redispatch:  b.Options.Redispatch,
		serverClose: b.Options.HTTPServerClose,
		forwardFor:  b.Options.ForwardFor,
	}
	if prev != nil {
		br.metrics = prev.metrics
	} else {
		br.metrics = &backendMetrics{}
	}
	br.setServerMetrics(prev)
	if b.Cookie != nil {
		br.cookie = newCookieRule(b.Cookie)
	}
	if br.reqRules, err = compileReqRules(b.HTTPRequest, scope); err != nil {
		return nil, err
	}
	if br.respRules, err = compileRespRules(b.HTTPResponse, scope); err != nil {
		return nil, err
	}
	return br, nil
}

package translate

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/config"
)

// Translator translates one snapshot after another. Its result for a
// snapshot is exactly Translate's, but what it built from objects that did
// not change since the previous call is reused rather than built again: the
// parsed Ingresses, the servers of each Service port, and the very
// *config.Backend and *config.Condition values. The dataplane recognises
// those values and keeps their compiled form, so one change costs work in
// proportion to what it touched.
//
// An object is taken as unchanged when the snapshot holds the same pointer:
// objects in a snapshot must never be modified, a changed object being a new
// one (as in an informer's cache). A Translator is not safe for concurrent
// use.
type Translator struct {
	opts Options
	memo *memo
}

// NewTranslator returns a Translator with nothing to reuse yet.
func NewTranslator(o Options) *Translator {
	return &Translator{opts: o.withDefaults(), memo: newMemo()}
}

// Translate is the package's Translate, reusing the previous call's work.
func (tr *Translator) Translate(s *Snapshot) Result {
	m := tr.memo
	m.gen++
	m.used = [entryKinds]int{}
	t := newTranslator(s, tr.opts)
	t.memo = m
	t.routes = make([]*memoRoute, 0, len(m.routes))
	t.backendList = make([]*memoBackend, 0, len(m.backends))
	t.secretsSeen, t.tls.certs, t.tls.redirect = m.scratch.seen, m.scratch.certs, m.scratch.redirect
	res := t.translate()
	m.prune()
	// Cleared, so as not to keep alive what they point to.
	m.scratch.seen = clearSlice(t.secretsSeen)
	m.scratch.certs = clearSlice(t.tls.certs)
	m.scratch.redirect = clearSlice(t.tls.redirect)
	return res
}

func clearSlice[E any](s []E) []E {
	clear(s)
	return s[:0]
}

// memo is what translations built that later ones may reuse. Every entry
// records the last translation (gen) that used it; entries that the last
// translation did not use are dropped once they are as many as the rest, so
// nothing outlives its objects for long and a translation does not pay for
// rebuilding the memo.
type memo struct {
	gen       uint64
	ingresses map[*networkingv1.Ingress]*memoIngress
	resolved  map[servicePort]*memoResolved
	backends  map[string]*memoBackend
	conds     map[routeKey]*memoRoute
	guards    map[hostMatch]*memoCond
	secrets   map[types.NamespacedName]*memoSecret

	// order is the Ingresses of our class of translation orderGen, oldest
	// first (see ourIngresses).
	order    []*memoIngress
	orderGen uint64
	// names are the keys of order, sorted: Result.Ingresses. A
	// translation that changes them makes a new slice, since results
	// share it.
	names []types.NamespacedName
	// used counts, by entry kind, the entries the translation gen used.
	used [entryKinds]int
	// routes are translation routesGen's routes in use_backend order, and
	// sorted its backends by name (see sortedRoutes, sortedBackends).
	routes    []*memoRoute
	routesGen uint64
	sorted    []*memoBackend
	sortedGen uint64

	// What the last translation made of spec.tls (see tls.go), kept
	// while it stays the same: Result.Secrets; the HTTPS bind's
	// certificates, TLS settings and Config.Certificates; and the hosts
	// of the redirect to HTTPS, each with an index in redirectSeen, the
	// last translation that had it, and its rule.
	secretList    []types.NamespacedName
	certs         []namedCert
	bindTLS       *config.BindTLS
	certMap       map[string]*config.Certificate
	redirectHosts map[hostMatch]int
	redirectSeen  []uint64
	redirect      *config.HTTPRequestRule
	// scratch are the translator's lists that no result keeps, for the
	// next translation to reuse.
	scratch struct {
		seen     []types.NamespacedName
		certs    []*memoSecret
		redirect []hostMatch
	}
}

func newMemo() *memo {
	return &memo{
		ingresses: map[*networkingv1.Ingress]*memoIngress{},
		resolved:  map[servicePort]*memoResolved{},
		backends:  map[string]*memoBackend{},
		conds:     map[routeKey]*memoRoute{},
		guards:    map[hostMatch]*memoCond{},
		secrets:   map[types.NamespacedName]*memoSecret{},
	}
}

type memoIngress struct {
	gen    uint64
	listed uint64 // the last translation that had it in order
	named  bool   // its key is in memo.names
	ing    *networkingv1.Ingress
	p      *parsedIngress
}

// memoResolved is a Service port's servers with the objects they came from.
type memoResolved struct {
	gen      uint64
	replaced bool // by a newer entry for the port
	svc      *corev1.Service
	slices   []*discoveryv1.EndpointSlice
	r        resolved
	// fam is the port's backend family in translation famGen.
	fam    backendFamily
	famGen uint64
}

// memoBackend is a backend with what it was built from: its settings (HTTP
// backends) or mode (TCP), and the servers resolve returned, by identity.
type memoBackend struct {
	replaced bool // by a newer entry for the name
	// src is the Service port the backend was built from; nil for one
	// that Translate makes up. A backend's name tells its port, so the
	// entry of a name keeps it.
	src     *servicePort
	gen     uint64
	listed  uint64 // the last translation whose sorted backends held it
	tcp     bool
	bs      backendSettings
	servers []config.Server
	b       *config.Backend
}

type memoCond struct {
	gen uint64
	c   *config.Condition
}

// memoRoute is a host and path: its condition, and in the translation
// claimed, the Ingress that claimed it and the backend it routes to.
type memoRoute struct {
	gen     uint64
	key     routeKey
	c       *config.Condition
	claimed uint64
	owner   *networkingv1.Ingress
	backend string
	listed  uint64 // the last translation whose sorted routes held it
}

// prune drops what the translation that just ended did not use, when that
// is at least half of an entry kind.
func (m *memo) prune() {
	pruneMap(m.ingresses, m.used[usedIngresses], m.gen, func(e *memoIngress) uint64 { return e.gen })
	pruneMap(m.resolved, m.used[usedResolved], m.gen, func(e *memoResolved) uint64 { return e.gen })
	pruneMap(m.backends, m.used[usedBackends], m.gen, func(e *memoBackend) uint64 { return e.gen })
	pruneMap(m.conds, m.used[usedConds], m.gen, func(e *memoRoute) uint64 { return e.gen })
	pruneMap(m.guards, m.used[usedGuards], m.gen, func(e *memoCond) uint64 { return e.gen })
	pruneMap(m.secrets, m.used[usedSecrets], m.gen, func(e *memoSecret) uint64 { return e.gen })
}

// Entry kinds, for memo.used.
const (
	usedIngresses = iota
	usedResolved
	usedBackends
	usedConds
	usedGuards
	usedSecrets
	entryKinds
)

// stamp marks an entry, by its gen field, as used by the current
// translation, counting each entry once.
func (m *memo) stamp(gen *uint64, kind int) {
	if *gen != m.gen {
		*gen = m.gen
		m.used[kind]++
	}
}

// pruneMap drops from m the entries that the translation gen did not use,
// when they are as many as the used ones.
func pruneMap[K comparable, V any](m map[K]V, used int, gen uint64, genOf func(V) uint64) {
	stale := len(m) - used
	if stale <= 0 || stale < used {
		return
	}
	for k, v := range m {
		if genOf(v) != gen {
			delete(m, k)
		}
	}
}

// ingressNames returns the sorted keys of ours, given the Ingresses that
// left the previous translation's order: the previous names when none did
// and none came, else those names without the dropped ones, merged with the
// new ones.
func (m *memo) ingressNames(ours, dropped []*memoIngress) []types.NamespacedName {
	var fresh []types.NamespacedName
	for _, e := range ours {
		if e.listed == m.gen && !e.named {
			fresh = append(fresh, types.NamespacedName{Namespace: e.ing.Namespace, Name: e.ing.Name})
			e.named = true
		}
	}
	if len(fresh) == 0 && len(dropped) == 0 && len(m.names) == len(ours) {
		return m.names
	}
	gone := make(map[types.NamespacedName]bool, len(dropped))
	for _, e := range dropped {
		e.named = false
		gone[types.NamespacedName{Namespace: e.ing.Namespace, Name: e.ing.Name}] = true
	}
	slices.SortFunc(fresh, compareNamespacedName)
	names := make([]types.NamespacedName, 0, len(ours))
	for _, k := range m.names {
		if gone[k] {
			continue
		}
		for len(fresh) > 0 && compareNamespacedName(fresh[0], k) < 0 {
			names = append(names, fresh[0])
			fresh = fresh[1:]
		}
		names = append(names, k)
	}
	names = append(names, fresh...)
	m.names = names
	return names
}

// resolve finds the servers behind a Service port: its ready endpoints, or
// the DNS name of an ExternalName Service. A problem means the port has no
// servers for a reason the Ingress owner should hear about; a Service whose
// endpoints are all unready is not a problem, just a 503 for now.
//
// Results are shared by every reference to the port, and with later
// translations while the Service and its slices stay the same: callers that
// modify the servers must copy them first.
func (t *translator) resolve(sp servicePort) ([]config.Server, *problem) {
	e := t.resolveEntry(sp)
	return e.r.servers, e.r.prob
}

// resolveEntry is resolve's memo entry for sp.
func (t *translator) resolveEntry(sp servicePort) *memoResolved {
	return t.resolveCached(sp, nil)
}

// current reports whether an entry that a caller kept (see parsedPath) is
// still the memo's own for its key: the last translation or this one used
// it, so no pruning dropped it, and it was not replaced.
func (m *memo) current(gen uint64, replaced bool) bool {
	return !replaced && gen+1 >= m.gen
}

// resolveCached is resolveEntry, with *cached (when not nil) the entry it
// returned before to this caller, which spares looking it up again.
func (t *translator) resolveCached(sp servicePort, cached **memoResolved) *memoResolved {
	var e *memoResolved
	if cached != nil && *cached != nil && t.memo.current((*cached).gen, (*cached).replaced) {
		e = *cached
	} else {
		e = t.memo.resolved[sp]
	}
	if e == nil || e.gen != t.memo.gen {
		key := types.NamespacedName{Namespace: sp.namespace, Name: sp.service}
		svc, sl := t.snap.Services[key], t.slices[key]
		if e == nil || e.svc != svc || !slices.Equal(e.slices, sl) {
			if e != nil {
				e.replaced = true
			}
			e = &memoResolved{svc: svc, slices: sl}
			e.r.servers, e.r.prob = t.lookup(sp)
			t.memo.resolved[sp] = e
		}
		t.memo.stamp(&e.gen, usedResolved)
	}
	if cached != nil {
		*cached = e
	}
	return e
}

// sameServers reports whether a and b are the same result of resolve.
func sameServers(a, b []config.Server) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// reuseBackend adds backend name to the translation, unless it is there
// already (added is false), and returns it: the memo entry's backend if it
// was built from the same, else a new entry's that build fills in. A name
// stands for one backend within a translation: backendName gives the same
// name only for the same Service port and settings.
func (t *translator) reuseBackend(name string, sp servicePort, fromService bool, tcp bool, bs backendSettings, servers []config.Server, build func() *config.Backend) (b *config.Backend, added bool) {
	return t.reuseBackendCached(nil, name, sp, fromService, tcp, bs, servers, build)
}

// reuseBackendCached is reuseBackend, with *cached (when not nil) the entry
// it returned before to this caller, as in resolveCached.
func (t *translator) reuseBackendCached(cached **memoBackend, name string, sp servicePort, fromService bool, tcp bool, bs backendSettings, servers []config.Server, build func() *config.Backend) (b *config.Backend, added bool) {
	var e *memoBackend
	if cached != nil && *cached != nil && (*cached).b.Name == name && t.memo.current((*cached).gen, (*cached).replaced) {
		e = *cached
	} else {
		e = t.memo.backends[name]
	}
	added = e == nil || e.gen != t.memo.gen
	if added {
		if e == nil || e.tcp != tcp || e.bs != bs || !sameServers(e.servers, servers) || (e.src != nil) != fromService || (fromService && *e.src != sp) {
			if e != nil {
				e.replaced = true
			}
			var src *servicePort
			if fromService {
				src = new(servicePort)
				*src = sp
			}
			e = &memoBackend{src: src, tcp: tcp, bs: bs, servers: servers, b: build()}
			t.memo.backends[name] = e
		}
		t.memo.stamp(&e.gen, usedBackends)
		t.backendList = append(t.backendList, e)
	}
	if cached != nil {
		*cached = e
	}
	return e.b, added
}

// httpBackend is bs.backend(name, servers), an earlier translation's value
// if it was built from the same; cached is as in reuseBackendCached.
func (t *translator) httpBackend(cached **memoBackend, name string, sp servicePort, bs backendSettings, servers []config.Server) (*config.Backend, bool) {
	return t.reuseBackendCached(cached, name, sp, true, false, bs, servers, func() *config.Backend { return bs.backend(name, servers) })
}

// tcpBackend is the backend of one TCP service entry.
func (t *translator) tcpBackend(name string, sp servicePort, servers []config.Server) (*config.Backend, bool) {
	return t.reuseBackend(name, sp, true, true, backendSettings{}, servers, func() *config.Backend {
		b := newBackend(name, config.ModeTCP)
		b.Servers = slices.Clone(servers)
		return b
	})
}

// route is the entry of route k, with k.condition(), shared between
// translations.
func (t *translator) route(k routeKey) *memoRoute {
	e := t.memo.conds[k]
	if e == nil {
		e = &memoRoute{key: k, c: k.condition()}
		t.memo.conds[k] = e
	}
	t.memo.stamp(&e.gen, usedConds)
	return e
}

// sortedRoutes returns routes, this translation's, in the order of
// compareRoutes. Sorting ten thousand routes on every change would cost
// more than the rest of a translation, so the previous translation's order
// is kept for the routes it had, and only new ones are sorted and merged in.
func (m *memo) sortedRoutes(routes []*memoRoute) []*memoRoute {
	out := mergeListed(m.routes, m.routesGen, routes, m.gen,
		func(e *memoRoute) *uint64 { return &e.listed },
		func(a, b *memoRoute) int { return compareRoutes(a.key, b.key) })
	m.routes, m.routesGen = out, m.gen
	return out
}

// sortedBackends returns the backends of list sorted by name, as
// sortedRoutes does, and the Service port of each.
func (m *memo) sortedBackends(list []*memoBackend) ([]*config.Backend, []*servicePort) {
	sorted := mergeListed(m.sorted, m.sortedGen, list, m.gen,
		func(e *memoBackend) *uint64 { return &e.listed },
		func(a, b *memoBackend) int { return strings.Compare(a.b.Name, b.b.Name) })
	m.sorted, m.sortedGen = sorted, m.gen
	if len(sorted) == 0 {
		return nil, nil
	}
	out := make([]*config.Backend, len(sorted))
	src := make([]*servicePort, len(sorted))
	for i, e := range sorted {
		out[i], src[i] = e.b, e.src
	}
	return out, src
}

// mergeListed sorts cur, the entries of translation gen, given prev, those
// of translation prevGen in order: entries of both keep prev's order, the
// others are sorted and merged in. listed stamps an entry with the last
// translation it was listed by; an entry is in cur at most once.
func mergeListed[E any](prev []E, prevGen uint64, cur []E, gen uint64, listed func(E) *uint64, compare func(a, b E) int) []E {
	var fresh []E
	for _, e := range cur {
		l := listed(e)
		if len(prev) > 0 && *l == prevGen {
			*l = gen
		} else {
			fresh = append(fresh, e)
		}
	}
	slices.SortFunc(fresh, compare)
	for _, e := range fresh {
		*listed(e) = gen
	}
	// Each new entry's place is found by binary search: a change
	// compares a few entries, not all of them.
	out := make([]E, 0, len(cur))
	i := 0
	keep := func(to int) {
		for _, e := range prev[i:to] {
			if *listed(e) == gen {
				out = append(out, e)
			}
		}
		i = to
	}
	for _, f := range fresh {
		j, _ := slices.BinarySearchFunc(prev[i:], f, func(p, f E) int {
			if compare(p, f) < 0 {
				return -1
			}
			return 1
		})
		keep(i + j)
		out = append(out, f)
	}
	keep(len(prev))
	return out
}

// guard is the condition of the rule that keeps the rest of host h on the
// default backend, shared between translations.
func (t *translator) guard(h hostMatch) *config.Condition {
	e := t.memo.guards[h]
	if e == nil {
		e = &memoCond{c: &config.Condition{Or: [][]config.Term{{hostTerm(h)}}}}
		t.memo.guards[h] = e
	}
	t.memo.stamp(&e.gen, usedGuards)
	return e.c
}

package translate

import (
	"slices"

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
	t := newTranslator(s, tr.opts)
	t.memo = m
	t.families = make(map[servicePort]*backendFamily, len(m.resolved))
	t.backends = make(map[string]*config.Backend, len(m.backends))
	t.sources = make(map[string]servicePort, len(m.backends))
	t.claims = make(map[routeKey]*networkingv1.Ingress, len(m.conds))
	res := t.translate()
	m.prune()
	return res
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
	conds     map[routeKey]*memoCond
	guards    map[hostMatch]*memoCond
}

func newMemo() *memo {
	return &memo{
		ingresses: map[*networkingv1.Ingress]*memoIngress{},
		resolved:  map[servicePort]*memoResolved{},
		backends:  map[string]*memoBackend{},
		conds:     map[routeKey]*memoCond{},
		guards:    map[hostMatch]*memoCond{},
	}
}

type memoIngress struct {
	gen uint64
	p   *parsedIngress
}

// memoResolved is a Service port's servers with the objects they came from.
type memoResolved struct {
	gen    uint64
	svc    *corev1.Service
	slices []*discoveryv1.EndpointSlice
	r      resolved
}

// memoBackend is a backend with what it was built from: its settings (HTTP
// backends) or mode (TCP), and the servers resolve returned, by identity.
type memoBackend struct {
	gen     uint64
	tcp     bool
	bs      backendSettings
	servers []config.Server
	b       *config.Backend
}

type memoCond struct {
	gen uint64
	c   *config.Condition
}

// prune drops what the translation that just ended did not use, when that
// is at least half of an entry kind.
func (m *memo) prune() {
	pruneMap(m.ingresses, m.gen, func(e *memoIngress) uint64 { return e.gen })
	pruneMap(m.resolved, m.gen, func(e *memoResolved) uint64 { return e.gen })
	pruneMap(m.backends, m.gen, func(e *memoBackend) uint64 { return e.gen })
	pruneMap(m.conds, m.gen, func(e *memoCond) uint64 { return e.gen })
	pruneMap(m.guards, m.gen, func(e *memoCond) uint64 { return e.gen })
}

func pruneMap[K comparable, V any](m map[K]V, gen uint64, genOf func(V) uint64) {
	stale := 0
	for _, v := range m {
		if genOf(v) != gen {
			stale++
		}
	}
	if stale == 0 || stale < len(m)-stale {
		return
	}
	for k, v := range m {
		if genOf(v) != gen {
			delete(m, k)
		}
	}
}

// parsed returns the parsed form of ing.
func (t *translator) parsed(ing *networkingv1.Ingress) *parsedIngress {
	e := t.memo.ingresses[ing]
	if e == nil {
		e = &memoIngress{p: parseIngress(ing)}
		t.memo.ingresses[ing] = e
	}
	e.gen = t.memo.gen
	return e.p
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
	e := t.memo.resolved[sp]
	if e != nil && e.gen == t.memo.gen {
		return e.r.servers, e.r.prob
	}
	key := types.NamespacedName{Namespace: sp.namespace, Name: sp.service}
	svc, sl := t.snap.Services[key], t.slices[key]
	if e == nil || e.svc != svc || !slices.Equal(e.slices, sl) {
		e = &memoResolved{svc: svc, slices: sl}
		e.r.servers, e.r.prob = t.lookup(sp)
		t.memo.resolved[sp] = e
	}
	e.gen = t.memo.gen
	return e.r.servers, e.r.prob
}

// sameServers reports whether a and b are the same result of resolve.
func sameServers(a, b []config.Server) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// reuseBackend returns the memo entry of backend name if it was built from
// the same, else a new entry that build fills in.
func (t *translator) reuseBackend(name string, tcp bool, bs backendSettings, servers []config.Server, build func() *config.Backend) *config.Backend {
	e := t.memo.backends[name]
	if e == nil || e.tcp != tcp || e.bs != bs || !sameServers(e.servers, servers) {
		e = &memoBackend{tcp: tcp, bs: bs, servers: servers, b: build()}
		t.memo.backends[name] = e
	}
	e.gen = t.memo.gen
	return e.b
}

// httpBackend is bs.backend(name, servers), an earlier translation's value
// if it was built from the same.
func (t *translator) httpBackend(name string, bs backendSettings, servers []config.Server) *config.Backend {
	return t.reuseBackend(name, false, bs, servers, func() *config.Backend { return bs.backend(name, servers) })
}

// tcpBackend is the backend of one TCP service entry.
func (t *translator) tcpBackend(name string, servers []config.Server) *config.Backend {
	return t.reuseBackend(name, true, backendSettings{}, servers, func() *config.Backend {
		b := newBackend(name, config.ModeTCP)
		b.Servers = slices.Clone(servers)
		return b
	})
}

// condition is k.condition(), shared between translations.
func (t *translator) condition(k routeKey) *config.Condition {
	e := t.memo.conds[k]
	if e == nil {
		e = &memoCond{c: k.condition()}
		t.memo.conds[k] = e
	}
	e.gen = t.memo.gen
	return e.c
}

// guard is the condition of the rule that keeps the rest of host h on the
// default backend, shared between translations.
func (t *translator) guard(h hostMatch) *config.Condition {
	e := t.memo.guards[h]
	if e == nil {
		e = &memoCond{c: &config.Condition{Or: [][]config.Term{{hostTerm(h)}}}}
		t.memo.guards[h] = e
	}
	e.gen = t.memo.gen
	return e.c
}

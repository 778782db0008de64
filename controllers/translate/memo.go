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
	return &Translator{opts: o.withDefaults()}
}

// Translate is the package's Translate, reusing the previous call's work.
func (tr *Translator) Translate(s *Snapshot) Result {
	t := newTranslator(s, tr.opts)
	if tr.memo != nil {
		t.prev, t.next = tr.memo, newMemo(tr.memo)
		t.families = make(map[servicePort]*backendFamily, len(tr.memo.resolved))
		t.backends = make(map[string]*config.Backend, len(tr.memo.backends))
		t.sources = make(map[string]servicePort, len(tr.memo.backends))
		t.claims = make(map[routeKey]*networkingv1.Ingress, len(tr.memo.conds))
	}
	res := t.translate()
	tr.memo = t.next
	return res
}

// memo is what one translation built that the next may reuse. Each
// translation starts a new memo with only what it used, so nothing outlives
// the objects it came from by more than one translation.
type memo struct {
	ingresses map[*networkingv1.Ingress]*parsedIngress
	resolved  map[servicePort]memoResolved
	backends  map[string]memoBackend
	conds     map[routeKey]*config.Condition
	guards    map[hostMatch]*config.Condition
}

// newMemo returns an empty memo sized for one like prev (nil: small).
func newMemo(prev *memo) *memo {
	if prev == nil {
		prev = &memo{}
	}
	return &memo{
		ingresses: make(map[*networkingv1.Ingress]*parsedIngress, len(prev.ingresses)),
		resolved:  make(map[servicePort]memoResolved, len(prev.resolved)),
		backends:  make(map[string]memoBackend, len(prev.backends)),
		conds:     make(map[routeKey]*config.Condition, len(prev.conds)),
		guards:    make(map[hostMatch]*config.Condition, len(prev.guards)),
	}
}

// memoResolved is a Service port's servers with the objects they came from.
type memoResolved struct {
	svc    *corev1.Service
	slices []*discoveryv1.EndpointSlice
	r      resolved
}

// memoBackend is a backend with what it was built from: its settings (HTTP
// backends) or mode (TCP), and the servers resolve returned, by identity.
type memoBackend struct {
	tcp     bool
	bs      backendSettings
	servers []config.Server
	b       *config.Backend
}

// parsed returns the parsed form of ing.
func (t *translator) parsed(ing *networkingv1.Ingress) *parsedIngress {
	if p := t.next.ingresses[ing]; p != nil {
		return p
	}
	var p *parsedIngress
	if p = t.prev.ingresses[ing]; p == nil {
		p = parseIngress(ing)
	}
	t.next.ingresses[ing] = p
	return p
}

// resolve finds the servers behind a Service port: its ready endpoints, or
// the DNS name of an ExternalName Service. A problem means the port has no
// servers for a reason the Ingress owner should hear about; a Service whose
// endpoints are all unready is not a problem, just a 503 for now.
//
// Results are shared by every reference to the port, and with the next
// translation while the Service and its slices stay the same: callers that
// modify the servers must copy them first.
func (t *translator) resolve(sp servicePort) ([]config.Server, *problem) {
	if m, ok := t.next.resolved[sp]; ok {
		return m.r.servers, m.r.prob
	}
	key := types.NamespacedName{Namespace: sp.namespace, Name: sp.service}
	m := memoResolved{svc: t.snap.Services[key], slices: t.slices[key]}
	if old, ok := t.prev.resolved[sp]; ok && old.svc == m.svc && slices.Equal(old.slices, m.slices) {
		m.r = old.r
	} else {
		m.r.servers, m.r.prob = t.lookup(sp)
	}
	t.next.resolved[sp] = m
	return m.r.servers, m.r.prob
}

// sameServers reports whether a and b are the same result of resolve.
func sameServers(a, b []config.Server) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// httpBackend is bs.backend(name, servers), the previous translation's
// value if it was built from the same.
func (t *translator) httpBackend(name string, bs backendSettings, servers []config.Server) *config.Backend {
	if old, ok := t.prev.backends[name]; ok && !old.tcp && old.bs == bs && sameServers(old.servers, servers) {
		t.next.backends[name] = old
		return old.b
	}
	m := memoBackend{bs: bs, servers: servers, b: bs.backend(name, servers)}
	t.next.backends[name] = m
	return m.b
}

// tcpBackend is the backend of one TCP service entry.
func (t *translator) tcpBackend(name string, servers []config.Server) *config.Backend {
	if old, ok := t.prev.backends[name]; ok && old.tcp && sameServers(old.servers, servers) {
		t.next.backends[name] = old
		return old.b
	}
	b := newBackend(name, config.ModeTCP)
	b.Servers = slices.Clone(servers)
	t.next.backends[name] = memoBackend{tcp: true, servers: servers, b: b}
	return b
}

// condition is k.condition(), shared between translations.
func (t *translator) condition(k routeKey) *config.Condition {
	c, ok := t.next.conds[k]
	if !ok {
		if c, ok = t.prev.conds[k]; !ok {
			c = k.condition()
		}
		t.next.conds[k] = c
	}
	return c
}

// guard is the condition of the rule that keeps the rest of host h on the
// default backend, shared between translations.
func (t *translator) guard(h hostMatch) *config.Condition {
	c, ok := t.next.guards[h]
	if !ok {
		if c, ok = t.prev.guards[h]; !ok {
			c = &config.Condition{Or: [][]config.Term{{hostTerm(h)}}}
		}
		t.next.guards[h] = c
	}
	return c
}

package translate

import (
	"cmp"
	"fmt"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// annotationLegacyClass is the class annotation that predates spec.ingressClassName.
const annotationLegacyClass = "kubernetes.io/ingress.class"

// ourIngresses returns the Ingresses of our class, oldest first: age decides
// every conflict, so the order is part of the semantics. The order of the
// previous translation is kept for the Ingresses still there, and only the
// new ones are sorted and merged in; dropped are the previous translation's
// Ingresses that are no longer ours (or no longer the same object).
func (t *translator) ourIngresses() (ours, dropped []*memoIngress) {
	m := t.memo
	class := t.snap.IngressClasses[t.opts.IngressClass]
	if class == nil || class.Spec.Controller != t.opts.ControllerName {
		dropped = m.order
		m.order = nil
		return nil, dropped
	}
	isDefault := class.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true"
	cur := make([]*memoIngress, 0, len(t.snap.Ingresses))
	for _, ing := range t.snap.Ingresses {
		if ing == nil {
			continue
		}
		name, named := ClassName(ing)
		if !(named && name == class.Name) && !(!named && isDefault) {
			continue
		}
		e := m.ingresses[ing]
		if e == nil {
			e = &memoIngress{ing: ing, p: parseIngress(ing)}
			m.ingresses[ing] = e
		}
		m.stamp(&e.gen, usedIngresses)
		cur = append(cur, e)
	}
	// The previous order holds for the Ingresses still ours, whatever
	// else changed: age alone decides it.
	ours = mergeListed(m.order, m.orderGen, cur, m.gen,
		func(e *memoIngress) *uint64 { return &e.listed },
		func(a, b *memoIngress) int { return olderFirst(a.ing, b.ing) })
	for _, e := range m.order {
		if e.listed != m.gen {
			dropped = append(dropped, e)
		}
	}
	m.order, m.orderGen = ours, m.gen
	return ours, dropped
}

// ClassName is the class an Ingress asks for; the field wins over the
// deprecated annotation (the API server refuses both at once on create).
func ClassName(ing *networkingv1.Ingress) (string, bool) {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName, true
	}
	if v, ok := ing.Annotations[annotationLegacyClass]; ok {
		return v, true
	}
	return "", false
}

func olderFirst(a, b *networkingv1.Ingress) int {
	return cmp.Or(
		a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}

// parsedIngress is what an Ingress says on its own, before it meets the
// rest of the cluster: its settings, and each path's route and backend
// reference, or the problem that rules it out. It depends on the Ingress
// alone, so a Translator keeps it for as long as the object is unchanged.
type parsedIngress struct {
	ref ObjectRef
	set ingressSettings
	// head are the events of the annotations and spec.tls, in order.
	head []Event
	tls  []parsedTLS
	def  *parsedBackend // spec.defaultBackend
	// paths are in the Ingress's own order; a rule whose host is invalid is
	// one entry carrying its event.
	paths []parsedPath
}

type parsedPath struct {
	warn  *Event // the rule or path is ignored after this event
	key   routeKey
	where string
	be    parsedBackend
	// route is the memo entry of key that the last translation of the
	// Ingress used: finding it again costs no lookup (see memo.current).
	route *memoRoute
}

// parsedBackend is an Ingress backend reference: a Service port, or the
// event saying why it cannot be routed.
type parsedBackend struct {
	sp   servicePort
	warn *Event
	// res and be are the memo entries the last translation used, as
	// parsedPath.route.
	res *memoResolved
	be  *memoBackend
}

func parseIngress(ing *networkingv1.Ingress) *parsedIngress {
	ref := refOf("Ingress", ing)
	var head eventLog
	p := &parsedIngress{ref: ref, set: parseAnnotations(ing.Annotations, ref, &head)}
	p.tls = parseTLS(ing, ref, &head)
	p.head = head.list
	if db := ing.Spec.DefaultBackend; db != nil {
		b := parseBackendRef(ref, "spec.defaultBackend", *db)
		p.def = &b
	}
	for i, rule := range ing.Spec.Rules {
		host, err := parseHost(rule.Host)
		if err != nil {
			e := newWarning(ref, ReasonInvalidHost, "spec.rules[%d].host %q: %v; rule ignored", i, rule.Host, err)
			p.paths = append(p.paths, parsedPath{warn: &e})
			continue
		}
		if rule.HTTP == nil {
			continue
		}
		for j, hp := range rule.HTTP.Paths {
			where := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)
			path, err := parsePath(hp, p.set.pathRegex)
			if err != nil {
				e := newWarning(ref, ReasonInvalidPath, "%s: %v; path ignored", where, err)
				p.paths = append(p.paths, parsedPath{warn: &e})
				continue
			}
			p.paths = append(p.paths, parsedPath{key: routeKey{host: host, path: path}, where: where,
				be: parseBackendRef(ref, where, hp.Backend)})
		}
	}
	return p
}

func (t *translator) addIngress(ing *networkingv1.Ingress, p *parsedIngress) {
	for _, e := range p.head {
		t.events.add(e)
	}
	if p.tls != nil {
		t.addTLS(p)
	}
	if p.def != nil {
		t.addDefaultBackend(ing, p)
	}
	for i := range p.paths {
		pp := &p.paths[i]
		if pp.warn != nil {
			t.events.add(*pp.warn)
			continue
		}
		r := pp.route
		if r != nil && t.memo.current(r.gen, false) {
			t.memo.stamp(&r.gen, usedConds)
		} else {
			r = t.route(pp.key)
			pp.route = r
		}
		if r.claimed == t.memo.gen {
			t.events.warn(p.ref, ReasonPathConflict, "%s: %s is already routed by %s; path ignored",
				pp.where, pp.key, ownerName(r.owner, ing))
			continue
		}
		name, ok := t.backendFor(ing, p.ref, &pp.be, p.set.backend)
		if !ok {
			continue
		}
		r.claimed, r.owner, r.backend = t.memo.gen, ing, name
		t.routes = append(t.routes, r)
	}
}

func (t *translator) addDefaultBackend(ing *networkingv1.Ingress, p *parsedIngress) {
	if t.defaultOwner != nil {
		t.events.warn(p.ref, ReasonDefaultBackendClash,
			"spec.defaultBackend ignored: the default backend is already set by %s", ownerName(t.defaultOwner, ing))
		return
	}
	name, ok := t.backendFor(ing, p.ref, p.def, p.set.backend)
	if !ok {
		return
	}
	t.defaultOwner = ing
	t.defaultBackend = name
}

// ownerName describes the Ingress that won a conflict against loser.
func ownerName(owner, loser *networkingv1.Ingress) string {
	if owner == loser {
		return "an earlier path of this Ingress"
	}
	return fmt.Sprintf("the older Ingress %s/%s", owner.Namespace, owner.Name)
}

// parseBackendRef reads an Ingress backend reference. It fails, with an
// event, when the reference cannot be routed at all; a Service that is merely
// missing or has no ready endpoint is not its concern.
func parseBackendRef(ref ObjectRef, where string, b networkingv1.IngressBackend) parsedBackend {
	fail := func(format string, args ...any) parsedBackend {
		e := newWarning(ref, ReasonInvalidBackend, format, args...)
		return parsedBackend{warn: &e}
	}
	if b.Resource != nil {
		return fail("%s: resource backends (%s %s) are not supported; ignored", where, b.Resource.Kind, b.Resource.Name)
	}
	if b.Service == nil {
		return fail("%s: no service; ignored", where)
	}
	svc := b.Service.Name
	if errs := validation.IsDNS1035Label(svc); len(errs) > 0 {
		return fail("%s: service name %q: %s; ignored", where, svc, errs[0])
	}
	var port string
	switch {
	case b.Service.Port.Name != "":
		port = b.Service.Port.Name
		if errs := validation.IsValidPortName(port); len(errs) > 0 {
			return fail("%s: port name %q: %s; ignored", where, port, errs[0])
		}
	case b.Service.Port.Number > 0 && b.Service.Port.Number <= 65535:
		port = strconv.Itoa(int(b.Service.Port.Number))
	default:
		return fail("%s: service %q has no valid port; ignored", where, svc)
	}
	return parsedBackend{sp: servicePort{namespace: ref.Namespace, service: svc, port: port}}
}

// backendFor returns the name of the backend an Ingress backend reference
// routes to, creating it on first use. It reports false, after an event, when
// the reference cannot be routed at all; a Service that is merely missing or
// has no ready endpoint still gets a backend, without servers, so that only
// its own routes fail (with 503).
func (t *translator) backendFor(ing *networkingv1.Ingress, ref ObjectRef, b *parsedBackend, bs backendSettings) (string, bool) {
	if b.warn != nil {
		t.events.add(*b.warn)
		return "", false
	}
	e := t.resolveCached(b.sp, &b.res)
	if prob := e.r.prob; prob != nil {
		// Not naming the path lets the event log fold the repeats.
		t.events.warn(ref, prob.reason, "%s; routes to it answer 503", prob.message)
	}
	name := t.backendName(b.sp, e, bs, ing.Name)
	t.httpBackend(&b.be, name, b.sp, bs, e.r.servers)
	return name, true
}

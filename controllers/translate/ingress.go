package translate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// annotationLegacyClass is the class annotation that predates spec.ingressClassName.
const annotationLegacyClass = "kubernetes.io/ingress.class"

// ourIngresses returns the Ingresses of our class, oldest first: age decides
// every conflict, so the order is part of the semantics.
func (t *translator) ourIngresses() []*networkingv1.Ingress {
	class := t.snap.IngressClasses[t.opts.IngressClass]
	if class == nil || class.Spec.Controller != t.opts.ControllerName {
		return nil
	}
	isDefault := class.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true"

	var out []*networkingv1.Ingress
	for _, ing := range t.snap.Ingresses {
		if ing == nil {
			continue
		}
		name, named := className(ing)
		if (named && name == class.Name) || (!named && isDefault) {
			out = append(out, ing)
		}
	}
	slices.SortFunc(out, olderFirst)
	return out
}

// className is the class an Ingress asks for; the field wins over the
// deprecated annotation (the API server refuses both at once on create).
func className(ing *networkingv1.Ingress) (string, bool) {
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

func (t *translator) addIngress(ing *networkingv1.Ingress) {
	ref := refOf("Ingress", ing)
	set := parseAnnotations(ing.Annotations, ref, &t.events)

	if len(ing.Spec.TLS) > 0 {
		t.events.warn(ref, ReasonTLSNotSupported,
			"spec.tls is not supported yet: its hosts are served over plain HTTP only")
	}

	if db := ing.Spec.DefaultBackend; db != nil {
		t.addDefaultBackend(ing, ref, db, set)
	}

	for i, rule := range ing.Spec.Rules {
		host, err := parseHost(rule.Host)
		if err != nil {
			t.events.warn(ref, ReasonInvalidHost, "spec.rules[%d].host %q: %v; rule ignored", i, rule.Host, err)
			continue
		}
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			where := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)
			path, err := parsePath(p, set.pathRegex)
			if err != nil {
				t.events.warn(ref, ReasonInvalidPath, "%s: %v; path ignored", where, err)
				continue
			}
			key := routeKey{host: host, path: path}
			if owner := t.claims[key]; owner != nil {
				t.events.warn(ref, ReasonPathConflict, "%s: %s is already routed by %s; path ignored",
					where, key, ownerName(owner, ing))
				continue
			}
			name, ok := t.backendFor(ing, ref, where, p.Backend, set.backend)
			if !ok {
				continue
			}
			t.claims[key] = ing
			t.routes = append(t.routes, route{routeKey: key, backend: name})
		}
	}
}

func (t *translator) addDefaultBackend(ing *networkingv1.Ingress, ref ObjectRef, db *networkingv1.IngressBackend, set ingressSettings) {
	if t.defaultOwner != nil {
		t.events.warn(ref, ReasonDefaultBackendClash,
			"spec.defaultBackend ignored: the default backend is already set by %s", ownerName(t.defaultOwner, ing))
		return
	}
	name, ok := t.backendFor(ing, ref, "spec.defaultBackend", *db, set.backend)
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

// backendFor returns the name of the backend an Ingress backend reference
// routes to, creating it on first use. It reports false, after an event, when
// the reference cannot be routed at all; a Service that is merely missing or
// has no ready endpoint still gets a backend, without servers, so that only
// its own routes fail (with 503).
func (t *translator) backendFor(ing *networkingv1.Ingress, ref ObjectRef, where string, b networkingv1.IngressBackend, bs backendSettings) (string, bool) {
	if b.Resource != nil {
		t.events.warn(ref, ReasonInvalidBackend, "%s: resource backends (%s %s) are not supported; ignored",
			where, b.Resource.Kind, b.Resource.Name)
		return "", false
	}
	if b.Service == nil {
		t.events.warn(ref, ReasonInvalidBackend, "%s: no service; ignored", where)
		return "", false
	}
	svc := b.Service.Name
	if errs := validation.IsDNS1035Label(svc); len(errs) > 0 {
		t.events.warn(ref, ReasonInvalidBackend, "%s: service name %q: %s; ignored", where, svc, errs[0])
		return "", false
	}
	var port string
	switch {
	case b.Service.Port.Name != "":
		port = b.Service.Port.Name
		if errs := validation.IsValidPortName(port); len(errs) > 0 {
			t.events.warn(ref, ReasonInvalidBackend, "%s: port name %q: %s; ignored", where, port, errs[0])
			return "", false
		}
	case b.Service.Port.Number > 0 && b.Service.Port.Number <= 65535:
		port = strconv.Itoa(int(b.Service.Port.Number))
	default:
		t.events.warn(ref, ReasonInvalidBackend, "%s: service %q has no valid port; ignored", where, svc)
		return "", false
	}

	sp := servicePort{namespace: ing.Namespace, service: svc, port: port}
	servers, prob := t.resolve(sp)
	if prob != nil {
		// Not naming the path lets the event log fold the repeats.
		t.events.warn(ref, prob.reason, "%s; routes to it answer 503", prob.message)
	}
	name := t.backendName(sp, bs, ing.Name)
	if _, ok := t.backends[name]; !ok {
		t.backends[name] = bs.backend(name, servers)
		t.sources[name] = sp
	}
	return name, true
}

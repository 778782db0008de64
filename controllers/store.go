package controllers

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"sluice.dev/sluice/controllers/translate"
)

// store is the cluster as translation sees it: the informer caches' own
// objects, filed by the watch events as they arrive, and what changed since
// the last sync. Holding the caches' pointers (never copies) is what lets
// the Translator recognise an unchanged object by its pointer. A snapshot
// is the store's own maps, shared until the next change to one of them
// copies that one (and only that one) first, rather than a List of every
// object. Those objects are shared with the caches: nothing may modify them.
type store struct {
	mu   sync.Mutex
	snap translate.Snapshot
	// shared marks the maps of snap that a snapshot taken holds.
	shared struct{ ingresses, classes, services, slices, configMaps, secrets bool }
	// full: something other than EndpointSlices changed since the last
	// take; otherwise services are those whose slices did.
	full     bool
	services map[types.NamespacedName]bool
	// bare are the TLS Secrets the cache holds without their data (no
	// translation referred to them when they arrived); translation never
	// sees them, so that a Secret is parsed only with its data.
	bare map[types.NamespacedName]bool
}

func newStore() *store {
	snap := translate.NewSnapshot()
	snap.SlicesByService = map[types.NamespacedName][]*discoveryv1.EndpointSlice{}
	return &store{snap: *snap, bare: map[types.NamespacedName]bool{}}
}

func keyOf(o client.Object) types.NamespacedName {
	return types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}
}

// file records o (nil when deleted) under its key, and returns whether the
// change matters to translation as a whole (full) or only to the endpoints
// of some Services.
func (s *store) file(o client.Object, deleted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := keyOf(o)
	switch o := o.(type) {
	case *networkingv1.Ingress:
		own(&s.snap.Ingresses, &s.shared.ingresses)
		putOrDelete(s.snap.Ingresses, k, o, deleted)
	case *networkingv1.IngressClass:
		own(&s.snap.IngressClasses, &s.shared.classes)
		putOrDelete(s.snap.IngressClasses, o.Name, o, deleted)
	case *corev1.Service:
		own(&s.snap.Services, &s.shared.services)
		putOrDelete(s.snap.Services, k, o, deleted)
	case *discoveryv1.EndpointSlice:
		if s.shared.slices {
			s.snap.EndpointSlices = maps.Clone(s.snap.EndpointSlices)
			s.snap.SlicesByService = maps.Clone(s.snap.SlicesByService)
			s.shared.slices = false
		}
		if old := s.snap.EndpointSlices[k]; old != nil {
			s.unindex(old)
		}
		putOrDelete(s.snap.EndpointSlices, k, o, deleted)
		if !deleted {
			s.index(o)
		}
	case *corev1.ConfigMap:
		own(&s.snap.ConfigMaps, &s.shared.configMaps)
		putOrDelete(s.snap.ConfigMaps, k, o, deleted)
	case *corev1.Secret:
		own(&s.snap.Secrets, &s.shared.secrets)
		bare := !deleted && o.Data == nil
		putOrDelete(s.snap.Secrets, k, o, deleted || bare)
		if bare {
			s.bare[k] = true
		} else {
			delete(s.bare, k)
		}
	}
}

// index adds es to the list of its Service in SlicesByService. Lists are
// replaced, never modified: snapshots taken earlier share them.
func (s *store) index(es *discoveryv1.EndpointSlice) {
	k, ok := translate.SliceService(es)
	if !ok {
		return
	}
	old := s.snap.SlicesByService[k]
	i, _ := slices.BinarySearchFunc(old, es.Name, func(e *discoveryv1.EndpointSlice, name string) int { return strings.Compare(e.Name, name) })
	s.snap.SlicesByService[k] = slices.Insert(slices.Clip(old), i, es)
}

// unindex removes es from the list of its Service, as index adds it.
func (s *store) unindex(es *discoveryv1.EndpointSlice) {
	k, ok := translate.SliceService(es)
	if !ok {
		return
	}
	old := s.snap.SlicesByService[k]
	i := slices.Index(old, es)
	switch {
	case i < 0:
	case len(old) == 1:
		delete(s.snap.SlicesByService, k)
	default:
		s.snap.SlicesByService[k] = slices.Delete(slices.Clone(old), i, i+1)
	}
}

// own makes *m the store's alone, copying it if a snapshot holds it.
func own[K comparable, V any](m *map[K]V, shared *bool) {
	if *shared {
		*m = maps.Clone(*m)
		*shared = false
	}
}

func putOrDelete[K comparable, V any](m map[K]*V, k K, v *V, deleted bool) {
	if deleted {
		delete(m, k)
	} else {
		m[k] = v
	}
}

func (s *store) markFull() {
	s.mu.Lock()
	s.full = true
	s.mu.Unlock()
}

func (s *store) markService(o client.Object) {
	svc := o.GetLabels()[discoveryv1.LabelServiceName]
	s.mu.Lock()
	if s.services == nil {
		s.services = map[types.NamespacedName]bool{}
	}
	s.services[types.NamespacedName{Namespace: o.GetNamespace(), Name: svc}] = true
	s.mu.Unlock()
}

// take returns a snapshot of the objects and the pending changes, which it
// clears.
func (s *store) take() (snap *translate.Snapshot, full bool, services map[types.NamespacedName]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	taken := s.snap
	snap = &taken
	s.shared.ingresses, s.shared.classes, s.shared.services, s.shared.slices, s.shared.configMaps, s.shared.secrets = true, true, true, true, true, true
	full, services = s.full, s.services
	s.full, s.services = false, nil
	return snap, full, services
}

// handler files every event of one kind in the store and asks for the one
// sync when the change can matter. matters, if set, tells an update that
// cannot (an Ingress's own status) from one that can.
func (s *store) handler(endpoints bool, matters func(old, new client.Object) bool) handler.EventHandler {
	mark := func(o client.Object) {
		if endpoints {
			s.markService(o)
		} else {
			s.markFull()
		}
	}
	sync := func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) { q.Add(syncKey) }
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			s.file(e.Object, false)
			mark(e.Object)
			sync(q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			// Always file the new object, even when the change does not
			// matter, so the store never holds on to a stale copy.
			s.file(e.ObjectNew, false)
			if matters != nil && !matters(e.ObjectOld, e.ObjectNew) {
				return
			}
			mark(e.ObjectOld) // an EndpointSlice may change Service
			mark(e.ObjectNew)
			sync(q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			s.file(e.Object, true)
			mark(e.Object)
			sync(q)
		},
		GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			s.markFull()
			sync(q)
		},
	}
}

// bareOf lists those of names that the store holds without their data.
func (s *store) bareOf(names []types.NamespacedName) []types.NamespacedName {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []types.NamespacedName
	for _, n := range names {
		if s.bare[n] {
			out = append(out, n)
		}
	}
	return out
}

// fill files Secrets read from the API server, each unless the cache has
// since delivered it with its data (or its deletion), and returns snap
// with them.
func (s *store) fill(snap *translate.Snapshot, fetched []*corev1.Secret) *translate.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	own(&s.snap.Secrets, &s.shared.secrets)
	out := *snap
	out.Secrets = maps.Clone(snap.Secrets)
	for _, sec := range fetched {
		k := keyOf(sec)
		if s.bare[k] {
			delete(s.bare, k)
			s.snap.Secrets[k] = sec
		}
		if cur := s.snap.Secrets[k]; cur != nil {
			out.Secrets[k] = cur
		}
	}
	return &out
}

// secretHandler files TLS Secrets as handler does, but asks for a sync only
// when the Secret is one the serving translation refers to: the cluster's
// other certificates come and go without costing a translation.
func (s *store) secretHandler(refs *secretRefs) handler.EventHandler {
	sync := func(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if refs.matters(o) {
			s.markFull()
			q.Add(syncKey)
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			s.file(e.Object, false)
			sync(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			s.file(e.ObjectNew, false)
			if e.ObjectOld.GetResourceVersion() != e.ObjectNew.GetResourceVersion() {
				sync(e.ObjectNew, q)
			}
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			s.file(e.Object, true)
			sync(e.Object, q)
		},
	}
}

// ingressMatters: our own status writes must not trigger a translation; an
// Ingress update matters when its spec (generation), annotations or labels
// change.
func ingressMatters(old, new client.Object) bool {
	return old.GetGeneration() != new.GetGeneration() ||
		!maps.Equal(old.GetAnnotations(), new.GetAnnotations()) ||
		!maps.Equal(old.GetLabels(), new.GetLabels())
}

// endpointsMatter: an EndpointSlice update that changes nothing translation
// reads (a resync, a trigger-time annotation) needs no sync.
func endpointsMatter(old, new client.Object) bool {
	a, ok1 := old.(*discoveryv1.EndpointSlice)
	b, ok2 := new.(*discoveryv1.EndpointSlice)
	if !ok1 || !ok2 {
		return true
	}
	return a.Labels[discoveryv1.LabelServiceName] != b.Labels[discoveryv1.LabelServiceName] ||
		a.AddressType != b.AddressType || !reflect.DeepEqual(a.Endpoints, b.Endpoints) || !reflect.DeepEqual(a.Ports, b.Ports)
}

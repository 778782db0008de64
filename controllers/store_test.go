package controllers

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/controllers/translate"
)

func TestAppendDifference(t *testing.T) {
	k := func(names ...string) []types.NamespacedName {
		var out []types.NamespacedName
		for _, n := range names {
			out = append(out, types.NamespacedName{Namespace: n[:1], Name: n[1:]})
		}
		return out
	}
	for _, tc := range []struct{ a, b, want []types.NamespacedName }{
		{nil, nil, nil},
		{k("a1", "a2"), k("a1", "a2"), nil},
		{nil, k("a1", "b1"), k("a1", "b1")},
		{k("a1", "b1"), nil, k("a1", "b1")},
		{k("a1", "a3", "b2"), k("a2", "a3", "c1"), k("a1", "a2", "b2", "c1")},
	} {
		if got := appendDifference(nil, tc.a, tc.b); !slices.Equal(got, tc.want) {
			t.Errorf("appendDifference(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestTrimmedObjectsTranslateTheSame: the cache transforms drop only what
// translation does not read.
func TestTrimmedObjectsTranslateTheSame(t *testing.T) {
	full := benchCluster(20)
	// What the API server adds and translation ignores.
	for _, svc := range full.Services {
		svc.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
		svc.Annotations = map[string]string{lastApplied: "{}", "team": "x"}
		svc.Spec.Selector = map[string]string{"app": "x"}
		svc.Spec.ClusterIP = "10.96.0.1"
	}
	node := "node-1"
	for _, es := range full.EndpointSlices {
		es.Labels["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io"
		es.Endpoints[0].NodeName = &node
		es.Endpoints[0].TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: "p"}
	}
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "scale", Name: "svc-0"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.net",
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	full.Services[types.NamespacedName{Namespace: "scale", Name: "svc-0"}] = ext

	trimmed := &translate.Snapshot{Ingresses: map[types.NamespacedName]*networkingv1.Ingress{}, IngressClasses: full.IngressClasses,
		Services: map[types.NamespacedName]*corev1.Service{}, EndpointSlices: map[types.NamespacedName]*discoveryv1.EndpointSlice{}}
	for k, o := range full.Ingresses {
		c := o.DeepCopy()
		c.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
		c.Annotations = map[string]string{lastApplied: "{}"}
		v, _ := trimMeta(c)
		trimmed.Ingresses[k] = v.(*networkingv1.Ingress)
	}
	for k, o := range full.Services {
		v, _ := trimService(o.DeepCopy())
		trimmed.Services[k] = v.(*corev1.Service)
	}
	for k, o := range full.EndpointSlices {
		v, _ := trimEndpointSlice(o.DeepCopy())
		trimmed.EndpointSlices[k] = v.(*discoveryv1.EndpointSlice)
	}
	opts := translate.Options{HTTPAddr: ":8080"}
	want, got := translate.Translate(full, opts), translate.Translate(trimmed, opts)
	if w, g := want.Config.String(), got.Config.String(); w != g {
		t.Fatalf("translation of trimmed objects:\n%s\nwant:\n%s", g, w)
	}
	if w, g := fmt.Sprint(want.Events), fmt.Sprint(got.Events); w != g {
		t.Fatalf("events of trimmed objects:\n%s\nwant:\n%s", g, w)
	}
	if len(got.Config.Backends) < 20 {
		t.Fatalf("only %d backends", len(got.Config.Backends))
	}
}

// TestStoreGroupsSlices: the store's SlicesByService follows slices as they
// come, move between Services and go, and a snapshot taken earlier keeps
// what it saw.
func TestStoreGroupsSlices(t *testing.T) {
	s := newStore()
	mk := func(svc, name, addr string) *discoveryv1.EndpointSlice {
		es := benchSlice("ns", svc, addr)
		es.Name = name
		return es
	}
	check := func(step string) *translate.Snapshot {
		t.Helper()
		snap, _, _ := s.take()
		want := translate.GroupSlices(snap.EndpointSlices)
		if len(want) != len(snap.SlicesByService) {
			t.Fatalf("%s: %d Services grouped, want %d", step, len(snap.SlicesByService), len(want))
		}
		for k, list := range want {
			if !slices.Equal(list, snap.SlicesByService[k]) {
				t.Fatalf("%s: %s: %v, want %v", step, k, names(snap.SlicesByService[k]), names(list))
			}
		}
		return snap
	}
	s.file(mk("a", "a-2", "10.0.0.2"), false)
	s.file(mk("a", "a-1", "10.0.0.1"), false)
	s.file(mk("a", "a-3", "10.0.0.3"), false)
	s.file(mk("b", "b-1", "10.0.1.1"), false)
	before := check("created")
	s.file(mk("a", "a-1", "10.0.0.9"), false)
	check("updated")
	s.file(mk("b", "a-2", "10.0.0.2"), false) // a-2 now belongs to b
	check("moved")
	s.file(mk("a", "a-3", ""), true)
	s.file(mk("b", "b-1", ""), true)
	noLabel := mk("a", "x", "10.0.0.7")
	delete(noLabel.Labels, discoveryv1.LabelServiceName)
	s.file(noLabel, false)
	check("deleted")
	if got := names(before.SlicesByService[types.NamespacedName{Namespace: "ns", Name: "a"}]); got != "a-1 a-2 a-3" {
		t.Fatalf("an earlier snapshot changed: %s", got)
	}
}

func names(list []*discoveryv1.EndpointSlice) string {
	var out []string
	for _, es := range list {
		out = append(out, es.Name)
	}
	return strings.Join(out, " ")
}

// TestStoreSnapshotsStayPut: a snapshot keeps what it saw while later
// events change the store, and a kind no event touched is not copied.
func TestStoreSnapshotsStayPut(t *testing.T) {
	s := newStore()
	c := benchCluster(2)
	for _, o := range c.Ingresses {
		s.file(o, false)
	}
	for _, o := range c.Services {
		s.file(o, false)
	}
	first, _, _ := s.take()
	more := benchCluster(3)
	for k, o := range more.Ingresses {
		if c.Ingresses[k] == nil {
			s.file(o, false)
		}
	}
	for _, o := range c.Services {
		s.file(o, true)
		break
	}
	second, _, _ := s.take()
	if len(first.Ingresses) != 2 || len(first.Services) != 2 {
		t.Fatalf("first snapshot changed: %d Ingresses, %d Services", len(first.Ingresses), len(first.Services))
	}
	if len(second.Ingresses) != 3 || len(second.Services) != 1 {
		t.Fatalf("second snapshot: %d Ingresses, %d Services, want 3 and 1", len(second.Ingresses), len(second.Services))
	}
	third, _, _ := s.take()
	if reflect.ValueOf(third.Ingresses).UnsafePointer() != reflect.ValueOf(second.Ingresses).UnsafePointer() {
		t.Fatal("a map no event touched was copied")
	}
}

package controllers

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"sluice.dev/sluice/controllers/translate"
	"sluice.dev/sluice/dataplane"
)

// benchCluster is n Ingresses, each on its own host and Service with one
// ready endpoint, the shape of test/scale.
func benchCluster(n int) *translate.Snapshot {
	s := &translate.Snapshot{
		Ingresses:      map[types.NamespacedName]*networkingv1.Ingress{},
		IngressClasses: map[string]*networkingv1.IngressClass{},
		Services:       map[types.NamespacedName]*corev1.Service{},
		EndpointSlices: map[types.NamespacedName]*discoveryv1.EndpointSlice{},
		ConfigMaps:     map[types.NamespacedName]*corev1.ConfigMap{},
	}
	s.IngressClasses["sluice"] = &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "sluice"},
		Spec: networkingv1.IngressClassSpec{Controller: translate.DefaultControllerName}}
	for i := 0; i < n; i++ {
		addBenchApp(s, i, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1))
	}
	return s
}

func addBenchApp(s *translate.Snapshot, i int, addr string) {
	const ns = "scale"
	svc := fmt.Sprintf("svc-%d", i)
	class := "sluice"
	pt := networkingv1.PathTypePrefix
	s.Services[types.NamespacedName{Namespace: ns, Name: svc}] = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svc},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	s.EndpointSlices[types.NamespacedName{Namespace: ns, Name: svc + "-1"}] = benchSlice(ns, svc, addr)
	name := fmt.Sprintf("app-%d", i)
	s.Ingresses[types.NamespacedName{Namespace: ns, Name: name}] = &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(time.Unix(int64(i), 0))},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{Host: fmt.Sprintf("app-%d.example.com", i),
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pt, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}
}

func benchSlice(ns, svc, addr string) *discoveryv1.EndpointSlice {
	ready := true
	name, proto, port := "http", corev1.ProtocolTCP, int32(8080)
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: svc + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
}

// BenchmarkSync is the controller's work for one change at 10,000
// Ingresses, from the snapshot to the new table live: an Ingress added, or
// one Service's endpoints moved.
// liveTable applies s's first translation to a new runtime, which it shuts
// down when b ends.
func liveTable(b *testing.B, s *translate.Snapshot, opts translate.Options) (*dataplane.Runtime, *translate.Translator) {
	rt := dataplane.New(dataplane.Options{})
	b.Cleanup(func() { rt.Shutdown(context.Background()) })
	tr := translate.NewTranslator(opts)
	if err := rt.Apply(tr.Translate(s).Config); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	return rt, tr
}

func BenchmarkSync(b *testing.B) {
	fallback, err := SelfSigned(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 10000} {
		opts := translate.Options{HTTPAddr: freeAddr(b), HTTPSAddr: freeAddr(b), FallbackCertificate: fallback}
		b.Run(fmt.Sprintf("ingresses=%d/kind=ingress", n), func(b *testing.B) {
			s := benchCluster(n)
			rt, tr := liveTable(b, s, opts)
			i := n
			for b.Loop() {
				addBenchApp(s, i, "10.1.0.1")
				i++
				if err := rt.Apply(tr.Translate(s).Config); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ingresses=%d/kind=endpoints", n), func(b *testing.B) {
			s := benchCluster(n)
			rt, tr := liveTable(b, s, opts)
			k := 0
			for b.Loop() {
				svc := fmt.Sprintf("svc-%d", k%n)
				s.EndpointSlices[types.NamespacedName{Namespace: "scale", Name: svc + "-1"}] = benchSlice("scale", svc, fmt.Sprintf("10.2.%d.%d", k/250%250, k%250+1))
				k++
				if err := rt.Apply(tr.Translate(s).Config); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// BenchmarkStoreSync is BenchmarkSync's Ingress change as the controller
// makes it: the new objects filed in the store, a snapshot taken, translated
// and applied.
func BenchmarkStoreSync(b *testing.B) {
	const n = 10000
	st := newStore()
	fileAll := func(s *translate.Snapshot) {
		for _, o := range s.IngressClasses {
			st.file(o, false)
		}
		for _, o := range s.Ingresses {
			st.file(o, false)
		}
		for _, o := range s.Services {
			st.file(o, false)
		}
		for _, o := range s.EndpointSlices {
			st.file(o, false)
		}
	}
	fileAll(benchCluster(n))
	rt := dataplane.New(dataplane.Options{})
	defer rt.Shutdown(b.Context())
	tr := translate.NewTranslator(translate.Options{HTTPAddr: freeAddr(b)})
	snap, _, _ := st.take()
	if err := rt.Apply(tr.Translate(snap).Config); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := n
	for b.Loop() {
		one := benchCluster(0)
		addBenchApp(one, i, "10.1.0.1")
		i++
		fileAll(one)
		snap, _, _ := st.take()
		if err := rt.Apply(tr.Translate(snap).Config); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLiveHeap reports the heap that 10,000 Ingresses keep alive once
// translated and live in the dataplane (the informer caches aside).
func BenchmarkLiveHeap(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := benchCluster(10000)
		rt := dataplane.New(dataplane.Options{})
		tr := translate.NewTranslator(translate.Options{HTTPAddr: freeAddr(b)})
		if err := rt.Apply(tr.Translate(s).Config); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-live")
		runtime.KeepAlive(s)
		runtime.KeepAlive(tr)
		if err := rt.Shutdown(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

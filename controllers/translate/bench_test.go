package translate

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// bigCluster is namespaces × services, each Service with endpoints ready
// endpoints in two slices and one Ingress of paths paths on its own host.
func bigCluster(namespaces, services, endpoints, paths int) *Snapshot {
	var objects []runtime.Object
	for n := 0; n < namespaces; n++ {
		ns := fmt.Sprintf("ns%d", n)
		for s := 0; s < services; s++ {
			name := fmt.Sprintf("svc%d", s)
			objects = append(objects, service(ns, name, "http:80"))
			for half := 0; half < 2; half++ {
				var addrs []string
				for e := half; e < endpoints; e += 2 {
					addrs = append(addrs, fmt.Sprintf("10.%d.%d.%d", n, s, e))
				}
				objects = append(objects, slice(ns, name, fmt.Sprintf("%s-%d", name, half), []string{"http:8080"}, addrs...))
			}
			var ps []ingOpt
			for p := 0; p < paths; p++ {
				ps = append(ps, rule(fmt.Sprintf("%s.%s.example.com", name, ns), prefix(fmt.Sprintf("/p%d", p), name, "http")))
			}
			opts := append(ps, annotate("sluice.dev/affinity", "cookie"))
			objects = append(objects, ing(ns, name, s, opts...))
		}
	}
	return snap(objects...)
}

func BenchmarkTranslate(b *testing.B) {
	for _, size := range []struct{ ns, svc, eps, paths int }{
		{10, 10, 10, 5},  // 100 Ingresses, 500 routes, 1,000 endpoints
		{20, 50, 20, 10}, // 1,000 Ingresses, 10,000 routes, 20,000 endpoints
	} {
		s := bigCluster(size.ns, size.svc, size.eps, size.paths)
		b.Run(fmt.Sprintf("ingresses=%d/routes=%d/endpoints=%d", size.ns*size.svc, size.ns*size.svc*size.paths, size.ns*size.svc*size.eps), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res := Translate(s, testOptions)
				if len(res.Events) != 0 {
					b.Fatal(eventLines(res.Events))
				}
			}
		})
	}
}

// BenchmarkTranslatorChange is a Translator's work for one changed Ingress
// in a cluster of 1,000, without TLS and with a TLS Secret per Ingress
// (certificates parsed once, then reused).
func BenchmarkTranslatorChange(b *testing.B) {
	for _, withTLS := range []bool{false, true} {
		b.Run(fmt.Sprintf("tls=%v", withTLS), func(b *testing.B) {
			s := bigCluster(20, 50, 4, 2)
			// As the controller's store keeps it.
			s.SlicesByService = GroupSlices(s.EndpointSlices)
			opts := testOptions
			if withTLS {
				opts.HTTPSAddr = ":8443"
				opts.FallbackCertificate = fallbackCert(b)
				for k, ing := range s.Ingresses {
					pair := testCert(b, false, "*."+k.Namespace+".example.com")
					ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{ing.Spec.Rules[0].Host}, SecretName: ing.Name + "-tls"}}
					name := types.NamespacedName{Namespace: k.Namespace, Name: ing.Name + "-tls"}
					s.Secrets[name] = secret(name.Namespace, name.Name, corev1.SecretTypeTLS,
						map[string][]byte{corev1.TLSCertKey: pair.crt, corev1.TLSPrivateKeyKey: pair.key})
				}
			}
			tr := NewTranslator(opts)
			tr.Translate(s)
			key := types.NamespacedName{Namespace: "ns3", Name: "svc7"}
			orig := s.Ingresses[key]
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// A new object each time, as an informer gives.
				s.Ingresses[key] = orig.DeepCopy()
				s.Ingresses[key].Spec.Rules[0].HTTP.Paths[0].Path = fmt.Sprintf("/q%d", i%3)
				i++
				if res := tr.Translate(s); len(res.Events) != 0 {
					b.Fatal(eventLines(res.Events))
				}
			}
		})
	}
}

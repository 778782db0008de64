package translate

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
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

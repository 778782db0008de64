package e2e

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestClusterEndpointDiesWhileListed: a pod that dies before the
// EndpointSlice says so (a crash, an OOM kill) refuses connections while it
// is still listed. A GET sent to it must be retried on another endpoint, as
// ingress-nginx's proxy_next_upstream does, not answered 503.
func TestClusterEndpointDiesWhileListed(t *testing.T) {
	e := newEnv(t, "crash")
	pool := startPool(t, nil, "a", "b")
	e.service("app", 80, "http", pool...)
	e.ingress("app", nil, rule{"app.example", "/", networkingv1.PathTypePrefix, "app", 80})
	_, addr := e.controller("--leader-elect=false")
	expectSpread(t, addr, 10*time.Second, "app.example", "/", "a", "b")
	load := startLoad(t, addr, "app.example", "/", 20000, 20*time.Second)
	load.waitTrafficTo(t, "a", 5*time.Second)
	pool[0].close() // the slice still lists a
	load.waitTrafficTo(t, "b", 5*time.Second)
	load.waitTrafficTo(t, "b", 5*time.Second)
	load.finish("an endpoint dead but listed")
}

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestClusterEndpointsFollowUnderLoad scales a Service up and down and
// walks its endpoints through not ready and terminating while a request
// loop runs on its route: traffic follows each change within a bounded wait
// and not one request fails. Pods are stopped only after the slice no
// longer lists them, as a terminating pod keeps serving until then; a
// request in flight on a departing endpoint completes. A Service's
// endpoints may span several EndpointSlices.
func TestClusterEndpointsFollowUnderLoad(t *testing.T) {
	e := newEnv(t, "endpoints")
	// /slow requests announce which backend took them, then take a while.
	slowOn := make(chan string, 16)
	pool := startPool(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			slowOn <- w.Header().Get("X-Served-By")
			time.Sleep(700 * time.Millisecond)
		}
		fmt.Fprint(w, "ok")
	}, "a", "b", "c", "d")
	a, b, c, d := pool[0], pool[1], pool[2], pool[3]
	e.service("app", 80, "http", a)
	e.ingress("app", nil, rule{"app.example", "/", networkingv1.PathTypePrefix, "app", 80})
	_, addr := e.controller("--leader-elect=false")
	expectRoutes(t, addr, 10*time.Second, want{"app.example", "/", 200, "a"})

	load := startLoad(t, addr, "app.example", "/", 200000, 60*time.Second)
	const follow = 10 * time.Second
	const quiet = 100 // requests in a row that a removed endpoint must not see

	// Scale up.
	e.setEndpoints("app", "http", readyEP(a), readyEP(b), readyEP(c))
	load.waitTrafficTo(t, "b", follow)
	load.waitTrafficTo(t, "c", follow)

	// b fails its readiness probe; c's pod is being deleted.
	e.setEndpoints("app", "http", readyEP(a), notReadyEP(b), readyEP(c))
	load.waitNoTrafficTo(t, b, quiet, follow)
	e.setEndpoints("app", "http", readyEP(a), notReadyEP(b), terminatingEP(c))
	load.waitNoTrafficTo(t, c, quiet, follow)
	load.waitTrafficTo(t, "a", follow)

	// b is ready again; c's pod is gone from the slice, then exits.
	e.setEndpoints("app", "http", readyEP(a), readyEP(b))
	load.waitTrafficTo(t, "b", follow)
	c.close()

	// Scale down to b alone while a request is in flight on a: it
	// finishes, and a exits once it gets no more traffic.
	// Round robin alternates a and b, and the load's requests run one at a
	// time: slow requests launched at a steady pace can keep falling on b
	// alone. A random pause between them breaks the rhythm.
	slow := make(chan string, 32)
	launched := 0
	for onA := false; !onA; {
		if launched == cap(slow) {
			t.Fatalf("%d slow requests, none on a", launched)
		}
		if launched > 0 {
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		}
		launched++
		go func() {
			resp, err := tryGet(addr, "app.example", "/slow", nil)
			if err != nil {
				slow <- err.Error()
				return
			}
			slow <- fmt.Sprintf("%d from %s", resp.StatusCode, resp.Header.Get("X-Served-By"))
		}()
		select {
		case on := <-slowOn:
			onA = on == "a"
		case got := <-slow:
			t.Fatalf("a slow request ended before reaching a backend: %s", got)
		case <-time.After(5 * time.Second):
			t.Fatal("a slow request reached no backend in 5s")
		}
	}
	e.setEndpoints("app", "http", readyEP(b))
	load.waitNoTrafficTo(t, a, quiet, follow)
	for i := 0; i < launched; i++ {
		if got := <-slow; got != "200 from a" && got != "200 from b" {
			t.Errorf("a slow request in flight while a left the slice: %s", got)
		}
	}
	a.close()
	load.waitTrafficTo(t, "b", follow)

	// The Service's endpoints move to a second EndpointSlice, then the
	// first one goes, as when the EndpointSlice controller rebalances.
	e.setSlice("app", "app-2", "http", readyEP(d))
	load.waitTrafficTo(t, "d", follow)
	load.waitTrafficTo(t, "b", follow)
	if err := e.cp.DeleteEndpointSlice(e.ctx, e.ns, "app-1"); err != nil {
		t.Fatal(err)
	}
	load.waitNoTrafficTo(t, b, quiet, follow)
	b.close()
	load.waitTrafficTo(t, "d", follow)

	load.finish("endpoint changes under load")
	if load.total.Load() < 500 {
		t.Errorf("only %d requests ran: the loop did not cover the changes", load.total.Load())
	}
}

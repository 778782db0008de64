package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"sluice.dev/sluice/test/controlplane"
)

// newEnvOn is newEnv on a control plane of the test's own, for tests that
// stop the API server.
func newEnvOn(t *testing.T, cp *controlplane.ControlPlane, name string) *env {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cp.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cp: cp, cs: cs, ns: name, class: "sluice-" + name, ctx: context.Background()}
	if _, err := cs.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.ingressClass(e.class, "sluice.dev/ingress-controller", false)
	return e
}

// readyzCode answers /readyz's status, or 0 if it does not answer.
func (p *proc) readyzCode() int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + p.admin + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClusterAPIServerRestart stops the API server under a request loop and
// starts it again: the last table keeps serving (and /readyz keeps saying
// so) while the API server is away, not one request fails, and once it is
// back the controller sees both a change made meanwhile (an EndpointSlice
// written to etcd during the outage) and a new Ingress.
func TestClusterAPIServerRestart(t *testing.T) {
	// Without a watch grace period kube-apiserver never finishes a graceful
	// stop while clients watch, and the harness kills it after 15s.
	cp := controlplane.Start(t, controlplane.Options{APIServerFlags: []string{"--shutdown-watch-termination-grace-period=2s"}})
	e := newEnvOn(t, cp, "restart")
	t.Setenv("POD_NAMESPACE", e.ns)
	pool := startPool(t, nil, "a", "b")
	e.service("app", 80, "http", pool[0])
	e.ingress("before", nil, rule{"before.example", "/", networkingv1.PathTypePrefix, "app", 80})
	// Leader election on: losing the Lease while the API server is away
	// must not touch traffic either.
	p, addr := e.controller("--leader-elect=true", "--publish-status-address", "127.0.0.9")
	expectRoutes(t, addr, 10*time.Second, want{"before.example", "/", 200, "a"})

	load := startLoad(t, addr, "before.example", "/", 500000, 90*time.Second)
	load.waitTrafficTo(t, "a", 5*time.Second)

	stopped := time.Now()
	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	// Written straight to etcd: the controller can only learn of it by
	// listing again once the API server is back.
	e.setEndpoints("app", "http", readyEP(pool[0]), readyEP(pool[1]))
	readyz := map[int]int{}
	for i := 0; i < 20; i++ {
		readyz[p.readyzCode()]++
		time.Sleep(50 * time.Millisecond)
	}
	before := load.total.Load()
	load.waitTrafficTo(t, "a", 5*time.Second)
	duringOutage := load.total.Load() - before
	if readyz[200] != 20 {
		t.Errorf("/readyz while the API server is away: %v (status: count), want 200 throughout: the last table still serves", readyz)
	}

	if err := cp.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	outage := time.Since(stopped)
	e.ingress("after", nil, rule{"after.example", "/", networkingv1.PathTypePrefix, "app", 80})
	expectSpread(t, addr, 45*time.Second, "after.example", "/", "a", "b")
	load.waitTrafficTo(t, "b", 10*time.Second)
	recovered := time.Since(stopped) - outage
	if code := p.readyzCode(); code != 200 {
		t.Errorf("/readyz after the restart: %d", code)
	}
	load.finish(fmt.Sprintf("API server away for %v (requests in a sample of the outage: %d), changes seen %v after its return",
		outage.Round(100*time.Millisecond), duringOutage, recovered.Round(100*time.Millisecond)))
}

package e2e

import (
	"fmt"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClusterIngressChurn makes 200 changes to other Ingresses of the class
// (creates, updates, deletes) while a request loop runs on a stable route:
// not one of its requests fails, and the table ends up matching the
// cluster.
func TestClusterIngressChurn(t *testing.T) {
	e := newEnv(t, "churn")
	pool := startPool(t, nil, "a", "b")
	e.service("stable", 80, "http", pool...)
	e.service("other", 80, "http", startBackend(t, "other", "127.0.0.5", nil))
	e.ingress("stable", nil, rule{"stable.example", "/", networkingv1.PathTypePrefix, "stable", 80})
	p, addr := e.controller("--leader-elect=false")
	expectSpread(t, addr, 10*time.Second, "stable.example", "/", "a", "b")

	load := startLoad(t, addr, "stable.example", "/", 500000, 90*time.Second)
	load.waitTrafficTo(t, "a", 5*time.Second)
	syncs := p.metricSum("sluice_controller_syncs_total", `result="success"`)

	const created, updated, deleted = 80, 60, 60
	host := func(i int) string { return fmt.Sprintf("c%d.churn.example", i) }
	ings := e.cs.NetworkingV1().Ingresses(e.ns)
	start := time.Now()
	for i := 0; i < created; i++ {
		e.ingress(fmt.Sprintf("churn-%d", i), nil, rule{host(i), "/", networkingv1.PathTypePrefix, "other", 80})
	}
	// Updates move each Ingress's path from / to /v2.
	for i := 0; i < updated; i++ {
		ing, err := ings.Get(e.ctx, fmt.Sprintf("churn-%d", i), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ing.Spec.Rules[0].HTTP.Paths[0].Path = "/v2"
		if _, err := ings.Update(e.ctx, ing, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := created - deleted; i < created; i++ {
		if err := ings.Delete(e.ctx, fmt.Sprintf("churn-%d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	churn := time.Since(start)

	// What is left: churn-0..19, updated to /v2.
	expectRoutes(t, addr, 15*time.Second,
		want{host(0), "/v2", 200, "other"},
		want{host(19), "/v2/x", 200, "other"},
		want{host(0), "/", 404, ""},
		want{host(20), "/v2", 404, ""},
		want{host(79), "/", 404, ""},
	)
	load.waitTrafficTo(t, "b", 5*time.Second)
	n := p.metricSum("sluice_controller_syncs_total", `result="success"`) - syncs
	load.finish(fmt.Sprintf("%d Ingress changes in %v, %v translations", created+updated+deleted, churn.Round(time.Millisecond), n))
	if got := p.metric(`sluice_controller_objects{kind="Ingress"}`); got != "21" {
		t.Errorf("controller sees %s Ingresses, want 21", got)
	}
}

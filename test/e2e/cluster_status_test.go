package e2e

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"sluice.dev/sluice/controllers"
)

// metricSum adds up every series of name whose labels contain all of the
// given label pairs (written as in the exposition format, `method="PATCH"`).
func (p *proc) metricSum(name string, labels ...string) float64 {
	resp, err := http.Get("http://" + p.admin + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			p.t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// statusPatches counts the status writes a controller made: the status
// writer is its only client of PATCH (leader election updates its Lease
// with PUT, and this test gives no cause for Events).
func (p *proc) statusPatches() int {
	return int(p.metricSum("rest_client_requests_total", `method="PATCH"`))
}

// TestClusterStatusPublishService writes Ingress status from a published
// Service, under leader election: the leader holds the Lease named after the
// class in POD_NAMESPACE and writes status, only when it changes; a second
// replica serves traffic and writes nothing until the leader stops and
// hands the Lease over.
func TestClusterStatusPublishService(t *testing.T) {
	e := newEnv(t, "status")
	t.Setenv("POD_NAMESPACE", e.ns)
	t.Setenv("POD_NAME", "sluice-0")
	pool := startPool(t, nil, "web", "web-2")
	e.service("web", 80, "http", pool[0])
	e.ingress("site", nil, rule{"site.example", "/", networkingv1.PathTypePrefix, "web", 80})
	pub := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "sluice", Namespace: e.ns},
		Spec: corev1.ServiceSpec{
			Ports:       []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
			ExternalIPs: []string{"192.0.2.10"},
		},
	}
	pub, err := e.cs.CoreV1().Services(e.ns).Create(e.ctx, pub, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	leader, addr := e.controller("--leader-elect=true", "--publish-service", e.ns+"/sluice")
	lease := controllers.LeaseName(e.class)
	waitFor(t, 10*time.Second, "Lease "+e.ns+"/"+lease+" held by sluice-0", func() bool {
		l, err := e.cs.CoordinationV1().Leases(e.ns).Get(e.ctx, lease, metav1.GetOptions{})
		return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == "sluice-0"
	})
	waitStatus := func(name, addrs string) {
		t.Helper()
		var got string
		waitFor(t, 10*time.Second, "status of "+name+" = "+addrs, func() bool {
			got = statusAddrs(e.getIngress(name))
			return got == addrs
		})
	}
	waitStatus("site", "192.0.2.10|")
	if got := leader.metric("sluice_controller_leader"); got != "1" {
		t.Errorf("sluice_controller_leader of the Lease holder = %q", got)
	}

	// A second replica: it serves, but neither takes the Lease nor writes.
	t.Setenv("POD_NAME", "sluice-1")
	follower, addr2 := e.controller("--leader-elect=true", "--publish-service", e.ns+"/sluice")
	expectRoutes(t, addr2, 10*time.Second, want{"site.example", "/", 200, "web"})
	expectRoutes(t, addr, 10*time.Second, want{"site.example", "/", 200, "web"})

	// Translations that leave the status as it is must not write it.
	site := e.getIngress("site")
	patches := leader.statusPatches()
	syncs := leader.metricSum("sluice_controller_syncs_total", `result="success"`)
	for i := 0; i < 5; i++ {
		if i%2 == 0 {
			e.setEndpoints("web", "http", readyEP(pool[0]), readyEP(pool[1]))
		} else {
			e.setEndpoints("web", "http", readyEP(pool[0]))
		}
	}
	// The marker sorts after site, so once its status is written the writer
	// has been through site again.
	e.ingress("zz-marker", nil, rule{"marker.example", "/", networkingv1.PathTypePrefix, "web", 80})
	waitStatus("zz-marker", "192.0.2.10|")
	if n := leader.metricSum("sluice_controller_syncs_total", `result="success"`); n <= syncs+1 {
		t.Fatalf("only %v translations after the changes, want several", n-syncs)
	}
	if got := leader.statusPatches() - patches; got != 1 {
		t.Errorf("%d status writes for one new Ingress, want 1 (status written only when it changes)", got)
	}
	if rv := e.getIngress("site").ResourceVersion; rv != site.ResourceVersion {
		t.Errorf("Ingress site was written (resourceVersion %s -> %s) though its status did not change", site.ResourceVersion, rv)
	}

	// The published address changes: status follows, on every Ingress.
	patches = leader.statusPatches()
	pub, err = e.cs.CoreV1().Services(e.ns).Get(e.ctx, "sluice", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub.Spec.ExternalIPs = []string{"192.0.2.11"}
	if pub, err = e.cs.CoreV1().Services(e.ns).Update(e.ctx, pub, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus("site", "192.0.2.11|")
	waitStatus("zz-marker", "192.0.2.11|")
	if got := leader.statusPatches() - patches; got != 2 {
		t.Errorf("%d status writes for a new address on 2 Ingresses, want 2", got)
	}
	// Without external IPs, the cluster IP is the address.
	pub.Spec.ExternalIPs = nil
	if _, err = e.cs.CoreV1().Services(e.ns).Update(e.ctx, pub, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if pub.Spec.ClusterIP == "" || pub.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Fatalf("the published Service has no cluster IP: %q", pub.Spec.ClusterIP)
	}
	waitStatus("site", pub.Spec.ClusterIP+"|")

	if got := follower.metric("sluice_controller_leader"); got != "0" {
		t.Errorf("sluice_controller_leader of the second replica = %q, want 0", got)
	}
	if n := follower.statusPatches(); n != 0 {
		t.Errorf("the replica without the Lease made %d status writes", n)
	}
	if l, err := e.cs.CoordinationV1().Leases(e.ns).Get(e.ctx, lease, metav1.GetOptions{}); err != nil || *l.Spec.HolderIdentity != "sluice-0" {
		t.Errorf("Lease after the second replica started: %v %v", l, err)
	}

	// The leader stops and hands the Lease over; the other replica writes
	// status from then on.
	stopped := time.Now()
	leader.stop()
	// Within the Lease's duration (15s) and a retry period or two, whether
	// or not the leader released the Lease on its way out.
	waitFor(t, 25*time.Second, "Lease taken over by sluice-1", func() bool {
		l, err := e.cs.CoordinationV1().Leases(e.ns).Get(e.ctx, lease, metav1.GetOptions{})
		return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == "sluice-1"
	})
	t.Logf("Lease handed over %v after the leader was stopped", time.Since(stopped).Round(100*time.Millisecond))
	if pub, err = e.cs.CoreV1().Services(e.ns).Get(e.ctx, "sluice", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	pub.Spec.ExternalIPs = []string{"192.0.2.12"}
	if _, err = e.cs.CoreV1().Services(e.ns).Update(e.ctx, pub, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus("site", "192.0.2.12|")
	if got := follower.metric("sluice_controller_leader"); got != "1" {
		t.Errorf("sluice_controller_leader of the new leader = %q", got)
	}
}

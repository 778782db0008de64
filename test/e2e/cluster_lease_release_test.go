package e2e

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sluice.dev/sluice/controllers"
)

// TestClusterLeaseReleasedOnShutdown: a leader stopped with SIGTERM
// releases its Lease (ReleaseOnCancel), so the other replica takes over
// within a retry period or two rather than after the Lease's 15 seconds.
func TestClusterLeaseReleasedOnShutdown(t *testing.T) {
	e := newEnv(t, "lease-release")
	t.Setenv("POD_NAMESPACE", e.ns)
	e.service("web", 80, "http", startBackend(t, "web", "127.0.0.2", nil))
	e.ingress("site", nil, rule{"site.example", "/", networkingv1.PathTypePrefix, "web", 80})
	t.Setenv("POD_NAME", "sluice-0")
	leader, _ := e.controller("--leader-elect=true", "--publish-status-address", "127.0.0.9")
	lease := controllers.LeaseName(e.class)
	holder := func() string {
		l, err := e.cs.CoordinationV1().Leases(e.ns).Get(e.ctx, lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	waitFor(t, 10*time.Second, "sluice-0 to lead", func() bool { return holder() == "sluice-0" })
	t.Setenv("POD_NAME", "sluice-1")
	e.controller("--leader-elect=true", "--publish-status-address", "127.0.0.9")
	leader.stop()
	if h := holder(); h == "sluice-0" {
		t.Errorf("the stopped leader still holds the Lease: it exited without releasing it")
	}
	waitFor(t, 6*time.Second, "sluice-1 to take over", func() bool { return holder() == "sluice-1" })
}

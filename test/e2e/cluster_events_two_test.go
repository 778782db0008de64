package e2e

import (
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestClusterTwoInvalidAnnotationsTwoEvents: every problem of an Ingress
// must reach its owner, also when two share a reason.
func TestClusterTwoInvalidAnnotationsTwoEvents(t *testing.T) {
	e := newEnv(t, "annotations-two")
	e.service("app", 80, "http", startBackend(t, "a", "127.0.0.2", nil))
	e.ingress("bad", map[string]string{"sluice.dev/load-balance": "bogus", "sluice.dev/proxy-connect-timeout": "soon"},
		rule{"bad.example", "/", networkingv1.PathTypePrefix, "app", 80})
	_, addr := e.controller("--leader-elect=false")
	expectRoutes(t, addr, 10*time.Second, want{"bad.example", "/", 200, "a"})
	var warnings []string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		warnings = e.warningsAbout("bad")
		s := strings.Join(warnings, "\n")
		if strings.Contains(s, "sluice.dev/load-balance") && strings.Contains(s, "sluice.dev/proxy-connect-timeout") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("after 5s, Warning Events on bad: %q; want one naming sluice.dev/load-balance and one naming sluice.dev/proxy-connect-timeout", warnings)
}

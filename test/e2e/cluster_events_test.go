package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClusterBadAnnotationEvent gives one Ingress an invalid annotation:
// it gets a Warning Event naming the annotation and is still served, with
// the default; another Ingress of the same Service keeps its own settings
// and gets no Event.
func TestClusterBadAnnotationEvent(t *testing.T) {
	e := newEnv(t, "annotations")
	pool := startPool(t, nil, "a", "b")
	e.service("app", 80, "http", pool...)
	e.ingress("bad", map[string]string{"sluice.dev/load-balance": "bogus"},
		rule{"bad.example", "/", networkingv1.PathTypePrefix, "app", 80})
	e.ingress("good", map[string]string{"sluice.dev/affinity": "cookie"},
		rule{"good.example", "/", networkingv1.PathTypePrefix, "app", 80})
	_, addr := e.controller("--leader-elect=false")

	var warnings []string
	waitFor(t, 10*time.Second, "a Warning Event on Ingress bad", func() bool {
		warnings = e.warningsAbout("bad")
		return len(warnings) > 0
	})
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "InvalidAnnotation: ") ||
		!strings.Contains(warnings[0], "sluice.dev/load-balance") || !strings.Contains(warnings[0], `"bogus"`) {
		t.Errorf("warnings on bad: %q, want one InvalidAnnotation naming sluice.dev/load-balance and its value", warnings)
	}

	// Served with the default balance: round robin over both endpoints, and
	// no affinity.
	expectSpread(t, addr, 10*time.Second, "bad.example", "/", "a", "b")
	for i := 0; i < 4; i++ {
		resp, err := tryGet(addr, "bad.example", "/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || len(resp.Header.Values("Set-Cookie")) != 0 {
			t.Fatalf("bad.example: %d, Set-Cookie %q", resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
	}

	// The other Ingress of the Service keeps its cookie affinity.
	resp, err := tryGet(addr, "good.example", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != 200 || !strings.HasPrefix(sc, "SLUICEID=") {
		t.Fatalf("good.example: %d, Set-Cookie %q, want the affinity cookie", resp.StatusCode, sc)
	}
	sticky := resp.Header.Get("X-Served-By")
	hdr := http.Header{"Cookie": {strings.Split(sc, ";")[0]}}
	for i := 0; i < 10; i++ {
		resp, err := tryGet(addr, "good.example", "/", hdr)
		if err != nil {
			t.Fatal(err)
		}
		if by := resp.Header.Get("X-Served-By"); resp.StatusCode != 200 || by != sticky {
			t.Fatalf("good.example with its cookie: %d from %q, want 200 from %s", resp.StatusCode, by, sticky)
		}
	}
	if w := e.warningsAbout("good"); len(w) > 0 {
		t.Errorf("Ingress good got warnings: %q", w)
	}

	// The two Ingresses need two backends for one Service: an endpoint
	// change reaches both.
	other := map[string]*backend{"a": pool[1], "b": pool[0]}[sticky]
	e.setEndpoints("app", "http", readyEP(other))
	waitFor(t, 10*time.Second, "good.example redispatched to "+other.name, func() bool {
		resp, err := tryGet(addr, "good.example", "/", hdr)
		return err == nil && resp.StatusCode == 200 && resp.Header.Get("X-Served-By") == other.name
	})
	expectRoutes(t, addr, 10*time.Second, want{"bad.example", "/", 200, other.name}, want{"bad.example", "/", 200, other.name})
	e.setEndpoints("app", "http", readyEP(pool[0]), readyEP(pool[1]))
	expectSpread(t, addr, 10*time.Second, "bad.example", "/", "a", "b")

	// Once the value is valid it applies: source hashing sends every
	// request from 127.0.0.1 to one server.
	ing := e.getIngress("bad")
	ing.Annotations["sluice.dev/load-balance"] = "source"
	if _, err := e.cs.NetworkingV1().Ingresses(e.ns).Update(e.ctx, ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "balance source on bad.example", func() bool {
		first := ""
		for i := 0; i < 8; i++ {
			resp, err := tryGet(addr, "bad.example", "/", nil)
			if err != nil || resp.StatusCode != 200 {
				return false
			}
			if by := resp.Header.Get("X-Served-By"); first == "" {
				first = by
			} else if by != first {
				return false
			}
		}
		return true
	})
}

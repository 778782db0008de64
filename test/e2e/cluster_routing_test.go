package e2e

import (
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClusterIngressDocExamples plays the examples of the Kubernetes Ingress
// documentation (simple fanout, name-based virtual hosting, hostname
// wildcards, path types and their matching table, defaultBackend) against a
// real API server and checks which Service answers each request.
func TestClusterIngressDocExamples(t *testing.T) {
	e := newEnv(t, "routing")
	const (
		prefix = networkingv1.PathTypePrefix
		exact  = networkingv1.PathTypeExact
	)
	for _, s := range []struct {
		name string
		port int32
	}{
		{"service1", 4200}, {"service2", 8080}, {"service3", 80}, {"first", 80}, {"second", 80},
		{"wild", 80}, {"exact", 80}, {"prefix", 80}, {"root", 80}, {"aaa", 80}, {"aaabbb", 80},
		{"lm-root", 80}, {"lm-api", 80}, {"lm-v2", 80}, {"fallback", 80},
	} {
		e.service(s.name, s.port, "http", startBackend(t, s.name, "127.0.0.2", nil))
	}

	// Simple fanout.
	e.ingress("simple-fanout-example", nil,
		rule{"foo.bar.com", "/foo", prefix, "service1", 4200},
		rule{"foo.bar.com", "/bar", prefix, "service2", 8080},
	)
	// Hostname wildcards: exactly one label.
	e.ingress("ingress-wildcard-host", nil, rule{"*.foo.com", "/", prefix, "wild", 80})
	// Path types, from the documentation's table of examples.
	e.ingress("paths", nil,
		rule{"paths.example", "/", prefix, "root", 80},
		rule{"paths.example", "/exact", exact, "exact", 80},
		rule{"paths.example", "/foo", exact, "exact", 80},
		rule{"paths.example", "/foo", prefix, "prefix", 80},
		rule{"paths.example", "/aaa", prefix, "aaa", 80},
		rule{"paths.example", "/aaa/bbb/", prefix, "aaabbb", 80},
	)
	// Longest match wins, also when the paths come from two Ingresses.
	e.ingress("lm-old", nil,
		rule{"lm.example", "/", prefix, "lm-root", 80},
		rule{"lm.example", "/api", prefix, "lm-api", 80},
	)
	e.ingress("lm-new", nil, rule{"lm.example", "/api/v2", prefix, "lm-v2", 80})

	_, addr := e.controller("--leader-elect=false")

	fanoutAndPaths := []want{
		{"foo.bar.com", "/foo", 200, "service1"},
		{"foo.bar.com", "/foo/x", 200, "service1"},
		{"foo.bar.com", "/bar", 200, "service2"},
		{"Foo.Bar.COM:80", "/bar/", 200, "service2"},

		{"paths.example", "/exact", 200, "exact"},
		{"paths.example", "/exact?q=/x", 200, "exact"}, // the query is not part of the path
		{"paths.example", "/exact/", 200, "root"},      // Exact: no trailing slash
		{"paths.example", "/exactly", 200, "root"},
		{"paths.example", "/foo", 200, "exact"}, // Exact beats Prefix at equal length
		{"paths.example", "/foo/", 200, "prefix"},
		{"paths.example", "/foo/bar", 200, "prefix"},
		{"paths.example", "/foobar", 200, "root"}, // Prefix is element-wise
		{"paths.example", "/aaa/bbb", 200, "aaabbb"},
		{"paths.example", "/aaa/bbb/", 200, "aaabbb"}, // trailing slash of the rule ignored
		{"paths.example", "/aaa/bbb/ccc", 200, "aaabbb"},
		{"paths.example", "/aaa/bbbxyz", 200, "aaa"},
		{"paths.example", "/aaa/ccc", 200, "aaa"},
		{"paths.example", "/bar", 200, "root"},

		{"lm.example", "/api/v2", 200, "lm-v2"},
		{"lm.example", "/api/v2/users", 200, "lm-v2"},
		{"lm.example", "/api/v2x", 200, "lm-api"},
		{"lm.example", "/api/v1", 200, "lm-api"},
		{"lm.example", "/", 200, "lm-root"},

		{"bar.foo.com", "/", 200, "wild"},
		{"BAR.foo.com:8080", "/x", 200, "wild"},
	}
	expectRoutes(t, addr, 15*time.Second, append(fanoutAndPaths,
		// Nothing matches: sluice's own 404.
		want{"foo.bar.com", "/foobar", 404, ""},
		want{"foo.bar.com", "/", 404, ""},
		want{"baz.bar.foo.com", "/", 404, ""}, // a wildcard covers one label only
		want{"foo.com", "/", 404, ""},
		want{"unknown.example", "/", 404, ""},
	)...)

	// On the wire: an absolute-form request target names the host, whatever
	// Host says (RFC 9112 3.2.2); two Host headers are refused; a trailing
	// dot does not make another host.
	for _, c := range []struct{ raw, status, by string }{
		{"GET http://foo.bar.com/foo HTTP/1.1\r\nHost: lm.example\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 ", "service1"},
		{"GET /foo HTTP/1.1\r\nHost: foo.bar.com\r\nHost: lm.example\r\nConnection: close\r\n\r\n", "HTTP/1.1 400 ", ""},
		{"GET /foo HTTP/1.1\r\nHost: foo.bar.com.\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 ", "service1"},
	} {
		got := rawExchange(t, addr, c.raw)
		if !strings.HasPrefix(got, c.status) || (c.by != "") != strings.Contains(got, "X-Served-By: "+c.by+"\r\n") {
			t.Errorf("%q answered %q, want %s from %q", c.raw, got, c.status, c.by)
		}
	}

	// Name-based virtual hosting, with a rule without host that takes the
	// requests of every other host.
	e.ingress("name-virtual-host-ingress-no-third-host", nil,
		rule{"first.bar.com", "/", prefix, "first", 80},
		rule{"second.bar.com", "/", prefix, "second", 80},
		rule{"", "/", prefix, "service3", 80},
	)
	expectRoutes(t, addr, 10*time.Second, append(fanoutAndPaths,
		want{"first.bar.com", "/", 200, "first"},
		want{"second.bar.com", "/x", 200, "second"},
		want{"unknown.example", "/", 200, "service3"},
		want{"baz.bar.foo.com", "/", 200, "service3"},
		want{"foo.com", "/", 200, "service3"},
		// A host named by a rule owns its requests: its unmatched paths do
		// not fall through to the rule without host.
		want{"foo.bar.com", "/baz", 404, ""},
	)...)

	// spec.defaultBackend takes what no rule matches.
	def := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "default-backend"},
		Spec: networkingv1.IngressSpec{IngressClassName: &e.class, DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "fallback", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
	}
	e.createIngress(def)
	expectRoutes(t, addr, 10*time.Second, append(fanoutAndPaths,
		want{"foo.bar.com", "/baz", 200, "fallback"},
		want{"foo.bar.com", "/foobar", 200, "fallback"},
		want{"unknown.example", "/", 200, "service3"}, // a rule beats the default
	)...)
	if err := e.cs.NetworkingV1().Ingresses(e.ns).Delete(e.ctx, "name-virtual-host-ingress-no-third-host", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expectRoutes(t, addr, 10*time.Second, append(fanoutAndPaths,
		want{"unknown.example", "/", 200, "fallback"},
		want{"first.bar.com", "/", 200, "fallback"},
		want{"baz.bar.foo.com", "/", 200, "fallback"},
	)...)
}

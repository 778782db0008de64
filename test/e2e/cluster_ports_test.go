package e2e

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestClusterNamedServicePorts routes through named ports: an Ingress
// backend that names the Service port, and a Service whose targetPort is a
// name, which only the EndpointSlice (its port named like the Service port)
// resolves to a number; and the Services a route can only find later: an
// ExternalName one, one created after its Ingress.
func TestClusterNamedServicePorts(t *testing.T) {
	e := newEnv(t, "ports")
	web := startBackend(t, "web", "127.0.0.2", nil)
	admin := startBackend(t, "admin", "127.0.0.2", nil)
	plain := startBackend(t, "plain", "127.0.0.3", nil)
	web2 := startBackend(t, "web2", "127.0.0.2", nil)

	e.createService("app",
		svcPort("http", 80, intstr.FromString("web-port")), // the pods' container port name
		svcPort("admin", 81, intstr.FromInt32(9090)),
	)
	e.putSlice("app", map[string]*backend{"http": web, "admin": admin})
	e.createService("plain", svcPort("", 8080, intstr.FromInt32(int32(portOf(t, plain)))))
	e.putSlice("plain", map[string]*backend{"": plain})

	// An ExternalName Service lists no ports: the Ingress's port number is
	// the port of the external name.
	ext := startBackend(t, "ext", "127.0.0.1", nil)
	if _, err := e.cs.CoreV1().Services(e.ns).Create(e.ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	byName := func(svc, port string) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Name: port}}}
	}
	byNumber := func(svc string, port int32) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: port}}}
	}
	paths := func(host string, p map[string]networkingv1.IngressBackend) networkingv1.IngressRule {
		r := networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
		pt := networkingv1.PathTypePrefix
		for path, b := range p {
			r.HTTP.Paths = append(r.HTTP.Paths, networkingv1.HTTPIngressPath{Path: path, PathType: &pt, Backend: b})
		}
		return r
	}
	e.createIngress(&networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "ports"},
		Spec: networkingv1.IngressSpec{IngressClassName: &e.class, Rules: []networkingv1.IngressRule{paths("ports.example", map[string]networkingv1.IngressBackend{
			"/by-name":   byName("app", "http"),
			"/by-number": byNumber("app", 81),
			"/admin":     byName("app", "admin"),
			"/plain":     byNumber("plain", 8080),
			"/ext":       byNumber("ext", int32(portOf(t, ext))),
		})}},
	})
	// An Ingress names the Service's port, never the pods': "web-port" is
	// a targetPort, so this route has no servers.
	e.createIngress(&networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "target-name"},
		Spec: networkingv1.IngressSpec{IngressClassName: &e.class, Rules: []networkingv1.IngressRule{paths("bad.ports.example", map[string]networkingv1.IngressBackend{
			"/target-name": byName("app", "web-port"),
		})}},
	})
	e.createIngress(&networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "no-such-port"},
		Spec: networkingv1.IngressSpec{IngressClassName: &e.class, Rules: []networkingv1.IngressRule{paths("bad.ports.example", map[string]networkingv1.IngressBackend{
			"/no-such": byName("app", "nope"),
		})}},
	})

	_, addr := e.controller("--leader-elect=false")
	expectRoutes(t, addr, 10*time.Second,
		want{"ports.example", "/by-name", 200, "web"},
		want{"ports.example", "/by-number", 200, "admin"},
		want{"ports.example", "/admin", 200, "admin"},
		want{"ports.example", "/plain", 200, "plain"},
		want{"ports.example", "/ext", 200, "ext"},
		want{"bad.ports.example", "/target-name", 503, ""},
		want{"bad.ports.example", "/no-such", 503, ""},
	)
	for ing, port := range map[string]string{"target-name": "web-port", "no-such-port": "nope"} {
		waitFor(t, 10*time.Second, "a ServicePortNotFound warning on "+ing, func() bool {
			s := strings.Join(e.warningsAbout(ing), "\n")
			return strings.Contains(s, "ServicePortNotFound") && strings.Contains(s, "no port "+port)
		})
	}
	if w := e.warningsAbout("ports"); len(w) > 0 {
		t.Errorf("the good Ingress got warnings: %q", w)
	}

	// An Ingress may come before its Service: 503 until the Service and
	// its endpoints exist, then served.
	late := startBackend(t, "late", "127.0.0.4", nil)
	e.createIngress(&networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "late"},
		Spec: networkingv1.IngressSpec{IngressClassName: &e.class, Rules: []networkingv1.IngressRule{paths("late.example", map[string]networkingv1.IngressBackend{
			"/": byName("late", "http"),
		})}},
	})
	expectRoutes(t, addr, 10*time.Second, want{"late.example", "/", 503, ""})
	waitFor(t, 10*time.Second, "a ServiceNotFound warning on late", func() bool {
		return strings.Contains(strings.Join(e.warningsAbout("late"), "\n"), "ServiceNotFound")
	})
	e.createService("late", svcPort("http", 80, intstr.FromString("http")))
	expectRoutes(t, addr, 10*time.Second, want{"late.example", "/", 503, ""})
	e.putSlice("late", map[string]*backend{"http": late})
	expectRoutes(t, addr, 10*time.Second, want{"late.example", "/", 200, "late"})

	// The pods' named port moves (a new container port number): the
	// EndpointSlice says so and the route follows, with no change to the
	// Service or the Ingress.
	e.putSlice("app", map[string]*backend{"http": web2, "admin": admin})
	expectRoutes(t, addr, 10*time.Second,
		want{"ports.example", "/by-name", 200, "web2"},
		want{"ports.example", "/admin", 200, "admin"},
	)
}

func portOf(t *testing.T, b *backend) int {
	t.Helper()
	_, p, err := net.SplitHostPort(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// putSlice writes the Service's EndpointSlice with one ready endpoint per
// distinct address and one slice port per entry of ports (named as the
// Service port, numbered as the backend's port): what the EndpointSlice
// controller writes once it has resolved a named targetPort.
func (e *env) putSlice(svc string, ports map[string]*backend) {
	e.t.Helper()
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-1", Namespace: e.ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	seen := map[string]bool{}
	proto := corev1.ProtocolTCP
	ready := true
	for name, b := range ports {
		host, _, _ := net.SplitHostPort(b.addr)
		if !seen[host] {
			seen[host] = true
			slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
		}
		name, port := name, int32(portOf(e.t, b))
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto})
	}
	if len(seen) != 1 {
		e.t.Fatalf("putSlice wants the ports of one address, got %d addresses", len(seen))
	}
	if err := e.cp.PutEndpointSlice(e.ctx, slice); err != nil {
		e.t.Fatal(err)
	}
}

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"sluice.dev/sluice/test/controlplane"
	"sluice.dev/sluice/test/support"
)

// The control plane is shared by every cluster test of the package and
// started on first use; each test works in its own namespace with its own
// IngressClass.
var (
	cpOnce   sync.Once
	cpShared *controlplane.ControlPlane
	cpErr    error
)

func cluster(t *testing.T) (*controlplane.ControlPlane, *kubernetes.Clientset) {
	t.Helper()
	cpOnce.Do(func() { cpShared, cpErr = controlplane.New(controlplane.Options{}) })
	if cpErr != nil {
		t.Fatalf("control plane: %v", cpErr)
	}
	cs, err := kubernetes.NewForConfig(cpShared.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	return cpShared, cs
}

func stopCluster() {
	if cpShared != nil {
		cpShared.Stop()
	}
}

// env is one test's corner of the cluster.
type env struct {
	t     *testing.T
	cp    *controlplane.ControlPlane
	cs    *kubernetes.Clientset
	ns    string
	class string
	ctx   context.Context
}

func newEnv(t *testing.T, name string) *env {
	cp, cs := cluster(t)
	e := &env{t: t, cp: cp, cs: cs, ns: name, class: "sluice-" + name, ctx: context.Background()}
	if _, err := cs.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.ingressClass(e.class, "sluice.dev/ingress-controller", false)
	return e
}

func (e *env) ingressClass(name, controller string, isDefault bool) {
	ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
	if isDefault {
		ic.Annotations = map[string]string{"ingressclass.kubernetes.io/is-default-class": "true"}
	}
	if _, err := e.cs.NetworkingV1().IngressClasses().Create(e.ctx, ic, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = e.cs.NetworkingV1().IngressClasses().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// service creates a Service with one port and an EndpointSlice (written
// through etcd, as the API server refuses loopback endpoints) listing the
// given backends as ready endpoints.
func (e *env) service(name string, port int32, portName string, backends ...*backend) {
	e.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: portName, Port: port, TargetPort: intstr.FromString(portName)}}},
	}
	if _, err := e.cs.CoreV1().Services(e.ns).Create(e.ctx, svc, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
	e.endpoints(name, portName, backends...)
}

// endpoints replaces the Service's EndpointSlice; all backends must listen
// on the same port, as pods of one Service do.
func (e *env) endpoints(svc, portName string, backends ...*backend) {
	e.t.Helper()
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-1", Namespace: e.ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	var port int32
	for _, b := range backends {
		host, p, _ := net.SplitHostPort(b.addr)
		pn, _ := strconv.Atoi(p)
		if port != 0 && int32(pn) != port {
			e.t.Fatalf("backends of one service must share a port: %d vs %d", pn, port)
		}
		port = int32(pn)
		ready := true
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	proto := corev1.ProtocolTCP
	slice.Ports = []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}}
	if err := e.cp.PutEndpointSlice(e.ctx, slice); err != nil {
		e.t.Fatal(err)
	}
}

type rule struct {
	host, path string
	pathType   networkingv1.PathType
	svc        string
	port       int32
}

func (e *env) ingress(name string, annotations map[string]string, rules ...rule) *networkingv1.Ingress {
	e.t.Helper()
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns, Annotations: annotations},
		Spec:       networkingv1.IngressSpec{IngressClassName: &e.class},
	}
	got, err := e.cs.NetworkingV1().Ingresses(e.ns).Create(e.ctx, withRules(ing, rules), metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// withRules fills spec.rules, grouping each host's paths whatever order the
// rules come in.
func withRules(ing *networkingv1.Ingress, rules []rule) *networkingv1.Ingress {
	ing.Spec.Rules = nil
	idx := map[string]int{}
	for _, r := range rules {
		i, ok := idx[r.host]
		if !ok {
			ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: r.host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}})
			i = len(ing.Spec.Rules) - 1
			idx[r.host] = i
		}
		pt := r.pathType
		ing.Spec.Rules[i].HTTP.Paths = append(ing.Spec.Rules[i].HTTP.Paths, networkingv1.HTTPIngressPath{Path: r.path, PathType: &pt, Backend: networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: r.svc, Port: networkingv1.ServiceBackendPort{Number: r.port}}}})
	}
	return ing
}

// controller runs `sluice controller` for this env and returns the process
// and its HTTP address.
func (e *env) controller(extra ...string) (*proc, string) {
	e.t.Helper()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", support.FreePort(e.t))
	httpsAddr := fmt.Sprintf("127.0.0.1:%d", support.FreePort(e.t))
	admin := fmt.Sprintf("127.0.0.1:%d", support.FreePort(e.t))
	args := append([]string{"controller", "--kubeconfig", e.cp.Kubeconfig, "--ingress-class", e.class,
		"--watch-namespace", e.ns, "--http-addr", httpAddr, "--https-addr", httpsAddr, "--metrics-addr", admin,
		"--access-log", "off", "--grace", "3s"}, extra...)
	p := startProc(e.t, admin, args...)
	p.https = httpsAddr
	return p, httpAddr
}

// hostGet sends a GET with the given Host header.
func hostGet(t *testing.T, addr, host, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Served-By")
}

func TestControllerServesIngress(t *testing.T) {
	e := newEnv(t, "basic")
	web := startBackend(t, "web", "127.0.0.2", nil)
	api := startBackend(t, "api", "127.0.0.3", nil)
	e.service("web", 80, "http", web)
	e.service("api", 80, "http", api)
	e.ingress("site", nil,
		rule{"foo.example", "/", networkingv1.PathTypePrefix, "web", 80},
		rule{"foo.example", "/api", networkingv1.PathTypePrefix, "api", 80},
	)
	p, addr := e.controller("--publish-status-address", "127.0.0.9", "--leader-elect=false")
	waitFor(t, 10*time.Second, "the route", func() bool {
		code, by := hostGet(t, addr, "foo.example", "/")
		return code == 200 && by == "web"
	})
	cases := []struct {
		host, path string
		code       int
		by         string
	}{
		{"foo.example", "/api", 200, "api"},
		{"foo.example", "/api/v1", 200, "api"},
		{"foo.example", "/apiary", 200, "web"}, // Prefix is element-wise
		{"FOO.example:8080", "/", 200, "web"},  // case and port do not matter
		{"bar.example", "/", 404, ""},
	}
	for _, c := range cases {
		if code, by := hostGet(t, addr, c.host, c.path); code != c.code || by != c.by {
			t.Errorf("%s%s: %d from %q, want %d from %q", c.host, c.path, code, by, c.code, c.by)
		}
	}
	waitFor(t, 10*time.Second, "Ingress status", func() bool {
		ing, err := e.cs.NetworkingV1().Ingresses(e.ns).Get(e.ctx, "site", metav1.GetOptions{})
		return err == nil && len(ing.Status.LoadBalancer.Ingress) == 1 && ing.Status.LoadBalancer.Ingress[0].IP == "127.0.0.9"
	})
	// An EndpointSlice-only change: web's endpoints move to a new server,
	// and the sync that follows is the incremental one.
	web2 := startBackend(t, "web2", "127.0.0.4", nil)
	e.endpoints("web", "http", web2)
	waitFor(t, 10*time.Second, "traffic to follow the endpoints", func() bool {
		_, by := hostGet(t, addr, "foo.example", "/")
		return by == "web2"
	})
	if n := p.metric(`sluice_controller_sync_duration_seconds_count{kind="endpoints"}`); n == "" || n == "0" {
		t.Errorf("endpoint change did not take the incremental path (count %q)", n)
	}
	resp, err := http.Get("http://" + p.admin + "/debug/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, resp.Status)
	if resp.StatusCode != 200 {
		t.Fatalf("/debug/config: %s", b.String())
	}
}

package chart

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"sluice.dev/sluice/test/support"
)

// TestControllerClusterWide installs the chart with its default values and
// runs the controller with the Deployment's flags as the chart's
// ServiceAccount: it syncs, serves an Ingress over HTTP and one over HTTPS
// with its TLS Secret's certificate, writes status, takes the Lease, records and repeats Events, picks up TCP services added by an
// upgrade without a restart, and is refused what the chart does not grant.
// The audit log then shows that it used every permission granted, and was
// refused none.
func TestControllerClusterWide(t *testing.T) {
	k := cluster(t)
	s := scenarioNamed("default")
	r := install(t, k, s)
	ctx := context.Background()
	const app = "shop"
	k.namespace(t, app)
	k.service(t, app, "web", 80, "http", httpBackend(t, "web", "127.0.0.2"))
	k.ingress(t, app, "web", s.class, "shop.example", "web")
	// A missing backend Service: a warning Event about this Ingress.
	k.ingress(t, app, "broken", s.class, "broken.example", "ghost")
	// HTTPS with the certificate of a TLS Secret, which the Secrets
	// informer brings.
	ca := support.NewCA(t)
	k.tlsSecret(t, ca, app, "secure-tls", "secure.shop.example")
	k.tlsIngress(t, app, "secure", s.class, "secure.shop.example", "web", "secure-tls")

	p := startController(t, k, s, r)
	sa := get[*appsv1.Deployment](t, r, "Deployment", s.fullname).Spec.Template.Spec.ServiceAccountName

	p.waitServes(t, "shop.example", "web\n")
	p.waitServesTLS(t, ca, "secure.shop.example", "web\n")
	p.waitStatus(t, k, s, app, "web")
	p.waitLease(t, k, s)

	ingressEvent := k.waitEvent(t, app, "Ingress", "broken")
	k.toggleGhost(t, p, app)
	k.waitSeries(t, ingressEvent)

	// `helm upgrade --set tcp.PORT=shop/db:5432`: the TCP services
	// ConfigMap and the Service change, the pod template does not, and the
	// running controller starts serving the port.
	_, dbPort := splitHostPort(t, echoBackend(t, "127.0.0.3"))
	k.serviceAt(t, app, "db", 5432, "pg", "127.0.0.3", dbPort)
	_, listen := splitHostPort(t, support.FreeAddr(t))
	up := s
	up.values = fmt.Sprintf("tcp:\n  %q: %s/db:5432\n", strconv.Itoa(int(listen)), app)
	r2 := helms[len(helms)-1].render(t, up.renderOpts())
	before := get[*appsv1.Deployment](t, r, "Deployment", s.fullname).Spec.Template
	after := get[*appsv1.Deployment](t, r2, "Deployment", s.fullname).Spec.Template
	if !equality.Semantic.DeepEqual(before, after) {
		t.Error("adding a TCP service changes the pod template: the upgrade would restart every pod")
	}
	k.apply(t, r2)
	svc, err := k.cs.CoreV1().Services(s.namespace).Get(ctx, s.fullname, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := servicePorts(svc); !strings.Contains(strings.Join(got, " "), fmt.Sprintf("tcp-%d:%d->%d", listen, listen, listen)) {
		t.Errorf("Service ports after the upgrade: %v", got)
	}
	tcpAddr := fmt.Sprintf("127.0.0.1:%d", listen)
	waitFor(t, 20*time.Second, "the TCP service on "+tcpAddr, func() bool { return echoes(tcpAddr, "ping") })

	// What the chart does not grant is refused.
	probe := k.probeClient(t, s, sa)
	_, err = probe.CoreV1().Secrets(app).Get(ctx, "secure-tls", metav1.GetOptions{})
	forbidden(t, "get a Secret (only list and watch are granted)", err)
	_, err = probe.CoreV1().Secrets(app).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	forbidden(t, "create a Secret", err)
	_, err = probe.CoreV1().ConfigMaps(s.namespace).Get(ctx, s.fullname+"-tcp", metav1.GetOptions{})
	forbidden(t, "get the TCP ConfigMap (only list and watch are granted)", err)
	_, err = probe.CoreV1().ConfigMaps(app).List(ctx, metav1.ListOptions{})
	forbidden(t, "list other ConfigMaps", err)
	_, err = probe.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	forbidden(t, "get a Service other than the published one", err)
	ing, err := k.cs.NetworkingV1().Ingresses(app).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ing.Labels = map[string]string{"changed": "true"}
	_, err = probe.NetworkingV1().Ingresses(app).Update(ctx, ing, metav1.UpdateOptions{})
	forbidden(t, "update an Ingress", err)
	err = probe.CoordinationV1().Leases(s.namespace).Delete(ctx, "sluice-"+s.class+"-leader", metav1.DeleteOptions{})
	forbidden(t, "delete the Lease", err)
	_, err = probe.CoordinationV1().Leases(s.namespace).Get(ctx, "another-lease", metav1.GetOptions{})
	forbidden(t, "get another Lease", err)
	_, err = probe.CoreV1().Events(app).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "x"}, InvolvedObject: corev1.ObjectReference{Kind: "Ingress", Namespace: app, Name: "web"}}, metav1.CreateOptions{})
	forbidden(t, "create a core/v1 Event", err)
	_, err = probe.CoreV1().Pods(app).List(ctx, metav1.ListOptions{})
	forbidden(t, "list Pods", err)

	p.finish(t, s)
	// Against this API server the informers stream their initial lists
	// (watch with sendInitialEvents), so list goes unused here; the
	// watch-namespace test runs the fallback that needs it.
	checkLeastPrivilege(t, s, sa, auditOf(t, "system:serviceaccount:"+s.namespace+":"+sa, "sluice/"), "list")
}

// TestControllerWatchNamespace runs the controller of a release that
// watches one namespace and has its default certificate in another: it
// serves the watched namespace's Ingresses (over HTTPS too) and not
// another's, presents the default certificate to other hosts, records
// Events in the watched namespace and (for the TCP services ConfigMap) in
// the release namespace, and cannot read outside them.
//
// It runs the controller as against an API server that does not stream
// initial lists (WatchList is off by default in Kubernetes 1.30, 1.31 and
// 1.33): the informers then list before they watch, which is why the chart
// grants list.
func TestControllerWatchNamespace(t *testing.T) {
	k := cluster(t)
	s := scenarioNamed("watch-namespace")
	r := install(t, k, s)
	ctx := context.Background()
	apps, other := s.watch, "team-other"
	k.namespace(t, other)
	k.service(t, apps, "web", 80, "http", httpBackend(t, "team-web", "127.0.0.4"))
	k.ingress(t, apps, "web", s.class, "team.example", "web")
	k.ingress(t, apps, "broken", s.class, "broken.team.example", "ghost")
	k.service(t, other, "web", 80, "http", httpBackend(t, "stray", "127.0.0.5"))
	k.ingress(t, other, "stray", s.class, "stray.example", "web")
	// TLS Secrets: an Ingress's in the watched namespace, and the default
	// certificate in a namespace of its own.
	ca := support.NewCA(t)
	certs := s.certNamespace()
	k.tlsSecret(t, ca, certs, "wildcard", "*.team.example")
	k.tlsSecret(t, ca, apps, "secure-tls", "secure.team.example")
	k.tlsIngress(t, apps, "secure", s.class, "secure.team.example", "web", "secure-tls")
	// A TCP service whose Service is missing: a warning Event about the
	// ConfigMap, in the release namespace.
	_, listen := splitHostPort(t, support.FreeAddr(t))
	cm, err := k.cs.CoreV1().ConfigMaps(s.namespace).Get(ctx, s.fullname+"-tcp", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{strconv.Itoa(int(listen)): apps + "/ghost:80"}
	if _, err := k.cs.CoreV1().ConfigMaps(s.namespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	p := startController(t, k, s, r, "KUBE_FEATURE_WatchListClient=false")
	sa := get[*appsv1.Deployment](t, r, "Deployment", s.fullname).Spec.Template.Spec.ServiceAccountName

	p.waitServes(t, "team.example", "team-web\n")
	p.waitServesTLS(t, ca, "secure.team.example", "team-web\n")
	p.waitPresents(t, "other.team.example", "*.team.example")
	if code, body, err := p.get("stray.example", "/"); err != nil || code != 404 {
		t.Errorf("an Ingress outside the watched namespace: %d %q %v, want 404", code, body, err)
	}
	p.waitStatus(t, k, s, apps, "web")
	p.waitLease(t, k, s)

	ingressEvent := k.waitEvent(t, apps, "Ingress", "broken")
	configMapEvent := k.waitEvent(t, s.namespace, "ConfigMap", s.fullname+"-tcp")
	k.toggleGhost(t, p, apps)
	k.waitSeries(t, ingressEvent)
	k.waitSeries(t, configMapEvent)

	probe := k.probeClient(t, s, sa)
	for _, ns := range []string{other, s.namespace, ""} {
		_, err := probe.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		forbidden(t, fmt.Sprintf("list Secrets in %q", ns), err)
	}
	_, err = probe.CoreV1().Secrets(certs).Get(ctx, "wildcard", metav1.GetOptions{})
	forbidden(t, "get the default certificate's Secret (only list and watch are granted)", err)
	_, err = probe.CoreV1().ConfigMaps(certs).List(ctx, metav1.ListOptions{})
	forbidden(t, "list ConfigMaps in the default certificate's namespace", err)
	_, err = probe.NetworkingV1().Ingresses(other).List(ctx, metav1.ListOptions{})
	forbidden(t, "list Ingresses outside the watched namespace", err)
	_, err = probe.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{})
	forbidden(t, "list Ingresses of every namespace", err)
	_, err = probe.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	forbidden(t, "list Services of every namespace", err)
	_, err = probe.DiscoveryV1().EndpointSlices(other).List(ctx, metav1.ListOptions{})
	forbidden(t, "list EndpointSlices outside the watched namespace", err)
	_, err = probe.EventsV1().Events(other).Create(ctx, &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	forbidden(t, "create an Event outside the watched and release namespaces", err)

	p.finish(t, s)
	checkLeastPrivilege(t, s, sa, auditOf(t, "system:serviceaccount:"+s.namespace+":"+sa, "sluice/"))
}

// TestControllerFixedStatus runs a release without leader election and
// with a fixed status address: the chart leaves out the Lease and published
// Service permissions, and the controller does without them. Its
// controller.defaultSSLCertificate is presented to hosts without one.
func TestControllerFixedStatus(t *testing.T) {
	k := cluster(t)
	s := scenarioNamed("fixed-status")
	r := install(t, k, s)
	ctx := context.Background()
	const app = "fixed-apps"
	k.namespace(t, app)
	// ingressClass.create is false: the class is someone else's object.
	ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: s.class}, Spec: networkingv1.IngressClassSpec{Controller: "sluice.dev/ingress-controller"}}
	if _, err := k.cs.NetworkingV1().IngressClasses().Create(ctx, ic, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.service(t, app, "web", 80, "http", httpBackend(t, "fixed-web", "127.0.0.6"))
	k.ingress(t, app, "web", s.class, "fixed.example", "web")
	k.ingress(t, app, "broken", s.class, "broken.fixed.example", "ghost")
	ca := support.NewCA(t)
	certNS, certName, _ := strings.Cut(s.defaultCert, "/")
	k.tlsSecret(t, ca, certNS, certName, "*.fixed.example")

	p := startController(t, k, s, r)
	sa := get[*appsv1.Deployment](t, r, "Deployment", s.fullname).Spec.Template.Spec.ServiceAccountName
	p.waitServes(t, "fixed.example", "fixed-web\n")
	p.waitPresents(t, "fixed.example", "*.fixed.example")
	waitFor(t, 20*time.Second, "the fixed status address", func() bool {
		ing, err := k.cs.NetworkingV1().Ingresses(app).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && len(ing.Status.LoadBalancer.Ingress) == 1 && ing.Status.LoadBalancer.Ingress[0].IP == "203.0.113.10"
	})
	k.toggleGhost(t, p, app)
	k.waitSeries(t, k.waitEvent(t, app, "Ingress", "broken"))
	if _, err := k.cs.CoordinationV1().Leases(s.namespace).Get(ctx, "sluice-"+s.class+"-leader", metav1.GetOptions{}); err == nil {
		t.Error("a Lease exists with leader election off")
	}
	probe := k.probeClient(t, s, sa)
	_, err := probe.CoordinationV1().Leases(s.namespace).Get(ctx, "sluice-"+s.class+"-leader", metav1.GetOptions{})
	forbidden(t, "get the Lease with leader election off", err)
	_, err = probe.CoreV1().Services(s.namespace).Get(ctx, s.fullname, metav1.GetOptions{})
	forbidden(t, "get the Service when it is not published", err)

	p.finish(t, s)
	checkLeastPrivilege(t, s, sa, auditOf(t, "system:serviceaccount:"+s.namespace+":"+sa, "sluice/"), "list")
}

// finish stops the controller as the kubelet would and checks that it
// drained and exited cleanly, without a permission error in its log.
func (p *controllerProc) finish(t *testing.T, s scenario) {
	t.Helper()
	if !p.stop(30 * time.Second) {
		t.Errorf("sluice controller did not exit cleanly on SIGTERM (%v):\n%s", p.exitErr, p.out)
	}
	if out := p.out.String(); strings.Contains(strings.ToLower(out), "forbidden") || strings.Contains(out, "panic:") {
		t.Errorf("sluice controller logged a refusal or a panic:\n%s", out)
	}
}

func (p *controllerProc) waitServes(t *testing.T, host, body string) {
	t.Helper()
	waitFor(t, 20*time.Second, host+" to be served", func() bool {
		code, got, err := p.get(host, "/")
		return err == nil && code == 200 && got == body
	})
}

// waitStatus waits for the Ingress's status to carry the published
// Service's address (its cluster IP: nothing provisions a load balancer).
func (p *controllerProc) waitStatus(t *testing.T, k *kube, s scenario, ns, name string) {
	t.Helper()
	ctx := context.Background()
	svc, err := k.cs.CoreV1().Services(s.namespace).Get(ctx, s.fullname, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP == "" {
		t.Fatalf("Service %s has no cluster IP", svc.Name)
	}
	var last []networkingv1.IngressLoadBalancerIngress
	waitFor(t, 20*time.Second, "Ingress status", func() bool {
		ing, err := k.cs.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		last = ing.Status.LoadBalancer.Ingress
		return len(last) == 1 && last[0].IP == svc.Spec.ClusterIP
	})
}

// waitLease waits for this replica to hold the release's Lease.
func (p *controllerProc) waitLease(t *testing.T, k *kube, s scenario) {
	t.Helper()
	waitFor(t, 20*time.Second, "the Lease", func() bool {
		l, err := k.cs.CoordinationV1().Leases(s.namespace).Get(context.Background(), "sluice-"+s.class+"-leader", metav1.GetOptions{})
		return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == p.podName
	})
}

// waitEvent waits for the controller's ServiceNotFound warning about an
// object, recorded through events.k8s.io/v1, and returns it.
func (k *kube) waitEvent(t *testing.T, ns, kind, name string) *eventsv1.Event {
	t.Helper()
	var found *eventsv1.Event
	waitFor(t, 20*time.Second, fmt.Sprintf("a warning Event about %s %s/%s", kind, ns, name), func() bool {
		list, err := k.cs.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		for i, e := range list.Items {
			if e.Regarding.Kind == kind && e.Regarding.Name == name && e.Reason == "ServiceNotFound" && e.ReportingController == "sluice" && e.Type == corev1.EventTypeWarning {
				found = &list.Items[i]
				return true
			}
		}
		return false
	})
	return found
}

// toggleGhost creates the missing Service "ghost", waits until the
// controller's warnings drop, and deletes it again: the warnings come back
// and the Events repeat.
func (k *kube) toggleGhost(t *testing.T, p *controllerProc, ns string) {
	t.Helper()
	ctx := context.Background()
	before := p.warnings(t)
	ghost := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost", Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	if _, err := k.cs.CoreV1().Services(ns).Create(ctx, ghost, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the warnings to clear", func() bool { return p.warnings(t) < before })
	if err := k.cs.CoreV1().Services(ns).Delete(ctx, "ghost", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the warnings to return", func() bool { return p.warnings(t) == before })
}

// waitSeries waits for an Event to have been seen twice: the controller
// patched it (events.k8s.io series) rather than creating another.
func (k *kube) waitSeries(t *testing.T, ev *eventsv1.Event) {
	t.Helper()
	waitFor(t, 20*time.Second, "Event "+ev.Name+" to repeat", func() bool {
		e, err := k.cs.EventsV1().Events(ev.Namespace).Get(context.Background(), ev.Name, metav1.GetOptions{})
		return err == nil && e.Series != nil && e.Series.Count >= 2
	})
}

func (p *controllerProc) warnings(t *testing.T) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(p.metric("sluice_controller_translation_errors"), 64)
	if err != nil {
		t.Fatalf("sluice_controller_translation_errors: %v", err)
	}
	return v
}

// probeClient authenticates as the release's ServiceAccount, with a user
// agent of its own so that the audit check can tell its requests from the
// controller's.
func (k *kube) probeClient(t *testing.T, s scenario, sa string) *kubernetes.Clientset {
	t.Helper()
	_, rc := k.serviceAccountConfig(t, s.namespace, sa)
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "chart-test-probe"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// service creates a Service with one named port whose endpoint is backend,
// the EndpointSlice written through etcd (the API refuses loopback
// endpoints).
func (k *kube) service(t *testing.T, ns, name string, port int32, portName, backend string) {
	t.Helper()
	ip, bport := splitHostPort(t, backend)
	k.serviceAt(t, ns, name, port, portName, ip, bport)
}

func (k *kube) serviceAt(t *testing.T, ns, name string, port int32, portName, ip string, backendPort int32) {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: portName, Port: port, TargetPort: intstr.FromString(portName)}}},
	}
	if _, err := k.cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := true
	proto := corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &backendPort, Protocol: &proto}},
	}
	if err := k.cp.PutEndpointSlice(ctx, slice); err != nil {
		t.Fatal(err)
	}
}

// ingress creates an Ingress of class routing host to service port 80.
func (k *kube) ingress(t *testing.T, ns, name, class, host, service string) {
	t.Helper()
	if _, err := k.cs.NetworkingV1().Ingresses(ns).Create(context.Background(), ingressObject(ns, name, class, host, service), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func ingressObject(ns, name, class, host, service string) *networkingv1.Ingress {
	pt := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pt, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
}

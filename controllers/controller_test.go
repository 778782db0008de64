package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/controllers/translate"
	"sluice.dev/sluice/test/controlplane"
)

// configLog is an Applier that keeps every configuration it is handed.
type configLog struct {
	mu      sync.Mutex
	configs []*config.Config
	fail    bool
}

func (r *configLog) Apply(c *config.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return fmt.Errorf("refused")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	r.configs = append(r.configs, c)
	return nil
}

func (r *configLog) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.configs) == 0 {
		return ""
	}
	return r.configs[len(r.configs)-1].String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReconcilerAgainstAPIServer drives the reconciler in-process against a
// real kube-apiserver: the cluster's objects reach the Applier as a
// configuration, changes follow, Events and status are written, and an
// Applier that refuses a configuration is retried.
func TestReconcilerAgainstAPIServer(t *testing.T) {
	cp := controlplane.Start(t, controlplane.Options{})
	cs, err := kubernetes.NewForConfig(cp.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const ns = "rec"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	must(err)
	_, err = cs.NetworkingV1().IngressClasses().Create(ctx, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "sluice"},
		Spec: networkingv1.IngressClassSpec{Controller: translate.DefaultControllerName}}, metav1.CreateOptions{})
	must(err)
	_, err = cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, metav1.CreateOptions{})
	must(err)
	putSlice := func(addrs ...string) {
		ready := true
		name, port, proto := "http", int32(8080), corev1.ProtocolTCP
		es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}}}
		for _, a := range addrs {
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
		}
		must(cp.PutEndpointSlice(ctx, es))
	}
	putSlice("127.0.0.2")
	class := "sluice"
	pt := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "site", Namespace: ns, Annotations: map[string]string{"sluice.dev/load-balance": "bogus"}},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{Host: "a.example",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pt, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}
	_, err = cs.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{})
	must(err)

	rec := &configLog{}
	ctl, err := New(cp.RESTConfig, Options{
		Translate:            translate.Options{HTTPAddr: "127.0.0.1:18080"},
		WatchNamespace:       ns,
		PublishStatusAddress: "127.0.0.7",
		LeaderElect:          true,
		LeaseNamespace:       ns,
		Identity:             "test-replica",
		Applier:              rec,
		Logger:               logr.Discard(),
	})
	must(err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ctl.Start(runCtx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the first configuration", func() bool { return strings.Contains(rec.last(), "server 127.0.0.2:8080 127.0.0.2:8080") })
	if !ctl.Ready() {
		t.Fatal("not ready after a configuration was applied")
	}
	if got := rec.last(); !strings.Contains(got, "{ host a.example }") {
		t.Fatalf("route missing from:\n%s", got)
	}

	// An endpoint change follows.
	putSlice("127.0.0.2", "127.0.0.3")
	waitFor(t, "the new endpoint", func() bool { return strings.Contains(rec.last(), "server 127.0.0.3:8080") })

	// The bad annotation became a Warning Event on the Ingress.
	waitFor(t, "the Warning Event", func() bool {
		evs, err := cs.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Regarding.Name == "site" && e.Type == corev1.EventTypeWarning && strings.Contains(e.Note, "sluice.dev/load-balance") {
				return true
			}
		}
		return false
	})

	// Status, written by the leader, and the Lease it holds.
	waitFor(t, "Ingress status", func() bool {
		got, err := cs.NetworkingV1().Ingresses(ns).Get(ctx, "site", metav1.GetOptions{})
		return err == nil && len(got.Status.LoadBalancer.Ingress) == 1 && got.Status.LoadBalancer.Ingress[0].IP == "127.0.0.7"
	})
	lease, err := cs.CoordinationV1().Leases(ns).Get(ctx, LeaseName("sluice"), metav1.GetOptions{})
	must(err)
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "test-replica" {
		t.Fatalf("Lease holder %v, want test-replica", lease.Spec.HolderIdentity)
	}

	// A refused configuration is retried until it is taken.
	rec.mu.Lock()
	rec.fail = true
	rec.mu.Unlock()
	putSlice("127.0.0.4")
	time.Sleep(200 * time.Millisecond)
	if strings.Contains(rec.last(), "127.0.0.4") {
		t.Fatal("a refused configuration was recorded")
	}
	rec.mu.Lock()
	rec.fail = false
	rec.mu.Unlock()
	waitFor(t, "the retried configuration", func() bool { return strings.Contains(rec.last(), "server 127.0.0.4:8080") })

	// Deleting the Ingress removes its route.
	must(cs.NetworkingV1().Ingresses(ns).Delete(ctx, "site", metav1.DeleteOptions{}))
	waitFor(t, "the route to go", func() bool { return !strings.Contains(rec.last(), "a.example") })
}

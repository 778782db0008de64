package e2e

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClusterIngressClassSelection checks which Ingresses the controller
// takes: spec.ingressClassName, the legacy kubernetes.io/ingress.class
// annotation, Ingresses without class only while our IngressClass is the
// default, and never those of another class, which get neither traffic nor
// status, nor those of a namespace outside --watch-namespace.
func TestClusterIngressClassSelection(t *testing.T) {
	e := newEnv(t, "classes")
	other := "other-classes"
	e.ingressClass(other, "example.com/other-controller", false)
	e.service("web", 80, "http", startBackend(t, "web", "127.0.0.2", nil))

	const prefix = networkingv1.PathTypePrefix
	legacy := func(class string) map[string]string {
		return map[string]string{"kubernetes.io/ingress.class": class}
	}
	e.createIngress(ingressObj("by-field", &e.class, nil, rule{"field.example", "/", prefix, "web", 80}))
	e.createIngress(ingressObj("by-annotation", nil, legacy(e.class), rule{"annotation.example", "/", prefix, "web", 80}))
	e.createIngress(ingressObj("other-field", &other, nil, rule{"other-field.example", "/", prefix, "web", 80}))
	e.createIngress(ingressObj("other-annotation", nil, legacy(other), rule{"other-annotation.example", "/", prefix, "web", 80}))
	noClass := e.createIngress(ingressObj("no-class", nil, nil, rule{"no-class.example", "/", prefix, "web", 80}))
	if noClass.Spec.IngressClassName != nil {
		// The API server's DefaultIngressClass admission fills the field
		// when some IngressClass is the default at creation time.
		t.Fatalf("no-class got spec.ingressClassName %q at creation: another IngressClass is the default", *noClass.Spec.IngressClassName)
	}

	// Our class in a namespace the controller does not watch.
	elsewhere := e.ns + "-elsewhere"
	if _, err := e.cs.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: elsewhere}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	outside := ingressObj("outside", &e.class, nil, rule{"outside.example", "/", prefix, "web", 80})
	outside.Namespace = elsewhere
	if _, err := e.cs.NetworkingV1().Ingresses(elsewhere).Create(e.ctx, outside, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	p, addr := e.controller("--leader-elect=false", "--publish-status-address", "127.0.0.9,lb.classes.example")
	const published = "127.0.0.9|,|lb.classes.example"
	notOurs := []want{
		{"other-field.example", "/", 404, ""},
		{"other-annotation.example", "/", 404, ""},
		{"outside.example", "/", 404, ""},
	}
	expectRoutes(t, addr, 10*time.Second, append(notOurs,
		want{"field.example", "/", 200, "web"},
		want{"annotation.example", "/", 200, "web"},
		want{"no-class.example", "/", 404, ""},
	)...)
	waitStatus := func(name, addrs string) {
		t.Helper()
		var got string
		waitFor(t, 10*time.Second, "status of "+name+" = "+addrs, func() bool {
			got = statusAddrs(e.getIngress(name))
			return got == addrs
		})
	}
	waitStatus("by-field", published)
	waitStatus("by-annotation", published)

	// Our class becomes the default: Ingresses without class are ours.
	setDefault := func(on bool) {
		t.Helper()
		ic, err := e.cs.NetworkingV1().IngressClasses().Get(e.ctx, e.class, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if on {
			ic.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
		} else {
			delete(ic.Annotations, networkingv1.AnnotationIsDefaultIngressClass)
		}
		if _, err := e.cs.NetworkingV1().IngressClasses().Update(e.ctx, ic, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setDefault(true)
	t.Cleanup(func() { setDefault(false) })
	expectRoutes(t, addr, 10*time.Second, append(notOurs,
		want{"field.example", "/", 200, "web"},
		want{"no-class.example", "/", 200, "web"},
	)...)
	waitStatus("no-class", published)

	// And no longer once the annotation goes: the Ingress loses the address
	// it was given, too.
	setDefault(false)
	expectRoutes(t, addr, 10*time.Second, append(notOurs,
		want{"field.example", "/", 200, "web"},
		want{"no-class.example", "/", 404, ""},
	)...)
	waitStatus("no-class", "")

	// By now the status writer has run after several translations: the
	// Ingresses of another class must still have no status from us.
	for _, name := range []string{"other-field", "other-annotation"} {
		if got := statusAddrs(e.getIngress(name)); got != "" {
			t.Errorf("Ingress %s of class %s got status %q", name, other, got)
		}
	}
	if ing, err := e.cs.NetworkingV1().Ingresses(elsewhere).Get(e.ctx, "outside", metav1.GetOptions{}); err != nil {
		t.Error(err)
	} else if got := statusAddrs(ing); got != "" {
		t.Errorf("Ingress %s/outside, in a namespace not watched, got status %q", elsewhere, got)
	}
	if got := p.metric(`sluice_controller_objects{kind="Ingress"}`); got != "5" {
		t.Errorf("controller sees %q Ingresses, want 5 (all of the namespace, whatever their class)", got)
	}
}

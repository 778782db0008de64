package controlplane

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// One control plane serves the whole package: starting one takes seconds,
// and each test works in its own namespace.
var shared *ControlPlane

func TestMain(m *testing.M) {
	started := time.Now()
	cp, err := New(Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("controlplane: etcd and kube-apiserver ready in %s at %s\n", time.Since(started).Round(time.Millisecond), cp.URL)
	shared = cp
	code := m.Run()
	cp.Stop()
	os.Exit(code)
}

func clientset(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func createNamespace(t *testing.T, ctx context.Context, cs kubernetes.Interface) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "sluice-test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

func TestVersionMatchesBuildScript(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "hack", "controlplane", "versions.sh"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "KUBERNETES_VERSION="); ok {
			got = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if got != KubernetesVersion {
		t.Fatalf("versions.sh builds kube-apiserver %q, the harness expects %q", got, KubernetesVersion)
	}
}

func TestMissingBinariesNameBuildScript(t *testing.T) {
	_, err := New(Options{BinDir: t.TempDir(), Dir: t.TempDir()})
	if err == nil {
		t.Fatal("New with an empty binary directory succeeded")
	}
	if !strings.Contains(err.Error(), BuildScript) {
		t.Fatalf("error does not name %s: %v", BuildScript, err)
	}
}

func TestStartFailureCarriesBothLogs(t *testing.T) {
	_, err := New(Options{Dir: t.TempDir(), APIServerFlags: []string{"--no-such-flag"}})
	if err == nil {
		t.Fatal("kube-apiserver started with an unknown flag")
	}
	for _, want := range []string{"kube-apiserver.log", "etcd.log", "unknown flag: --no-such-flag"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error lacks %q:\n%v", want, err)
		}
	}
}

func TestKubeconfigReachesServerOfPinnedVersion(t *testing.T) {
	cfg, err := clientcmd.BuildConfigFromFlags("", shared.Kubeconfig)
	if err != nil {
		t.Fatalf("load %s: %v", shared.Kubeconfig, err)
	}
	info, err := clientset(t, cfg).Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if info.GitVersion != KubernetesVersion {
		t.Fatalf("server reports %q, want %q", info.GitVersion, KubernetesVersion)
	}
}

func TestServesServiceAndIngress(t *testing.T) {
	ctx := testContext(t)
	cs := clientset(t, shared.RESTConfig)
	ns := createNamespace(t, ctx, cs)

	svc, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil || !netip.MustParsePrefix(ServiceClusterIPRange).Contains(ip) {
		t.Fatalf("service ClusterIP %q not allocated from %s", svc.Spec.ClusterIP, ServiceClusterIPRange)
	}

	pathType := networkingv1.PathTypePrefix
	_, err = cs.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{
				Host: "web.example",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: &pathType,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"},
						}},
					}},
				}},
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ingress: %v", err)
	}
	got, err := cs.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get ingress: %v", err)
	}
	if h := got.Spec.Rules[0].Host; h != "web.example" {
		t.Fatalf("ingress host read back as %q", h)
	}
}

// The Helm chart runs the controller as a ServiceAccount with a bound token,
// so the control plane must authenticate such tokens and enforce RBAC.
func TestServiceAccountTokenIsSubjectToRBAC(t *testing.T) {
	ctx := testContext(t)
	cs := clientset(t, shared.RESTConfig)
	ns := createNamespace(t, ctx, cs)

	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "controller"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service account: %v", err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "controller", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	saCfg := rest.AnonymousClientConfig(shared.RESTConfig)
	saCfg.BearerToken = tr.Status.Token
	sa := clientset(t, saCfg)

	_, err = sa.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("listing ingresses without a role: got %v, want Forbidden", err)
	}

	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read-ingresses"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"list"},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role: %v", err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "read-ingresses"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "read-ingresses"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "controller", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role binding: %v", err)
	}
	// The authorizer reads roles from an informer, so the grant lands a
	// moment after the write.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = sa.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			t.Fatalf("listing ingresses with a role: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err = sa.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("listing secrets outside the role: got %v, want Forbidden", err)
	}
}

func loopbackSlice(ns, name, addr string) *discoveryv1.EndpointSlice {
	port := int32(8080)
	portName := "http"
	ready := true
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns,
			Name:      name,
			Labels:    map[string]string{discoveryv1.LabelServiceName: "web"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{addr},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: &portName, Port: &port}},
	}
}

// nextEvent returns the next watch event, failing t if none comes in time.
func nextEvent(t *testing.T, w watch.Interface) (watch.EventType, *discoveryv1.EndpointSlice) {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		slice, ok := ev.Object.(*discoveryv1.EndpointSlice)
		if !ok {
			t.Fatalf("watch event %s carries %T: %v", ev.Type, ev.Object, ev.Object)
		}
		return ev.Type, slice
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event within 30s")
	}
	return "", nil
}

func sliceAddress(s *discoveryv1.EndpointSlice) string {
	if len(s.Endpoints) != 1 || len(s.Endpoints[0].Addresses) != 1 {
		return fmt.Sprintf("(endpoints %v)", s.Endpoints)
	}
	return s.Endpoints[0].Addresses[0]
}

func TestLoopbackEndpointSliceThroughEtcd(t *testing.T) {
	ctx := testContext(t)
	cs := clientset(t, shared.RESTConfig)
	ns := createNamespace(t, ctx, cs)
	slices := cs.DiscoveryV1().EndpointSlices(ns)

	// The premise of writing through etcd: the API refuses loopback.
	_, err := slices.Create(ctx, loopbackSlice(ns, "refused", "127.0.0.2"), metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("creating a loopback slice through the API: got %v, want Invalid", err)
	}

	list, err := slices.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	w, err := slices.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()

	if err := shared.PutEndpointSlice(ctx, loopbackSlice(ns, "web-1", "127.0.0.2")); err != nil {
		t.Fatalf("put: %v", err)
	}
	typ, added := nextEvent(t, w)
	if typ != watch.Added || added.Name != "web-1" || sliceAddress(added) != "127.0.0.2" {
		t.Fatalf("first event %s %s %s, want ADDED web-1 127.0.0.2", typ, added.Name, sliceAddress(added))
	}
	if added.UID == "" || added.CreationTimestamp.IsZero() || added.ResourceVersion == "" || added.Generation != 1 {
		t.Fatalf("added slice lacks server metadata: uid=%q created=%v rv=%q generation=%d",
			added.UID, added.CreationTimestamp, added.ResourceVersion, added.Generation)
	}

	list, err = slices.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || sliceAddress(&list.Items[0]) != "127.0.0.2" || list.Items[0].ResourceVersion != added.ResourceVersion {
		t.Fatalf("list after put: %+v, want web-1 at 127.0.0.2 rv %s", list.Items, added.ResourceVersion)
	}
	// Stored the way the API server stores its own objects, so nothing
	// downstream of storage can tell the two apart.
	ours, err := shared.etcdClient.Get(ctx, endpointSliceKey(ns, "web-1"))
	if err != nil || len(ours.Kvs) != 1 {
		t.Fatalf("read slice from etcd: %v (%d keys)", err, len(ours.Kvs))
	}
	theirs, err := shared.etcdClient.Get(ctx, path.Join(etcdPrefix, "namespaces", ns))
	if err != nil || len(theirs.Kvs) != 1 {
		t.Fatalf("read namespace from etcd: %v (%d keys)", err, len(theirs.Kvs))
	}
	const envelope = "k8s\x00"
	if !bytes.HasPrefix(theirs.Kvs[0].Value, []byte(envelope)) || !bytes.HasPrefix(ours.Kvs[0].Value, []byte(envelope)) {
		t.Fatalf("storage encodings differ: API server wrote %q..., harness wrote %q...",
			theirs.Kvs[0].Value[:min(8, len(theirs.Kvs[0].Value))], ours.Kvs[0].Value[:min(8, len(ours.Kvs[0].Value))])
	}

	got, err := slices.Get(ctx, "web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.UID != added.UID {
		t.Fatalf("get returns uid %s, watch said %s", got.UID, added.UID)
	}

	if err := shared.PutEndpointSlice(ctx, loopbackSlice(ns, "web-1", "127.0.0.3")); err != nil {
		t.Fatalf("put update: %v", err)
	}
	typ, modified := nextEvent(t, w)
	if typ != watch.Modified || sliceAddress(modified) != "127.0.0.3" {
		t.Fatalf("second event %s %s, want MODIFIED 127.0.0.3", typ, sliceAddress(modified))
	}
	if modified.UID != added.UID || !modified.CreationTimestamp.Equal(&added.CreationTimestamp) || modified.Generation != 2 {
		t.Fatalf("update changed identity: uid %s -> %s, created %v -> %v, generation %d",
			added.UID, modified.UID, added.CreationTimestamp, modified.CreationTimestamp, modified.Generation)
	}
	if modified.ResourceVersion == added.ResourceVersion {
		t.Fatalf("update kept resourceVersion %s", added.ResourceVersion)
	}

	if err := shared.DeleteEndpointSlice(ctx, ns, "web-1"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	typ, deleted := nextEvent(t, w)
	if typ != watch.Deleted || deleted.Name != "web-1" {
		t.Fatalf("third event %s %s, want DELETED web-1", typ, deleted.Name)
	}
	list, err = slices.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 0 {
		t.Fatalf("list after delete: %d slices", len(list.Items))
	}
	if err := shared.DeleteEndpointSlice(ctx, ns, "web-1"); !apierrors.IsNotFound(err) {
		t.Fatalf("second delete: got %v, want NotFound", err)
	}
}

func TestAPIServerRestart(t *testing.T) {
	ctx := testContext(t)
	cs := clientset(t, shared.RESTConfig)
	ns := createNamespace(t, ctx, cs)
	if err := shared.PutEndpointSlice(ctx, loopbackSlice(ns, "survivor", "127.0.0.2")); err != nil {
		t.Fatalf("put: %v", err)
	}

	url := shared.URL
	if err := shared.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
		t.Fatal("API server still answers after StopAPIServer")
	}

	restarted := time.Now()
	if err := shared.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver ready again in %s", time.Since(restarted).Round(time.Millisecond))
	if shared.URL != url {
		t.Fatalf("URL changed across restart: %s -> %s", url, shared.URL)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("get namespace after restart: %v", err)
	}
	list, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list after restart: %v", err)
	}
	if len(list.Items) != 1 || sliceAddress(&list.Items[0]) != "127.0.0.2" {
		t.Fatalf("endpoint slices after restart: %+v", list.Items)
	}
}

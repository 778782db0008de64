package chart

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"sluice.dev/sluice/test/controlplane"
)

// One control plane for the package, started on first use, with an audit
// log of every request made by a ServiceAccount: the record of what the
// controller did with the permissions the chart gave it.
var (
	cpOnce    sync.Once
	cpShared  *controlplane.ControlPlane
	cpErr     error
	auditPath string
)

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
`

// kube is an admin's view of the shared cluster.
type kube struct {
	cp     *controlplane.ControlPlane
	cs     *kubernetes.Clientset
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func cluster(t testing.TB) *kube {
	t.Helper()
	cpOnce.Do(func() {
		dir := filepath.Join(workDir, "audit")
		if cpErr = os.MkdirAll(dir, 0o755); cpErr != nil {
			return
		}
		policy := filepath.Join(dir, "policy.yaml")
		if cpErr = os.WriteFile(policy, []byte(auditPolicy), 0o644); cpErr != nil {
			return
		}
		auditPath = filepath.Join(dir, "audit.log")
		cpShared, cpErr = controlplane.New(controlplane.Options{APIServerFlags: []string{
			"--audit-policy-file=" + policy,
			"--audit-log-path=" + auditPath,
			"--audit-log-format=json",
			// Each event is on disk before its response is sent.
			"--audit-log-mode=blocking",
		}})
	})
	if cpErr != nil {
		t.Fatalf("control plane: %v", cpErr)
	}
	cs, err := kubernetes.NewForConfig(cpShared.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cpShared.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cpShared.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	return &kube{cp: cpShared, cs: cs, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
}

func stopCluster() {
	if cpShared != nil {
		cpShared.Stop()
	}
}

// namespace creates a namespace unless it exists.
func (k *kube) namespace(t testing.TB, name string) {
	t.Helper()
	_, err := k.cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// apply server-side applies every object of a release, as Helm 4 does, with
// strict field validation: the API server must accept each one as written.
func (k *kube) apply(t testing.TB, r *release) {
	t.Helper()
	ctx := context.Background()
	force := true
	for _, obj := range r.docs {
		gvk := obj.GroupVersionKind()
		m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			// A CRD created since discovery was cached.
			k.mapper.Reset()
			m, err = k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", gvk, obj.GetName(), err)
		}
		var ri dynamic.ResourceInterface = k.dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = k.dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
		}
		data, err := obj.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
			FieldManager: "sluice-chart-test", Force: &force, FieldValidation: "Strict",
		})
		if err != nil {
			t.Fatalf("the API server refused %s %s/%s: %v", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
}

// get reads an object back as the API server stores it.
func (k *kube) get(t testing.TB, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	t.Helper()
	gvk := obj.GroupVersionKind()
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatal(err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return k.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()).Get(context.Background(), obj.GetName(), metav1.GetOptions{})
	}
	return k.dyn.Resource(m.Resource).Get(context.Background(), obj.GetName(), metav1.GetOptions{})
}

var (
	installMu sync.Mutex
	installed = map[string]*release{}
)

// install renders a scenario with the newest Helm and applies it, once per
// test binary: tests share the installed releases.
func install(t testing.TB, k *kube, s scenario) *release {
	t.Helper()
	installMu.Lock()
	defer installMu.Unlock()
	if r, ok := installed[s.name]; ok {
		return r
	}
	r := helms[len(helms)-1].render(t, s.renderOpts())
	k.namespace(t, s.namespace)
	if s.watch != "" {
		k.namespace(t, s.watch)
	}
	if ns := s.certNamespace(); ns != "" {
		k.namespace(t, ns)
	}
	if len(s.apiVersions) > 0 {
		k.serviceMonitorCRD(t)
	}
	k.apply(t, r)
	installed[s.name] = r
	return r
}

// serviceMonitorCRD installs a minimal stand-in for the Prometheus
// Operator's CRD, so that a rendered ServiceMonitor has a kind to be.
func (k *kube) serviceMonitorCRD(t testing.TB) {
	t.Helper()
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "servicemonitors.monitoring.coreos.com"},
		"spec": map[string]any{
			"group": "monitoring.coreos.com",
			"scope": "Namespaced",
			"names": map[string]any{"kind": "ServiceMonitor", "listKind": "ServiceMonitorList", "plural": "servicemonitors", "singular": "servicemonitor"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}}
	k.apply(t, &release{docs: []*unstructured.Unstructured{crd}})
	gvr := schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"}
	waitFor(t, 30*time.Second, "the ServiceMonitor CRD to be served", func() bool {
		_, err := k.dyn.Resource(gvr).Namespace("default").List(context.Background(), metav1.ListOptions{})
		return err == nil
	})
	k.mapper.Reset()
}

// TestApply: the API server accepts every object of every scenario, and
// stores them as rendered.
func TestApply(t *testing.T) {
	k := cluster(t)
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			r := install(t, k, s)
			for _, obj := range r.docs {
				got, err := k.get(t, obj)
				if err != nil {
					t.Errorf("%s %s/%s: %v", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
					continue
				}
				if got.GetLabels()["app.kubernetes.io/instance"] != s.release {
					t.Errorf("%s %s stored with labels %v", obj.GetKind(), obj.GetName(), got.GetLabels())
				}
			}
		})
	}
}

// serviceAccountConfig returns a kubeconfig file and a REST config that
// authenticate as a ServiceAccount with a token from the TokenRequest API,
// as the kubelet would mount into the pod.
func (k *kube) serviceAccountConfig(t testing.TB, namespace, name string) (string, *rest.Config) {
	t.Helper()
	expiry := int64(3600)
	tr, err := k.cs.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", namespace, name, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: k.cp.URL, CertificateAuthority: k.cp.CAFile}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: name, Namespace: namespace}
	cfg.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return path, rc
}

// waitFor polls cond every 50ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// forbidden asserts that a request was refused by authorization.
func forbidden(t testing.TB, what string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: allowed, want forbidden", what)
	case !apierrors.IsForbidden(err):
		t.Errorf("%s: %v, want forbidden", what, err)
	}
}

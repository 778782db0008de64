package chart

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestHelmInstallUpgradeUninstall follows the README with each Helm
// against the real API server: install prints NOTES that name the release's
// objects, an upgrade adds a TCP service and (the CRD being served) a
// ServiceMonitor, and uninstall removes everything, cluster-scoped objects
// included.
func TestHelmInstallUpgradeUninstall(t *testing.T) {
	k := cluster(t)
	k.serviceMonitorCRD(t)
	ctx := context.Background()
	serviceMonitors := schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"}
	for _, h := range helms {
		t.Run(h.major(), func(t *testing.T) {
			rel, ns := "rel-"+h.major(), "helm-"+h.major()
			full := rel + "-sluice"
			kc := []string{"--namespace", ns, "--kubeconfig", k.cp.Kubeconfig}

			out, err := h.run(append([]string{"install", rel, chartDir, "--create-namespace", "--set", "ingressClass.name=" + rel}, kc...)...)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"kubectl -n " + ns + " rollout status deployment/" + full,
				"kubectl -n " + ns + " get service " + full + " -w",
				"ingressClassName: " + rel,
				"curl http://127.0.0.1:10254/debug/config",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("install output does not say %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "ServiceMonitor") {
				t.Errorf("NOTES mention a ServiceMonitor that was not asked for:\n%s", out)
			}
			if _, err := k.cs.AppsV1().Deployments(ns).Get(ctx, full, metav1.GetOptions{}); err != nil {
				t.Errorf("Deployment after install: %v", err)
			}
			if _, err := k.cs.NetworkingV1().IngressClasses().Get(ctx, rel, metav1.GetOptions{}); err != nil {
				t.Errorf("IngressClass after install: %v", err)
			}

			_, err = h.run(append([]string{"upgrade", rel, chartDir, "--reuse-values",
				"--set", "tcp.9000=shop/db:5432", "--set", "controller.metrics.serviceMonitor.enabled=true"}, kc...)...)
			if err != nil {
				t.Fatal(err)
			}
			cm, err := k.cs.CoreV1().ConfigMaps(ns).Get(ctx, full+"-tcp", metav1.GetOptions{})
			if err != nil || cm.Data["9000"] != "shop/db:5432" {
				t.Errorf("TCP ConfigMap after upgrade: %v %v", cm.Data, err)
			}
			svc, err := k.cs.CoreV1().Services(ns).Get(ctx, full, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(servicePorts(svc), " "); !strings.Contains(got, "tcp-9000:9000->9000") {
				t.Errorf("Service ports after upgrade: %s", got)
			}
			if _, err := k.dyn.Resource(serviceMonitors).Namespace(ns).Get(ctx, full, metav1.GetOptions{}); err != nil {
				t.Errorf("ServiceMonitor after upgrade on a cluster that serves its CRD: %v", err)
			}

			if _, err := h.run(append([]string{"uninstall", rel}, kc...)...); err != nil {
				t.Fatal(err)
			}
			gone := map[string]func() error{
				"Deployment": func() error {
					_, err := k.cs.AppsV1().Deployments(ns).Get(ctx, full, metav1.GetOptions{})
					return err
				},
				"ClusterRole": func() error {
					_, err := k.cs.RbacV1().ClusterRoles().Get(ctx, full, metav1.GetOptions{})
					return err
				},
				"IngressClass": func() error {
					_, err := k.cs.NetworkingV1().IngressClasses().Get(ctx, rel, metav1.GetOptions{})
					return err
				},
				"ServiceMonitor": func() error {
					_, err := k.dyn.Resource(serviceMonitors).Namespace(ns).Get(ctx, full, metav1.GetOptions{})
					return err
				},
			}
			for what, get := range gone {
				if err := get(); !apierrors.IsNotFound(err) {
					t.Errorf("%s after uninstall: %v, want not found", what, err)
				}
			}
		})
	}
}

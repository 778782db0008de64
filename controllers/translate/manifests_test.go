package translate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReadManifests(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // kind ns/name per object, then skipped kinds
		err      string
	}{
		{
			name: "documents, kinds kept and skipped, default namespace",
			in: `
# a comment before the first document
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{port: 80}]}
---
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec: {rules: [{host: a.example}]}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: sluice}
spec: {controller: sluice.dev/ingress-controller}
`,
			want: "Service shop/web\nIngress default/web\nIngressClass /sluice\nskipped map[Deployment:1]",
		},
		{
			name: "JSON in flow style, as the Kubernetes documentation writes it",
			in:   `{apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: {name: "x",}, spec: {defaultBackend: {service: {name: "s", port: {number: 80}}}}}`,
			want: "Ingress default/x\nskipped map[]",
		},
		{
			name: "CRLF line ends and ConfigMap keys written as numbers",
			in:   "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: tcp-services\r\n  namespace: ingress-nginx\r\ndata:\r\n  4505: \"default/salt:4505\"\r\n",
			want: "ConfigMap ingress-nginx/tcp-services data map[4505:default/salt:4505]\nskipped map[]",
		},
		{
			name: "a List, as kubectl get -o yaml writes",
			in:   "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n",
			want: "Service default/a\nskipped map[Pod:1]",
		},
		{
			name: "a document that is not YAML",
			in:   "kind: Service\nmetadata: {name: a}\n---\nkind: [\n",
			err:  "document 2:",
		},
		{
			name: "a field of the wrong type names the kind",
			in:   "kind: Service\nmetadata: {name: a}\n---\nkind: Ingress\nmetadata: {name: b}\nspec: {rules: 3}\n",
			err:  "document 2: Ingress: ",
		},
		{
			name: "an object without a name",
			in:   "kind: Ingress\nmetadata: {namespace: x}\n",
			err:  "document 1: Ingress: metadata.name is missing",
		},
		{
			name: "an item of a List",
			in:   "kind: List\nitems:\n- {kind: Service, metadata: {name: a}}\n- {kind: Service, metadata: {}}\n",
			err:  "document 1: items[1]: Service: metadata.name is missing",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Manifests
			err := m.Read(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, o := range m.Objects {
				meta := o.(metav1.Object)
				kind := strings.TrimPrefix(fmt.Sprintf("%T", o), "*")
				kind = kind[strings.IndexByte(kind, '.')+1:]
				fmt.Fprintf(&b, "%s %s/%s", kind, meta.GetNamespace(), meta.GetName())
				if cm, ok := o.(*corev1.ConfigMap); ok {
					fmt.Fprintf(&b, " data %v", cm.Data)
				}
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "skipped %v", m.Skipped)
			if got := b.String(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// The snapshot files every object under its key; a later object with the
// same key replaces an earlier one, as a later apply would.
func TestManifestsSnapshot(t *testing.T) {
	var m Manifests
	in := `
kind: Service
metadata: {name: a, labels: {v: "1"}}
---
kind: Service
metadata: {name: a, labels: {v: "2"}}
---
kind: Service
metadata: {name: a, namespace: other}
---
kind: Secret
metadata: {name: s}
type: kubernetes.io/tls
---
kind: EndpointSlice
apiVersion: discovery.k8s.io/v1
metadata: {name: a-1, labels: {kubernetes.io/service-name: a}}
addressType: IPv4
`
	if err := m.Read(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	keys := slices.SortedFunc(maps.Keys(s.Services), compareNamespacedName)
	if len(keys) != 2 || keys[0].String() != "default/a" || keys[1].String() != "other/a" {
		t.Fatalf("services = %v", keys)
	}
	if v := s.Services[keys[0]].Labels["v"]; v != "2" {
		t.Errorf("default/a has v=%s, want the later document's 2", v)
	}
	if len(s.Secrets) != 1 || len(s.EndpointSlices) != 1 || len(s.Ingresses) != 0 {
		t.Errorf("secrets %d, slices %d, ingresses %d", len(s.Secrets), len(s.EndpointSlices), len(s.Ingresses))
	}
}

package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// Manifests are the objects of YAML or JSON manifest files, as
// `kubectl apply -f` reads them, that a translation looks at; the rest are
// counted by kind so that a report can say what was left out.
type Manifests struct {
	Objects []runtime.Object
	Skipped map[string]int // kind -> documents of that kind not read
}

// Read decodes a stream of YAML documents (or JSON objects) and
// appends the Ingresses, IngressClasses, Services, EndpointSlices,
// ConfigMaps and Secrets among them to m. A namespaced object without a
// namespace gets "default", as kubectl gives it. An error names the
// document (counted from 1) and its kind; the documents before it are kept.
func (m *Manifests) Read(r io.Reader) error {
	d := yaml.NewYAMLOrJSONDecoder(r, 4096)
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		if err := d.Decode(&raw); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("document %d: %w", doc, err)
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(raw, &tm); err != nil {
			return fmt.Errorf("document %d: %w", doc, err)
		}
		if tm.Kind == "List" {
			// kubectl get -o yaml writes a List of items.
			var list struct {
				Items []json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal(raw, &list); err != nil {
				return fmt.Errorf("document %d: List: %w", doc, err)
			}
			for i, item := range list.Items {
				if err := m.add(item); err != nil {
					return fmt.Errorf("document %d: items[%d]: %w", doc, i, err)
				}
			}
			continue
		}
		if err := m.add(raw); err != nil {
			return fmt.Errorf("document %d: %w", doc, err)
		}
	}
}

func (m *Manifests) add(raw json.RawMessage) error {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return err
	}
	var obj runtime.Object
	switch tm.Kind {
	case "Ingress":
		obj = &networkingv1.Ingress{}
	case "IngressClass":
		obj = &networkingv1.IngressClass{}
	case "Service":
		obj = &corev1.Service{}
	case "EndpointSlice":
		obj = &discoveryv1.EndpointSlice{}
	case "ConfigMap":
		obj = &corev1.ConfigMap{}
	case "Secret":
		obj = &corev1.Secret{}
	default:
		if m.Skipped == nil {
			m.Skipped = map[string]int{}
		}
		kind := tm.Kind
		if kind == "" {
			kind = "(no kind)"
		}
		m.Skipped[kind]++
		return nil
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return fmt.Errorf("%s: %w", tm.Kind, err)
	}
	meta := obj.(metav1.Object)
	if meta.GetName() == "" {
		return fmt.Errorf("%s: metadata.name is missing", tm.Kind)
	}
	if meta.GetNamespace() == "" && tm.Kind != "IngressClass" {
		meta.SetNamespace(metav1.NamespaceDefault)
	}
	m.Objects = append(m.Objects, obj)
	return nil
}

// Snapshot files the objects as the informer caches would hold them; of
// two objects with the same kind and name, the later one wins, as a later
// `kubectl apply` would.
func (m *Manifests) Snapshot() *Snapshot {
	s := NewSnapshot()
	for _, o := range m.Objects {
		meta := o.(metav1.Object)
		key := types.NamespacedName{Namespace: meta.GetNamespace(), Name: meta.GetName()}
		switch o := o.(type) {
		case *networkingv1.Ingress:
			s.Ingresses[key] = o
		case *networkingv1.IngressClass:
			s.IngressClasses[o.Name] = o
		case *corev1.Service:
			s.Services[key] = o
		case *discoveryv1.EndpointSlice:
			s.EndpointSlices[key] = o
		case *corev1.ConfigMap:
			s.ConfigMaps[key] = o
		case *corev1.Secret:
			s.Secrets[key] = o
		}
	}
	return s
}

package controllers

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The informer caches hold every watched object for as long as it exists:
// at 10,000 Ingresses, Services and EndpointSlices, what each cached object
// keeps decides the controller's memory. These transforms drop, as objects
// arrive, what neither translation nor status writing reads.

// lastApplied is kubectl's copy of the whole object, often its largest part.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// trimMeta drops the managed fields and kubectl's last-applied copy.
func trimMeta(in any) (any, error) {
	if o, ok := in.(metav1.Object); ok {
		if o.GetManagedFields() != nil {
			o.SetManagedFields(nil)
		}
		if a := o.GetAnnotations(); a != nil {
			if _, ok := a[lastApplied]; ok {
				delete(a, lastApplied)
			}
		}
	}
	return in, nil
}

// trimService keeps what resolving a Service port reads: its type, ports
// and external name. (The published Service is read from the API server.)
func trimService(in any) (any, error) {
	svc, ok := in.(*corev1.Service)
	if !ok {
		return trimMeta(in)
	}
	return &corev1.Service{
		TypeMeta:   svc.TypeMeta,
		ObjectMeta: trimmedMeta(svc.ObjectMeta),
		Spec: corev1.ServiceSpec{
			Type:         svc.Spec.Type,
			Ports:        svc.Spec.Ports,
			ExternalName: svc.Spec.ExternalName,
		},
	}, nil
}

// trimEndpointSlice keeps the Service it belongs to, its address type and
// ports, and of each endpoint its addresses and conditions.
func trimEndpointSlice(in any) (any, error) {
	es, ok := in.(*discoveryv1.EndpointSlice)
	if !ok {
		return trimMeta(in)
	}
	out := &discoveryv1.EndpointSlice{
		TypeMeta:    es.TypeMeta,
		ObjectMeta:  trimmedMeta(es.ObjectMeta),
		AddressType: es.AddressType,
		Ports:       es.Ports,
		Endpoints:   make([]discoveryv1.Endpoint, len(es.Endpoints)),
	}
	if svc, ok := es.Labels[discoveryv1.LabelServiceName]; ok {
		out.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
	}
	for i, ep := range es.Endpoints {
		out.Endpoints[i] = discoveryv1.Endpoint{Addresses: ep.Addresses, Conditions: ep.Conditions}
	}
	return out, nil
}

// trimmedMeta is the identity of an object: what a cache, an event or a
// log line needs.
func trimmedMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		Generation:        m.Generation,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
	}
}

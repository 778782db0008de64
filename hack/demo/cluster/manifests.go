package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

//go:embed example.yaml
var exampleYAML []byte

// exampleFile is where the embedded example lives, for messages.
const exampleFile = "hack/demo/cluster/example.yaml"

// Names the program relies on; example.yaml must define them.
const (
	namespace    = "demo"
	tcpConfigMap = "tcp-services"
	// echoPortName marks the EndpointSlice ports served by a TCP echo
	// backend rather than an HTTP one.
	echoPortName = "echo"
)

// example is the decoded example: its objects in file order, and its
// EndpointSlices by Service name, which the demo keeps up to date as it
// scales them.
type example struct {
	objects []runtime.Object
	slices  map[string]*discoveryv1.EndpointSlice
	// tcpServices maps the ports of the TCP services ConfigMap to the
	// Services behind them.
	tcpServices map[int]string
	tcpPorts    []int // the keys of tcpServices, in order
	// tls are the spec.tls entries of the Ingresses that name a Secret,
	// which the demo issues (see issueSecrets), in file order.
	tls []tlsEntry
}

// tlsEntry is a TLS Secret of the example and the hosts it serves.
type tlsEntry struct {
	ingress string
	secret  string // in namespace
	hosts   []string
}

// decodeExample reads a multi-document YAML file of the kinds the example
// uses. Each Service may have one EndpointSlice, so that scaling it is
// unambiguous.
func decodeExample(data []byte) (*example, error) {
	ex := &example{slices: map[string]*discoveryv1.EndpointSlice{}, tcpServices: map[int]string{}}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if s := string(bytes.TrimSpace(js)); s == "null" || s == "" {
			continue // only comments
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(js, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		switch o := obj.(type) {
		case *corev1.Namespace, *networkingv1.IngressClass, *corev1.Service:
		case *networkingv1.Ingress:
			for i, t := range o.Spec.TLS {
				if t.SecretName == "" {
					continue // sluice's default certificate
				}
				if o.Namespace != namespace || len(t.Hosts) == 0 || slices.Contains(t.Hosts, "") {
					return nil, fmt.Errorf("document %d: Ingress %s/%s: spec.tls[%d]: want namespace %q and hosts to issue Secret %s a certificate for", doc, o.Namespace, o.Name, i, namespace, t.SecretName)
				}
				if slices.ContainsFunc(ex.tls, func(e tlsEntry) bool { return e.secret == t.SecretName }) {
					return nil, fmt.Errorf("document %d: Ingress %s/%s: spec.tls[%d]: Secret %s is named twice; give every entry its own", doc, o.Namespace, o.Name, i, t.SecretName)
				}
				ex.tls = append(ex.tls, tlsEntry{ingress: o.Name, secret: t.SecretName, hosts: t.Hosts})
			}
		case *corev1.ConfigMap:
			if o.Namespace == namespace && o.Name == tcpConfigMap {
				for k, v := range o.Data {
					port, err := strconv.Atoi(k)
					if err != nil || port < 1 || port > 65535 {
						return nil, fmt.Errorf("document %d: ConfigMap %s/%s: key %q is not a port", doc, o.Namespace, o.Name, k)
					}
					svc, _, _ := strings.Cut(strings.TrimPrefix(v, namespace+"/"), ":")
					ex.tcpServices[port] = svc
					ex.tcpPorts = append(ex.tcpPorts, port)
				}
				slices.Sort(ex.tcpPorts)
			}
		case *discoveryv1.EndpointSlice:
			svc := o.Labels[discoveryv1.LabelServiceName]
			if o.Namespace != namespace || svc == "" {
				return nil, fmt.Errorf("document %d: EndpointSlice %s/%s: want namespace %q and label %s", doc, o.Namespace, o.Name, namespace, discoveryv1.LabelServiceName)
			}
			if _, dup := ex.slices[svc]; dup {
				return nil, fmt.Errorf("document %d: EndpointSlice %s/%s: Service %q has two slices", doc, o.Namespace, o.Name, svc)
			}
			if _, err := endpointPort(o); err != nil {
				return nil, fmt.Errorf("document %d: EndpointSlice %s/%s: %w", doc, o.Namespace, o.Name, err)
			}
			ex.slices[svc] = o
		default:
			return nil, fmt.Errorf("document %d: %T is not a kind the demo applies", doc, obj)
		}
		ex.objects = append(ex.objects, obj)
	}
	if len(ex.slices) == 0 {
		return nil, errors.New("no EndpointSlice: the demo would have nothing to serve")
	}
	if len(ex.tls) > 0 && !slices.ContainsFunc(ex.objects, func(o runtime.Object) bool {
		ns, ok := o.(*corev1.Namespace)
		return ok && ns.Name == namespace
	}) {
		return nil, fmt.Errorf("spec.tls names Secrets, but there is no Namespace %s to create them in", namespace)
	}
	for port, svc := range ex.tcpServices {
		if ex.slices[svc] == nil {
			return nil, fmt.Errorf("TCP service port %d: Service %q has no EndpointSlice", port, svc)
		}
	}
	return ex, nil
}

// endpointPort is the one port every endpoint of a demo slice listens on.
func endpointPort(s *discoveryv1.EndpointSlice) (discoveryv1.EndpointPort, error) {
	if len(s.Ports) != 1 || s.Ports[0].Port == nil || s.Ports[0].Name == nil {
		return discoveryv1.EndpointPort{}, errors.New("want exactly one named port with a number")
	}
	return s.Ports[0], nil
}

// apply creates the example's objects in file order, and secrets right
// after their Namespace, so that they exist before the Ingresses that name
// them. EndpointSlices go through put, straight into etcd, as the API
// server refuses their loopback addresses.
func (ex *example) apply(ctx context.Context, cs kubernetes.Interface, put func(context.Context, *discoveryv1.EndpointSlice) error, secrets []*corev1.Secret) error {
	create := metav1.CreateOptions{}
	for _, obj := range ex.objects {
		var err error
		switch o := obj.(type) {
		case *corev1.Namespace:
			if _, err = cs.CoreV1().Namespaces().Create(ctx, o, create); err != nil {
				break
			}
			for _, s := range secrets {
				if s.Namespace != o.Name {
					continue
				}
				if _, err := cs.CoreV1().Secrets(s.Namespace).Create(ctx, s, create); err != nil {
					return fmt.Errorf("apply Secret %s/%s: %w", s.Namespace, s.Name, err)
				}
			}
		case *networkingv1.IngressClass:
			_, err = cs.NetworkingV1().IngressClasses().Create(ctx, o, create)
		case *networkingv1.Ingress:
			_, err = cs.NetworkingV1().Ingresses(o.Namespace).Create(ctx, o, create)
		case *corev1.Service:
			_, err = cs.CoreV1().Services(o.Namespace).Create(ctx, o, create)
		case *corev1.ConfigMap:
			_, err = cs.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, create)
		case *discoveryv1.EndpointSlice:
			err = put(ctx, ex.slices[o.Labels[discoveryv1.LabelServiceName]])
		}
		if err != nil {
			return fmt.Errorf("apply %s: %w", describe(obj), err)
		}
	}
	return nil
}

func describe(obj runtime.Object) string {
	m, ok := obj.(metav1.Object)
	if !ok {
		return fmt.Sprintf("%T", obj)
	}
	kind := fmt.Sprintf("%T", obj)
	if gvks, _, err := scheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		kind = gvks[0].Kind
	}
	if m.GetNamespace() == "" {
		return kind + " " + m.GetName()
	}
	return kind + " " + m.GetNamespace() + "/" + m.GetName()
}

// maxReplicas bounds scale: every endpoint is a listener in this process on
// its own loopback address.
const maxReplicas = 16

// scaled returns a copy of s with n ready endpoints: the first n of s, then
// new ones named SERVICE-K (the lowest K not taken) on the lowest addresses
// from 127.0.0.2 up that no endpoint of s uses.
func scaled(s *discoveryv1.EndpointSlice, n int) (*discoveryv1.EndpointSlice, error) {
	svc := s.Labels[discoveryv1.LabelServiceName]
	if n < 0 || n > maxReplicas {
		return nil, fmt.Errorf("service %s: %d replicas: want 0 to %d", svc, n, maxReplicas)
	}
	out := s.DeepCopy()
	if n <= len(out.Endpoints) {
		out.Endpoints = out.Endpoints[:n]
		return out, nil
	}
	usedAddr := map[netip.Addr]bool{}
	usedName := map[string]bool{}
	for i, ep := range s.Endpoints {
		for _, a := range ep.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				usedAddr[ip] = true
			}
		}
		usedName[endpointName(svc, ep, i)] = true
	}
	next := netip.AddrFrom4([4]byte{127, 0, 0, 2})
	k := 1
	for len(out.Endpoints) < n {
		for usedAddr[next] {
			next = next.Next()
		}
		if !netip.MustParsePrefix("127.0.0.0/8").Contains(next) {
			return nil, fmt.Errorf("service %s: no loopback address left", svc)
		}
		for usedName[svc+"-"+strconv.Itoa(k)] {
			k++
		}
		name := svc + "-" + strconv.Itoa(k)
		usedAddr[next], usedName[name] = true, true
		ready := true
		out.Endpoints = append(out.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{next.String()},
			Hostname:   &name,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		})
	}
	return out, nil
}

// endpointName is the name a backend answers with: the endpoint's
// hostname, or SERVICE-(i+1) for an endpoint without one.
func endpointName(svc string, ep discoveryv1.Endpoint, i int) string {
	if ep.Hostname != nil && *ep.Hostname != "" {
		return *ep.Hostname
	}
	return svc + "-" + strconv.Itoa(i+1)
}

// tlsHosts are the hosts of the spec.tls entry that names secret.
func (ex *example) tlsHosts(secret string) []string {
	for _, t := range ex.tls {
		if t.secret == secret {
			return t.hosts
		}
	}
	return nil
}

// tlsHost is the first host the example serves with a certificate of its
// own, which the printed HTTPS commands use; empty when there is none.
func (ex *example) tlsHost() string {
	if len(ex.tls) == 0 {
		return ""
	}
	return ex.tls[0].hosts[0]
}

// serviceOf is the Service that host's path / goes to, if an Ingress of the
// example says so.
func (ex *example) serviceOf(host string) string {
	for _, obj := range ex.objects {
		ing, ok := obj.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		for _, r := range ing.Spec.Rules {
			if r.Host != host || r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				if p.Path == "/" && p.Backend.Service != nil {
					return p.Backend.Service.Name
				}
			}
		}
	}
	return ""
}

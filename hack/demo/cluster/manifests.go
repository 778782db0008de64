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
		case *corev1.Namespace, *networkingv1.IngressClass, *networkingv1.Ingress, *corev1.Service:
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

// apply creates the example's objects in file order. EndpointSlices go
// through put, straight into etcd, as the API server refuses their loopback
// addresses.
func (ex *example) apply(ctx context.Context, cs kubernetes.Interface, put func(context.Context, *discoveryv1.EndpointSlice) error) error {
	create := metav1.CreateOptions{}
	for _, obj := range ex.objects {
		var err error
		switch o := obj.(type) {
		case *corev1.Namespace:
			_, err = cs.CoreV1().Namespaces().Create(ctx, o, create)
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

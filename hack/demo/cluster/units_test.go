package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

func testSlice(svc string, port int32, eps ...[2]string) *discoveryv1.EndpointSlice {
	name := "http"
	s := &discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeIPv4}
	s.Namespace, s.Name = namespace, svc+"-1"
	s.Labels = map[string]string{discoveryv1.LabelServiceName: svc}
	s.Ports = []discoveryv1.EndpointPort{{Name: &name, Port: &port}}
	for _, e := range eps {
		host := e[0]
		ep := discoveryv1.Endpoint{Addresses: []string{e[1]}}
		if host != "" {
			ep.Hostname = &host
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

func TestScaled(t *testing.T) {
	cases := []struct {
		name string
		in   *discoveryv1.EndpointSlice
		n    int
		want []string // name@address
		err  string
	}{
		{"down keeps the first", testSlice("web", 8001, [2]string{"web-1", "127.0.0.2"}, [2]string{"web-2", "127.0.0.3"}), 1,
			[]string{"web-1@127.0.0.2:8001"}, ""},
		{"to zero", testSlice("web", 8001, [2]string{"web-1", "127.0.0.2"}), 0, nil, ""},
		{"same", testSlice("web", 8001, [2]string{"web-1", "127.0.0.2"}), 1, []string{"web-1@127.0.0.2:8001"}, ""},
		{"up takes free names and addresses", testSlice("web", 8001, [2]string{"web-2", "127.0.0.2"}, [2]string{"web-7", "127.0.0.4"}), 4,
			[]string{"web-2@127.0.0.2:8001", "web-7@127.0.0.4:8001", "web-1@127.0.0.3:8001", "web-3@127.0.0.5:8001"}, ""},
		{"from nothing", testSlice("api", 8002), 2, []string{"api-1@127.0.0.2:8002", "api-2@127.0.0.3:8002"}, ""},
		{"unnamed endpoints keep their implied names", testSlice("api", 8002, [2]string{"", "127.0.0.9"}), 2,
			[]string{"api-1@127.0.0.9:8002", "api-2@127.0.0.2:8002"}, ""},
		{"negative", testSlice("web", 8001), -1, nil, "want 0 to 16"},
		{"too many", testSlice("web", 8001), maxReplicas + 1, nil, "want 0 to 16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := c.in.DeepCopy()
			got, err := scaled(c.in, c.n)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.in, before) {
				t.Error("scaled changed its argument")
			}
			eps, err := endpointsOf(got)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, ep := range eps {
				names = append(names, ep.name+"@"+ep.addr.String())
			}
			if !reflect.DeepEqual(names, c.want) {
				t.Errorf("got %v, want %v", names, c.want)
			}
			for _, ep := range got.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					t.Errorf("endpoint %v not ready", ep.Addresses)
				}
			}
		})
	}
}

func TestEndpointsOfRefusesNonLoopback(t *testing.T) {
	if _, err := endpointsOf(testSlice("web", 80, [2]string{"web-1", "10.0.0.1"})); err == nil || !strings.Contains(err.Error(), "127.0.0.0/8") {
		t.Fatalf("error %v, want one about loopback", err)
	}
}

func TestMissing(t *testing.T) {
	a := endpoint{name: "a", addr: netip.MustParseAddrPort("127.0.0.2:1")}
	b := endpoint{name: "b", addr: netip.MustParseAddrPort("127.0.0.3:1")}
	renamed := endpoint{name: "c", addr: a.addr}
	if got := missing([]endpoint{a, b}, []endpoint{b}); !reflect.DeepEqual(got, []endpoint{a}) {
		t.Errorf("missing(a b, b) = %v", got)
	}
	if got := missing([]endpoint{renamed}, []endpoint{a}); !reflect.DeepEqual(got, []endpoint{renamed}) {
		t.Errorf("a renamed endpoint must count as new: %v", got)
	}
	if got := missing([]endpoint{a}, []endpoint{a, b}); got != nil {
		t.Errorf("missing(a, a b) = %v", got)
	}
}

func TestControlRequest(t *testing.T) {
	cases := []struct {
		cmd  string
		args []string
		path string
		form url.Values
		err  string
	}{
		{"scale", []string{"web", "3"}, "/scale", url.Values{"service": {"web"}, "replicas": {"3"}}, ""},
		{"scale", []string{"web"}, "", nil, "usage: scale"},
		{"scale", []string{"web", "three"}, "", nil, "not a number"},
		{"annotate", []string{"shop", "sluice.dev/affinity=cookie"}, "/annotate",
			url.Values{"ingress": {"shop"}, "key": {"sluice.dev/affinity"}, "value": {"cookie"}}, ""},
		{"annotate", []string{"shop", "a=b=c"}, "/annotate", url.Values{"ingress": {"shop"}, "key": {"a"}, "value": {"b=c"}}, ""},
		{"annotate", []string{"shop", "sluice.dev/affinity="}, "/annotate",
			url.Values{"ingress": {"shop"}, "key": {"sluice.dev/affinity"}, "value": {""}}, ""},
		{"annotate", []string{"shop", "sluice.dev/affinity-"}, "/annotate",
			url.Values{"ingress": {"shop"}, "key": {"sluice.dev/affinity"}, "remove": {"true"}}, ""},
		{"annotate", []string{"shop", "sluice.dev/affinity"}, "", nil, "neither"},
		{"annotate", []string{"shop", "-"}, "", nil, "empty annotation key"},
		{"annotate", []string{"shop"}, "", nil, "usage: annotate"},
		{"delete", []string{"shop"}, "", nil, "unknown change"},
	}
	for _, c := range cases {
		path, form, err := controlRequest(c.cmd, c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %v: error %v, want %q", c.cmd, c.args, err, c.err)
			}
			continue
		}
		if err != nil || path != c.path || !reflect.DeepEqual(form, c.form) {
			t.Errorf("%s %v = %q %v %v, want %q %v", c.cmd, c.args, path, form, err, c.path, c.form)
		}
	}
}

// The example has what the printed commands and the checks rely on.
func TestExample(t *testing.T) {
	ex, err := decodeExample(exampleYAML)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"web", "api", "shop", "echo"} {
		if ex.slices[svc] == nil {
			t.Errorf("no EndpointSlice for %s", svc)
		}
	}
	if !reflect.DeepEqual(ex.tcpPorts, []int{7007}) || ex.tcpServices[7007] != "echo" {
		t.Errorf("TCP services %v %v, want 7007 -> echo", ex.tcpPorts, ex.tcpServices)
	}
	hosts := map[string]bool{}
	sticky := false
	for _, obj := range ex.objects {
		if ing, ok := obj.(*networkingv1.Ingress); ok {
			for _, r := range ing.Spec.Rules {
				hosts[r.Host] = true
			}
			sticky = sticky || ing.Annotations["sluice.dev/affinity"] == "cookie"
		}
	}
	if !hosts["demo.local"] || !hosts["shop.local"] || !hosts["secure.local"] || !sticky {
		t.Errorf("hosts %v, sticky %v: want demo.local, shop.local, secure.local and a cookie", hosts, sticky)
	}
	// The HTTPS commands use secure.local with a Secret of its own, the
	// redirect changes annotate its Ingress, and demo.local has no Secret.
	if want := []tlsEntry{{ingress: "secure", secret: "secure-local-tls", hosts: []string{"secure.local"}}}; !reflect.DeepEqual(ex.tls, want) {
		t.Errorf("spec.tls entries %+v, want %+v", ex.tls, want)
	}
	if ex.tlsHost() != "secure.local" || ex.serviceOf("secure.local") != "web" || ex.tlsHosts("secure-local-tls")[0] != "secure.local" {
		t.Errorf("TLS host %q to service %q, want secure.local to web", ex.tlsHost(), ex.serviceOf("secure.local"))
	}
}

// Every spec.tls Secret of the example gets an ECDSA P-256 certificate for
// its hosts that verifies against ca.pem, and only against it.
func TestIssueSecrets(t *testing.T) {
	ex, err := decodeExample(exampleYAML)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	dir := t.TempDir()
	secrets, err := ex.issueSecrets(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := readCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, err := ex.issueSecrets(other, now); err != nil {
		t.Fatal(err)
	}
	otherRoots, err := readCA(other)
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != len(ex.tls) || len(secrets) == 0 {
		t.Fatalf("%d Secrets for %d spec.tls entries", len(secrets), len(ex.tls))
	}
	for i, s := range secrets {
		e := ex.tls[i]
		if s.Namespace != namespace || s.Name != e.secret || s.Type != corev1.SecretTypeTLS {
			t.Errorf("Secret %s/%s of type %s, want %s/%s of type %s", s.Namespace, s.Name, s.Type, namespace, e.secret, corev1.SecretTypeTLS)
		}
		pair, err := tls.X509KeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
		if err != nil {
			t.Fatalf("Secret %s: %v", s.Name, err)
		}
		if k, ok := pair.PrivateKey.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
			t.Errorf("Secret %s: key %T, want ECDSA P-256", s.Name, pair.PrivateKey)
		}
		leaf := pair.Leaf
		for _, h := range e.hosts {
			opts := x509.VerifyOptions{DNSName: h, Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
			if _, err := leaf.Verify(opts); err != nil {
				t.Errorf("Secret %s for %s: %v", s.Name, h, err)
			}
			opts.Roots = otherRoots
			if _, err := leaf.Verify(opts); err == nil {
				t.Errorf("Secret %s verifies against another run's CA", s.Name)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "demo.local", Roots: roots, CurrentTime: now}); err == nil {
			t.Errorf("Secret %s is valid for demo.local, which should get the default certificate", s.Name)
		}
	}
}

func TestDecodeExampleErrors(t *testing.T) {
	const slice = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8001}]
`
	cases := []struct{ name, yaml, err string }{
		{"unknown kind", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", "not a kind the demo applies"},
		{"no slices", "# nothing\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n", "no EndpointSlice"},
		{"two slices", slice + "---\n" + slice, "has two slices"},
		{"portless slice", strings.Replace(slice, "ports: [{name: http, port: 8001}]", "ports: []", 1), "exactly one named port"},
		{"bad TCP key", slice + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: tcp-services, namespace: demo}\ndata: {http: demo/web:80}\n", "is not a port"},
		{"TCP service without slice", slice + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: tcp-services, namespace: demo}\ndata: {\"7007\": demo/echo:7}\n", `"echo" has no EndpointSlice`},
		{"not YAML", "kind: [", "document 1"},
		{"TLS Secret without hosts", "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n" + slice + "---\n" + tlsIngress("a", "[]", "s"), "hosts to issue Secret s"},
		{"TLS Secret named twice", "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n" + slice + "---\n" + tlsIngress("a", "[a.local]", "s") + "---\n" + tlsIngress("b", "[b.local]", "s"), "Secret s is named twice"},
		{"TLS Secret without its Namespace", slice + "---\n" + tlsIngress("a", "[a.local]", "s"), "no Namespace demo"},
	}
	for _, c := range cases {
		if _, err := decodeExample([]byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
	if _, err := decodeExample([]byte(slice)); err != nil {
		t.Errorf("a lone slice: %v", err)
	}
}

func tlsIngress(name, hosts, secret string) string {
	return fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: %s, namespace: demo}\nspec: {tls: [{hosts: %s, secretName: %s}]}\n", name, hosts, secret)
}

func TestHasWord(t *testing.T) {
	cfg := "backend b\n    server 127.0.0.2:8001 127.0.0.2:8001 cookie x\n"
	for addr, want := range map[string]bool{"127.0.0.2:8001": true, "127.0.0.2:800": false, "127.0.0.2:80010": false, "27.0.0.2:8001": false} {
		if got := hasWord(cfg, addr); got != want {
			t.Errorf("hasWord(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestPrefixWriter(t *testing.T) {
	var b bytes.Buffer
	w := &prefixWriter{w: &b, prefix: "access: ", skip: "127.0.0.254:"}
	for _, chunk := range []string{"127.0.0.1:5 GET /a\n127.0.0.254:9 GE", "T /own\n127.0.0", ".1:6 GET /b\npartial"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if want := "access: 127.0.0.1:5 GET /a\naccess: 127.0.0.1:6 GET /b\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestChangeBeforeLive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d := newDemo(options{out: &out})
	srv := d.serveControl(ln)
	defer srv.Close()
	for _, args := range [][]string{{"scale", "web", "1"}, {"annotate", "shop", "a=b"}} {
		_, err := sendControl(context.Background(), ln.Addr().String(), args[0], args[1:])
		if err == nil || !strings.Contains(err.Error(), "still starting") {
			t.Errorf("%v before the cluster is up: %v, want a still-starting error", args, err)
		}
	}
}

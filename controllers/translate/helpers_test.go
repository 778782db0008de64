package translate

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/config"
)

// Object constructors: small, so that a test case reads like a manifest.

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type ingOpt func(*networkingv1.Ingress)

// ing builds an Ingress of our class created age seconds after epoch.
func ing(ns, name string, age int, opts ...ingOpt) *networkingv1.Ingress {
	class := DefaultIngressClass
	i := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name),
			CreationTimestamp: metav1.NewTime(epoch.Add(time.Duration(age) * time.Second)),
		},
		Spec: networkingv1.IngressSpec{IngressClassName: &class},
	}
	for _, o := range opts {
		o(i)
	}
	return i
}

func className_(c string) ingOpt {
	return func(i *networkingv1.Ingress) { i.Spec.IngressClassName = &c }
}

func noClass() ingOpt { return func(i *networkingv1.Ingress) { i.Spec.IngressClassName = nil } }

func annotate(kv ...string) ingOpt {
	return func(i *networkingv1.Ingress) {
		if i.Annotations == nil {
			i.Annotations = map[string]string{}
		}
		for j := 0; j < len(kv); j += 2 {
			i.Annotations[kv[j]] = kv[j+1]
		}
	}
}

func rule(host string, paths ...networkingv1.HTTPIngressPath) ingOpt {
	return func(i *networkingv1.Ingress) {
		r := networkingv1.IngressRule{Host: host}
		if paths != nil {
			r.HTTP = &networkingv1.HTTPIngressRuleValue{Paths: paths}
		}
		i.Spec.Rules = append(i.Spec.Rules, r)
	}
}

func defaultBackend(svc string, port any) ingOpt {
	return func(i *networkingv1.Ingress) { b := backendRef(svc, port); i.Spec.DefaultBackend = &b }
}

// withTLS adds a spec.tls entry; secret "" asks for the default certificate.
func withTLS(secret string, hosts ...string) ingOpt {
	return func(i *networkingv1.Ingress) {
		i.Spec.TLS = append(i.Spec.TLS, networkingv1.IngressTLS{Hosts: hosts, SecretName: secret})
	}
}

// backendRef takes a port number (int) or a port name (string).
func backendRef(svc string, port any) networkingv1.IngressBackend {
	var p networkingv1.ServiceBackendPort
	switch v := port.(type) {
	case int:
		p.Number = int32(v)
	case string:
		p.Name = v
	}
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: p}}
}

func pathOf(pt networkingv1.PathType, p, svc string, port any) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{Path: p, PathType: &pt, Backend: backendRef(svc, port)}
}

func prefix(p, svc string, port any) networkingv1.HTTPIngressPath {
	return pathOf(networkingv1.PathTypePrefix, p, svc, port)
}

func exact(p, svc string, port any) networkingv1.HTTPIngressPath {
	return pathOf(networkingv1.PathTypeExact, p, svc, port)
}

func implSpecific(p, svc string, port any) networkingv1.HTTPIngressPath {
	return pathOf(networkingv1.PathTypeImplementationSpecific, p, svc, port)
}

func ingressClass(name, controller string, isDefault bool) *networkingv1.IngressClass {
	c := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       networkingv1.IngressClassSpec{Controller: controller},
	}
	if isDefault {
		c.Annotations = map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}
	}
	return c
}

// svcPort is "NAME:PORT" or "PORT", with an optional "/TARGET" (number or name).
func service(ns, name string, ports ...string) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, p := range ports {
		var sp corev1.ServicePort
		p, target, _ := strings.Cut(p, "/")
		if n, num, ok := strings.Cut(p, ":"); ok {
			sp.Name, p = n, num
		}
		port, _ := strconv.Atoi(p)
		sp.Port = int32(port)
		sp.Protocol = corev1.ProtocolTCP
		if target != "" {
			if n, err := strconv.Atoi(target); err == nil {
				sp.TargetPort.IntVal = int32(n)
			} else {
				sp.TargetPort.Type = 1
				sp.TargetPort.StrVal = target
			}
		}
		s.Spec.Ports = append(s.Spec.Ports, sp)
	}
	return s
}

func externalName(ns, name, host string, ports ...string) *corev1.Service {
	s := service(ns, name, ports...)
	s.Spec.Type = corev1.ServiceTypeExternalName
	s.Spec.ExternalName = host
	return s
}

// slice builds an EndpointSlice of a Service. ports are "NAME:PORT" or
// "PORT" (unnamed); endpoints are addresses, with a suffix "!notready",
// "!terminating" or "!unknown" (ready unset). The first address decides
// the slice's address type.
func slice(ns, svc, name string, ports []string, endpoints ...string) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, p := range ports {
		var ep discoveryv1.EndpointPort
		if n, num, ok := strings.Cut(p, ":"); ok {
			ep.Name, p = &n, num
		}
		port, _ := strconv.Atoi(p)
		n32 := int32(port)
		tcp := corev1.ProtocolTCP
		ep.Port, ep.Protocol = &n32, &tcp
		es.Ports = append(es.Ports, ep)
	}
	t, f := true, false
	for _, e := range endpoints {
		addr, state, _ := strings.Cut(e, "!")
		if strings.Contains(addr, ":") && len(es.Endpoints) == 0 {
			es.AddressType = discoveryv1.AddressTypeIPv6
		}
		ep := discoveryv1.Endpoint{Addresses: []string{addr}}
		switch state {
		case "":
			ep.Conditions.Ready = &t
		case "notready":
			ep.Conditions.Ready = &f
		case "terminating":
			ep.Conditions.Ready, ep.Conditions.Terminating = &f, &t
		case "terminating-ready":
			ep.Conditions.Ready, ep.Conditions.Terminating = &t, &t
		case "unknown":
		default:
			panic("bad endpoint state " + state)
		}
		es.Endpoints = append(es.Endpoints, ep)
	}
	return es
}

func configMap(ns, name string, kv ...string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-cm-" + name)}, Data: map[string]string{}}
	for i := 0; i < len(kv); i += 2 {
		cm.Data[kv[i]] = kv[i+1]
	}
	return cm
}

// snap files objects into a Snapshot. Unless an IngressClass is given, the
// standard one (ours, not the default) is added.
func snap(objs ...runtime.Object) *Snapshot {
	s := NewSnapshot()
	classGiven := false
	for _, o := range objs {
		switch o := o.(type) {
		case *networkingv1.Ingress:
			s.Ingresses[types.NamespacedName{Namespace: o.Namespace, Name: o.Name}] = o
		case *networkingv1.IngressClass:
			s.IngressClasses[o.Name] = o
			classGiven = true
		case *corev1.Service:
			s.Services[types.NamespacedName{Namespace: o.Namespace, Name: o.Name}] = o
		case *discoveryv1.EndpointSlice:
			s.EndpointSlices[types.NamespacedName{Namespace: o.Namespace, Name: o.Name}] = o
		case *corev1.ConfigMap:
			s.ConfigMaps[types.NamespacedName{Namespace: o.Namespace, Name: o.Name}] = o
		case *corev1.Secret:
			s.Secrets[types.NamespacedName{Namespace: o.Namespace, Name: o.Name}] = o
		default:
			panic(fmt.Sprintf("snap: %T", o))
		}
	}
	if !classGiven {
		s.IngressClasses[DefaultIngressClass] = ingressClass(DefaultIngressClass, DefaultControllerName, false)
	}
	return s
}

var testOptions = Options{HTTPAddr: ":8080"}

// dump prints a Config in HAProxy-like syntax for comparisons. Values equal
// to HAProxy's defaults are left out, so that cases stay short, but any other
// value of any field the translation may set is printed. `option
// redispatch`, which every translated backend has, is the one exception: its
// absence is printed (`no option redispatch`) instead.
func dump(c *config.Config) string {
	var b strings.Builder
	for _, f := range c.Frontends {
		fmt.Fprintf(&b, "frontend %s\n  mode %s\n", f.Name, modeName(f.Mode))
		for _, bd := range f.Binds {
			fmt.Fprintf(&b, "  bind %s", bd.Addr())
			if bd.TLS != nil {
				b.WriteString(" ssl")
				for _, c := range bd.TLS.Certificates {
					fmt.Fprintf(&b, " crt %s", c)
				}
				if bd.TLS.ALPN != nil {
					fmt.Fprintf(&b, " UNEXPECTED %+v", bd.TLS)
				}
			}
			b.WriteString("\n")
		}
		dumpOptions(&b, f.Options)
		dumpTimeouts(&b, f.Timeouts)
		if f.MaxConn != 0 || len(f.ACLs) > 0 || len(f.HTTPResponse) > 0 {
			fmt.Fprintf(&b, "  UNEXPECTED %+v\n", f)
		}
		for _, r := range f.HTTPRequest {
			if rd := r.Redirect; r.Action == config.ActionRedirect && rd != nil && rd.Kind == config.RedirectScheme && !rd.DropQuery {
				fmt.Fprintf(&b, "  http-request redirect scheme %s code %d%s\n", rd.Value, rd.Code, dumpCond(r.Cond))
			} else {
				fmt.Fprintf(&b, "  UNEXPECTED %+v\n", r)
			}
		}
		for _, u := range f.UseBackends {
			fmt.Fprintf(&b, "  use_backend %s%s\n", u.Backend, dumpCond(u.Cond))
		}
		fmt.Fprintf(&b, "  default_backend %s\n", f.DefaultBackend)
	}
	for _, be := range c.Backends {
		fmt.Fprintf(&b, "backend %s\n  mode %s\n", be.Name, modeName(be.Mode))
		if be.Balance != (config.Balance{}) {
			fmt.Fprintf(&b, "  balance %s", balanceName(be.Balance.Algorithm))
			if be.Balance.Param != "" {
				fmt.Fprintf(&b, "(%s)", be.Balance.Param)
			}
			b.WriteString("\n")
		}
		if be.Retries != 3 {
			fmt.Fprintf(&b, "  retries %d\n", be.Retries)
		}
		dumpBackendOptions(&b, be.Options)
		dumpTimeouts(&b, be.Timeouts)
		if ck := be.Cookie; ck != nil {
			fmt.Fprintf(&b, "  cookie %s %s", ck.Name, [...]string{"insert", "rewrite", "prefix"}[ck.Mode])
			for _, f := range []struct {
				on   bool
				name string
			}{{ck.Indirect, "indirect"}, {ck.NoCache, "nocache"}, {ck.Preserve, "preserve"}, {ck.HTTPOnly, "httponly"}, {ck.Secure, "secure"}, {ck.Dynamic, "dynamic"}} {
				if f.on {
					b.WriteString(" " + f.name)
				}
			}
			for _, a := range ck.Attrs {
				fmt.Fprintf(&b, " attr %q", a)
			}
			if len(ck.Domains) > 0 || ck.MaxIdle != 0 || ck.MaxLife != 0 {
				fmt.Fprintf(&b, " UNEXPECTED %+v", ck)
			}
			b.WriteString("\n")
		}
		if be.Check != (config.HTTPCheck{}) || len(be.ACLs) > 0 || len(be.HTTPResponse) > 0 {
			fmt.Fprintf(&b, "  UNEXPECTED %+v\n", be)
		}
		for _, r := range be.HTTPRequest {
			fmt.Fprintf(&b, "  http-request %s status %d content-type %q string %q%s\n", actionName(r.Action), r.Status, r.ContentType, r.Body, dumpCond(r.Cond))
		}
		for _, s := range be.Servers {
			fmt.Fprintf(&b, "  server %s %s", s.Name, s.Addr())
			if s.Weight != 1 {
				fmt.Fprintf(&b, " weight %d", s.Weight)
			}
			if s.Inter != 2*time.Second {
				fmt.Fprintf(&b, " inter %v", s.Inter)
			}
			if s.Rise != 2 {
				fmt.Fprintf(&b, " rise %d", s.Rise)
			}
			if s.Fall != 3 {
				fmt.Fprintf(&b, " fall %d", s.Fall)
			}
			if s.Cookie != "" {
				fmt.Fprintf(&b, " cookie %s", s.Cookie)
			}
			if s.Check || s.Backup || s.Disabled || s.MaxConn != 0 || s.CheckPort != 0 {
				fmt.Fprintf(&b, " UNEXPECTED %+v", s)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func dumpOptions(b *strings.Builder, o config.Options) {
	for _, f := range []struct {
		on   bool
		name string
	}{{o.ForwardFor, "forwardfor"}, {o.HTTPServerClose, "http-server-close"}, {o.HTTPLog, "httplog"}, {o.TCPLog, "tcplog"}} {
		if f.on {
			fmt.Fprintf(b, "  option %s\n", f.name)
		}
	}
}

// dumpBackendOptions is dumpOptions for a backend, where redispatch is the
// translation's default.
func dumpBackendOptions(b *strings.Builder, o config.Options) {
	if !o.Redispatch {
		b.WriteString("  no option redispatch\n")
	}
	dumpOptions(b, o)
}

func dumpTimeouts(b *strings.Builder, t config.Timeouts) {
	for _, f := range []struct {
		d    time.Duration
		name string
	}{{t.Connect, "connect"}, {t.Client, "client"}, {t.Server, "server"}, {t.HTTPRequest, "http-request"},
		{t.HTTPKeepAlive, "http-keep-alive"}, {t.Queue, "queue"}, {t.Tunnel, "tunnel"}, {t.Check, "check"}} {
		if f.d != 0 {
			fmt.Fprintf(b, "  timeout %s %v\n", f.name, f.d)
		}
	}
}

func dumpCond(c *config.Condition) string {
	if c == nil {
		return ""
	}
	var ors []string
	for _, and := range c.Or {
		var terms []string
		for _, t := range and {
			s := ""
			if t.Negate {
				s = "!"
			}
			if t.Inline == nil {
				s += t.Name
			} else {
				a := t.Inline
				s += "{ " + fetchName(a.Fetch) + matchSuffix(a.Match)
				if a.IgnoreCase {
					s += " -i"
				}
				for _, v := range a.Values {
					s += " " + v
				}
				s += " }"
			}
			terms = append(terms, s)
		}
		ors = append(ors, strings.Join(terms, " "))
	}
	kw := " if "
	if c.Unless {
		kw = " unless "
	}
	return kw + strings.Join(ors, " || ")
}

func fetchName(f config.Fetch) string {
	switch f {
	case config.FetchHost:
		return "host"
	case config.FetchPath:
		return "path"
	case config.FetchSSLFC:
		return "ssl_fc"
	}
	return fmt.Sprintf("fetch%d", f)
}

func matchSuffix(m config.Match) string {
	switch m {
	case config.MatchStr, config.MatchBool:
		return ""
	case config.MatchBeg:
		return "_beg"
	case config.MatchEnd:
		return "_end"
	case config.MatchReg:
		return "_reg"
	}
	return fmt.Sprintf("_match%d", m)
}

// Evaluation: a minimal model of the dataplane's routing, enough to run
// requests through the use_backend list the translation produces.

// routeRequest returns the backend the frontend picks for a request.
// hostHeader is the raw Host header: the host fetch lowercases it and drops
// the port, as config.FetchHost specifies.
func routeRequest(t *testing.T, fe *config.Frontend, hostHeader, path string) string {
	t.Helper()
	host := strings.ToLower(hostHeader)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, u := range fe.UseBackends {
		if evalCond(t, u.Cond, host, path) {
			return u.Backend
		}
	}
	return fe.DefaultBackend
}

func evalCond(t *testing.T, c *config.Condition, host, path string) bool {
	return evalCondTLS(t, c, host, path, false)
}

// evalCondTLS is evalCond for a request on a TLS connection (ssl_fc) or not.
func evalCondTLS(t *testing.T, c *config.Condition, host, path string, tls bool) bool {
	if c == nil {
		return true
	}
	for _, and := range c.Or {
		all := true
		for _, term := range and {
			if term.Inline == nil {
				t.Fatalf("named ACL %q: the translation only emits inline ACLs", term.Name)
			}
			if evalACL(t, term.Inline, host, path, tls) == term.Negate {
				all = false
				break
			}
		}
		if all {
			return !c.Unless
		}
	}
	return c.Unless
}

func evalACL(t *testing.T, a *config.ACL, host, path string, tls bool) bool {
	var v string
	switch a.Fetch {
	case config.FetchSSLFC:
		if a.Match != config.MatchBool || len(a.Values) > 0 {
			t.Fatalf("ssl_fc with %v %v", a.Match, a.Values)
		}
		return tls
	case config.FetchHost:
		v = host
	case config.FetchPath:
		v = path
	default:
		t.Fatalf("unexpected fetch %v", a.Fetch)
	}
	for _, want := range a.Values {
		var ok bool
		switch a.Match {
		case config.MatchStr:
			ok = v == want
		case config.MatchBeg:
			ok = strings.HasPrefix(v, want)
		case config.MatchEnd:
			ok = strings.HasSuffix(v, want)
		case config.MatchReg:
			ok = regexp.MustCompile(want).MatchString(v)
		default:
			t.Fatalf("unexpected match %v", a.Match)
		}
		if ok {
			return true
		}
	}
	return false
}

// checkValid asserts what Validate will: unique names, every referenced
// backend defined, unique server names within a backend.
func checkValid(t *testing.T, c *config.Config) {
	t.Helper()
	backends := map[string]bool{}
	for _, b := range c.Backends {
		if backends[b.Name] {
			t.Errorf("backend %q defined twice", b.Name)
		}
		backends[b.Name] = true
		servers := map[string]bool{}
		for _, s := range b.Servers {
			if servers[s.Name] {
				t.Errorf("backend %q: server %q defined twice", b.Name, s.Name)
			}
			servers[s.Name] = true
		}
	}
	frontends := map[string]bool{}
	used := map[string]bool{}
	for _, f := range c.Frontends {
		if frontends[f.Name] {
			t.Errorf("frontend %q defined twice", f.Name)
		}
		frontends[f.Name] = true
		refs := []string{f.DefaultBackend}
		for _, u := range f.UseBackends {
			refs = append(refs, u.Backend)
		}
		for _, r := range refs {
			used[r] = true
			if !backends[r] {
				t.Errorf("frontend %q uses undefined backend %q", f.Name, r)
			}
		}
	}
	for name := range backends {
		if !used[name] {
			t.Errorf("backend %q is never used", name)
		}
	}
	validate(t, c)
}

func eventLines(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %s/%s %s %s: %s\n", e.Object.Kind, e.Object.Namespace, e.Object.Name, e.Type, e.Reason, e.Message)
	}
	return b.String()
}

// diff reports the first differing line of two multi-line strings.
func diff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return ""
}

// trimIndent lets expected outputs be written as indented raw strings.
func trimIndent(s string) string {
	lines := strings.Split(strings.TrimPrefix(s, "\n"), "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		} else {
			lines[i] = strings.TrimLeft(l, "\t")
		}
	}
	return strings.Join(lines, "\n")
}

var corev1TypedRef = corev1.TypedLocalObjectReference{APIGroup: ptr("k8s.example.com"), Kind: "StorageBucket", Name: "static-assets"}

func metav1ObjectMeta(name string, kv ...string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Annotations: map[string]string{}}
	for i := 0; i < len(kv); i += 2 {
		m.Annotations[kv[i]] = kv[i+1]
	}
	return m
}

func modeName(m config.Mode) string {
	switch m {
	case config.ModeHTTP:
		return "http"
	case config.ModeTCP:
		return "tcp"
	}
	return fmt.Sprintf("mode%d", m)
}

func balanceName(a config.BalanceAlgorithm) string {
	switch a {
	case config.BalanceRoundRobin:
		return "roundrobin"
	case config.BalanceLeastConn:
		return "leastconn"
	case config.BalanceSource:
		return "source"
	case config.BalanceURI:
		return "uri"
	case config.BalanceHdr:
		return "hdr"
	case config.BalanceRandom:
		return "random"
	case config.BalanceURLParam:
		return "url_param"
	}
	return fmt.Sprintf("balance%d", a)
}

func actionName(a config.HTTPAction) string {
	if a == config.ActionReturn {
		return "return"
	}
	return fmt.Sprintf("action%d", a)
}

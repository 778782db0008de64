package translate

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/config"
)

// randomCluster changes a cluster at random drawn from a small universe of names,
// so that Ingresses collide on hosts and paths, share Services, name missing
// ones and disagree on settings.
type randomCluster struct {
	t   testing.TB
	r   *rand.Rand
	age int
}

var (
	memoNamespaces = []string{"a", "b"}
	memoServices   = []string{"web", "api", "gone"}
	memoHosts      = []string{"x.example", "y.example", "*.example", "", "bad_host"}
	memoPaths      = []string{"/", "/api", "/api/v1", "/x"}
	memoSecrets    = []string{"cert", "other", ""}
)

func (c *randomCluster) pick(list []string) string { return list[c.r.IntN(len(list))] }

// newIngress is one or two rules of one or two paths, and perhaps a
// setting, a default backend or TLS.
func (c *randomCluster) newIngress() []ingOpt {
	var opts []ingOpt
	for range 1 + c.r.IntN(2) {
		var paths []networkingv1.HTTPIngressPath
		for range 1 + c.r.IntN(2) {
			paths = append(paths, prefix(c.pick(memoPaths), c.pick(memoServices), c.port()))
		}
		opts = append(opts, rule(c.pick(memoHosts), paths...))
	}
	switch c.r.IntN(6) {
	case 0:
		opts = append(opts, annotate("sluice.dev/affinity", "cookie"))
	case 1:
		opts = append(opts, annotate("sluice.dev/load-balance", "leastconn"))
	case 2:
		opts = append(opts, annotate("sluice.dev/load-balance", "nonsense"))
	case 3:
		opts = append(opts, defaultBackend(c.pick(memoServices), c.port()))
	case 4:
		opts = append(opts, withTLS(c.pick(memoSecrets), c.pick(memoHosts), c.pick(memoHosts)))
		if c.r.IntN(3) == 0 {
			opts = append(opts, annotate("sluice.dev/ssl-redirect", "false"))
		}
	}
	return opts
}

func (c *randomCluster) port() any {
	if c.r.IntN(3) == 0 {
		return "http"
	}
	return 80
}

// step changes one object of s: a new object, never one modified in place.
func (c *randomCluster) step(s *Snapshot) string {
	ns, svc := c.pick(memoNamespaces), c.pick(memoServices[:2])
	key := types.NamespacedName{Namespace: ns, Name: svc}
	switch c.r.IntN(11) {
	case 0, 1, 2:
		name := fmt.Sprintf("ing%d", c.r.IntN(5))
		c.age++
		var opts []ingOpt
		switch c.r.IntN(6) {
		case 0:
			opts = append(opts, noClass())
		case 1:
			opts = append(opts, className_("other"))
		}
		s.Ingresses[types.NamespacedName{Namespace: ns, Name: name}] = ing(ns, name, c.r.IntN(c.age+1), append(c.newIngress(), opts...)...)
		return "ingress " + ns + "/" + name
	case 9:
		// Our class, anew: default or not, and now and then gone.
		if c.r.IntN(4) == 0 {
			delete(s.IngressClasses, DefaultIngressClass)
			return "delete class"
		}
		s.IngressClasses[DefaultIngressClass] = ingressClass(DefaultIngressClass, DefaultControllerName, c.r.IntN(2) == 0)
		return "class"
	case 3:
		for k := range s.Ingresses {
			delete(s.Ingresses, k)
			return "delete ingress " + k.String()
		}
	case 4:
		if c.r.IntN(4) == 0 {
			delete(s.Services, key)
			return "delete service " + key.String()
		}
		if c.r.IntN(4) == 0 {
			s.Services[key] = externalName(ns, svc, "db.example.net", "http:80")
		} else {
			s.Services[key] = service(ns, svc, "http:80/8080")
		}
		return "service " + key.String()
	case 5, 6, 7:
		var eps []string
		for i := range c.r.IntN(4) {
			eps = append(eps, fmt.Sprintf("10.0.%d.%d", c.r.IntN(2), i+1))
		}
		name := fmt.Sprintf("%s-%d", svc, c.r.IntN(2))
		s.EndpointSlices[types.NamespacedName{Namespace: ns, Name: name}] = slice(ns, svc, name, []string{"http:8080"}, eps...)
		return "slice " + ns + "/" + name
	case 10:
		// A Secret anew: valid for one name or another, the same content
		// at a new resourceVersion, broken, of another type, or gone.
		name := c.pick(memoSecrets[:2])
		k := types.NamespacedName{Namespace: ns, Name: name}
		old := s.Secrets[k]
		var sec *corev1.Secret
		switch c.r.IntN(6) {
		case 0:
			delete(s.Secrets, k)
			return "delete secret " + k.String()
		case 1:
			sec = secret(ns, name, corev1.SecretTypeTLS, map[string][]byte{corev1.TLSCertKey: []byte("junk")})
		case 2:
			sec = tlsSecret(c.t, ns, name, "x.example")
			sec.Type = corev1.SecretTypeOpaque
		case 3:
			if old == nil {
				return "nothing"
			}
			sec = old.DeepCopy()
		default:
			sec = tlsSecret(c.t, ns, name, c.pick([]string{"x.example", "*.example"}))
		}
		c.age++
		sec.ResourceVersion = fmt.Sprint(c.age)
		s.Secrets[k] = sec
		return "secret " + k.String()
	case 8:
		s.ConfigMaps[types.NamespacedName{Namespace: "a", Name: "tcp"}] = configMap("a", "tcp", "9000", ns+"/"+svc+":80", "9001", "a/gone:80")
		return "tcp services"
	}
	return "nothing"
}

func cloneSnapshot(s *Snapshot) *Snapshot {
	c := snap()
	for k, v := range s.Ingresses {
		c.Ingresses[k] = v
	}
	for k, v := range s.Services {
		c.Services[k] = v
	}
	for k, v := range s.EndpointSlices {
		c.EndpointSlices[k] = v
	}
	for k, v := range s.ConfigMaps {
		c.ConfigMaps[k] = v
	}
	for k, v := range s.Secrets {
		c.Secrets[k] = v
	}
	clear(c.IngressClasses)
	for k, v := range s.IngressClasses {
		c.IngressClasses[k] = v
	}
	return c
}

// TestTranslatorEqualsTranslate: after every change of a random sequence, a
// Translator that reuses its previous work gives exactly what translating
// the snapshot from scratch gives, and backends that did not change are the
// previous values themselves.
func TestTranslatorEqualsTranslate(t *testing.T) {
	opts := testOptions
	opts.TCPServicesConfigMap = types.NamespacedName{Namespace: "a", Name: "tcp"}
	opts.HTTPSAddr = ":8443"
	opts.DefaultCertificate = types.NamespacedName{Namespace: "a", Name: "cert"}
	opts.FallbackCertificate = fallbackCert(t)
	tlsSteps, redirects := 0, 0
	for seed := range uint64(20) {
		c := &randomCluster{t: t, r: rand.New(rand.NewPCG(seed, 1))}
		s := snap()
		for range 6 {
			c.step(s)
		}
		tr := NewTranslator(opts)
		prev := tr.Translate(s)
		reused := 0
		for i := range 60 {
			what := c.step(s)
			snapshot := cloneSnapshot(s)
			got := tr.Translate(snapshot)
			want := Translate(snapshot, opts)
			if g, w := dump(got.Config), dump(want.Config); g != w {
				t.Fatalf("seed %d, step %d (%s): config differs from a translation from scratch:\n%s", seed, i, what, diff(g, w))
			}
			if g, w := got.Config.String(), want.Config.String(); g != w {
				t.Fatalf("seed %d, step %d (%s): printed config differs:\n%s", seed, i, what, diff(g, w))
			}
			if g, w := eventLines(got.Events), eventLines(want.Events); g != w {
				t.Fatalf("seed %d, step %d (%s): events differ:\n%s", seed, i, what, diff(g, w))
			}
			if fmt.Sprint(got.Ingresses) != fmt.Sprint(want.Ingresses) {
				t.Fatalf("seed %d, step %d (%s): Ingresses %v, want %v", seed, i, what, got.Ingresses, want.Ingresses)
			}
			if fmt.Sprint(got.Secrets) != fmt.Sprint(want.Secrets) {
				t.Fatalf("seed %d, step %d (%s): Secrets %v, want %v", seed, i, what, got.Secrets, want.Secrets)
			}
			if !reflect.DeepEqual(got.Config.Certificates, want.Config.Certificates) {
				t.Fatalf("seed %d, step %d (%s): certificates differ", seed, i, what)
			}
			tlsSteps += len(got.Config.Certificates) - 1
			redirects += len(got.Config.Frontends[0].HTTPRequest)
			reused += countShared(prev.Config, got.Config)
			prev = got
		}
		if reused == 0 {
			t.Errorf("seed %d: no backend was ever reused", seed)
		}
	}
	// The sequences do exercise TLS.
	if tlsSteps == 0 || redirects == 0 {
		t.Errorf("%d Ingress certificates and %d redirects in all", tlsSteps, redirects)
	}
}

// countShared counts the backends of b that are a's own values.
func countShared(a, b *config.Config) int {
	old := map[*config.Backend]bool{}
	for _, be := range a.Backends {
		old[be] = true
	}
	n := 0
	for _, be := range b.Backends {
		if old[be] {
			n++
		}
	}
	return n
}

// TestTranslatorReusesUnchanged: a change to one Ingress or one Service's
// endpoints leaves every other backend and route condition the very value
// the previous translation built.
func TestTranslatorReusesUnchanged(t *testing.T) {
	s := snap()
	for i := range 20 {
		ns, name := "default", fmt.Sprintf("svc%d", i)
		s.Services[types.NamespacedName{Namespace: ns, Name: name}] = service(ns, name, "http:80/8080")
		s.EndpointSlices[types.NamespacedName{Namespace: ns, Name: name + "-1"}] = slice(ns, name, name+"-1", []string{"http:8080"}, fmt.Sprintf("10.0.0.%d", i+1))
		s.Ingresses[types.NamespacedName{Namespace: ns, Name: name}] = ing(ns, name, i, rule(name+".example", prefix("/", name, 80), prefix("/x", name, 80)))
	}
	tr := NewTranslator(testOptions)
	before := tr.Translate(cloneSnapshot(s))

	s.EndpointSlices[types.NamespacedName{Namespace: "default", Name: "svc3-1"}] = slice("default", "svc3", "svc3-1", []string{"http:8080"}, "10.9.9.9")
	s.Ingresses[types.NamespacedName{Namespace: "default", Name: "svc7"}] = ing("default", "svc7", 7, rule("new.example", prefix("/", "svc7", 80)))
	after := tr.Translate(cloneSnapshot(s))

	oldBackends := map[string]*config.Backend{}
	for _, b := range before.Config.Backends {
		oldBackends[b.Name] = b
	}
	for _, b := range after.Config.Backends {
		changed := b.Name == "default_svc3_80"
		if shared := oldBackends[b.Name] == b; shared == changed {
			t.Errorf("backend %s: shared with the previous translation: %v, want %v", b.Name, shared, !changed)
		}
	}
	oldConds := map[*config.Condition]bool{}
	for _, u := range before.Config.Frontends[0].UseBackends {
		oldConds[u.Cond] = true
	}
	for _, u := range after.Config.Frontends[0].UseBackends {
		changed := u.Backend == "default_svc7_80"
		if shared := oldConds[u.Cond]; shared == changed {
			t.Errorf("condition of %s: shared with the previous translation: %v, want %v", dumpCond(u.Cond), shared, !changed)
		}
	}
}

// TestMemoStaysBounded: what the objects of earlier translations left in
// the memo is dropped, however many of them come and go.
func TestMemoStaysBounded(t *testing.T) {
	const n = 20
	s := snap()
	tr := NewTranslator(testOptions)
	for round := range 10 {
		for i := range n {
			ns, name := "default", fmt.Sprintf("svc%d", i)
			s.Services[types.NamespacedName{Namespace: ns, Name: name}] = service(ns, name, "http:80/8080")
			s.Ingresses[types.NamespacedName{Namespace: ns, Name: name}] = ing(ns, name, i,
				rule(fmt.Sprintf("h%d-%d.example", round, i), prefix("/", name, 80)))
		}
		tr.Translate(cloneSnapshot(s))
		m := tr.memo
		if len(m.ingresses) > 2*n || len(m.conds) > 2*n || len(m.resolved) > 2*n || len(m.backends) > 2*n+1 {
			t.Fatalf("round %d: memo holds %d Ingresses, %d routes, %d Service ports, %d backends for %d of each",
				round, len(m.ingresses), len(m.conds), len(m.resolved), len(m.backends), n)
		}
	}
}

// TestMemoAfterAbsence: an Ingress that sat out translations long enough
// for the memo to drop its entries finds them anew when it comes back, and
// still wins its conflicts.
func TestMemoAfterAbsence(t *testing.T) {
	s := snap()
	for _, name := range []string{"web", "api"} {
		s.Services[types.NamespacedName{Namespace: "a", Name: name}] = service("a", name, "http:80/8080")
	}
	older := ing("a", "older", 1, rule("x.example", prefix("/", "web", 80)))
	s.Ingresses[types.NamespacedName{Namespace: "a", Name: "older"}] = older
	s.Ingresses[types.NamespacedName{Namespace: "a", Name: "newer"}] = ing("a", "newer", 2, rule("x.example", prefix("/", "api", 80)))
	tr := NewTranslator(testOptions)
	tr.Translate(cloneSnapshot(s))
	class := s.IngressClasses[DefaultIngressClass]
	delete(s.IngressClasses, DefaultIngressClass)
	tr.Translate(cloneSnapshot(s)) // uses nothing: the memo drops it all
	s.IngressClasses[DefaultIngressClass] = class
	s.Ingresses[types.NamespacedName{Namespace: "a", Name: "newer"}] = ing("a", "newer", 2, rule("x.example", prefix("/", "api", 80)))
	got := tr.Translate(cloneSnapshot(s))
	want := Translate(cloneSnapshot(s), testOptions)
	if g, w := got.Config.String(), want.Config.String(); g != w {
		t.Fatalf("config differs from a translation from scratch:\n%s", diff(g, w))
	}
	if g, w := eventLines(got.Events), eventLines(want.Events); g != w {
		t.Fatalf("events differ:\n%s", diff(g, w))
	}
}

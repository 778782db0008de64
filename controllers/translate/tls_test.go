package translate

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/config"
)

// httpFrontendDump is the dump of the HTTP frontend alone.
func httpFrontendDump(c *config.Config) string {
	d := dump(c)
	if i := strings.Index(d, "\nfrontend "); i >= 0 {
		d = d[:i+1]
	}
	if i := strings.Index(d, "\nbackend "); i >= 0 {
		d = d[:i+1]
	}
	return d
}

// redirectLine is the frontend line of the redirect of exact and wildcard
// host patterns (space-separated, either may be empty).
func redirectLine(exact, wildcards string) string {
	const plain, acme = "!{ ssl_fc } ", " } !{ path_beg /.well-known/acme-challenge/ }"
	var alts []string
	if exact != "" {
		alts = append(alts, plain+"{ host "+exact+acme)
	}
	if wildcards != "" {
		alts = append(alts, plain+"{ host_reg "+wildcards+acme)
	}
	return "  http-request redirect scheme https code 308 if " + strings.Join(alts, " || ") + "\n"
}

// toWeb routes host to the Service web.
func toWeb(host string) ingOpt { return rule(host, prefix("/", "web", 80)) }

func TestTLS(t *testing.T) {
	fallback := fallbackCert(t)
	https := Options{HTTPAddr: ":8080", HTTPSAddr: ":8443", FallbackCertificate: fallback}
	withDefault := https
	withDefault.DefaultCertificate = types.NamespacedName{Namespace: "sluice", Name: "default"}
	noCerts := Options{HTTPAddr: ":8080", HTTPSAddr: ":8443"}

	crt := func(names ...string) []byte { return testCert(t, false, names...).crt }
	key := func(names ...string) []byte { return testCert(t, false, names...).key }
	data := func(crt, key []byte) map[string][]byte {
		return map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key}
	}

	// fe is the dump of the HTTP frontend with the HTTPS bind's crt
	// arguments (none: no bind) and redirect line.
	fe := func(crts, redirect string) string {
		d := "frontend http\n  mode http\n  bind :8080\n"
		if crts != "" {
			d += "  bind :8443 ssl " + crts + "\n"
		}
		return d + "  option forwardfor\n" + redirect +
			"  use_backend default_web_80 if { host foo.com }\n  default_backend sluice-default-404\n"
	}
	cases := []struct {
		name     string
		opts     Options
		objs     []runtime.Object
		frontend string // the dump of the HTTP frontend
		events   string
		secrets  string // Result.Secrets
	}{
		{
			name:     "no HTTPS address: spec.tls is ignored, and said so",
			opts:     testOptions,
			objs:     objs(ing("default", "a", 0, withTLS("cert", "foo.com"), toWeb("foo.com")), tlsSecret(t, "default", "cert", "foo.com")),
			frontend: fe("", ""),
			events: `
				Ingress default/a Warning TLSDisabled: spec.tls is ignored: sluice has no HTTPS listener, so its hosts are served over plain HTTP only
				`,
			secrets: "[]",
		},
		{
			name:     "the fallback certificate alone",
			opts:     https,
			objs:     objs(ing("default", "a", 0, toWeb("foo.com"))),
			frontend: fe("crt @sluice-fallback", ""),
			secrets:  "[]",
		},
		{
			name:     "no certificate at all: no HTTPS listener, no redirect",
			opts:     noCerts,
			objs:     objs(ing("default", "a", 0, withTLS("", "foo.com"), toWeb("foo.com"))),
			frontend: fe("", ""),
			secrets:  "[]",
		},
		{
			name: "no default certificate: the oldest Ingress's is the first",
			opts: noCerts,
			objs: objs(
				ing("default", "b", 1, withTLS("b", "foo.com"), toWeb("foo.com")),
				ing("default", "a", 2, withTLS("a", "foo.com")),
				tlsSecret(t, "default", "a", "foo.com"), tlsSecret(t, "default", "b", "foo.com"),
			),
			frontend: fe("crt @default/b crt @default/a", redirectLine("foo.com", "")),
			secrets:  "[default/a default/b]",
		},
		{
			name:     "the default certificate from its Secret",
			opts:     withDefault,
			objs:     objs(ing("default", "a", 0, toWeb("foo.com")), tlsSecret(t, "sluice", "default", "*.example.com")),
			frontend: fe("crt @sluice/default", ""),
			secrets:  "[sluice/default]",
		},
		{
			name:     "a missing default certificate: the fallback",
			opts:     withDefault,
			objs:     objs(ing("default", "a", 0, toWeb("foo.com"))),
			frontend: fe("crt @sluice-fallback", ""),
			secrets:  "[sluice/default]",
		},
		{
			name: "an invalid default certificate: the fallback",
			opts: withDefault,
			objs: objs(ing("default", "a", 0, toWeb("foo.com")),
				secret("sluice", "default", corev1.SecretTypeTLS, data(crt("a.com"), key("b.com")))),
			frontend: fe("crt @sluice-fallback", ""),
			secrets:  "[sluice/default]",
		},
		{
			name: "a default certificate not of type kubernetes.io/tls: the fallback",
			opts: withDefault,
			objs: objs(ing("default", "a", 0, toWeb("foo.com")),
				secret("sluice", "default", corev1.SecretTypeOpaque, data(crt("a.com"), key("a.com")))),
			frontend: fe("crt @sluice-fallback", ""),
			secrets:  "[sluice/default]",
		},
		{
			name: "an invalid default certificate and no fallback: the Ingresses' certificates only",
			opts: func() Options { o := withDefault; o.FallbackCertificate = &config.Certificate{}; return o }(),
			objs: objs(ing("default", "a", 0, withTLS("a"), toWeb("foo.com")), tlsSecret(t, "default", "a", "foo.com"),
				secret("sluice", "default", corev1.SecretTypeTLS, data(nil, nil))),
			frontend: fe("crt @default/a", ""),
			secrets:  "[default/a sluice/default]",
		},
		{
			name: "order: oldest Ingress first, then namespace and name; each Secret once, the default first",
			opts: withDefault,
			objs: objs(
				ing("a", "x", 2, withTLS("shared", "x.a.com"), withTLS("x", "x.a.com")),
				ing("a", "y", 1, withTLS("y", "y.a.com"), withTLS("shared", "y.a.com")),
				ing("b", "z", 1, withTLS("z", "z.b.com")),
				ing("sluice", "admin", 3, withTLS("default", "admin.example.com")),
				ing("default", "a", 0, toWeb("foo.com")),
				tlsSecret(t, "a", "shared", "*.a.com"), tlsSecret(t, "a", "x", "x.a.com"), tlsSecret(t, "a", "y", "y.a.com"),
				tlsSecret(t, "b", "z", "z.b.com"), tlsSecret(t, "sluice", "default", "*.example.com"),
			),
			frontend: fe("crt @sluice/default crt @a/y crt @a/shared crt @b/z crt @a/x", redirectLine("admin.example.com x.a.com y.a.com z.b.com", "")),
			secrets:  "[a/shared a/x a/y b/z sluice/default]",
		},
		{
			name: "unusable Secrets are reported; their hosts get the default certificate, and the redirect",
			opts: https,
			objs: objs(
				ing("default", "a", 0, toWeb("foo.com"),
					withTLS("gone", "foo.com"),
					withTLS("opaque", "foo.com"),
					withTLS("untyped", "foo.com"),
					withTLS("nocrt", "foo.com"),
					withTLS("nokey", "foo.com"),
					withTLS("junk", "foo.com"),
					withTLS("mismatch", "foo.com")),
				secret("default", "opaque", corev1.SecretTypeOpaque, data(crt("foo.com"), key("foo.com"))),
				secret("default", "untyped", "", data(crt("foo.com"), key("foo.com"))),
				secret("default", "nocrt", corev1.SecretTypeTLS, data(nil, key("foo.com"))),
				secret("default", "nokey", corev1.SecretTypeTLS, data(crt("foo.com"), nil)),
				secret("default", "junk", corev1.SecretTypeTLS, data([]byte("junk"), []byte("junk"))),
				secret("default", "mismatch", corev1.SecretTypeTLS, data(crt("foo.com"), key("bar.com"))),
			),
			frontend: fe("crt @sluice-fallback", redirectLine("foo.com", "")),
			events: `
				Ingress default/a Warning TLSSecretNotFound: Secret default/gone not found (it must be of type kubernetes.io/tls); its hosts get the default certificate
				Ingress default/a Warning TLSSecretNotFound: Secret default/opaque is of type Opaque: a TLS Secret must be of type kubernetes.io/tls; its hosts get the default certificate
				Ingress default/a Warning TLSSecretNotFound: Secret default/untyped is of type Opaque: a TLS Secret must be of type kubernetes.io/tls; its hosts get the default certificate
				Ingress default/a Warning InvalidTLSSecret: Secret default/nocrt has no tls.crt; its hosts get the default certificate
				Ingress default/a Warning InvalidTLSSecret: Secret default/nokey has no tls.key; its hosts get the default certificate
				Ingress default/a Warning InvalidTLSSecret: Secret default/junk: tls: failed to find any PEM data in certificate input; its hosts get the default certificate
				Ingress default/a Warning InvalidTLSSecret: Secret default/mismatch: tls: private key does not match public key; its hosts get the default certificate
				`,
			secrets: "[default/gone default/junk default/mismatch default/nocrt default/nokey default/opaque default/untyped]",
		},
		{
			name: "hosts the certificate does not cover",
			opts: https,
			objs: objs(
				ing("default", "a", 0, toWeb("foo.com"),
					annotate("sluice.dev/ssl-redirect", "false"),
					withTLS("cert", "FOO.com", "x.bar.com", "*.bar.com", "bar.com", "a.x.bar.com", "*.foo.com", "*.x.bar.com", "other.com"),
					withTLS("cn", "cn.example.com", "www.cn.example.com"),
					withTLS("nameless", "foo.com")),
				secret("default", "nameless", corev1.SecretTypeTLS, data(testCert(t, true, "").crt, testCert(t, true, "").key)),
				tlsSecret(t, "default", "cert", "foo.com", "*.BAR.com"),
				secret("default", "cn", corev1.SecretTypeTLS, data(testCert(t, true, "CN.example.com.").crt, testCert(t, true, "CN.example.com.").key)),
			),
			frontend: fe("crt @sluice-fallback crt @default/cert crt @default/cn crt @default/nameless", ""),
			events: `
				Ingress default/a Warning TLSHostMismatch: host bar.com is not covered by the certificate of Secret default/cert (names: foo.com, *.bar.com); clients asking for it get the default certificate
				Ingress default/a Warning TLSHostMismatch: host a.x.bar.com is not covered by the certificate of Secret default/cert (names: foo.com, *.bar.com); clients asking for it get the default certificate
				Ingress default/a Warning TLSHostMismatch: host *.foo.com is not covered by the certificate of Secret default/cert (names: foo.com, *.bar.com); clients asking for it get the default certificate
				Ingress default/a Warning TLSHostMismatch: host *.x.bar.com is not covered by the certificate of Secret default/cert (names: foo.com, *.bar.com); clients asking for it get the default certificate
				Ingress default/a Warning TLSHostMismatch: host other.com is not covered by the certificate of Secret default/cert (names: foo.com, *.bar.com); clients asking for it get the default certificate
				Ingress default/a Warning TLSHostMismatch: host www.cn.example.com is not covered by the certificate of Secret default/cn (names: cn.example.com); clients asking for it get the default certificate
				Ingress default/a Warning TLSHostMismatch: host foo.com is not covered by the certificate of Secret default/nameless (names: none); clients asking for it get the default certificate
				`,
			secrets: "[default/cert default/cn default/nameless]",
		},
		{
			name: "redirect: any Ingress that lists a host without opting out, sorted",
			opts: https,
			objs: objs(
				ing("default", "a", 0, toWeb("foo.com"), withTLS("", "foo.com", "b.com", "*.w.com"), withTLS("", "a.com")),
				ing("default", "optout", 1, annotate("sluice.dev/ssl-redirect", "false"), withTLS("", "optout.com", "a.com", "*.optout.com")),
				ing("default", "nginx", 2, annotate("nginx.ingress.kubernetes.io/ssl-redirect", "false"), withTLS("", "nginx.com")),
				ing("default", "both", 3, annotate("sluice.dev/ssl-redirect", "true", "nginx.ingress.kubernetes.io/ssl-redirect", "false"), withTLS("", "both.com")),
				ing("default", "invalid", 4, annotate("sluice.dev/ssl-redirect", "no"), withTLS("", "invalid.com")),
				ing("default", "hosts", 5, withTLS("", "bad_host", "", "10.0.0.1", "*.Z.com"), withTLS("")),
			),
			frontend: fe("crt @sluice-fallback", redirectLine("a.com b.com both.com foo.com invalid.com", `^[^.]+\.w\.com$ ^[^.]+\.z\.com$`)),
			events: `
				Ingress default/hosts Warning InvalidHost: spec.tls[0].hosts[0] "bad_host": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'); host ignored
				Ingress default/hosts Warning InvalidHost: spec.tls[0].hosts[1] "": empty host; host ignored
				Ingress default/hosts Warning InvalidHost: spec.tls[0].hosts[2] "10.0.0.1": must be a DNS name, not an IP address; host ignored
				Ingress default/invalid Warning InvalidAnnotation: annotation sluice.dev/ssl-redirect: "no" is not true or false; using the default (true)
				`,
			secrets: "[]",
		},
		{
			name:     "redirect of wildcards alone",
			opts:     https,
			objs:     objs(ing("default", "a", 0, toWeb("foo.com"), withTLS("", "*.foo.com"))),
			frontend: fe("crt @sluice-fallback", redirectLine("", `^[^.]+\.foo\.com$`)),
			secrets:  "[]",
		},
		{
			name: "an HTTPS address with a host",
			opts: Options{HTTPAddr: "127.0.0.1:8080", HTTPSAddr: "[::1]:8443", FallbackCertificate: fallback},
			frontend: "frontend http\n  mode http\n  bind 127.0.0.1:8080\n  bind [::1]:8443 ssl crt @sluice-fallback\n" +
				"  option forwardfor\n  default_backend sluice-default-404\n",
			secrets: "[]",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all := append(objs(web("default", "web")), tc.objs...)
			// Neither another class's Ingresses nor their Secrets matter.
			all = append(all, ing("default", "theirs", 0, className_("other"), withTLS("theirs", "foo.com")),
				tlsSecret(t, "default", "theirs", "foo.com"))
			res := Translate(snap(all...), tc.opts)
			checkValid(t, res.Config)
			if got, want := httpFrontendDump(res.Config), tc.frontend; got != want {
				t.Errorf("frontend:\n%s\n%s", got, diff(got, want))
			}
			if got, want := eventLines(res.Events), trimIndent(tc.events); got != want {
				t.Errorf("events:\n%s\n%s", got, diff(got, want))
			}
			if got := fmt.Sprint(res.Secrets); got != tc.secrets {
				t.Errorf("secrets = %s, want %s", got, tc.secrets)
			}
			checkCertificates(t, res.Config)
		})
	}
}

// checkCertificates asserts that Config.Certificates holds exactly the
// certificates the binds name, each one valid.
func checkCertificates(t *testing.T, c *config.Config) {
	t.Helper()
	named := map[string]bool{}
	for _, f := range c.Frontends {
		for _, b := range f.Binds {
			if b.TLS == nil {
				continue
			}
			for _, crt := range b.TLS.Certificates {
				name, ok := config.CertRef(crt)
				if !ok {
					t.Errorf("crt %q is not in memory", crt)
				}
				if named[name] {
					t.Errorf("crt %q listed twice", crt)
				}
				named[name] = true
			}
		}
	}
	if len(named) != len(c.Certificates) {
		t.Errorf("binds name %d certificates, the config has %d", len(named), len(c.Certificates))
	}
	for name, cert := range c.Certificates {
		if !named[name] {
			t.Errorf("certificate %q is not named by a bind", name)
		}
		if len(cert.CertPEM) == 0 || len(cert.KeyPEM) == 0 {
			t.Errorf("certificate %q is empty", name)
		}
	}
}

// TestRedirectRequests runs requests through the redirect rule.
func TestRedirectRequests(t *testing.T) {
	s := snap(objs(web("default", "web"),
		ing("default", "a", 0, toWeb("foo.com"), toWeb("plain.com"), withTLS("", "foo.com", "*.wild.com")),
		ing("default", "b", 1, annotate("sluice.dev/ssl-redirect", "false"), withTLS("", "optout.com")),
	)...)
	res := Translate(s, Options{HTTPAddr: ":80", HTTPSAddr: ":443", FallbackCertificate: fallbackCert(t)})
	checkValid(t, res.Config)
	fe := res.Config.Frontends[0]
	if len(fe.HTTPRequest) != 1 {
		t.Fatalf("http-request rules: %+v", fe.HTTPRequest)
	}
	r := fe.HTTPRequest[0]
	if r.Action != config.ActionRedirect || *r.Redirect != (config.Redirect{Kind: config.RedirectScheme, Value: "https", Code: 308}) {
		t.Fatalf("rule %+v %+v", r, r.Redirect)
	}
	for _, tc := range []struct {
		host, path string
		tls        bool
		want       bool
	}{
		{"foo.com", "/", false, true},
		{"FOO.com:80", "/x?y", false, true},
		{"foo.com", "/", true, false},
		{"foo.com", "/.well-known/acme-challenge/token", false, false},
		{"foo.com", "/.well-known/acme-challenge", false, true},
		{"foo.com", "/.well-known/other", false, true},
		{"a.wild.com", "/", false, true},
		{"a.wild.com", "/", true, false},
		{"a.b.wild.com", "/", false, false},
		{"wild.com", "/", false, false},
		{"awild.com", "/", false, false},
		{"plain.com", "/", false, false},
		{"optout.com", "/", false, false},
		{"", "/", false, false},
	} {
		host := strings.ToLower(tc.host)
		if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
		path, _, _ := strings.Cut(tc.path, "?")
		if got := evalCondTLS(t, r.Cond, host, path, tc.tls); got != tc.want {
			t.Errorf("%s %s (tls %v): redirected %v, want %v", tc.host, tc.path, tc.tls, got, tc.want)
		}
	}
}

func TestCertCovers(t *testing.T) {
	names := []string{"foo.com", "*.bar.com", "*.x.y.com"}
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"foo.com", true},
		{"www.foo.com", false},
		{"*.foo.com", false},
		{"a.bar.com", true},
		{"bar.com", false},
		{"a.b.bar.com", false},
		{"*.bar.com", true},
		{"*.a.bar.com", false},
		{"z.x.y.com", true},
		{"x.y.com", false},
		{"abar.com", false},
	} {
		h, err := parseHost(tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if got := certCovers(names, h); got != tc.want {
			t.Errorf("%s: covered %v, want %v", tc.host, got, tc.want)
		}
	}
	if certCovers(nil, hostMatch{kind: hostExact, name: "foo.com"}) {
		t.Error("no names cover foo.com")
	}
}

// TestCertificateReuse: a Translator gives an unchanged Secret the same
// *config.Certificate translation after translation, so the dataplane
// does not parse it again, and a new one once its content changes.
func TestCertificateReuse(t *testing.T) {
	opts := Options{HTTPAddr: ":80", HTTPSAddr: ":443", FallbackCertificate: fallbackCert(t),
		DefaultCertificate: types.NamespacedName{Namespace: "sluice", Name: "default"}}
	s := snap(objs(web("default", "web"),
		ing("default", "a", 0, toWeb("foo.com"), withTLS("foo", "foo.com")),
		ing("default", "b", 1, toWeb("bar.com"), withTLS("bar", "bar.com")),
		ing("default", "b2", 2, withTLS("bar", "bar.com")),
		tlsSecret(t, "default", "foo", "foo.com"),
		tlsSecret(t, "default", "bar", "bar.com"),
		tlsSecret(t, "sluice", "default", "*.example.com"),
	)...)
	tr := NewTranslator(opts)
	first := tr.Translate(cloneSnapshot(s)).Config
	certsOf := func(c *config.Config) map[string]*config.Certificate {
		t.Helper()
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if len(c.Certificates) != 3 {
			t.Fatalf("certificates: %v", c.Certificates)
		}
		return c.Certificates
	}
	before := certsOf(first)

	// An unrelated change: every certificate, and the bind's TLS
	// settings, are the previous values.
	s.Ingresses[types.NamespacedName{Namespace: "default", Name: "c"}] = ing("default", "c", 2, toWeb("baz.com"))
	second := tr.Translate(cloneSnapshot(s)).Config
	for name, c := range certsOf(second) {
		if before[name] != c {
			t.Errorf("%s: a new *config.Certificate for an unchanged Secret", name)
		}
	}
	if first.Frontends[0].Binds[1].TLS != second.Frontends[0].Binds[1].TLS {
		t.Error("the same certificates: a new *config.BindTLS")
	}

	// A new object of the same resourceVersion is the same Secret; so is
	// a new resourceVersion of the same content (a label changed).
	foo := *s.Secrets[types.NamespacedName{Namespace: "default", Name: "foo"}]
	s.Secrets[types.NamespacedName{Namespace: "default", Name: "foo"}] = &foo
	bar := *s.Secrets[types.NamespacedName{Namespace: "default", Name: "bar"}]
	bar.ResourceVersion = "2"
	bar.Labels = map[string]string{"renewed": "no"}
	s.Secrets[types.NamespacedName{Namespace: "default", Name: "bar"}] = &bar
	third := tr.Translate(cloneSnapshot(s)).Config
	for name, c := range certsOf(third) {
		if before[name] != c {
			t.Errorf("%s: a new *config.Certificate for the same content", name)
		}
	}

	// Renewed: a new resourceVersion with new content.
	renewed := tlsSecret(t, "default", "bar", "bar.com", "www.bar.com")
	renewed.ResourceVersion = "3"
	s.Secrets[types.NamespacedName{Namespace: "default", Name: "bar"}] = renewed
	res4 := tr.Translate(cloneSnapshot(s))
	fourth := res4.Config
	after := certsOf(fourth)
	checkCertificates(t, fourth)
	if got, want := fmt.Sprint(res4.Secrets), "[default/bar default/foo sluice/default]"; got != want {
		t.Errorf("secrets = %s, want %s", got, want)
	}
	for name, c := range after {
		if changed := name == "default/bar"; (before[name] != c) != changed {
			t.Errorf("%s: new pointer %v, want %v", name, before[name] != c, changed)
		}
	}
	if string(after["default/bar"].CertPEM) != string(renewed.Data[corev1.TLSCertKey]) {
		t.Error("default/bar: not the renewed certificate")
	}
	if first.Frontends[0].Binds[1].TLS != fourth.Frontends[0].Binds[1].TLS {
		t.Error("the same crt list: a new *config.BindTLS")
	}

	// The package's Translate, with nothing to reuse, gives the same.
	scratch := Translate(cloneSnapshot(s), opts).Config
	if g, w := scratch.String(), fourth.String(); g != w {
		t.Errorf("differs from a translation from scratch:\n%s", diff(g, w))
	}
	for name, c := range scratch.Certificates {
		if string(c.CertPEM) != string(after[name].CertPEM) || string(c.KeyPEM) != string(after[name].KeyPEM) {
			t.Errorf("%s differs from a translation from scratch", name)
		}
	}

	// A Secret first seen without its data, then the same version with
	// it (a cache that keeps only the identity of unreferenced Secrets).
	key := types.NamespacedName{Namespace: "default", Name: "baz"}
	s.Ingresses[types.NamespacedName{Namespace: "default", Name: "c"}] = ing("default", "c", 2, toWeb("baz.com"), withTLS("baz", "baz.com"))
	full := tlsSecret(t, "default", "baz", "baz.com")
	bare := full.DeepCopy()
	bare.Data = nil
	s.Secrets[key] = bare
	if c := tr.Translate(cloneSnapshot(s)).Config.Certificates; c["default/baz"] != nil {
		t.Errorf("a Secret without data is served: %v", c)
	}
	s.Secrets[key] = full
	if c := tr.Translate(cloneSnapshot(s)).Config.Certificates; c["default/baz"] == nil {
		t.Errorf("the same version of a Secret with its data is not served: %v", c)
	}
	delete(s.Secrets, key)
	delete(s.Ingresses, types.NamespacedName{Namespace: "default", Name: "c"})

	// A broken renewal, then its fix: reported, then served again.
	broken := secret("default", "bar", corev1.SecretTypeTLS, map[string][]byte{corev1.TLSCertKey: []byte("x"), corev1.TLSPrivateKeyKey: []byte("y")})
	broken.ResourceVersion = "4"
	s.Secrets[types.NamespacedName{Namespace: "default", Name: "bar"}] = broken
	res := tr.Translate(cloneSnapshot(s))
	if c := res.Config.Certificates; len(c) != 2 || c["default/bar"] != nil {
		t.Errorf("certificates with a broken Secret: %v", c)
	}
	if !strings.Contains(eventLines(res.Events), "InvalidTLSSecret: Secret default/bar") {
		t.Errorf("events: %s", eventLines(res.Events))
	}
	s.Secrets[types.NamespacedName{Namespace: "default", Name: "bar"}] = renewed
	if c := certsOf(tr.Translate(cloneSnapshot(s)).Config); c["default/bar"] == nil || string(c["default/bar"].CertPEM) != string(renewed.Data[corev1.TLSCertKey]) {
		t.Error("a Secret fixed after a broken version is not served")
	}
}

// TestTLSConfigPrints: the translated configuration passes the config
// package's checks and prints its in-memory certificates as crt @NAME.
func TestTLSConfigPrints(t *testing.T) {
	s := snap(objs(web("default", "web"),
		ing("default", "a", 0, toWeb("foo.com"), withTLS("foo", "foo.com", "*.foo.com")),
		tlsSecret(t, "default", "foo", "foo.com", "*.foo.com"),
	)...)
	res := Translate(s, Options{HTTPAddr: ":80", HTTPSAddr: ":443", FallbackCertificate: fallbackCert(t)})
	if err := res.Config.Validate(); err != nil {
		t.Fatal(err)
	}
	printed := res.Config.String()
	for _, want := range []string{
		"bind :443 ssl crt @sluice-fallback crt @default/foo\n",
		`http-request redirect scheme https code 308 if !{ ssl_fc } { host foo.com } !{ path_beg /.well-known/acme-challenge/ } || !{ ssl_fc } { host_reg ^[^.]+\.foo\.com$ } !{ path_beg /.well-known/acme-challenge/ }` + "\n",
	} {
		if !strings.Contains(printed, want) {
			t.Errorf("printed config lacks %q:\n%s", want, printed)
		}
	}
}

// TestSecretsResult: Result.Secrets names what the translation looked at,
// and nothing else, and is the previous slice while unchanged.
func TestSecretsResult(t *testing.T) {
	opts := Options{HTTPAddr: ":80", HTTPSAddr: ":443", FallbackCertificate: fallbackCert(t),
		DefaultCertificate: types.NamespacedName{Namespace: "sluice", Name: "default"}}
	s := snap(
		ing("b", "one", 0, withTLS("cert", "foo.com"), withTLS("", "bar.com")),
		ing("a", "two", 1, withTLS("missing"), withTLS("cert")),
		ing("a", "other", 2, className_("other"), withTLS("theirs")),
		tlsSecret(t, "b", "cert", "foo.com"),
		tlsSecret(t, "a", "unrelated", "foo.com"),
	)
	tr := NewTranslator(opts)
	first := tr.Translate(cloneSnapshot(s))
	if got, want := fmt.Sprint(first.Secrets), "[a/cert a/missing b/cert sluice/default]"; got != want {
		t.Errorf("secrets = %s, want %s", got, want)
	}
	second := tr.Translate(cloneSnapshot(s))
	if &second.Secrets[0] != &first.Secrets[0] {
		t.Error("the same Secrets: a new slice")
	}
	delete(s.Ingresses, types.NamespacedName{Namespace: "a", Name: "two"})
	third := tr.Translate(cloneSnapshot(s))
	if got, want := fmt.Sprint(third.Secrets), "[b/cert sluice/default]"; got != want {
		t.Errorf("secrets = %s, want %s", got, want)
	}
	if got := fmt.Sprint(first.Secrets); got != "[a/cert a/missing b/cert sluice/default]" {
		t.Errorf("an earlier result changed: %s", got)
	}
	// As many Secrets as before, but another one.
	s.Ingresses[types.NamespacedName{Namespace: "b", Name: "one"}] = ing("b", "one", 0, withTLS("renamed", "foo.com"))
	fourth := tr.Translate(cloneSnapshot(s))
	if got, want := fmt.Sprint(fourth.Secrets), "[b/renamed sluice/default]"; got != want {
		t.Errorf("secrets = %s, want %s", got, want)
	}
	// Without an HTTPS address no Secret matters.
	if res := Translate(cloneSnapshot(s), testOptions); len(res.Secrets) != 0 {
		t.Errorf("secrets without HTTPS: %v", res.Secrets)
	}
}

// TestSecretMemoStaysBounded: the entries of Secrets no longer named are
// dropped.
func TestSecretMemoStaysBounded(t *testing.T) {
	const n = 10
	tr := NewTranslator(Options{HTTPAddr: ":80", HTTPSAddr: ":443"})
	for round := range 6 {
		s := snap()
		for i := range n {
			name := fmt.Sprintf("cert-%d-%d", round, i)
			s.Ingresses[types.NamespacedName{Namespace: "default", Name: fmt.Sprint(i)}] = ing("default", fmt.Sprint(i), i, withTLS(name, "foo.com"))
			s.Secrets[types.NamespacedName{Namespace: "default", Name: name}] = tlsSecret(t, "default", name, "foo.com")
		}
		res := tr.Translate(s)
		if len(res.Config.Certificates) != n {
			t.Fatalf("round %d: %d certificates", round, len(res.Config.Certificates))
		}
		if len(tr.memo.secrets) > 2*n {
			t.Fatalf("round %d: the memo holds %d Secrets for %d", round, len(tr.memo.secrets), n)
		}
	}
}

func TestHTTPSOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o  Options
		ok bool
	}{
		{Options{HTTPAddr: ":80", HTTPSAddr: ":443"}, true},
		{Options{HTTPAddr: ":80", HTTPSAddr: "127.0.0.1:443"}, true},
		{Options{HTTPAddr: "127.0.0.1:80", HTTPSAddr: "127.0.0.2:80"}, true},
		{Options{HTTPAddr: ":80", HTTPSAddr: ":443", DefaultCertificate: types.NamespacedName{Namespace: "a", Name: "b"}}, true},
		{Options{HTTPAddr: ":80", HTTPSAddr: ":80"}, false},
		{Options{HTTPAddr: "127.0.0.1:80", HTTPSAddr: "0.0.0.0:80"}, false},
		{Options{HTTPAddr: ":80", HTTPSAddr: "*:80"}, false},
		{Options{HTTPAddr: ":80", HTTPSAddr: "443"}, false},
		{Options{HTTPAddr: ":80", HTTPSAddr: ":https"}, false},
		{Options{HTTPAddr: ":80", HTTPSAddr: "localhost:443"}, false},
		{Options{HTTPAddr: ":80", HTTPSAddr: ":443", DefaultCertificate: types.NamespacedName{Name: "b"}}, false},
		{Options{HTTPAddr: ":80", HTTPSAddr: ":443", DefaultCertificate: types.NamespacedName{Namespace: "a"}}, false},
	} {
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v", tc.o, err)
		}
	}
	// An invalid address, which Validate refuses, gives no listener
	// rather than a broken one.
	res := Translate(nil, Options{HTTPAddr: ":80", HTTPSAddr: "443", FallbackCertificate: fallbackCert(t)})
	if b := res.Config.Frontends[0].Binds; len(b) != 1 {
		t.Errorf("binds = %+v", b)
	}
}

func TestTCPServiceOnHTTPSPort(t *testing.T) {
	tcpCM := types.NamespacedName{Namespace: "ingress", Name: "tcp-services"}
	s := snap(objs(web("default", "web"), configMap("ingress", "tcp-services", "8443", "default/web:80", "9000", "default/web:80"))...)
	for _, tc := range []struct {
		opts  Options
		ports []string
	}{
		{Options{HTTPAddr: ":8080", HTTPSAddr: ":8443", TCPServicesConfigMap: tcpCM}, []string{"tcp_9000"}},
		// Kept without certificates too: none could appear later.
		{Options{HTTPAddr: ":8080", HTTPSAddr: "127.0.0.1:8443", TCPServicesConfigMap: tcpCM}, []string{"tcp_9000"}},
		{Options{HTTPAddr: ":8080", HTTPSAddr: "127.0.0.1:8443", TCPServicesConfigMap: tcpCM, TCPBindAddress: "127.0.0.2"}, []string{"tcp_8443", "tcp_9000"}},
		{Options{HTTPAddr: ":8080", TCPServicesConfigMap: tcpCM}, []string{"tcp_8443", "tcp_9000"}},
	} {
		res := Translate(s, tc.opts)
		checkValid(t, res.Config)
		var got []string
		for _, f := range res.Config.Frontends[1:] {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, tc.ports) {
			t.Errorf("%+v: TCP frontends %v, want %v", tc.opts, got, tc.ports)
		}
		conflict := strings.Contains(eventLines(res.Events), `PortConflict: key "8443": port 8443 is the HTTPS port; entry ignored`)
		if conflict != (len(got) == 1) {
			t.Errorf("%+v: events %s", tc.opts, eventLines(res.Events))
		}
	}
}

// TestSecretWithoutParsedLeaf: the names are read from the certificate
// even when crypto/tls leaves the leaf unparsed (GODEBUG x509keypairleaf=0).
func TestSecretWithoutParsedLeaf(t *testing.T) {
	t.Setenv("GODEBUG", "x509keypairleaf=0")
	e := parseSecret(types.NamespacedName{Namespace: "a", Name: "b"}, tlsSecret(t, "a", "b", "leaf.example"))
	if e.prob != nil || !slices.Equal(e.names, []string{"leaf.example"}) {
		t.Errorf("names %v, problem %v", e.names, e.prob)
	}
}

// TestRedirectFollowsChanges: a Translator's redirect rule is always the
// one a translation from scratch makes, hosts coming, going and repeating.
func TestRedirectFollowsChanges(t *testing.T) {
	opts := Options{HTTPAddr: ":80", HTTPSAddr: ":443", FallbackCertificate: fallbackCert(t)}
	tr := NewTranslator(opts)
	s := snap()
	for i, step := range [][2][]string{
		{{"a.com"}, {"b.com", "a.com"}},
		{{"a.com"}, {"a.com"}}, // b.com gone, a.com twice
		{{"a.com"}, {"a.com"}},
		{{"a.com", "*.w.com"}, nil},
		{nil, nil},
		{{"b.com"}, {"a.com"}},
	} {
		s.Ingresses[types.NamespacedName{Namespace: "default", Name: "x"}] = ing("default", "x", 0, withTLS("", step[0]...))
		s.Ingresses[types.NamespacedName{Namespace: "default", Name: "y"}] = ing("default", "y", 1, withTLS("", step[1]...))
		got, want := tr.Translate(cloneSnapshot(s)), Translate(cloneSnapshot(s), opts)
		if g, w := dump(got.Config), dump(want.Config); g != w {
			t.Fatalf("step %d: %s", i, diff(g, w))
		}
	}
}

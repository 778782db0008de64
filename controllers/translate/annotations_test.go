package translate

import (
	"strings"
	"testing"
	"time"
)

// backendSection extracts one backend from a dump.
func backendSection(dumped, name string) string {
	start := strings.Index(dumped, "\nbackend "+name+"\n")
	if start < 0 {
		return ""
	}
	rest := dumped[start+1:]
	if end := strings.Index(rest, "\nbackend "); end >= 0 {
		return rest[:end+1]
	}
	return rest
}

func TestAnnotations(t *testing.T) {
	const servers = "" +
		"  server 10.0.0.1:8080 10.0.0.1:8080\n" +
		"  server 10.0.0.2:8080 10.0.0.2:8080\n"
	// Cookie values: the first 12 hex digits of sha256("10.0.0.1:8080") and
	// sha256("10.0.0.2:8080"), computed with sha256sum.
	const cookieServers = "" +
		"  server 10.0.0.1:8080 10.0.0.1:8080 cookie 120e9814c44c\n" +
		"  server 10.0.0.2:8080 10.0.0.2:8080 cookie 23ef3555f56c\n"
	cases := []struct {
		name    string
		anns    []string
		backend string // after "backend default_web_80\n  mode http\n"
		events  string
	}{
		{name: "none", backend: servers},

		// Affinity.
		{
			name:    "affinity cookie with its defaults",
			anns:    []string{"sluice.dev/affinity", "cookie"},
			backend: "  cookie SLUICEID insert indirect nocache httponly\n" + cookieServers,
		},
		{
			name: "every cookie annotation",
			anns: []string{
				"sluice.dev/affinity", "cookie",
				"sluice.dev/session-cookie-name", "route",
				"sluice.dev/session-cookie-mode", "insert",
				"sluice.dev/session-cookie-max-age", "3600",
				"sluice.dev/session-cookie-path", "/app",
				"sluice.dev/session-cookie-samesite", "lax",
				"sluice.dev/session-cookie-secure", "true",
			},
			backend: `  cookie route insert indirect nocache httponly secure attr "Max-Age=3600" attr "Path=/app" attr "SameSite=Lax"` + "\n" + cookieServers,
		},
		{
			name:    "cookie mode rewrite",
			anns:    []string{"sluice.dev/affinity", "cookie", "sluice.dev/session-cookie-mode", "rewrite", "sluice.dev/session-cookie-name", "JSESSIONID", "sluice.dev/session-cookie-secure", "false"},
			backend: "  cookie JSESSIONID rewrite\n" + cookieServers,
		},
		{
			name:    "cookie mode prefix",
			anns:    []string{"sluice.dev/affinity", "cookie", "sluice.dev/session-cookie-mode", "prefix", "sluice.dev/session-cookie-samesite", "None"},
			backend: `  cookie SLUICEID prefix attr "SameSite=None"` + "\n" + cookieServers,
		},
		{
			name:    "invalid affinity",
			anns:    []string{"sluice.dev/affinity", "ip", "sluice.dev/load-balance", "leastconn"},
			backend: "  balance leastconn\n" + servers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/affinity: "ip" is not a supported affinity (only "cookie" is); using the default (none)
				`,
		},
		{
			name: "invalid cookie values fall back to their defaults, one by one",
			anns: []string{
				"sluice.dev/affinity", "cookie",
				"sluice.dev/session-cookie-name", "my cookie",
				"sluice.dev/session-cookie-mode", "sticky",
				"sluice.dev/session-cookie-max-age", "-1",
				"sluice.dev/session-cookie-path", "app",
				"sluice.dev/session-cookie-samesite", "Sometimes",
				"sluice.dev/session-cookie-secure", "yes",
			},
			backend: "  cookie SLUICEID insert indirect nocache httponly\n" + cookieServers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-name: "my cookie" contains " ", which a name cannot hold; using the default (SLUICEID)
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-mode: "sticky" is not insert, rewrite or prefix; using the default (insert)
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-max-age: "-1" is not a positive number of seconds; using the default (none (a session cookie))
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-path: "app" does not start with /; using the default (/)
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-samesite: "Sometimes" is not Strict, Lax or None; using the default (none (the browser's default))
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-secure: "yes" is not true or false; using the default (false)
				`,
		},
		{
			name: "more invalid cookie values",
			anns: []string{
				"sluice.dev/affinity", "cookie",
				"sluice.dev/session-cookie-name", "",
				"sluice.dev/session-cookie-max-age", "1h",
				"sluice.dev/session-cookie-path", "/a;b",
			},
			backend: "  cookie SLUICEID insert indirect nocache httponly\n" + cookieServers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-name: empty name; using the default (SLUICEID)
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-max-age: "1h" is not a positive number of seconds; using the default (none (a session cookie))
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-path: "/a;b" contains ";", which a cookie attribute cannot hold; using the default (/)
				`,
		},
		{
			name: "cookie settings without affinity are reported and ignored",
			anns: []string{
				"sluice.dev/session-cookie-name", "route",
				"sluice.dev/session-cookie-secure", "true",
				"nginx.ingress.kubernetes.io/session-cookie-name", "route",
			},
			backend: servers,
			events: `
				Ingress default/web Warning UnusedAnnotation: annotation sluice.dev/session-cookie-name has no effect without sluice.dev/affinity: cookie
				Ingress default/web Warning UnusedAnnotation: annotation sluice.dev/session-cookie-secure has no effect without sluice.dev/affinity: cookie
				`,
		},

		// ingress-nginx aliases.
		{
			name: "nginx aliases",
			anns: []string{
				"nginx.ingress.kubernetes.io/affinity", "cookie",
				"nginx.ingress.kubernetes.io/session-cookie-name", "route",
				"nginx.ingress.kubernetes.io/session-cookie-max-age", "172800",
				"nginx.ingress.kubernetes.io/session-cookie-path", "/shop",
				"nginx.ingress.kubernetes.io/session-cookie-samesite", "Strict",
				"nginx.ingress.kubernetes.io/session-cookie-secure", "true",
				"nginx.ingress.kubernetes.io/proxy-connect-timeout", "3",
				"nginx.ingress.kubernetes.io/proxy-read-timeout", "600",
				// No counterpart (ingress-nginx's load-balance takes
				// other values): reported, ignored.
				"nginx.ingress.kubernetes.io/session-cookie-expires", "172800",
				"nginx.ingress.kubernetes.io/load-balance", "ewma",
			},
			backend: "  timeout connect 3s\n  timeout server 10m0s\n" +
				`  cookie route insert indirect nocache httponly secure attr "Max-Age=172800" attr "Path=/shop" attr "SameSite=Strict"` + "\n" + cookieServers,
			events: `
				Ingress default/web Warning UnsupportedAnnotation: annotation nginx.ingress.kubernetes.io/load-balance is an ingress-nginx feature sluice does not implement; ignored
				Ingress default/web Warning UnsupportedAnnotation: annotation nginx.ingress.kubernetes.io/session-cookie-expires is an ingress-nginx feature sluice does not implement; ignored
				`,
		},
		{
			name: "sluice.dev wins over nginx, even when invalid",
			anns: []string{
				"nginx.ingress.kubernetes.io/affinity", "cookie",
				"sluice.dev/session-cookie-name", "mine",
				"nginx.ingress.kubernetes.io/session-cookie-name", "theirs",
				"sluice.dev/session-cookie-max-age", "soon",
				"nginx.ingress.kubernetes.io/session-cookie-max-age", "60",
			},
			backend: "  cookie mine insert indirect nocache httponly\n" + cookieServers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/session-cookie-max-age: "soon" is not a positive number of seconds; using the default (none (a session cookie))
				`,
		},
		{
			name:    "invalid nginx alias",
			anns:    []string{"nginx.ingress.kubernetes.io/affinity", "balanced"},
			backend: servers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation nginx.ingress.kubernetes.io/affinity: "balanced" is not a supported affinity (only "cookie" is); using the default (none)
				`,
		},

		// Load balancing.
		{name: "roundrobin", anns: []string{"sluice.dev/load-balance", "roundrobin"}, backend: servers},
		{name: "leastconn", anns: []string{"sluice.dev/load-balance", "leastconn"}, backend: "  balance leastconn\n" + servers},
		{name: "source", anns: []string{"sluice.dev/load-balance", "source"}, backend: "  balance source\n" + servers},
		{name: "random", anns: []string{"sluice.dev/load-balance", "random"}, backend: "  balance random\n" + servers},
		{name: "uri", anns: []string{"sluice.dev/load-balance", "uri"}, backend: "  balance uri\n" + servers},
		{name: "hdr", anns: []string{"sluice.dev/load-balance", "hdr(X-User)"}, backend: "  balance hdr(X-User)\n" + servers},
		{name: "url_param", anns: []string{"sluice.dev/load-balance", "url_param user"}, backend: "  balance url_param(user)\n" + servers},
		{
			name: "hash is not implemented", anns: []string{"sluice.dev/load-balance", "hash"}, backend: servers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/load-balance: "hash": algorithm "hash" is not supported by sluice; using the default (roundrobin)
				`,
		},
		{
			name: "invalid balance", anns: []string{"sluice.dev/load-balance", "round_robin"}, backend: servers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/load-balance: "round_robin": unknown algorithm "round_robin"; using the default (roundrobin)
				`,
		},
		{
			name: "invalid hdr", anns: []string{"sluice.dev/load-balance", "hdr(X User)"}, backend: servers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/load-balance: "hdr(X User)": unknown algorithm "hdr(X"; using the default (roundrobin)
				`,
		},

		// Timeouts.
		{
			name:    "timeouts in plain seconds",
			anns:    []string{"sluice.dev/proxy-connect-timeout", "5", "sluice.dev/proxy-read-timeout", "120"},
			backend: "  timeout connect 5s\n  timeout server 2m0s\n" + servers,
		},
		{
			name:    "timeouts as durations",
			anns:    []string{"sluice.dev/proxy-connect-timeout", "500ms", "sluice.dev/proxy-read-timeout", "1h"},
			backend: "  timeout connect 500ms\n  timeout server 1h0m0s\n" + servers,
		},
		{
			name:    "invalid timeouts",
			anns:    []string{"sluice.dev/proxy-connect-timeout", "0", "sluice.dev/proxy-read-timeout", "5.5"},
			backend: servers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/proxy-connect-timeout: "0" is not between 1ms and 596h31m23.647s; using the default (the dataplane's)
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/proxy-read-timeout: invalid time unit ".5" in "5.5": want us, ms, s, m, h or d; using the default (the dataplane's)
				`,
		},

		// Others.
		{
			name:    "unknown sluice.dev annotations, unsupported ingress-nginx ones; other prefixes are not ours to judge",
			anns:    []string{"sluice.dev/rewrite-target", "/", "sluice.dev/Affinity", "cookie", "nginx.ingress.kubernetes.io/rewrite-target", "/", "example.com/x", "y", "kubernetes.io/tls-acme", "true"},
			backend: servers,
			events: `
				Ingress default/web Warning UnknownAnnotation: annotation sluice.dev/Affinity is not a sluice annotation; ignored
				Ingress default/web Warning UnknownAnnotation: annotation sluice.dev/rewrite-target is not a sluice annotation; ignored
				Ingress default/web Warning UnsupportedAnnotation: annotation nginx.ingress.kubernetes.io/rewrite-target is an ingress-nginx feature sluice does not implement; ignored
				`,
		},
		{
			name:    "invalid path-regex",
			anns:    []string{"sluice.dev/path-regex", "1"},
			backend: servers,
			events: `
				Ingress default/web Warning InvalidAnnotation: annotation sluice.dev/path-regex: "1" is not true or false; using the default (false)
				`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(
				ing("default", "web", 0, annotate(tc.anns...), rule("", prefix("/", "web", 80))),
				service("default", "web", "80"),
				slice("default", "web", "web-1", []string{"8080"}, "10.0.0.2", "10.0.0.1"),
			)
			res := Translate(s, testOptions)
			checkValid(t, res.Config)
			got := backendSection(dump(res.Config), "default_web_80")
			want := "backend default_web_80\n  mode http\n" + tc.backend
			if got != want {
				t.Errorf("backend:\n%s\n%s", got, diff(got, want))
			}
			if got, want := eventLines(res.Events), trimIndent(tc.events); got != want {
				t.Errorf("events:\n%s\n%s", got, diff(got, want))
			}
		})
	}
}

// Ingresses that route to one Service port with different backend settings
// get distinct backends; the oldest keeps the plain name.
func TestBackendVariants(t *testing.T) {
	to := func(host string) ingOpt { return rule(host, prefix("/", "web", 80)) }
	s := snap(objs(
		ing("default", "a", 0, to("a.com")),
		ing("default", "b", 1, to("b.com"), annotate("sluice.dev/load-balance", "leastconn")),
		ing("default", "c", 2, to("c.com"), annotate("sluice.dev/load-balance", "leastconn")),
		ing("default", "d", 3, to("d.com"), annotate("sluice.dev/load-balance", "roundrobin")),
		ing("default", "e", 4, to("e.com"), annotate("sluice.dev/affinity", "cookie")),
		ing("default", "f", 5, to("f.com"), annotate("sluice.dev/session-cookie-name", "x")), // no affinity: same as a
		ing("default", "g", 6, to("g.com"), annotate("sluice.dev/proxy-read-timeout", "30")),
		ing("default", "h", 7, to("h.com"), annotate("sluice.dev/proxy-read-timeout", "30s")), // same as g
		ing("default", "i", 8, to("i.com"), annotate("sluice.dev/path-regex", "true")),        // paths only: same as a
		web("default", "web"),
	)...)
	res := Translate(s, testOptions)
	checkValid(t, res.Config)
	fe := res.Config.Frontends[0]
	want := map[string]string{
		"a.com": "default_web_80", "b.com": "default_web_80_b", "c.com": "default_web_80_b",
		"d.com": "default_web_80", "e.com": "default_web_80_e", "f.com": "default_web_80",
		"g.com": "default_web_80_g", "h.com": "default_web_80_g", "i.com": "default_web_80",
	}
	for host, backend := range want {
		if got := routeRequest(t, fe, host, "/"); got != backend {
			t.Errorf("%s routes to %s, want %s", host, got, backend)
		}
	}
	var names []string
	for _, b := range res.Config.Backends {
		names = append(names, b.Name)
	}
	if got, want := strings.Join(names, " "), "default_web_80 default_web_80_b default_web_80_e default_web_80_g sluice-default-404"; got != want {
		t.Errorf("backends = %s, want %s", got, want)
	}
	// The cookie variant must not leak its server cookies into the others.
	for _, b := range res.Config.Backends {
		for _, s := range b.Servers {
			if (s.Cookie != "") != (b.Name == "default_web_80_e") {
				t.Errorf("%s: server %s has cookie %q", b.Name, s.Name, s.Cookie)
			}
		}
	}
	if b := res.Config.Backends[3]; b.Timeouts.Server != 30*time.Second {
		t.Errorf("%s: timeout server %v, want 30s", b.Name, b.Timeouts.Server)
	}
}

func TestParseTimeout(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration // 0: invalid
	}{
		{"1", time.Second},
		{"60", time.Minute},
		{"2147483", 2147483 * time.Second},
		{"2147484", 0}, // past HAProxy's 2^31-1 ms
		{"100us", 100 * time.Microsecond},
		{"1ms", time.Millisecond},
		{"1500ms", 1500 * time.Millisecond},
		{"5s", 5 * time.Second},
		{"2m", 2 * time.Minute},
		{"3h", 3 * time.Hour},
		{"24d", 24 * 24 * time.Hour},
		{"25d", 0},
		{"99999999999d", 0},
		{"0", 0},
		{"0s", 0},
		{"", 0},
		{"s", 0},
		{"-5", 0},
		{"+5", 0},
		{"5 s", 0},
		{"5S", 0},
		{"1.5s", 0},
		{"5sec", 0},
	}
	for _, tc := range cases {
		got, err := parseTimeout(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("parseTimeout(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

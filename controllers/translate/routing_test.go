package translate

import (
	"fmt"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// These tests run requests through the generated use_backend list with the
// evaluator of helpers_test.go, so they check what the conditions mean
// rather than how they are written.

// TestPathMatching is the table of examples of the Kubernetes Ingress
// documentation ("Examples" under "Path types"), plus element-wise cases.
func TestPathMatching(t *testing.T) {
	type p struct {
		kind networkingv1.PathType
		path string
	}
	E := func(s string) p { return p{networkingv1.PathTypeExact, s} }
	P := func(s string) p { return p{networkingv1.PathTypePrefix, s} }
	I := func(s string) p { return p{networkingv1.PathTypeImplementationSpecific, s} }
	cases := []struct {
		paths   []p
		request string
		want    int // index of the matching path, -1 for none
	}{
		{[]p{P("/")}, "/", 0},
		{[]p{P("/")}, "/anything/at/all", 0},
		{[]p{E("/foo")}, "/foo", 0},
		{[]p{E("/foo")}, "/bar", -1},
		{[]p{E("/foo")}, "/foo/", -1},
		{[]p{E("/foo/")}, "/foo", -1},
		{[]p{P("/foo")}, "/foo", 0},
		{[]p{P("/foo")}, "/foo/", 0},
		{[]p{P("/foo/")}, "/foo", 0},
		{[]p{P("/foo/")}, "/foo/", 0},
		{[]p{P("/aaa/bb")}, "/aaa/bbb", -1},
		{[]p{P("/aaa/bbb")}, "/aaa/bbb", 0},
		{[]p{P("/aaa/bbb/")}, "/aaa/bbb", 0},
		{[]p{P("/aaa/bbb")}, "/aaa/bbb/", 0},
		{[]p{P("/aaa/bbb")}, "/aaa/bbb/ccc", 0},
		{[]p{P("/aaa/bbb")}, "/aaa/bbbxyz", -1},
		{[]p{P("/"), P("/aaa")}, "/aaa/ccc", 1},
		{[]p{P("/"), P("/aaa"), P("/aaa/bbb")}, "/aaa/bbb", 2},
		{[]p{P("/"), P("/aaa"), P("/aaa/bbb")}, "/ccc", 0},
		{[]p{P("/aaa")}, "/ccc", -1},
		{[]p{P("/foo"), E("/foo")}, "/foo", 1},
		{[]p{E("/foo"), P("/foo")}, "/foo", 0},
		{[]p{E("/foo"), P("/foo")}, "/foo/x", 1},
		// Beyond the documentation.
		{[]p{P("/foo")}, "/foobar", -1},
		{[]p{P("/foo")}, "/foo//", 0},
		{[]p{P("/foo//")}, "/foo", 0},
		{[]p{I("/foo")}, "/foo/bar", 0},
		{[]p{I("/foo")}, "/foobar", -1},
		{[]p{I("")}, "/x", 0},
		{[]p{P("/a"), P("/a/b/c"), P("/a/b")}, "/a/b/c/d", 1},
		{[]p{P("/a"), P("/a/b/c"), P("/a/b")}, "/a/b/cd", 2},
		{[]p{E("/a/b"), P("/a")}, "/a/b", 0},
		{[]p{E("/a/b/"), P("/a/b")}, "/a/b/", 0}, // Exact /a/b/ is longer
	}
	for _, tc := range cases {
		var desc []string
		var paths []networkingv1.HTTPIngressPath
		var objects []runtime.Object
		for i, p := range tc.paths {
			svc := fmt.Sprintf("svc%d", i)
			desc = append(desc, fmt.Sprintf("%s %q", p.kind, p.path))
			paths = append(paths, pathOf(p.kind, p.path, svc, 80))
			objects = append(objects, web("default", svc)...)
		}
		name := fmt.Sprintf("%s matching %s", strings.Join(desc, ", "), tc.request)
		t.Run(name, func(t *testing.T) {
			objects = append(objects, ing("default", "paths", 0, rule("foo.com", paths...)))
			res := Translate(snap(objects...), testOptions)
			checkValid(t, res.Config)
			if len(res.Events) > 0 {
				t.Fatalf("events:\n%s", eventLines(res.Events))
			}
			want := NotFoundBackend
			if tc.want >= 0 {
				want = fmt.Sprintf("default_svc%d_80", tc.want)
			}
			if got := routeRequest(t, res.Config.Frontends[0], "foo.com", tc.request); got != want {
				t.Errorf("%s routes to %s, want %s", tc.request, got, want)
			}
		})
	}
}

func TestHostMatching(t *testing.T) {
	// Each Ingress is created in an order that puts the less specific
	// first, so precedence cannot come from age.
	s := snap(objs(
		ing("default", "any", 0, rule("", prefix("/", "any", 80))),
		ing("default", "wild", 1, rule("*.foo.com", prefix("/", "wild", 80))),
		ing("default", "deep-wild", 1, rule("*.bar.foo.com", prefix("/", "deepwild", 80))),
		ing("default", "exact", 2, rule("bar.foo.com", prefix("/app", "exact", 80))),
		ing("default", "mixed-case", 3, rule("Shop.Example.COM", prefix("/", "shop", 80))),
		web("default", "any"), web("default", "wild"), web("default", "deepwild"), web("default", "exact"), web("default", "shop"),
	)...)
	res := Translate(s, testOptions)
	checkValid(t, res.Config)
	if len(res.Events) > 0 {
		t.Fatalf("events:\n%s", eventLines(res.Events))
	}
	fe := res.Config.Frontends[0]
	cases := []struct{ host, path, want string }{
		{"bar.foo.com", "/app/x", "default_exact_80"},
		{"BAR.FOO.COM:8080", "/app", "default_exact_80"},
		// An exact host owns its requests: its unmatched paths get the
		// default backend, not the wildcard's nor the catch-all's.
		{"bar.foo.com", "/other", NotFoundBackend},
		{"baz.foo.com", "/other", "default_wild_80"},
		{"Baz.Foo.Com:80", "/", "default_wild_80"},
		// A wildcard covers exactly one label.
		{"x.bar.foo.com", "/", "default_deepwild_80"},
		{"a.b.foo.com", "/", "default_any_80"},
		{"foo.com", "/", "default_any_80"},
		{".foo.com", "/", "default_any_80"},
		{"foo.com.evil.net", "/", "default_any_80"},
		{"xfoo.com", "/", "default_any_80"},
		{"shop.example.com", "/", "default_shop_80"},
		{"shop.example.com:443", "/cart", "default_shop_80"},
		{"other.example.com", "/", "default_any_80"},
		{"", "/", "default_any_80"},
	}
	for _, tc := range cases {
		if got := routeRequest(t, fe, tc.host, tc.path); got != tc.want {
			t.Errorf("Host %q path %s routes to %s, want %s", tc.host, tc.path, got, tc.want)
		}
	}
}

func TestWildcardShadowedOnlyByAnyHost(t *testing.T) {
	s := snap(objs(
		ing("default", "a", 0,
			rule("*.foo.com", prefix("/api", "wild", 80)),
			rule("", prefix("/", "any", 80))),
		web("default", "wild"), web("default", "any"),
	)...)
	fe := Translate(s, testOptions).Config.Frontends[0]
	for _, tc := range []struct{ host, path, want string }{
		{"a.foo.com", "/api/v2", "default_wild_80"},
		{"a.foo.com", "/web", NotFoundBackend},
		{"foo.com", "/web", "default_any_80"},
	} {
		if got := routeRequest(t, fe, tc.host, tc.path); got != tc.want {
			t.Errorf("Host %q path %s routes to %s, want %s", tc.host, tc.path, got, tc.want)
		}
	}
}

func TestPathRegex(t *testing.T) {
	regex := annotate("sluice.dev/path-regex", "true")
	s := snap(objs(
		ing("default", "re", 0, regex, rule("foo.com",
			implSpecific("/foo(/|$)(.*)", "a", 80),
			prefix("^/v[0-9]+/users$", "b", 80),
			exact("/health", "c", 80), // Exact stays exact
			implSpecific("/[", "a", 80))),
		// Another Ingress without the annotation shares the host.
		ing("default", "plain", 1, rule("foo.com", prefix("/foo/bar/baz/quux", "c", 80))),
		web("default", "a"), web("default", "b"), web("default", "c"),
	)...)
	res := Translate(s, testOptions)
	checkValid(t, res.Config)
	want := "Ingress default/re Warning InvalidPath: spec.rules[0].http.paths[3]: path \"/[\" is not a valid regular expression: error parsing regexp: missing closing ]: `[`; path ignored\n"
	if got := eventLines(res.Events); got != want {
		t.Errorf("events:\n%s\n%s", got, diff(got, want))
	}
	fe := res.Config.Frontends[0]
	for _, tc := range []struct{ path, want string }{
		{"/foo", "default_a_80"},
		{"/foo/x", "default_a_80"},
		{"/foobar", NotFoundBackend},
		{"/x/foo", NotFoundBackend}, // anchored at the start
		{"/v2/users", "default_b_80"},
		{"/v2/users/1", NotFoundBackend},
		{"/health", "default_c_80"},
		{"/health/x", NotFoundBackend},
		{"/foo/bar/baz/quux/1", "default_c_80"}, // the longer plain prefix first
	} {
		if got := routeRequest(t, fe, "foo.com", tc.path); got != tc.want {
			t.Errorf("%s routes to %s, want %s", tc.path, got, tc.want)
		}
	}
	got := dump(res.Config)
	for _, line := range []string{
		"use_backend default_c_80 if { host foo.com } { path /foo/bar/baz/quux } || { host foo.com } { path_beg /foo/bar/baz/quux/ }",
		"use_backend default_b_80 if { host foo.com } { path_reg ^/v[0-9]+/users$ }",
		"use_backend default_a_80 if { host foo.com } { path_reg ^/foo(/|$)(.*) }",
		"use_backend default_c_80 if { host foo.com } { path /health }",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("missing %q in\n%s", line, got)
		}
	}
}

func TestUnitParsers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want hostMatch
		bad  bool
	}{
		{"", hostMatch{kind: hostAny}, false},
		{"Foo.COM", hostMatch{hostExact, "foo.com"}, false},
		{"*.foo.com", hostMatch{hostWildcard, "*.foo.com"}, false},
		{"*", hostMatch{}, true},
		{"*.", hostMatch{}, true},
		{"foo.*.com", hostMatch{}, true},
		{"**.foo.com", hostMatch{}, true},
		{"foo_bar.com", hostMatch{}, true},
		{"1.2.3.4", hostMatch{}, true},
		{"foo.com:80", hostMatch{}, true},
	} {
		got, err := parseHost(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseHost(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		pt    networkingv1.PathType
		path  string
		regex bool
		want  pathMatch
		err   string
	}{
		{networkingv1.PathTypeExact, "/a/b/", false, pathMatch{pathExact, "/a/b/"}, ""},
		{networkingv1.PathTypePrefix, "/a/b//", false, pathMatch{pathPrefix, "/a/b"}, ""},
		{networkingv1.PathTypePrefix, "/", false, pathMatch{pathPrefix, ""}, ""},
		{networkingv1.PathTypePrefix, "/~user/a-b_c.d/!$&'()*+,;=:@/%7Cx", false, pathMatch{pathPrefix, "/~user/a-b_c.d/!$&'()*+,;=:@/%7Cx"}, ""},
		{networkingv1.PathTypeImplementationSpecific, "", false, pathMatch{pathPrefix, ""}, ""},
		{networkingv1.PathTypePrefix, "", false, pathMatch{}, "must start with /"},
		{networkingv1.PathTypePrefix, "/foo(/|$)(.*)", false, pathMatch{}, `holds "|"`},
		{networkingv1.PathTypeExact, "/a b", false, pathMatch{}, `holds " "`},
		{networkingv1.PathTypeImplementationSpecific, "/[a-z]+", false, pathMatch{}, "path-regex"},
		{networkingv1.PathTypePrefix, "/x%zz", false, pathMatch{}, `holds "%"`},
		{networkingv1.PathTypePrefix, "/x%4", false, pathMatch{}, `holds "%"`},
		{networkingv1.PathTypePrefix, "/foo(/|$)(.*)", true, pathMatch{pathRegex, "^/foo(/|$)(.*)"}, ""},
		{networkingv1.PathTypeImplementationSpecific, "^/a$", true, pathMatch{pathRegex, "^/a$"}, ""},
		{networkingv1.PathTypePrefix, "/", true, pathMatch{pathPrefix, ""}, ""}, // the catch-all stays one
		{networkingv1.PathTypeExact, "/a|b", true, pathMatch{}, `holds "|"`},    // Exact is never a regex
		{networkingv1.PathTypePrefix, "/(", true, pathMatch{}, "not a valid regular expression"},
	} {
		got, err := parsePath(pathOf(tc.pt, tc.path, "x", 80), tc.regex)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("%s %q regex=%v: %+v, %v; want %+v", tc.pt, tc.path, tc.regex, got, err, tc.want)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s %q regex=%v: %+v, %v; want an error about %s", tc.pt, tc.path, tc.regex, got, err, tc.err)
		}
	}
}

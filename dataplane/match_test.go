package dataplane

import (
	"net/netip"
	"strings"
	"testing"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/h1"
)

// parseReq parses a raw request head for matching tests.
func parseReq(t testing.TB, raw string) *h1.Request {
	t.Helper()
	r := &h1.Request{}
	if err := r.Parse([]byte(raw), true); err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return r
}

func TestMatchers(t *testing.T) {
	get := func(target string, headers ...string) string {
		s := "GET " + target + " HTTP/1.1\r\nHost: Example.COM:8080\r\n"
		for _, h := range headers {
			s += h + "\r\n"
		}
		return s + "\r\n"
	}
	acl := func(f config.Fetch, m config.Match, vals ...string) config.ACL {
		return config.ACL{Fetch: f, Match: m, Values: vals}
	}
	hdr := func(name string, m config.Match, vals ...string) config.ACL {
		a := acl(config.FetchHdr, m, vals...)
		a.Arg = name
		return a
	}
	param := func(f config.Fetch, name string, vals ...string) config.ACL {
		a := acl(f, config.MatchStr, vals...)
		a.Arg = name
		return a
	}
	cases := []struct {
		name string
		acl  config.ACL
		req  string
		want bool
	}{
		{"path_beg hit", acl(config.FetchPath, config.MatchBeg, "/blog"), get("/blog/x"), true},
		{"path_beg prefix of word", acl(config.FetchPath, config.MatchBeg, "/blog"), get("/blogging"), true},
		{"path_beg miss", acl(config.FetchPath, config.MatchBeg, "/blog"), get("/"), false},
		{"path_beg ignores query", acl(config.FetchPath, config.MatchBeg, "/a?b"), get("/a?b"), false},
		{"path exact", acl(config.FetchPath, config.MatchStr, "/a"), get("/a?x=1"), true},
		{"path exact miss", acl(config.FetchPath, config.MatchStr, "/a"), get("/a/"), false},
		{"path_end", acl(config.FetchPath, config.MatchEnd, ".css", ".js"), get("/s/app.js"), true},
		{"path_sub", acl(config.FetchPath, config.MatchSub, "admin"), get("/x/admin/y"), true},
		{"path_reg", acl(config.FetchPath, config.MatchReg, `^/v[0-9]+/`), get("/v2/users"), true},
		{"path_reg miss", acl(config.FetchPath, config.MatchReg, `^/v[0-9]+/`), get("/vx/users"), false},
		{"path_dir middle", acl(config.FetchPath, config.MatchDir, "img"), get("/static/img/a.png"), true},
		{"path_dir partial element", acl(config.FetchPath, config.MatchDir, "img"), get("/static/imgs/a.png"), false},
		{"url with query", acl(config.FetchURL, config.MatchSub, "x=1"), get("/a?x=1"), true},
		{"method", acl(config.FetchMethod, config.MatchStr, "POST", "GET"), get("/"), true},
		{"method miss", acl(config.FetchMethod, config.MatchStr, "POST"), get("/"), false},
		{"hdr(host) sees the port", hdr("host", config.MatchStr, "example.com"), get("/"), false},
		{"host strips port, any case", acl(config.FetchHost, config.MatchStr, "example.com"), get("/"), true},
		{"host suffix", acl(config.FetchHost, config.MatchEnd, ".com"), get("/"), true},
		{"hdr_dom", hdr("x-site", config.MatchDom, "example"), get("/", "X-Site: www.example.org"), true},
		{"hdr_dom partial label", hdr("x-site", config.MatchDom, "exam"), get("/", "X-Site: www.example.org"), false},
		{"hdr list values", hdr("X-L", config.MatchStr, "b"), get("/", "X-L: a, b ,c"), true},
		{"hdr found", hdr("x-l", config.MatchFound), get("/", "X-L: a"), true},
		{"hdr found absent", hdr("x-l", config.MatchFound), get("/"), false},
		{"url_param", param(config.FetchURLParam, "id", "42"), get("/p?a=1&id=42"), true},
		{"url_param absent", param(config.FetchURLParam, "id", "42"), get("/p?a=42"), false},
		{"req.cook", param(config.FetchCookie, "id", "beta"), get("/", "Cookie: a=1; id=beta"), true},
		{"src in CIDR", acl(config.FetchSrc, config.MatchIP, "10.0.0.0/8", "192.168.1.1"), get("/"), true},
	}
	many := func(f config.Fetch, fold bool, extra ...string) config.ACL {
		a := acl(f, config.MatchStr, append([]string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"}, extra...)...)
		a.IgnoreCase = fold
		return a
	}
	cases = append(cases, []struct {
		name string
		acl  config.ACL
		req  string
		want bool
	}{
		{"host among many", many(config.FetchHost, false, "EXAMPLE.com"), get("/"), true},
		{"host among many, miss", many(config.FetchHost, false, "example.org"), get("/"), false},
		{"path among many", many(config.FetchPath, false, "/a"), get("/a?x"), true},
		{"path among many is case-sensitive", many(config.FetchPath, false, "/A"), get("/a"), false},
		{"path among many with -i", many(config.FetchPath, true, "/A"), get("/a"), true},
		{"long path among many with -i", many(config.FetchPath, true, "/"+strings.Repeat("X", 300)), get("/" + strings.Repeat("x", 300)), true},
	}...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.acl
			m, err := compileACL(&a)
			if err != nil {
				t.Fatal(err)
			}
			var r request
			r.reset(parseReq(t, c.req), netip.MustParseAddr("10.1.2.3"), nil)
			if got := m.eval(&r); got != c.want {
				t.Fatalf("%+v on %q = %v, want %v", a, c.req, got, c.want)
			}
		})
	}
}

func TestIgnoreCase(t *testing.T) {
	a := config.ACL{Fetch: config.FetchPath, Match: config.MatchBeg, IgnoreCase: true, Values: []string{"/BLOG"}}
	m, err := compileACL(&a)
	if err != nil {
		t.Fatal(err)
	}
	var r request
	r.reset(parseReq(t, "GET /blog/x HTTP/1.1\r\nHost: x\r\n\r\n"), netip.Addr{}, nil)
	if !m.eval(&r) {
		t.Fatal("-i did not ignore case")
	}
	a.IgnoreCase = false
	m, _ = compileACL(&a)
	if m.eval(&r) {
		t.Fatal("without -i case must matter")
	}
}

func TestConditions(t *testing.T) {
	acls := []config.ACL{
		{Name: "blog", Fetch: config.FetchPath, Match: config.MatchBeg, Values: []string{"/blog"}},
		{Name: "post", Fetch: config.FetchMethod, Match: config.MatchStr, Values: []string{"POST"}},
		// Two lines with one name are ORed.
		{Name: "static", Fetch: config.FetchPath, Match: config.MatchEnd, Values: []string{".css"}},
		{Name: "static", Fetch: config.FetchPath, Match: config.MatchEnd, Values: []string{".js"}},
	}
	scope, err := newACLScope(acls, nil)
	if err != nil {
		t.Fatal(err)
	}
	term := func(name string, neg bool) config.Term { return config.Term{Name: name, Negate: neg} }
	inline := func(v string) config.Term {
		return config.Term{Inline: &config.ACL{Fetch: config.FetchPath, Match: config.MatchStr, Values: []string{v}}}
	}
	cases := []struct {
		name string
		c    *config.Condition
		req  string
		want bool
	}{
		{"AND both", &config.Condition{Or: [][]config.Term{{term("blog", false), term("post", false)}}}, "POST /blog HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"AND one", &config.Condition{Or: [][]config.Term{{term("blog", false), term("post", false)}}}, "GET /blog HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"OR", &config.Condition{Or: [][]config.Term{{term("post", false)}, {term("blog", false)}}}, "GET /blog HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"NOT", &config.Condition{Or: [][]config.Term{{term("blog", true)}}}, "GET /blog HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"unless", &config.Condition{Unless: true, Or: [][]config.Term{{term("blog", false)}}}, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"same-name ORed", &config.Condition{Or: [][]config.Term{{term("static", false)}}}, "GET /a.js HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"anonymous", &config.Condition{Or: [][]config.Term{{inline("/exact")}}}, "GET /exact HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"predefined METH_GET", &config.Condition{Or: [][]config.Term{{term("METH_GET", false)}}}, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"predefined HTTP_1.1", &config.Condition{Or: [][]config.Term{{term("HTTP_1.1", false)}}}, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"predefined HTTP_1.0", &config.Condition{Or: [][]config.Term{{term("HTTP_1.0", false)}}}, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"predefined FALSE", &config.Condition{Or: [][]config.Term{{term("FALSE", false)}}}, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc, err := scope.compileCond(c.c)
			if err != nil {
				t.Fatal(err)
			}
			var r request
			r.reset(parseReq(t, c.req), netip.Addr{}, nil)
			if got := cc.eval(&r); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	if _, err := scope.compileCond(&config.Condition{Or: [][]config.Term{{term("nope", false)}}}); err == nil {
		t.Fatal("unknown acl accepted")
	}
}

package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// inBackend wraps directives in a backend section.
func backendSrc(lines string) string { return "backend b\n" + lines + "\n" }

// inFrontend wraps directives in a frontend whose default backend exists.
func frontendSrc(lines string) string {
	return "frontend f\n    bind :80\n" + lines + "\n    default_backend b\nbackend b\n    server s 127.0.0.1:8000\n"
}

func fe(c *Config) *Frontend { return c.Frontends[0] }
func be(c *Config) *Backend  { return c.Backends[0] }

// modelCase parses src and compares one part of the model, ignoring Pos.
type modelCase struct {
	name string
	src  string
	got  func(*Config) any
	want any
}

func runModelCases(t *testing.T, cases []modelCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := parseOK(t, tc.src)
			got := tc.got(c)
			if !equalIgnoringPos(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", withoutPos(got), tc.want)
			}
		})
	}
}

func srv(name, host string, port int) Server { return NewServer(name, host, port) }

func TestParseGlobalAndProxy(t *testing.T) {
	runModelCases(t, []modelCase{
		{"global maxconn", "global\n maxconn 5000\n", func(c *Config) any { return c.Global.MaxConn }, 5000},
		{"frontend maxconn", frontendSrc(" maxconn 77"), func(c *Config) any { return fe(c).MaxConn }, 77},
		{"mode default http", backendSrc(""), func(c *Config) any { return be(c).Mode }, ModeHTTP},
		{"mode tcp", backendSrc(" mode tcp"), func(c *Config) any { return be(c).Mode }, ModeTCP},
		{"mode http", backendSrc(" mode tcp\n mode http"), func(c *Config) any { return be(c).Mode }, ModeHTTP},
		{"retries default", backendSrc(""), func(c *Config) any { return be(c).Retries }, 3},
		{"retries", backendSrc(" retries 0"), func(c *Config) any { return be(c).Retries }, 0},
		{"dynamic-cookie-key", backendSrc(" dynamic-cookie-key s3cret"), func(c *Config) any { return be(c).DynamicCookieKey }, "s3cret"},
		{"default_backend", frontendSrc(""), func(c *Config) any { return fe(c).DefaultBackend }, "b"},
		{"use_backend plain", frontendSrc(" use_backend b"), func(c *Config) any { return fe(c).UseBackends },
			[]UseBackend{{Backend: "b"}}},
		{"use_backend if", frontendSrc(" acl a path /x\n use_backend b if a"), func(c *Config) any { return fe(c).UseBackends },
			[]UseBackend{{Backend: "b", Cond: &Condition{Or: [][]Term{{{Name: "a"}}}}}}},
		{"use_backend unless", frontendSrc(" use_backend b unless { src 10.0.0.1 }"), func(c *Config) any { return fe(c).UseBackends[0].Cond },
			&Condition{Unless: true, Or: [][]Term{{{Inline: &ACL{Fetch: FetchSrc, Match: MatchIP, Values: []string{"10.0.0.1"}}}}}}},
	})
}

func TestParseBind(t *testing.T) {
	binds := func(c *Config) any { return fe(c).Binds }
	runModelCases(t, []modelCase{
		{"star", frontendSrc(" bind *:81"), binds, []Bind{{Port: 80}, {Port: 81}}},
		{"empty host", frontendSrc(""), binds, []Bind{{Port: 80}}},
		{"ipv4 any", frontendSrc(" bind 0.0.0.0:81"), binds, []Bind{{Port: 80}, {Host: "0.0.0.0", Port: 81}}},
		{"ipv4", frontendSrc(" bind 127.0.0.1:8080"), binds, []Bind{{Port: 80}, {Host: "127.0.0.1", Port: 8080}}},
		{"ipv6 brackets", frontendSrc(" bind [::1]:81"), binds, []Bind{{Port: 80}, {Host: "::1", Port: 81}}},
		{"ipv6 any bare", "frontend f\n bind :::80\n", binds, []Bind{{Host: "::", Port: 80}}},
		{"ipv6 bare", frontendSrc(" bind 2001:db8::1:81"), binds, []Bind{{Port: 80}, {Host: "2001:db8::1", Port: 81}}},
		{"ipv4@", "frontend f\n bind ipv4@:80\n", binds, []Bind{{Host: "0.0.0.0", Port: 80}}},
		{"ipv6@", "frontend f\n bind ipv6@:80\n", binds, []Bind{{Host: "::", Port: 80}}},
		{"list", "frontend f\n bind 127.0.0.1:1,127.0.0.1:2\n", binds, []Bind{{Host: "127.0.0.1", Port: 1}, {Host: "127.0.0.1", Port: 2}}},
		{"ssl", "frontend f\n bind :443 ssl crt /a.pem\n", binds,
			[]Bind{{Port: 443, TLS: &BindTLS{Certificates: []string{"/a.pem"}}}}},
		{"ssl two certs alpn", "frontend f\n bind :443 alpn h2,http/1.1 crt /a.pem ssl crt /b.pem\n", binds,
			[]Bind{{Port: 443, TLS: &BindTLS{Certificates: []string{"/a.pem", "/b.pem"}, ALPN: []string{"http/1.1"}}}}},
		{"tcp keeps alpn", "frontend f\n mode tcp\n bind :443 ssl crt /a.pem alpn h2,x\n", binds,
			[]Bind{{Port: 443, TLS: &BindTLS{Certificates: []string{"/a.pem"}, ALPN: []string{"h2", "x"}}}}},
	})
}

// HAProxy configurations offer h2 in TLS; mode http speaks HTTP/1.x, so
// the offer is dropped with a warning instead of refusing the line.
func TestParseHTTPALPNDropsH2(t *testing.T) {
	for _, src := range []string{
		"frontend f\n bind :443 ssl crt /a.pem alpn h2,http/1.1\n",
		"listen l\n bind :443 ssl crt /a.pem alpn h2,http/1.1\n server s 127.0.0.1:1\n",
	} {
		c, warns := parseOK(t, src)
		if got := c.Frontends[0].Binds[0].TLS.ALPN; len(got) != 1 || got[0] != "http/1.1" {
			t.Errorf("%q: ALPN = %q, want [http/1.1]", src, got)
		}
		if len(warns) != 1 || warns[0].Pos.Line != 2 || !strings.Contains(warns[0].Msg, "alpn h2 not offered") {
			t.Errorf("%q: warnings = %v", src, warns)
		}
	}
}

func TestParseBalance(t *testing.T) {
	bal := func(c *Config) any { return be(c).Balance }
	runModelCases(t, []modelCase{
		{"default", backendSrc(""), bal, Balance{Algorithm: BalanceRoundRobin}},
		{"roundrobin", backendSrc(" balance roundrobin"), bal, Balance{Algorithm: BalanceRoundRobin}},
		{"static-rr", backendSrc(" balance static-rr"), bal, Balance{Algorithm: BalanceStaticRR}},
		{"leastconn", backendSrc(" balance leastconn"), bal, Balance{Algorithm: BalanceLeastConn}},
		{"first", backendSrc(" balance first"), bal, Balance{Algorithm: BalanceFirst}},
		{"source", backendSrc(" balance source"), bal, Balance{Algorithm: BalanceSource}},
		{"uri", backendSrc(" balance uri"), bal, Balance{Algorithm: BalanceURI}},
		{"random", backendSrc(" balance random"), bal, Balance{Algorithm: BalanceRandom}},
		{"url_param", backendSrc(" balance url_param uid"), bal, Balance{Algorithm: BalanceURLParam, Param: "uid"}},
		{"hdr", backendSrc(" balance hdr(X-Tenant)"), bal, Balance{Algorithm: BalanceHdr, Param: "X-Tenant"}},
	})
}

func TestParseBalanceFunc(t *testing.T) {
	bad := [][]string{nil, {}, {"hash", "path"}, {"rdp-cookie"}, {"url_param"}, {"hdr"}, {"hdr()"}, {"hdr(a b)"},
		{"uri", "whole"}, {"url_param", "x", "check_post"}, {"random(2)"}, {"roundrobinn"}, {"roundrobin", "x"}}
	for _, args := range bad {
		if b, err := ParseBalance(args); err == nil {
			t.Errorf("ParseBalance(%q) = %+v, want error", args, b)
		}
	}
}

func TestParseServer(t *testing.T) {
	servers := func(c *Config) any { return be(c).Servers }
	full := Server{Name: "s1", Host: "10.0.0.1", Port: 80, Weight: 10, Check: true, Inter: 3 * time.Second,
		Rise: 4, Fall: 5, Cookie: "c1", Backup: true, Disabled: true, MaxConn: 20, CheckPort: 8080}
	dflt := srv("s", "h", 1)
	dflt.Check, dflt.Inter, dflt.Weight = true, 500*time.Millisecond, 5
	s2 := dflt
	s2.Name, s2.Check, s2.Cookie = "t", false, "x"
	runModelCases(t, []modelCase{
		{"defaults", backendSrc(" server s1 10.0.0.1:80"), servers, []Server{srv("s1", "10.0.0.1", 80)}},
		{"all options", backendSrc(" server s1 10.0.0.1:80 weight 10 check inter 3s rise 4 fall 5 cookie c1 backup disabled maxconn 20 port 8080"),
			servers, []Server{full}},
		{"dns name", backendSrc(" server web web-1.default.svc.cluster.local:8080"), servers,
			[]Server{srv("web", "web-1.default.svc.cluster.local", 8080)}},
		{"ipv6", backendSrc(" server v6 [2001:db8::2]:443"), servers, []Server{srv("v6", "2001:db8::2", 443)}},
		{"weight 0", backendSrc(" server s h:1 weight 0"), servers, []Server{func() Server { s := srv("s", "h", 1); s.Weight = 0; return s }()}},
		{"weight 256", backendSrc(" server s h:1 weight 256"), servers, []Server{func() Server { s := srv("s", "h", 1); s.Weight = 256; return s }()}},
		{"default-server", backendSrc(" default-server check inter 500ms weight 5\n server s h:1\n server t h:1 no-check cookie x"),
			servers, []Server{dflt, s2}},
		{"enabled after disabled", backendSrc(" default-server disabled backup\n server s h:1 enabled no-backup"), servers,
			[]Server{srv("s", "h", 1)}},
	})
}

func TestParseCookie(t *testing.T) {
	cookie := func(c *Config) any { return be(c).Cookie }
	runModelCases(t, []modelCase{
		{"none", backendSrc(""), cookie, (*Cookie)(nil)},
		{"insert", backendSrc(" cookie SRV insert"), cookie, &Cookie{Name: "SRV", Mode: CookieInsert}},
		{"rewrite", backendSrc(" cookie JSESSIONID rewrite"), cookie, &Cookie{Name: "JSESSIONID", Mode: CookieRewrite}},
		{"prefix", backendSrc(" cookie SID prefix indirect nocache"), cookie, &Cookie{Name: "SID", Mode: CookiePrefix, Indirect: true, NoCache: true}},
		{"all options", backendSrc(" cookie S insert indirect nocache preserve httponly secure domain .a.com domain .b.com maxidle 30m maxlife 1d dynamic attr SameSite=Strict attr Path=/x"),
			cookie, &Cookie{Name: "S", Mode: CookieInsert, Indirect: true, NoCache: true, Preserve: true, HTTPOnly: true,
				Secure: true, Dynamic: true, Domains: []string{".a.com", ".b.com"}, MaxIdle: 30 * time.Minute,
				MaxLife: 24 * time.Hour, Attrs: []string{"SameSite=Strict", "Path=/x"}}},
	})
	for _, s := range []string{"insert", "rewrite", "prefix"} {
		m, err := ParseCookieMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseCookieMode(%q) = %v, %v", s, m, err)
		}
	}
	for _, s := range []string{"", "passive", "Insert"} {
		if _, err := ParseCookieMode(s); err == nil {
			t.Errorf("ParseCookieMode(%q) succeeded", s)
		}
	}
}

func TestParseTimeouts(t *testing.T) {
	src := "defaults\n" +
		" timeout connect 1s\n timeout client 2s\n timeout server 3s\n timeout http-request 4s\n" +
		" timeout http-keep-alive 5s\n timeout queue 6s\n timeout tunnel 7s\n timeout check 8s\n" +
		frontendSrc("")
	runModelCases(t, []modelCase{
		{"frontend side", src, func(c *Config) any { return fe(c).Timeouts },
			Timeouts{Client: 2 * time.Second, HTTPRequest: 4 * time.Second, HTTPKeepAlive: 5 * time.Second}},
		{"backend side", src, func(c *Config) any { return be(c).Timeouts },
			Timeouts{Connect: time.Second, Server: 3 * time.Second, HTTPRequest: 4 * time.Second,
				HTTPKeepAlive: 5 * time.Second, Queue: 6 * time.Second, Tunnel: 7 * time.Second, Check: 8 * time.Second}},
		{"plain milliseconds", backendSrc(" timeout server 50000"), func(c *Config) any { return be(c).Timeouts.Server }, 50 * time.Second},
		{"frontend only", frontendSrc(" timeout client 1m"), func(c *Config) any { return fe(c).Timeouts }, Timeouts{Client: time.Minute}},
	})
}

func TestParseOptions(t *testing.T) {
	feOpts := func(c *Config) any { return fe(c).Options }
	beOpts := func(c *Config) any { return be(c).Options }
	runModelCases(t, []modelCase{
		{"forwardfor", frontendSrc(" option forwardfor"), feOpts, Options{ForwardFor: true}},
		{"http-server-close", backendSrc(" option http-server-close"), beOpts, Options{HTTPServerClose: true}},
		{"redispatch", backendSrc(" option redispatch"), beOpts, Options{Redispatch: true}},
		{"httplog", frontendSrc(" option httplog"), feOpts, Options{HTTPLog: true}},
		{"tcplog replaces httplog", frontendSrc(" option httplog\n option tcplog"), feOpts, Options{TCPLog: true}},
		{"no option", "defaults\n option forwardfor\n option httplog\n option http-server-close\n" + frontendSrc(" no option forwardfor\n no option httplog"),
			feOpts, Options{HTTPServerClose: true}},
		{"http-keep-alive cancels server-close", "defaults\n option http-server-close\n" + backendSrc(" option http-keep-alive"), beOpts, Options{}},
		{"redispatch stays on the backend side", "defaults\n option redispatch\n" + frontendSrc(""), feOpts, Options{}},
		{"redispatch from defaults", "defaults\n option redispatch\n" + frontendSrc(""), beOpts, Options{Redispatch: true}},
	})
}

func TestParseHTTPCheck(t *testing.T) {
	check := func(c *Config) any { return be(c).Check }
	runModelCases(t, []modelCase{
		{"none", backendSrc(""), check, HTTPCheck{}},
		{"bare", backendSrc(" option httpchk"), check, HTTPCheck{Enabled: true, Method: "OPTIONS", URI: "/"}},
		{"uri", backendSrc(" option httpchk /health"), check, HTTPCheck{Enabled: true, Method: "OPTIONS", URI: "/health"}},
		{"star", backendSrc(" option httpchk *"), check, HTTPCheck{Enabled: true, Method: "OPTIONS", URI: "*"}},
		{"method uri", backendSrc(" option httpchk HEAD /h"), check, HTTPCheck{Enabled: true, Method: "HEAD", URI: "/h"}},
		{"version", backendSrc(" option httpchk GET /h HTTP/1.1"), check, HTTPCheck{Enabled: true, Method: "GET", URI: "/h", Version: "HTTP/1.1"}},
		{"host idiom", backendSrc(` option httpchk GET /h HTTP/1.1\r\nHost:\ www.example.com`), check,
			HTTPCheck{Enabled: true, Method: "GET", URI: "/h", Version: "HTTP/1.1", Host: "www.example.com"}},
		{"expect", backendSrc(" option httpchk\n http-check expect status 204"), check,
			HTTPCheck{Enabled: true, Method: "OPTIONS", URI: "/", ExpectStatus: 204}},
		{"expect first", backendSrc(" http-check expect status 200\n option httpchk GET /"), check,
			HTTPCheck{Enabled: true, Method: "GET", URI: "/", ExpectStatus: 200}},
	})
}

func TestParseHTTPRules(t *testing.T) {
	req := func(c *Config) any { return fe(c).HTTPRequest }
	resp := func(c *Config) any { return fe(c).HTTPResponse }
	always := (*Condition)(nil)
	ifA := &Condition{Or: [][]Term{{{Name: "a"}}}}
	runModelCases(t, []modelCase{
		{"set-header", frontendSrc(` http-request set-header X-A "b c"`), req,
			[]HTTPRequestRule{{Action: ActionSetHeader, Name: "X-A", Value: "b c", Cond: always}}},
		{"add-header if", frontendSrc(" acl a path /\n http-request add-header X-A b if a"), req,
			[]HTTPRequestRule{{Action: ActionAddHeader, Name: "X-A", Value: "b", Cond: ifA}}},
		{"del-header", frontendSrc(" http-request del-header X-A"), req,
			[]HTTPRequestRule{{Action: ActionDelHeader, Name: "X-A"}}},
		{"literal percent", frontendSrc(" http-request set-header X-A 100%%"), req,
			[]HTTPRequestRule{{Action: ActionSetHeader, Name: "X-A", Value: "100%"}}},
		{"empty value", frontendSrc(` http-request set-header X-A ""`), req,
			[]HTTPRequestRule{{Action: ActionSetHeader, Name: "X-A", Value: ""}}},
		{"quoted if is a value", frontendSrc(` http-request set-header X-A "if"`), req,
			[]HTTPRequestRule{{Action: ActionSetHeader, Name: "X-A", Value: "if"}}},
		{"set-path", frontendSrc(" http-request set-path /new"), req,
			[]HTTPRequestRule{{Action: ActionSetPath, Value: "/new"}}},
		{"redirect scheme", frontendSrc(" http-request redirect scheme https"), req,
			[]HTTPRequestRule{{Action: ActionRedirect, Redirect: &Redirect{Kind: RedirectScheme, Value: "https", Code: 302}}}},
		{"redirect location", frontendSrc(" http-request redirect location https://x.example/ code 301 drop-query"), req,
			[]HTTPRequestRule{{Action: ActionRedirect, Redirect: &Redirect{Kind: RedirectLocation, Value: "https://x.example/", Code: 301, DropQuery: true}}}},
		{"redirect prefix", frontendSrc(" http-request redirect prefix /v2 code 308"), req,
			[]HTTPRequestRule{{Action: ActionRedirect, Redirect: &Redirect{Kind: RedirectPrefix, Value: "/v2", Code: 308}}}},
		{"deny", frontendSrc(" http-request deny"), req, []HTTPRequestRule{{Action: ActionDeny, Status: 403}}},
		{"deny_status", frontendSrc(" http-request deny deny_status 429"), req, []HTTPRequestRule{{Action: ActionDeny, Status: 429}}},
		{"return", frontendSrc(" http-request return"), req, []HTTPRequestRule{{Action: ActionReturn, Status: 200}}},
		{"return full", frontendSrc(` http-request return status 503 content-type text/plain string "be right back"`), req,
			[]HTTPRequestRule{{Action: ActionReturn, Status: 503, ContentType: "text/plain", Body: "be right back"}}},
		{"response set-header", frontendSrc(" http-response set-header X-Frame-Options DENY"), resp,
			[]HTTPResponseRule{{Action: ActionSetHeader, Name: "X-Frame-Options", Value: "DENY"}}},
		{"response add-header", frontendSrc(" acl a path /\n http-response add-header Via sluice if a"), resp,
			[]HTTPResponseRule{{Action: ActionAddHeader, Name: "Via", Value: "sluice", Cond: ifA}}},
		{"response del-header", frontendSrc(" http-response del-header Server"), resp,
			[]HTTPResponseRule{{Action: ActionDelHeader, Name: "Server"}}},
		{"backend rules", backendSrc(" http-request set-header X-B 1\n http-response del-header X-C"),
			func(c *Config) any { return []any{be(c).HTTPRequest, be(c).HTTPResponse} },
			[]any{[]HTTPRequestRule{{Action: ActionSetHeader, Name: "X-B", Value: "1"}}, []HTTPResponseRule{{Action: ActionDelHeader, Name: "X-C"}}}},
	})
}

func TestParseACL(t *testing.T) {
	tests := []struct {
		line string
		want ACL
	}{
		{"path /a", ACL{Fetch: FetchPath, Match: MatchStr, Values: []string{"/a"}}},
		{"path_beg /a /b", ACL{Fetch: FetchPath, Match: MatchBeg, Values: []string{"/a", "/b"}}},
		{"path_end .js", ACL{Fetch: FetchPath, Match: MatchEnd, Values: []string{".js"}}},
		{"path_reg ^/v[0-9]+/", ACL{Fetch: FetchPath, Match: MatchReg, Values: []string{"^/v[0-9]+/"}}},
		{"path_dir img", ACL{Fetch: FetchPath, Match: MatchDir, Values: []string{"img"}}},
		{"path_sub adm", ACL{Fetch: FetchPath, Match: MatchSub, Values: []string{"adm"}}},
		{"path_dom x", ACL{Fetch: FetchPath, Match: MatchDom, Values: []string{"x"}}},
		{"path -m beg /a", ACL{Fetch: FetchPath, Match: MatchBeg, Values: []string{"/a"}}},
		{"path -m found", ACL{Fetch: FetchPath, Match: MatchFound}},
		{"ssl_fc", ACL{Fetch: FetchSSLFC, Match: MatchBool}},
		{"ssl_fc -m bool", ACL{Fetch: FetchSSLFC, Match: MatchBool}},
		{"ssl_fc_sni -i a.com", ACL{Fetch: FetchSSLFCSNI, Match: MatchStr, IgnoreCase: true, Values: []string{"a.com"}}},
		{"ssl_fc_sni -m end .a.com", ACL{Fetch: FetchSSLFCSNI, Match: MatchEnd, Values: []string{".a.com"}}},
		{"url /a?b", ACL{Fetch: FetchURL, Match: MatchStr, Values: []string{"/a?b"}}},
		{"url_beg /a", ACL{Fetch: FetchURL, Match: MatchBeg, Values: []string{"/a"}}},
		{"url_end x", ACL{Fetch: FetchURL, Match: MatchEnd, Values: []string{"x"}}},
		{"url_sub x", ACL{Fetch: FetchURL, Match: MatchSub, Values: []string{"x"}}},
		{"url_reg x", ACL{Fetch: FetchURL, Match: MatchReg, Values: []string{"x"}}},
		{"url_dir x", ACL{Fetch: FetchURL, Match: MatchDir, Values: []string{"x"}}},
		{"url_dom x", ACL{Fetch: FetchURL, Match: MatchDom, Values: []string{"x"}}},
		{"hdr(host) -i a.com", ACL{Fetch: FetchHdr, Arg: "host", Match: MatchStr, IgnoreCase: true, Values: []string{"a.com"}}},
		{"req.hdr(host) a", ACL{Fetch: FetchHdr, Arg: "host", Match: MatchStr, Values: []string{"a"}}},
		{"hdr_beg(host) -i img.", ACL{Fetch: FetchHdr, Arg: "host", Match: MatchBeg, IgnoreCase: true, Values: []string{"img."}}},
		{"hdr_end(host) .com", ACL{Fetch: FetchHdr, Arg: "host", Match: MatchEnd, Values: []string{".com"}}},
		{"hdr_dom(host) example", ACL{Fetch: FetchHdr, Arg: "host", Match: MatchDom, Values: []string{"example"}}},
		{"hdr_sub(ua) bot", ACL{Fetch: FetchHdr, Arg: "ua", Match: MatchSub, Values: []string{"bot"}}},
		{"hdr_reg(v) ^1", ACL{Fetch: FetchHdr, Arg: "v", Match: MatchReg, Values: []string{"^1"}}},
		{"hdr_dir(v) a", ACL{Fetch: FetchHdr, Arg: "v", Match: MatchDir, Values: []string{"a"}}},
		{"hdr(host) -m dom -i Example", ACL{Fetch: FetchHdr, Arg: "host", Match: MatchDom, IgnoreCase: true, Values: []string{"Example"}}},
		{"hdr(x) -m found", ACL{Fetch: FetchHdr, Arg: "x", Match: MatchFound}},
		{"src 10.0.0.0/8 1.2.3.4 ::1 fe80::/10", ACL{Fetch: FetchSrc, Match: MatchIP, Values: []string{"10.0.0.0/8", "1.2.3.4", "::1", "fe80::/10"}}},
		{"src -m ip -n 1.2.3.4", ACL{Fetch: FetchSrc, Match: MatchIP, Values: []string{"1.2.3.4"}}},
		{"method GET POST", ACL{Fetch: FetchMethod, Match: MatchStr, Values: []string{"GET", "POST"}}},
		{"method -i get", ACL{Fetch: FetchMethod, Match: MatchStr, IgnoreCase: true, Values: []string{"get"}}},
		{"url_param(id) 7", ACL{Fetch: FetchURLParam, Arg: "id", Match: MatchStr, Values: []string{"7"}}},
		{"urlp(id) -m reg ^[0-9]+$", ACL{Fetch: FetchURLParam, Arg: "id", Match: MatchReg, Values: []string{"^[0-9]+$"}}},
		{"req.cook(sid) -m found", ACL{Fetch: FetchCookie, Arg: "sid", Match: MatchFound}},
		{"cook(lang) en", ACL{Fetch: FetchCookie, Arg: "lang", Match: MatchStr, Values: []string{"en"}}},
		{"cook_beg(t) d", ACL{Fetch: FetchCookie, Arg: "t", Match: MatchBeg, Values: []string{"d"}}},
		{"host www.example.com", ACL{Fetch: FetchHost, Match: MatchStr, Values: []string{"www.example.com"}}},
		{"host_end .example.com", ACL{Fetch: FetchHost, Match: MatchEnd, Values: []string{".example.com"}}},
		{"host_beg api.", ACL{Fetch: FetchHost, Match: MatchBeg, Values: []string{"api."}}},
		{"host_sub x", ACL{Fetch: FetchHost, Match: MatchSub, Values: []string{"x"}}},
		{`host_reg ^[a-z]+\.example\.com$`, ACL{Fetch: FetchHost, Match: MatchReg, Values: []string{`^[a-z]+\.example\.com$`}}},
		{"host_dom example", ACL{Fetch: FetchHost, Match: MatchDom, Values: []string{"example"}}},
		{"host_dir x", ACL{Fetch: FetchHost, Match: MatchDir, Values: []string{"x"}}},
		{"host -m found", ACL{Fetch: FetchHost, Match: MatchFound}},
		{"path_beg -- -x", ACL{Fetch: FetchPath, Match: MatchBeg, Values: []string{"-x"}}},
		{"path_beg -i -- -x -y", ACL{Fetch: FetchPath, Match: MatchBeg, IgnoreCase: true, Values: []string{"-x", "-y"}}},
		{"path_beg -m beg /a", ACL{Fetch: FetchPath, Match: MatchBeg, Values: []string{"/a"}}},
		{`path_reg -i \.PHP$`, ACL{Fetch: FetchPath, Match: MatchReg, IgnoreCase: true, Values: []string{`\.PHP$`}}},
	}
	for _, tt := range tests {
		c, _ := parseOK(t, backendSrc(" acl x "+tt.line))
		tt.want.Name = "x"
		if got := be(c).ACLs; len(got) != 1 || !equalIgnoringPos(got[0], tt.want) {
			t.Errorf("acl x %s:\n got  %#v\n want %#v", tt.line, withoutPos(got), tt.want)
		}
	}
}

func TestParseACLSameNameKeptSeparately(t *testing.T) {
	c, _ := parseOK(t, frontendSrc(" acl s path_end .css\n acl s path_beg /assets\n use_backend b if s"))
	got := fe(c).ACLs
	if len(got) != 2 || got[0].Name != "s" || got[1].Name != "s" || got[0].Match != MatchEnd || got[1].Match != MatchBeg {
		t.Fatalf("ACLs = %+v", got)
	}
	if got[0].Pos.Line != 3 || got[1].Pos.Line != 4 {
		t.Errorf("ACL positions = %v, %v", got[0].Pos, got[1].Pos)
	}
}

func TestPositions(t *testing.T) {
	src := "global\n maxconn 1\nfrontend f\n bind :80\n acl a path /\n use_backend b if a\n default_backend b\n" +
		" http-request deny if a\n http-response del-header X\nbackend b\n cookie c insert\n server s h:1\n"
	c, _ := parseOK(t, src)
	got := []Pos{c.Global.Pos, fe(c).Pos, fe(c).Binds[0].Pos, fe(c).ACLs[0].Pos, fe(c).UseBackends[0].Pos,
		fe(c).HTTPRequest[0].Pos, fe(c).HTTPResponse[0].Pos, be(c).Pos, be(c).Cookie.Pos, be(c).Servers[0].Pos}
	var lines []int
	for _, p := range got {
		if p.File != "t.cfg" {
			t.Errorf("Pos.File = %q", p.File)
		}
		lines = append(lines, p.Line)
	}
	if want := []int{1, 3, 4, 5, 6, 8, 9, 10, 11, 12}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines = %v, want %v", lines, want)
	}
}

package config

import (
	"strings"
	"testing"
	"time"
)

// validConfig is a small configuration built in code, as the Kubernetes
// translation would build it: no positions anywhere.
func validConfig() *Config {
	s1 := NewServer("pod-a", "10.0.0.1", 8080)
	s1.Cookie = "a"
	s2 := NewServer("pod-b", "10.0.0.2", 8080)
	s2.Cookie, s2.Check = "b", true
	return &Config{
		Frontends: []*Frontend{
			{
				Name:  "http",
				Binds: []Bind{{Port: 80}},
				ACLs:  []ACL{{Name: "host_a", Fetch: FetchHdr, Arg: "host", Match: MatchStr, IgnoreCase: true, Values: []string{"a.example"}}},
				UseBackends: []UseBackend{{Backend: "default_svc-a_80", Cond: &Condition{Or: [][]Term{
					{{Name: "host_a"}, {Inline: &ACL{Fetch: FetchPath, Match: MatchBeg, Values: []string{"/api"}}}},
				}}}},
				HTTPRequest:    []HTTPRequestRule{{Action: ActionSetHeader, Name: "X-Forwarded-Proto", Value: "http"}},
				DefaultBackend: "default_svc-a_80",
			},
			{
				Name:           "tcp-5432",
				Mode:           ModeTCP,
				Binds:          []Bind{{Host: "127.0.0.1", Port: 5432}},
				DefaultBackend: "default_pg_5432",
			},
		},
		Backends: []*Backend{
			{Name: "default_svc-a_80", Retries: 3, Cookie: &Cookie{Name: "SRV", Mode: CookieInsert}, Servers: []Server{s1, s2}},
			{Name: "default_pg_5432", Mode: ModeTCP, Retries: 3, Servers: []Server{NewServer("pg-0", "10.0.1.1", 5432)}},
		},
	}
}

func TestValidateValid(t *testing.T) {
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if err := (&Config{}).Validate(); err != nil {
		t.Errorf("an empty configuration is valid, got %v", err)
	}
	// It prints and reads back.
	back, _ := parseOK(t, c.String())
	if !equalIgnoringPos(back, c) {
		t.Errorf("Go-built config does not round-trip:\n%s", c)
	}
}

func TestValidate(t *testing.T) {
	fe0 := func(c *Config) *Frontend { return c.Frontends[0] }
	be0 := func(c *Config) *Backend { return c.Backends[0] }
	tests := []struct {
		name   string
		mutate func(c *Config)
		kw     string
		msg    string
	}{
		{"missing default backend", func(c *Config) { fe0(c).DefaultBackend = "nope" }, "default_backend", `frontend "http": backend "nope" does not exist`},
		{"missing use_backend", func(c *Config) { fe0(c).UseBackends[0].Backend = "nope" }, "use_backend", `frontend "http": backend "nope" does not exist`},
		{"duplicate frontend", func(c *Config) { c.Frontends[1].Name = "http" }, "frontend", `duplicate frontend name "http"`},
		{"duplicate backend", func(c *Config) { c.Backends[1].Name = "default_svc-a_80"; c.Backends[1].Mode = ModeHTTP }, "backend", `duplicate backend name "default_svc-a_80"`},
		{"bad frontend name", func(c *Config) { fe0(c).Name = "a b" }, "frontend", `invalid frontend name "a b"`},
		{"empty backend name", func(c *Config) { c.Backends[1].Name = ""; c.Frontends[1].DefaultBackend = "" }, "backend", `invalid backend name ""`},
		{"nil frontend", func(c *Config) { c.Frontends = append(c.Frontends, nil) }, "frontend", "frontend #2 is nil"},
		{"nil backend", func(c *Config) { c.Backends = append(c.Backends, nil) }, "backend", "backend #2 is nil"},
		{"no bind", func(c *Config) { fe0(c).Binds = nil }, "bind", `frontend "http" has no bind line`},
		{"bind port", func(c *Config) { fe0(c).Binds[0].Port = 0 }, "bind", `frontend "http": port 0 is out of range`},
		{"bind port high", func(c *Config) { fe0(c).Binds[0].Port = 70000 }, "bind", "port 70000 is out of range"},
		{"bind host", func(c *Config) { fe0(c).Binds[0].Host = "localhost" }, "bind", `bind address "localhost" is not an IP address`},
		{"bind duplicate", func(c *Config) { c.Frontends[1].Binds[0] = Bind{Port: 80} }, "bind",
			`frontend "tcp-5432": address :80 conflicts with :80 of frontend "http"`},
		{"bind wildcard overlap", func(c *Config) { c.Frontends[1].Binds[0].Port = 80 }, "bind", "127.0.0.1:80 conflicts with :80"},
		{"bind v4 wildcard", func(c *Config) {
			fe0(c).Binds[0].Host = "0.0.0.0"
			c.Frontends[1].Binds[0] = Bind{Host: "10.1.1.1", Port: 80}
		}, "bind", "10.1.1.1:80 conflicts with 0.0.0.0:80"},
		{"bind within frontend", func(c *Config) { fe0(c).Binds = append(fe0(c).Binds, Bind{Port: 80}) }, "bind", `:80 conflicts with :80 of frontend "http"`},
		{"tls without cert", func(c *Config) { fe0(c).Binds[0].TLS = &BindTLS{} }, "bind", "TLS bind :80 has no certificate"},
		{"tls missing in-memory cert", func(c *Config) { fe0(c).Binds[0].TLS = &BindTLS{Certificates: []string{"@ns/x"}} }, "bind", `no in-memory certificate "ns/x"`},
		{"tls empty in-memory cert", func(c *Config) {
			c.Certificates = map[string]*Certificate{"ns/x": {CertPEM: []byte("c")}}
			fe0(c).Binds[0].TLS = &BindTLS{Certificates: []string{"@ns/x"}}
		}, "crt", `in-memory certificate "ns/x" has no certificate or no key`},
		{"tls empty alpn", func(c *Config) { fe0(c).Binds[0].TLS = &BindTLS{Certificates: []string{"c"}, ALPN: []string{""}} }, "bind", "invalid ALPN"},
		{"mode invalid", func(c *Config) { fe0(c).Mode = 7 }, "mode", `frontend "http": invalid mode 7`},
		{"mode mismatch", func(c *Config) { c.Frontends[1].DefaultBackend = "default_svc-a_80" }, "default_backend",
			`frontend "tcp-5432" is in mode tcp but backend "default_svc-a_80" is in mode http`},
		{"mode mismatch use_backend", func(c *Config) { fe0(c).UseBackends[0].Backend = "default_pg_5432" }, "use_backend",
			`frontend "http" is in mode http but backend "default_pg_5432" is in mode tcp`},
		{"frontend maxconn", func(c *Config) { fe0(c).MaxConn = -1 }, "maxconn", "maxconn -1 is negative"},
		{"global maxconn", func(c *Config) { c.Global.MaxConn = -1 }, "maxconn", "global maxconn -1 is negative"},
		{"negative timeout", func(c *Config) { fe0(c).Timeouts.Client = -time.Second }, "timeout client", `frontend "http": negative timeout`},
		{"server timeout on frontend", func(c *Config) { fe0(c).Timeouts.Server = time.Second }, "timeout server", `frontend "http": applies to backends`},
		{"client timeout on backend", func(c *Config) { be0(c).Timeouts.Client = time.Second }, "timeout client", `backend "default_svc-a_80": applies to frontends`},
		{"redispatch on frontend", func(c *Config) { fe0(c).Options.Redispatch = true }, "option redispatch", "applies to backends"},
		{"forwardfor in tcp", func(c *Config) { c.Frontends[1].Options.ForwardFor = true }, "option forwardfor", `frontend "tcp-5432": requires mode http`},
		{"httplog in tcp", func(c *Config) { c.Backends[1].Options.HTTPLog = true }, "option httplog", "requires mode http"},
		{"server-close in tcp", func(c *Config) { c.Backends[1].Options.HTTPServerClose = true }, "option http-server-close", "requires mode http"},
		{"unknown acl", func(c *Config) { fe0(c).UseBackends[0].Cond.Or[0][0].Name = "host_b" }, "use_backend", `frontend "http": unknown ACL "host_b"`},
		{"unknown acl in rule", func(c *Config) {
			fe0(c).HTTPRequest[0].Cond = &Condition{Or: [][]Term{{{Name: "x"}}}}
		}, "http-request set-header", `unknown ACL "x"`},
		{"acl from another proxy", func(c *Config) {
			be0(c).HTTPRequest = []HTTPRequestRule{{Action: ActionDeny, Cond: &Condition{Or: [][]Term{{{Name: "host_a"}}}}}}
		}, "http-request deny", `backend "default_svc-a_80": unknown ACL "host_a"`},
		{"empty condition", func(c *Config) { fe0(c).UseBackends[0].Cond.Or = nil }, "use_backend", "empty condition"},
		{"empty and group", func(c *Config) { fe0(c).UseBackends[0].Cond.Or = [][]Term{{}} }, "use_backend", "empty group"},
		{"term with both", func(c *Config) { fe0(c).UseBackends[0].Cond.Or[0][1].Name = "host_a" }, "use_backend", "both a name"},
		{"term with neither", func(c *Config) { fe0(c).UseBackends[0].Cond.Or[0][0].Name = "" }, "use_backend", "neither a name"},
		{"inline named", func(c *Config) { fe0(c).UseBackends[0].Cond.Or[0][1].Inline.Name = "x" }, "use_backend", `inline ACL has a name ("x")`},
		{"inline bad regex", func(c *Config) {
			in := fe0(c).UseBackends[0].Cond.Or[0][1].Inline
			in.Match, in.Values = MatchReg, []string{"("}
		}, "use_backend", "anonymous ACL: invalid regular expression"},
		{"acl name", func(c *Config) { fe0(c).ACLs[0].Name = "" }, "acl", `invalid ACL name ""`},
		{"acl predefined name", func(c *Config) { fe0(c).ACLs[0].Name = "TRUE" }, "acl", "predefined"},
		{"acl no values", func(c *Config) { fe0(c).ACLs[0].Values = nil }, "acl", `ACL "host_a": hdr needs at least one value`},
		{"acl hdr without name", func(c *Config) { fe0(c).ACLs[0].Arg = "" }, "acl", "invalid hdr name"},
		{"acl arg on path", func(c *Config) { fe0(c).ACLs[0].Fetch = FetchPath }, "acl", `path takes no argument, found "host"`},
		{"acl bad fetch", func(c *Config) { fe0(c).ACLs[0].Fetch = 99 }, "acl", "invalid fetch 99"},
		{"acl bad match", func(c *Config) { fe0(c).ACLs[0].Match = 99 }, "acl", "invalid match 99"},
		{"acl ip on hdr", func(c *Config) { fe0(c).ACLs[0].Match = MatchIP }, "acl", "address matching only applies to src"},
		{"acl bad ip", func(c *Config) {
			fe0(c).ACLs[0] = ACL{Name: "s", Fetch: FetchSrc, Match: MatchIP, Values: []string{"300.1.1.1"}}
		}, "acl", "invalid address"},
		{"http acl in tcp", func(c *Config) {
			c.Frontends[1].ACLs = []ACL{{Name: "p", Fetch: FetchPath, Match: MatchBeg, Values: []string{"/"}}}
		}, "acl", `frontend "tcp-5432": ACL "p" uses path, which needs mode http`},
		{"predefined http acl in tcp", func(c *Config) {
			c.Frontends[1].UseBackends = []UseBackend{{Backend: "default_pg_5432", Cond: &Condition{Or: [][]Term{{{Name: "METH_GET"}}}}}}
		}, "use_backend", "predefined ACL METH_GET needs mode http"},
		{"http-request in tcp", func(c *Config) {
			c.Frontends[1].HTTPRequest = []HTTPRequestRule{{Action: ActionDeny}}
		}, "http-request deny", "http-request rules need mode http"},
		{"http-response in tcp", func(c *Config) {
			c.Backends[1].HTTPResponse = []HTTPResponseRule{{Action: ActionDelHeader, Name: "X"}}
		}, "http-response del-header", "http-response rules need mode http"},
		{"bad header name", func(c *Config) { fe0(c).HTTPRequest[0].Name = "X Y" }, "http-request set-header", `invalid header name "X Y"`},
		{"bad header value", func(c *Config) { fe0(c).HTTPRequest[0].Value = "a\r\nb" }, "http-request set-header", "control character"},
		{"del-header value", func(c *Config) { fe0(c).HTTPRequest[0].Action = ActionDelHeader }, "http-request del-header", "takes no value"},
		{"bad action", func(c *Config) { fe0(c).HTTPRequest[0].Action = 42 }, "http-request HTTPAction(42)", "invalid action 42"},
		{"set-path empty", func(c *Config) { fe0(c).HTTPRequest[0] = HTTPRequestRule{Action: ActionSetPath} }, "http-request set-path", "invalid path"},
		{"redirect nil", func(c *Config) { fe0(c).HTTPRequest[0] = HTTPRequestRule{Action: ActionRedirect} }, "http-request redirect", "without a Redirect"},
		{"redirect code", func(c *Config) {
			fe0(c).HTTPRequest[0] = HTTPRequestRule{Action: ActionRedirect, Redirect: &Redirect{Kind: RedirectScheme, Value: "https", Code: 200}}
		}, "http-request redirect", "invalid redirect code 200"},
		{"redirect empty", func(c *Config) {
			fe0(c).HTTPRequest[0] = HTTPRequestRule{Action: ActionRedirect, Redirect: &Redirect{Kind: RedirectLocation}}
		}, "http-request redirect", "empty redirect location"},
		{"deny status", func(c *Config) { fe0(c).HTTPRequest[0] = HTTPRequestRule{Action: ActionDeny, Status: 99} }, "http-request deny", "invalid status 99"},
		{"return body", func(c *Config) { fe0(c).HTTPRequest[0] = HTTPRequestRule{Action: ActionReturn, Body: "x"} }, "http-request return", "needs a content-type"},
		{"response action", func(c *Config) {
			fe0(c).HTTPResponse = []HTTPResponseRule{{Action: ActionRedirect}}
		}, "http-response redirect", "not available in http-response"},
		{"server name", func(c *Config) { be0(c).Servers[0].Name = "" }, "server", `backend "default_svc-a_80": invalid server name ""`},
		{"server duplicate", func(c *Config) { be0(c).Servers[1].Name = "pod-a" }, "server", `backend "default_svc-a_80": duplicate server name "pod-a"`},
		{"server host", func(c *Config) { be0(c).Servers[0].Host = "" }, "server", `backend "default_svc-a_80": server "pod-a": missing host`},
		{"server bad host", func(c *Config) { be0(c).Servers[0].Host = "a..b" }, "server", `server "pod-a": invalid host "a..b"`},
		{"server port", func(c *Config) { be0(c).Servers[0].Port = 0 }, "server", `server "pod-a": port 0 is out of range`},
		{"server weight high", func(c *Config) { be0(c).Servers[0].Weight = 257 }, "server", "weight 257 is out of range 0..256"},
		{"server weight negative", func(c *Config) { be0(c).Servers[0].Weight = -1 }, "server", "weight -1 is out of range"},
		{"server check needs rise", func(c *Config) { be0(c).Servers[1].Rise = 0 }, "server", `server "pod-b": health checks need inter, rise and fall above 0`},
		{"server negative inter", func(c *Config) { be0(c).Servers[0].Inter = -1 }, "server", "negative inter"},
		{"server check port", func(c *Config) { be0(c).Servers[0].CheckPort = 70000 }, "server", "check port 70000"},
		{"server maxconn", func(c *Config) { be0(c).Servers[0].MaxConn = -2 }, "server", "maxconn -2 is negative"},
		{"server cookie duplicate", func(c *Config) { be0(c).Servers[1].Cookie = "a" }, "server",
			`server "pod-b": cookie value "a" is already used by server "pod-a"`},
		{"server cookie invalid", func(c *Config) { be0(c).Servers[1].Cookie = "a b" }, "server", "invalid character"},
		{"cookie in tcp", func(c *Config) { c.Backends[1].Cookie = &Cookie{Name: "S", Mode: CookieInsert} }, "cookie",
			`backend "default_pg_5432": cookie persistence needs mode http`},
		{"cookie name", func(c *Config) { be0(c).Cookie.Name = "" }, "cookie", "invalid cookie name"},
		{"cookie mode", func(c *Config) { be0(c).Cookie.Mode = 9 }, "cookie", "invalid cookie mode 9"},
		{"cookie preserve", func(c *Config) { be0(c).Cookie.Mode, be0(c).Cookie.Preserve = CookiePrefix, true }, "cookie", "only applies to insert"},
		{"balance invalid", func(c *Config) { be0(c).Balance.Algorithm = 99 }, "balance", "invalid algorithm 99"},
		{"balance url_param", func(c *Config) { be0(c).Balance.Algorithm = BalanceURLParam }, "balance", "url_param needs a parameter name"},
		{"balance hdr", func(c *Config) { be0(c).Balance = Balance{Algorithm: BalanceHdr, Param: "a b"} }, "balance", "invalid header name"},
		{"balance param", func(c *Config) { be0(c).Balance.Param = "x" }, "balance", `balance roundrobin takes no parameter`},
		{"balance uri tcp", func(c *Config) { c.Backends[1].Balance.Algorithm = BalanceURI }, "balance", `backend "default_pg_5432": balance uri needs mode http`},
		{"balance hdr tcp", func(c *Config) { c.Backends[1].Balance = Balance{Algorithm: BalanceHdr, Param: "host"} }, "balance", "balance hdr needs mode http"},
		{"retries", func(c *Config) { be0(c).Retries = -1 }, "retries", "retries -1 is negative"},
		{"httpchk method", func(c *Config) { be0(c).Check = HTTPCheck{Enabled: true, URI: "/"} }, "option httpchk", `invalid method ""`},
		{"httpchk uri", func(c *Config) { be0(c).Check = HTTPCheck{Enabled: true, Method: "GET", URI: "x"} }, "option httpchk", "invalid URI"},
		{"httpchk expect", func(c *Config) { be0(c).Check.ExpectStatus = 1000 }, "http-check expect", "invalid status 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate succeeded")
			}
			el := err.(ErrorList)
			for _, e := range el {
				if e.Keyword == tt.kw && strings.Contains(e.Msg, tt.msg) {
					if e.Pos != (Pos{}) {
						t.Errorf("error has a position for a Go-built config: %v", e)
					}
					if !strings.HasPrefix(e.Error(), "'"+tt.kw+"': ") {
						t.Errorf("format %q", e.Error())
					}
					return
				}
			}
			t.Errorf("no error '%s': ...%s...; got:\n%s", tt.kw, tt.msg, indent(err.Error()))
		})
	}
}

// TestValidateWithPositions checks that errors about parsed objects point at
// the line of the object.
func TestValidateWithPositions(t *testing.T) {
	src := `frontend a
    bind :80
    default_backend b
frontend c
    bind *:80
    default_backend nope
backend b
    server s1 h:1 cookie x
    server s2 h:2 cookie x
    server s1 h:3
`
	checkErrors(t, src,
		wantErr{4, "default_backend", `frontend "c": backend "nope" does not exist`},
		wantErr{5, "bind", `address :80 conflicts with :80 of frontend "a" (first declared at t.cfg:2)`},
		wantErr{9, "server", `cookie value "x" is already used by server "s1"`},
		wantErr{10, "server", `duplicate server name "s1" (first declared at t.cfg:8)`},
	)
}

func TestValidateInMemoryCertificate(t *testing.T) {
	c := validConfig()
	c.Certificates = map[string]*Certificate{"ns/site": {CertPEM: []byte("cert"), KeyPEM: []byte("key")}}
	c.Frontends[0].Binds = append(c.Frontends[0].Binds, Bind{Port: 443, TLS: &BindTLS{Certificates: []string{"@ns/site"}}})
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if !strings.Contains(c.String(), "bind :443 ssl crt @ns/site") {
		t.Errorf("the printer does not name the in-memory certificate:\n%s", c)
	}
}

package config

import (
	"testing"
	"time"
)

func backendByName(t *testing.T, c *Config, name string) *Backend {
	t.Helper()
	for _, b := range c.Backends {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no backend %q", name)
	return nil
}

func frontendByName(t *testing.T, c *Config, name string) *Frontend {
	t.Helper()
	for _, f := range c.Frontends {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no frontend %q", name)
	return nil
}

// TestDefaultsInheritance checks the fixture with several defaults sections:
// each applies to what follows, `from` picks a named one, and a new
// defaults section starts from HAProxy's built-in values.
func TestDefaultsInheritance(t *testing.T) {
	c, _ := parseOK(t, mustRead(t, "testdata/defaults.cfg"))

	a := frontendByName(t, c, "a")
	if a.Mode != ModeHTTP || a.Timeouts != (Timeouts{Client: 20 * time.Second}) || !a.Options.HTTPServerClose {
		t.Errorf("frontend a (defaults base): %+v", a)
	}
	one := backendByName(t, c, "one")
	if one.Balance.Algorithm != BalanceLeastConn || one.Timeouts != (Timeouts{Connect: 3 * time.Second, Server: 20 * time.Second}) {
		t.Errorf("backend one (defaults base): %+v", one)
	}
	want := NewServer("s1", "10.1.0.1", 80)
	want.Check, want.Inter, want.Fall = true, 4*time.Second, 5
	if !equalIgnoringPos(one.Servers[0], want) {
		t.Errorf("default-server from defaults: got %+v, want %+v", one.Servers[0], want)
	}

	// "defaults tcp" starts afresh: no http-server-close, roundrobin, default
	// server settings, but its own retries.
	db := frontendByName(t, c, "db")
	if db.Mode != ModeTCP || db.Options.HTTPServerClose || db.Timeouts.Client != time.Hour {
		t.Errorf("frontend db (defaults tcp): %+v", db)
	}
	pg := backendByName(t, c, "pg")
	if pg.Mode != ModeTCP || pg.Retries != 5 || pg.Balance.Algorithm != BalanceFirst {
		t.Errorf("backend pg: %+v", pg)
	}
	if s := pg.Servers[0]; s.Inter != 2*time.Second || s.Fall != 3 {
		t.Errorf("server pg1 inherited default-server from an earlier defaults section: %+v", s)
	}

	// `from base` goes back to the named section, after "defaults tcp".
	b := frontendByName(t, c, "b")
	if b.Mode != ModeHTTP || !b.Options.HTTPServerClose || !b.Options.ForwardFor || b.Timeouts.Client != 20*time.Second {
		t.Errorf("frontend b from base: %+v", b)
	}
	two := backendByName(t, c, "two")
	if two.Mode != ModeHTTP || two.Retries != 3 || two.Balance.Algorithm != BalanceLeastConn {
		t.Errorf("backend two from base: %+v", two)
	}
	s2 := NewServer("s2", "10.1.0.2", 80)
	s2.Check, s2.Inter, s2.Fall, s2.Rise = true, 4*time.Second, 5, 1
	s3 := s2
	s3.Name, s3.Host, s3.Check, s3.Weight = "s3", "10.1.0.3", false, 0
	if !equalIgnoringPos(two.Servers, []Server{s2, s3}) {
		t.Errorf("servers of two: %+v", two.Servers)
	}

	// "defaults derived from base" inherits base and overrides one value;
	// proxies after it use it.
	three := backendByName(t, c, "three")
	if three.Balance.Algorithm != BalanceLeastConn || three.Timeouts.Server != 90*time.Second || three.Timeouts.Connect != 3*time.Second {
		t.Errorf("backend three (derived from base): %+v", three)
	}
	if s := three.Servers[0]; s.Inter != 4*time.Second || s.Fall != 5 || s.Check {
		t.Errorf("default-server through from: %+v", s)
	}
}

func TestDefaultsDoNotLeak(t *testing.T) {
	// The backend's default-server must not change the defaults section,
	// and one backend's cookie must not alias another's.
	src := `defaults
    cookie C insert domain .a.com
    default-server weight 7
backend one
    default-server weight 9
    cookie C insert domain .b.com
    server s1 h:1
backend two
    server s2 h:1
`
	c, _ := parseOK(t, src)
	one, two := backendByName(t, c, "one"), backendByName(t, c, "two")
	if one.Servers[0].Weight != 9 || two.Servers[0].Weight != 7 {
		t.Errorf("weights %d, %d; want 9, 7", one.Servers[0].Weight, two.Servers[0].Weight)
	}
	if one.Cookie.Domains[0] != ".b.com" || two.Cookie.Domains[0] != ".a.com" {
		t.Errorf("cookie domains %v, %v", one.Cookie.Domains, two.Cookie.Domains)
	}
	two.Cookie.Domains[0] = "changed"
	c2, _ := parseOK(t, src)
	if backendByName(t, c2, "two").Cookie.Domains[0] != ".a.com" {
		t.Error("cookie slices are shared between parses")
	}
}

func TestListenExpansion(t *testing.T) {
	c, _ := parseOK(t, mustRead(t, "testdata/listen.cfg"))

	web := frontendByName(t, c, "web")
	if web.DefaultBackend != "web" {
		t.Errorf("listen web routes to %q, want itself", web.DefaultBackend)
	}
	if got := []Bind{{Host: "127.0.0.1", Port: 8080}, {Host: "127.0.0.1", Port: 8081}}; !equalIgnoringPos(web.Binds, got) {
		t.Errorf("binds %+v", web.Binds)
	}
	if len(web.ACLs) != 1 || len(web.HTTPRequest) != 1 || !web.Options.ForwardFor || web.Options.Redispatch {
		t.Errorf("frontend half of listen web: %+v", web)
	}
	wb := backendByName(t, c, "web")
	if len(wb.Servers) != 2 || wb.Balance.Algorithm != BalanceSource || !wb.Options.Redispatch || !wb.Options.ForwardFor || len(wb.ACLs) != 0 {
		t.Errorf("backend half of listen web: %+v", wb)
	}
	if web.Timeouts != (Timeouts{Client: 10 * time.Second}) || wb.Timeouts != (Timeouts{Connect: 2 * time.Second, Server: 10 * time.Second}) {
		t.Errorf("timeouts split %+v / %+v", web.Timeouts, wb.Timeouts)
	}

	// A listen with its own default_backend and no server has no backend half.
	r := frontendByName(t, c, "redirector")
	if r.DefaultBackend != "legacy" || len(r.UseBackends) != 1 {
		t.Errorf("redirector: %+v", r)
	}
	for _, b := range c.Backends {
		if b.Name == "redirector" {
			t.Error("redirector has a backend half although it routes elsewhere and has no server")
		}
	}

	// A listen without bind is only a backend.
	for _, f := range c.Frontends {
		if f.Name == "legacy" {
			t.Error("listen legacy without bind became a frontend")
		}
	}
	if l := backendByName(t, c, "legacy"); len(l.Servers) != 1 {
		t.Errorf("legacy: %+v", l)
	}

	m, mb := frontendByName(t, c, "mysql"), backendByName(t, c, "mysql")
	if m.Mode != ModeTCP || mb.Mode != ModeTCP || m.DefaultBackend != "mysql" {
		t.Errorf("mysql: %+v %+v", m, mb)
	}
}

func TestListenRulesWithoutBindGoToBackend(t *testing.T) {
	src := `frontend f
    bind :80
    default_backend l
listen l
    acl a path /x
    http-request deny if a
    http-response del-header Server
    server s h:1
`
	c, _ := parseOK(t, src)
	l := backendByName(t, c, "l")
	if len(l.ACLs) != 1 || len(l.HTTPRequest) != 1 || len(l.HTTPResponse) != 1 {
		t.Errorf("listen used as backend lost its rules: %+v", l)
	}
}

func TestListenInheritedDefaultBackend(t *testing.T) {
	// As in HAProxy, a default_backend from defaults also applies to a listen.
	src := "defaults\n default_backend other\nlisten l\n bind :80\n server s h:1\nbackend other\n server o h:2\n"
	c, _ := parseOK(t, src)
	if got := frontendByName(t, c, "l").DefaultBackend; got != "other" {
		t.Errorf("DefaultBackend = %q, want other", got)
	}
	if len(c.Backends) != 2 {
		t.Errorf("the listen's servers were dropped: %d backends", len(c.Backends))
	}
}

func TestListenWithoutBindIgnoresUseBackend(t *testing.T) {
	_, warns := parseOK(t, "listen l\n use_backend x\n server s h:1\nbackend x\n")
	if len(warns) != 1 || warns[0].Keyword != "use_backend" || warns[0].Pos.Line != 2 {
		t.Errorf("warnings = %v", warns)
	}
}

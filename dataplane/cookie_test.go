package dataplane

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/backend"
)

// cookiePool builds a backend with servers a (cookie "ca") and b (cookie "cb").
func cookiePool(t *testing.T) (*backend.Pool, *backend.Server, *backend.Server) {
	t.Helper()
	reg := backend.NewRegistry(backend.RegistryOptions{})
	t.Cleanup(reg.Close)
	pool, err := reg.Build(&config.Backend{Name: "app", Servers: []config.Server{
		{Name: "a", Host: "127.0.0.1", Port: 1, Weight: 1, Cookie: "ca"},
		{Name: "b", Host: "127.0.0.1", Port: 2, Weight: 1, Cookie: "cb"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return pool, pool.Servers()[0], pool.Servers()[1]
}

func TestCookieLookup(t *testing.T) {
	pool, a, b := cookiePool(t)
	now := time.Now().Unix()
	hex := func(v int64) string { return strconv.FormatInt(v, 16) }
	cases := []struct {
		name   string
		cookie config.Cookie
		header string
		want   *backend.Server
	}{
		{"insert", config.Cookie{Name: "SRV", Mode: config.CookieInsert}, "x=1; SRV=cb", b},
		{"insert unknown value", config.Cookie{Name: "SRV", Mode: config.CookieInsert}, "SRV=zz", nil},
		{"insert other name", config.Cookie{Name: "SRV", Mode: config.CookieInsert}, "SRVX=ca", nil},
		{"rewrite", config.Cookie{Name: "JS", Mode: config.CookieRewrite}, "JS=ca", a},
		{"prefix", config.Cookie{Name: "JS", Mode: config.CookiePrefix}, "JS=ca~appvalue", a},
		{"prefix without separator", config.Cookie{Name: "JS", Mode: config.CookiePrefix}, "JS=ca", nil},
		{"maxidle fresh", config.Cookie{Name: "S", Mode: config.CookieInsert, MaxIdle: time.Minute}, "S=cb|" + hex(now-10) + "|" + hex(now-10), b},
		{"maxidle stale", config.Cookie{Name: "S", Mode: config.CookieInsert, MaxIdle: time.Minute}, "S=cb|" + hex(now-120) + "|" + hex(now-120), nil},
		{"maxlife old", config.Cookie{Name: "S", Mode: config.CookieInsert, MaxLife: time.Hour}, "S=cb|" + hex(now) + "|" + hex(now-7200), nil},
		{"undated accepted", config.Cookie{Name: "S", Mode: config.CookieInsert, MaxIdle: time.Minute}, "S=ca", a},
		{"far future refused", config.Cookie{Name: "S", Mode: config.CookieInsert, MaxIdle: time.Minute}, "S=ca|" + hex(now+3*86400) + "|" + hex(now), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newCookieRule(&c.cookie)
			req := parseReq(t, "GET / HTTP/1.1\r\nHost: x\r\nCookie: "+c.header+"\r\n\r\n")
			if got := r.lookup(req, pool, now).server; got != c.want {
				t.Fatalf("lookup(%q) = %v, want %v", c.header, got, c.want)
			}
		})
	}
}

func TestCookieInsertValue(t *testing.T) {
	_, a, b := cookiePool(t)
	r := newCookieRule(&config.Cookie{Name: "SRV", Mode: config.CookieInsert, Indirect: true, HTTPOnly: true, Secure: true,
		Domains: []string{".example.com"}, Attrs: []string{"SameSite=Strict"}})
	got := string(r.appendInsert(nil, a, persistence{}, 100))
	if want := "SRV=ca; path=/; domain=.example.com; HttpOnly; Secure; SameSite=Strict"; got != want {
		t.Fatalf("insert = %q, want %q", got, want)
	}
	// An explicit Path attribute replaces the default.
	r = newCookieRule(&config.Cookie{Name: "SRV", Mode: config.CookieInsert, Attrs: []string{"Path=/app", "Max-Age=60"}})
	if got := string(r.appendInsert(nil, b, persistence{}, 100)); got != "SRV=cb; Path=/app; Max-Age=60" {
		t.Fatalf("insert with Path attr = %q", got)
	}
	// Dated cookies keep their first-seen date while the server is the same.
	r = newCookieRule(&config.Cookie{Name: "S", Mode: config.CookieInsert, MaxIdle: time.Minute})
	if got := string(r.appendInsert(nil, a, persistence{server: a, first: 0x50}, 0x90)); !strings.HasPrefix(got, "S=ca|90|50;") {
		t.Fatalf("dated insert = %q", got)
	}
	if got := string(r.appendInsert(nil, b, persistence{server: a, first: 0x50}, 0x90)); !strings.HasPrefix(got, "S=cb|90|90;") {
		t.Fatalf("dated insert for a new server = %q", got)
	}
}

func TestCookieNeedInsert(t *testing.T) {
	_, a, b := cookiePool(t)
	plain := newCookieRule(&config.Cookie{Name: "S", Mode: config.CookieInsert})
	indirect := newCookieRule(&config.Cookie{Name: "S", Mode: config.CookieInsert, Indirect: true})
	idle := newCookieRule(&config.Cookie{Name: "S", Mode: config.CookieInsert, Indirect: true, MaxIdle: 400 * time.Second})
	cases := []struct {
		name string
		r    *cookieRule
		p    persistence
		srv  *backend.Server
		want bool
	}{
		{"no cookie yet", indirect, persistence{}, a, true},
		{"without indirect always", plain, persistence{server: a, valid: true}, a, true},
		{"indirect valid", indirect, persistence{server: a, valid: true}, a, false},
		{"indirect other server", indirect, persistence{server: a, valid: false}, b, true},
		{"maxidle recent", idle, persistence{server: a, valid: true, last: 1000, first: 1000}, a, false},
		{"maxidle needs refresh", idle, persistence{server: a, valid: true, last: 1000, first: 1000}, a, true},
	}
	for i, c := range cases {
		now := int64(1050)
		if i == len(cases)-1 {
			now = 1200 // older than maxidle/4
		}
		if got := c.r.needInsert(c.p, c.srv, now); got != c.want {
			t.Errorf("%s: needInsert = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCookieRequestRewrite(t *testing.T) {
	cases := []struct {
		name    string
		cookie  config.Cookie
		in, out string
		changed bool
	}{
		{"insert indirect strips", config.Cookie{Name: "SRV", Mode: config.CookieInsert, Indirect: true}, "a=1; SRV=ca; b=2", "a=1; b=2", true},
		{"insert indirect only cookie", config.Cookie{Name: "SRV", Mode: config.CookieInsert, Indirect: true}, "SRV=ca", "", true},
		{"insert direct keeps", config.Cookie{Name: "SRV", Mode: config.CookieInsert}, "SRV=ca", "", false},
		{"prefix strips prefix", config.Cookie{Name: "JS", Mode: config.CookiePrefix}, "JS=ca~xyz; o=1", "JS=xyz; o=1", true},
		{"rewrite untouched", config.Cookie{Name: "JS", Mode: config.CookieRewrite}, "JS=ca", "", false},
		{"similar name untouched", config.Cookie{Name: "SRV", Mode: config.CookieInsert, Indirect: true}, "SRVX=1", "SRVX=1", false},
	}
	for _, c := range cases {
		r := newCookieRule(&c.cookie)
		out, changed := r.requestCookie(nil, []byte(c.in))
		if changed != c.changed || (changed && string(out) != c.out) {
			t.Errorf("%s: %q -> %q changed=%v, want %q changed=%v", c.name, c.in, out, changed, c.out, c.changed)
		}
	}
}

func TestCookieResponseSetCookie(t *testing.T) {
	_, a, _ := cookiePool(t)
	cases := []struct {
		name       string
		cookie     config.Cookie
		in, out    string
		ours, drop bool
	}{
		{"rewrite", config.Cookie{Name: "JS", Mode: config.CookieRewrite}, "JS=app1; Path=/; HttpOnly", "JS=ca; Path=/; HttpOnly", true, false},
		{"prefix", config.Cookie{Name: "JS", Mode: config.CookiePrefix}, "JS=app1; Path=/", "JS=ca~app1; Path=/", true, false},
		{"insert drops the server's own", config.Cookie{Name: "S", Mode: config.CookieInsert}, "S=x", "", true, true},
		{"insert preserve keeps it", config.Cookie{Name: "S", Mode: config.CookieInsert, Preserve: true}, "S=x", "", true, false},
		{"other cookie untouched", config.Cookie{Name: "JS", Mode: config.CookieRewrite}, "other=1", "", false, false},
	}
	for _, c := range cases {
		r := newCookieRule(&c.cookie)
		out, ours, drop := r.responseSetCookie(nil, []byte(c.in), a)
		if ours != c.ours || drop != c.drop || string(out) != c.out {
			t.Errorf("%s: %q -> %q ours=%v drop=%v, want %q ours=%v drop=%v", c.name, c.in, out, ours, drop, c.out, c.ours, c.drop)
		}
	}
}

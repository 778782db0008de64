package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// affinityCase is one Ingress asking for cookie affinity.
type affinityCase struct {
	name        string // also the host's first label and the Service
	annotations map[string]string
	cookie      string
	mode        string // insert, rewrite or prefix
	// appCookie: the backends set their own cookie, which rewrite and
	// prefix need.
	appCookie bool
	attrs     func(c *http.Cookie, resp *http.Response) error
}

// appCookieValue is what the backends put in their own cookie.
const appCookieValue = "app123"

func affinityHandler(appCookie string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Cookie", r.Header.Get("Cookie"))
		if appCookie != "" {
			http.SetCookie(w, &http.Cookie{Name: appCookie, Value: appCookieValue, Path: "/app"})
		}
		fmt.Fprint(w, "ok")
	}
}

// TestClusterCookieAffinity checks cookie affinity set through both
// annotation families and in the three modes: the cookie's attributes,
// stickiness (also across changes to the other endpoints), what the server
// sees of the cookie, and redispatch once the sticky endpoint leaves the
// EndpointSlice; two replicas agree on every cookie.
func TestClusterCookieAffinity(t *testing.T) {
	e := newEnv(t, "affinity")
	cases := []affinityCase{
		{
			name: "sluice-insert", cookie: "STICK", mode: "insert",
			annotations: map[string]string{
				"sluice.dev/affinity":                "cookie",
				"sluice.dev/session-cookie-name":     "STICK",
				"sluice.dev/session-cookie-mode":     "insert",
				"sluice.dev/session-cookie-max-age":  "3600",
				"sluice.dev/session-cookie-path":     "/shop",
				"sluice.dev/session-cookie-samesite": "Strict",
				"sluice.dev/session-cookie-secure":   "true",
			},
			attrs: func(c *http.Cookie, resp *http.Response) error {
				if c.MaxAge != 3600 || c.Path != "/shop" || c.SameSite != http.SameSiteStrictMode || !c.Secure || !c.HttpOnly {
					return fmt.Errorf("attributes: Max-Age %d Path %q SameSite %v Secure %v HttpOnly %v", c.MaxAge, c.Path, c.SameSite, c.Secure, c.HttpOnly)
				}
				if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
					return fmt.Errorf("Cache-Control %q: an inserted cookie must keep shared caches out", cc)
				}
				return nil
			},
		},
		{
			name: "nginx-insert", cookie: "NGX", mode: "insert",
			annotations: map[string]string{
				"nginx.ingress.kubernetes.io/affinity":               "cookie",
				"nginx.ingress.kubernetes.io/session-cookie-name":    "NGX",
				"nginx.ingress.kubernetes.io/session-cookie-max-age": "120",
				"nginx.ingress.kubernetes.io/session-cookie-path":    "/app",
			},
			attrs: func(c *http.Cookie, _ *http.Response) error {
				if c.MaxAge != 120 || c.Path != "/app" || c.Secure || c.SameSite != 0 || !c.HttpOnly {
					return fmt.Errorf("attributes: Max-Age %d Path %q Secure %v SameSite %v HttpOnly %v", c.MaxAge, c.Path, c.Secure, c.SameSite, c.HttpOnly)
				}
				return nil
			},
		},
		{
			name: "rewrite", cookie: "JSESSIONID", mode: "rewrite", appCookie: true,
			annotations: map[string]string{
				"sluice.dev/affinity":            "cookie",
				"sluice.dev/session-cookie-name": "JSESSIONID",
				"sluice.dev/session-cookie-mode": "rewrite",
			},
			attrs: func(c *http.Cookie, _ *http.Response) error {
				if c.Value == appCookieValue || c.Path != "/app" {
					return fmt.Errorf("rewrite: value %q Path %q, want the server's value and the application's Path=/app", c.Value, c.Path)
				}
				return nil
			},
		},
		{
			name: "prefix", cookie: "JSESSIONID", mode: "prefix", appCookie: true,
			annotations: map[string]string{
				"sluice.dev/affinity":            "cookie",
				"sluice.dev/session-cookie-name": "JSESSIONID",
				"sluice.dev/session-cookie-mode": "prefix",
			},
			attrs: func(c *http.Cookie, _ *http.Response) error {
				if !strings.HasSuffix(c.Value, "~"+appCookieValue) || c.Path != "/app" {
					return fmt.Errorf("prefix: value %q Path %q, want SERVER~%s and Path=/app", c.Value, c.Path, appCookieValue)
				}
				return nil
			},
		},
	}
	pools := map[string][]*backend{}
	for _, c := range cases {
		app := ""
		if c.appCookie {
			app = c.cookie
		}
		pool := startPool(t, affinityHandler(app), c.name+"-a", c.name+"-b", c.name+"-c")
		pools[c.name] = pool
		e.service(c.name, 80, "http", pool[0], pool[1])
		e.ingress(c.name, c.annotations, rule{c.name + ".example", "/", networkingv1.PathTypePrefix, c.name, 80})
	}
	_, addr := e.controller("--leader-elect=false")
	// A second replica: cookie values name endpoints, not a replica's
	// state, so a client may land on either.
	_, replica := e.controller("--leader-elect=false")
	for _, c := range cases {
		expectSpread(t, addr, 10*time.Second, c.name+".example", "/", c.name+"-a", c.name+"-b")
		expectSpread(t, replica, 10*time.Second, c.name+".example", "/", c.name+"-a", c.name+"-b")
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, e, []string{addr, replica}, pools[c.name]) })
	}
}

// serverPart is the part of a cookie value that names the server.
func (c affinityCase) serverPart(v string) string {
	if c.mode == "prefix" {
		v, _, _ = strings.Cut(v, "~")
	}
	return v
}

// ask sends one request, with the persistence cookie value v when not
// empty, and returns the backend that answered and the persistence cookie
// the response sets (nil if none).
func (c affinityCase) ask(t *testing.T, addr, v string) (string, *http.Cookie, *http.Response) {
	t.Helper()
	hdr := http.Header{}
	if v != "" {
		hdr.Set("Cookie", "other=1; "+c.cookie+"="+v)
	}
	resp, err := tryGet(addr, c.name+".example", "/app/page", hdr)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d from %q with cookie %q", resp.StatusCode, resp.Header.Get("X-Served-By"), v)
	}
	var set *http.Cookie
	for _, line := range resp.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		if ck.Name == c.cookie {
			if set != nil {
				t.Fatalf("two Set-Cookie for %s: %q", c.cookie, resp.Header.Values("Set-Cookie"))
			}
			set = ck
		}
	}
	return resp.Header.Get("X-Served-By"), set, resp
}

// run checks one case; addrs are the HTTP addresses of the replicas, the
// first one taking the requests that need no particular replica.
func (c affinityCase) run(t *testing.T, e *env, addrs []string, pool []*backend) {
	addr := addrs[0]
	// Without a cookie, the balancer spreads requests and each answer sets
	// a cookie naming its server; each server has its own value.
	byServer := map[string]string{} // backend name -> cookie value
	for i := 0; i < 10 && len(byServer) < 2; i++ {
		by, ck, resp := c.ask(t, addr, "")
		if ck == nil {
			t.Fatalf("no Set-Cookie %s from %s: %q", c.cookie, by, resp.Header.Values("Set-Cookie"))
		}
		if err := c.attrs(ck, resp); err != nil {
			t.Fatalf("Set-Cookie %q from %s: %v", resp.Header.Values("Set-Cookie"), by, err)
		}
		if old, ok := byServer[by]; ok && c.serverPart(old) != c.serverPart(ck.Value) {
			t.Fatalf("%s got two cookie values: %q and %q", by, old, ck.Value)
		}
		byServer[by] = ck.Value
	}
	if len(byServer) != 2 {
		t.Fatalf("requests without a cookie reached %v, want both servers", byServer)
	}
	sticky := pool[0].name
	v := byServer[sticky]
	if c.serverPart(v) == c.serverPart(byServer[pool[1].name]) {
		t.Fatalf("both servers have the cookie value %q", c.serverPart(v))
	}

	stick := func(what string) {
		t.Helper()
		for i := 0; i < 20; i++ {
			by, ck, resp := c.ask(t, addrs[i%len(addrs)], v)
			if by != sticky {
				t.Fatalf("%s: request %d with %s=%s went to %s, want %s", what, i, c.cookie, v, by, sticky)
			}
			seen := pool[0].lastRequest()
			switch c.mode {
			case "insert":
				// indirect: the server never sees our cookie, and a valid
				// one is not set again.
				if got := seen.Header.Get("Cookie"); strings.Contains(got, c.cookie+"=") || !strings.Contains(got, "other=1") {
					t.Fatalf("%s: the server saw Cookie %q, want other=1 without %s", what, got, c.cookie)
				}
				if ck != nil {
					t.Fatalf("%s: a valid cookie was set again: %q", what, resp.Header.Values("Set-Cookie"))
				}
			case "rewrite":
				if got, err := seen.Cookie(c.cookie); err != nil || got.Value != v {
					t.Fatalf("%s: the server saw %s %v (%v), want the value as sent, %q", what, c.cookie, got, err, v)
				}
			case "prefix":
				// The server gets its own value back, without our prefix.
				if got, err := seen.Cookie(c.cookie); err != nil || got.Value != appCookieValue {
					t.Fatalf("%s: the server saw %s %v (%v), want %q", what, c.cookie, got, err, appCookieValue)
				}
			}
		}
	}
	stick("two endpoints")

	// A third endpoint comes: the cookie still names the same server.
	third := pool[2]
	e.setEndpoints(c.name, "http", readyEP(pool[0]), readyEP(pool[1]), readyEP(third))
	waitFor(t, 10*time.Second, "the new endpoint to serve", func() bool {
		by, _, _ := c.ask(t, addr, "")
		return by == third.name
	})
	stick("three endpoints")

	// The sticky endpoint leaves the slice (its pod is still running): a
	// request with its cookie goes elsewhere, answered, with a fresh cookie.
	e.setEndpoints(c.name, "http", readyEP(pool[1]), readyEP(third))
	var moved, fresh string
	waitFor(t, 10*time.Second, "redispatch away from "+sticky, func() bool {
		by, ck, resp := c.ask(t, addr, v)
		if by == sticky {
			return false
		}
		if ck == nil || c.serverPart(ck.Value) == c.serverPart(v) {
			t.Fatalf("redispatched to %s without a fresh cookie: %q", by, resp.Header.Values("Set-Cookie"))
		}
		if want, ok := byServer[by]; ok && c.serverPart(ck.Value) != c.serverPart(want) {
			t.Fatalf("redispatched to %s with cookie %q, want its value %q", by, ck.Value, want)
		}
		moved, fresh = by, ck.Value
		return true
	})
	for _, a := range addrs {
		waitFor(t, 10*time.Second, "every replica to redispatch", func() bool {
			by, _, _ := c.ask(t, a, v)
			return by != sticky
		})
	}
	for i := 0; i < 10; i++ {
		if by, _, _ := c.ask(t, addrs[i%len(addrs)], v); by == sticky {
			t.Fatalf("request %d with the stale cookie went back to %s", i, sticky)
		}
		// The fresh cookie sticks to the server that set it.
		if by, _, _ := c.ask(t, addrs[i%len(addrs)], fresh); by != moved || c.serverPart(fresh) == "" {
			t.Fatalf("request %d with the fresh cookie %q went to %s, want %s", i, fresh, by, moved)
		}
	}
	t.Logf("%s: sticky to %s (%s=%s), redispatched to %s (%s=%s)", c.name, sticky, c.cookie, v, moved, c.cookie, fresh)
}

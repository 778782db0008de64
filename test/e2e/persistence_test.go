package e2e

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/test/support"
)

func cookieConfig(port int, cookieLine string, servers ...*backend) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
defaults
    mode http
    timeout connect 500ms
    timeout server 5s
frontend http
    bind 127.0.0.1:%d
    default_backend app
backend app
    balance roundrobin
    option redispatch
    retries 2
    %s
`, port, cookieLine)
	for i, s := range servers {
		fmt.Fprintf(&b, "    server %s %s check inter 100ms fall 2 rise 2 cookie c%d\n", s.name, s.addr, i+1)
	}
	return b.String()
}

func TestCookieInsertStickinessAndRedispatch(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	b := startBackend(t, "b", "127.0.0.3", nil)
	port := support.FreePort(t)
	startSluice(t, cookieConfig(port, "cookie SRV insert indirect nocache", a, b))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)

	// First response inserts the cookie naming the server that answered.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	first := resp.Header.Get("X-Served-By")
	wantVal := map[string]string{"a": "c1", "b": "c2"}[first]
	if !strings.HasPrefix(sc, "SRV="+wantVal+"; path=/") || resp.Header.Get("Cache-Control") != "private" {
		t.Fatalf("insert: Set-Cookie %q Cache-Control %q from %s", sc, resp.Header.Get("Cache-Control"), first)
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	_, stuck, _ := get(t, c, url)
	for i := 0; i < 20; i++ {
		if _, by, _ := get(t, c, url); by != stuck {
			t.Fatalf("request %d with cookie went to %s, want %s", i, by, stuck)
		}
	}
	// indirect: the server never sees the persistence cookie.
	srv := map[string]*backend{"a": a, "b": b}[stuck]
	if ck := srv.lastRequest().Header.Get("Cookie"); strings.Contains(ck, "SRV=") {
		t.Errorf("indirect: server saw the cookie %q", ck)
	}

	// The sticky server dies: the next requests go to the other one, which
	// sets a fresh cookie.
	srv.close()
	other := map[string]string{"a": "b", "b": "a"}[stuck]
	resp, err = c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Served-By") != other {
		t.Fatalf("after %s died: status %d from %q, want 200 from %s (redispatch)", stuck, resp.StatusCode, resp.Header.Get("X-Served-By"), other)
	}
	if sc := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(sc, "SRV="+wantValFor(other)) {
		t.Fatalf("redispatched response: Set-Cookie %q, want a fresh cookie for %s", sc, other)
	}
	for i := 0; i < 10; i++ {
		if _, by, _ := get(t, c, url); by != other {
			t.Fatalf("after redispatch request %d went to %s", i, by)
		}
	}
}

func wantValFor(name string) string { return map[string]string{"a": "c1", "b": "c2"}[name] }

func TestCookieRewriteAndPrefix(t *testing.T) {
	setter := func(w http.ResponseWriter, r *http.Request) {
		if ck, err := r.Cookie("JSESSIONID"); err == nil {
			w.Header().Set("X-Seen", ck.Value)
		}
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "app123", Path: "/app"})
		fmt.Fprint(w, "ok")
	}
	for _, mode := range []string{"rewrite", "prefix"} {
		t.Run(mode, func(t *testing.T) {
			a := startBackend(t, "a", "127.0.0.2", setter)
			b := startBackend(t, "b", "127.0.0.3", setter)
			port := support.FreePort(t)
			startSluice(t, cookieConfig(port, "cookie JSESSIONID "+mode, a, b))
			url := fmt.Sprintf("http://127.0.0.1:%d/app", port)
			resp, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			by := resp.Header.Get("X-Served-By")
			val := wantValFor(by)
			sc := resp.Header.Get("Set-Cookie")
			want := "JSESSIONID=" + val + "; Path=/app"
			if mode == "prefix" {
				want = "JSESSIONID=" + val + "~app123; Path=/app"
			}
			if sc != want {
				t.Fatalf("Set-Cookie %q, want %q", sc, want)
			}
			// Presenting it again goes to the same server; in prefix mode the
			// server sees its own value back.
			cookieVal := strings.TrimPrefix(strings.Split(sc, ";")[0], "JSESSIONID=")
			for i := 0; i < 6; i++ {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Cookie", "other=1; JSESSIONID="+cookieVal)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := resp.Header.Get("X-Served-By"); got != by {
					t.Fatalf("request %d went to %s, want %s", i, got, by)
				}
				seen := resp.Header.Get("X-Seen")
				if mode == "prefix" && seen != "app123" {
					t.Fatalf("prefix: server saw %q, want its own value app123", seen)
				}
				if mode == "rewrite" && seen != val {
					t.Fatalf("rewrite: server saw %q, want %q", seen, val)
				}
			}
		})
	}
}

func TestCookieMaxIdleExpires(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	b := startBackend(t, "b", "127.0.0.3", nil)
	port := support.FreePort(t)
	startSluice(t, cookieConfig(port, "cookie SRV insert indirect maxidle 1s", a, b))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	val := strings.TrimPrefix(strings.Split(sc, ";")[0], "SRV=")
	if !strings.Contains(val, "|") {
		t.Fatalf("maxidle: cookie %q carries no date", sc)
	}
	// A cookie whose last-seen date is old is ignored: the response sets a
	// new one.
	parts := strings.Split(val, "|")
	old := fmt.Sprintf("%s|%x|%x", parts[0], time.Now().Add(-time.Hour).Unix(), time.Now().Add(-time.Hour).Unix())
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Cookie", "SRV="+old)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Set-Cookie") == "" {
		t.Fatal("expired cookie was honoured: no fresh Set-Cookie")
	}
	// A fresh one is kept, and indirect means no new Set-Cookie.
	req.Header.Set("Cookie", "SRV="+val)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Served-By"); got != map[string]string{"c1": "a", "c2": "b"}[parts[0]] {
		t.Fatalf("fresh dated cookie went to %s", got)
	}
}

func TestHealthCheckEjectionAndReturn(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	b := startBackend(t, "b", "127.0.0.3", nil)
	port := support.FreePort(t)
	p := startSluice(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 300ms
    timeout check 300ms
frontend http
    bind 127.0.0.1:%d
    default_backend app
backend app
    option httpchk GET /health
    server a %s check inter 100ms fall 2 rise 2
    server b %s check inter 100ms fall 2 rise 2
`, port, a.addr, b.addr))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	b.close()
	waitFor(t, 3*time.Second, "b marked down", func() bool {
		return strings.Contains(p.out.String(), "server down") && strings.Contains(p.out.String(), "server=b")
	})
	for i := 0; i < 20; i++ {
		status, by, _ := get(t, http.DefaultClient, url)
		if status != 200 || by != "a" {
			t.Fatalf("with b down, request %d: %d from %q", i, status, by)
		}
	}
	b = b.restart(t, nil)
	waitFor(t, 3*time.Second, "b back up", func() bool {
		return strings.Contains(p.out.String(), "server up")
	})
	seen := map[string]int{}
	for i := 0; i < 20; i++ {
		_, by, _ := get(t, http.DefaultClient, url)
		seen[by]++
	}
	if seen["b"] == 0 {
		t.Fatalf("b came back but gets no traffic: %v", seen)
	}
	if got := p.metric(`sluice_server_up{backend="app",server="b"}`); got != "1" {
		t.Errorf("sluice_server_up for b = %q, want 1", got)
	}
}

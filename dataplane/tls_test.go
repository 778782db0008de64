package dataplane

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/test/support"
)

// testCert makes a self-signed certificate for names; its common name is
// cn, and names become its subject alternative names.
func testCert(tb testing.TB, cn string, names ...string) *config.Certificate {
	tb.Helper()
	crt, key := support.SelfSigned(tb, cn, names...)
	return &config.Certificate{CertPEM: crt, KeyPEM: key}
}

// servedCN dials addr with sni and returns the common name of the
// certificate the server presented.
func servedCN(tb testing.TB, addr, sni string) string {
	tb.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		tb.Fatalf("TLS dial %s (SNI %q): %v", addr, sni, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestTLSPickBySNI(t *testing.T) {
	certs := map[string]*config.Certificate{
		"default": testCert(t, "default", "default.test"),
		"a":       testCert(t, "a", "a.example.com", "WWW.Example.COM"),
		"wild":    testCert(t, "wild", "*.example.com"),
		"shadow":  testCert(t, "shadow", "a.example.com", "b.example.org"),
		"cn-only": testCert(t, "cn.example.net"),
	}
	b := &config.BindTLS{Certificates: []string{"@default", "@a", "@wild", "@shadow", "@cn-only"}}
	tb, err := compileTLS(nil, config.ModeHTTP, b, certs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ sni, want string }{
		{"a.example.com", "a"},
		{"A.EXAMPLE.COM.", "a"},
		{"www.example.com", "a"},       // exact beats wildcard
		{"b.example.com", "wild"},      // one label under the wildcard
		{"x.b.example.com", "default"}, // a wildcard covers one label only
		{"example.com", "default"},
		{"b.example.org", "shadow"},          // the later certificate serves its other names
		{"cn.example.net", "cn.example.net"}, // no SAN: the common name
		{"", "default"},
		{"unknown.test", "default"},
	}
	for _, tt := range tests {
		c, err := tb.pick(&tls.ClientHelloInfo{ServerName: tt.sni})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Leaf.Subject.CommonName; got != tt.want {
			t.Errorf("SNI %q: got %q, want %q", tt.sni, got, tt.want)
		}
	}
}

func TestTLSCompileReuse(t *testing.T) {
	a, b := testCert(t, "a", "a.test"), testCert(t, "b", "b.test")
	certs := map[string]*config.Certificate{"a": a, "b": b}
	bind := &config.BindTLS{Certificates: []string{"@a", "@b"}}
	first, err := compileTLS(nil, config.ModeHTTP, bind, certs)
	if err != nil {
		t.Fatal(err)
	}
	// Same certificates, rebuilt configuration: the compiled form is kept.
	same, err := compileTLS(first, config.ModeHTTP, &config.BindTLS{Certificates: []string{"@a", "@b"}}, map[string]*config.Certificate{"a": a, "b": b})
	if err != nil || same != first {
		t.Fatalf("unchanged bind recompiled (%v)", err)
	}
	// One certificate renewed: a new bind, the other certificate's parse kept.
	b2 := testCert(t, "b2", "b.test")
	next, err := compileTLS(first, config.ModeHTTP, bind, map[string]*config.Certificate{"a": a, "b": b2})
	if err != nil || next == first {
		t.Fatalf("renewed certificate not picked up (%v)", err)
	}
	if next.certs[0] != first.certs[0] || next.certs[1] == first.certs[1] {
		t.Errorf("parsed certificates: kept %v, renewed %v", next.certs[0] == first.certs[0], next.certs[1] != first.certs[1])
	}
	if c, _ := next.pick(&tls.ClientHelloInfo{ServerName: "b.test"}); c.Leaf.Subject.CommonName != "b2" {
		t.Errorf("b.test served by %q after renewal", c.Leaf.Subject.CommonName)
	}
	// The ALPN offer is part of what is compared.
	alpn, err := compileTLS(first, config.ModeTCP, &config.BindTLS{Certificates: []string{"@a", "@b"}, ALPN: []string{"h2"}}, certs)
	if err != nil || alpn == first || strings.Join(alpn.config.NextProtos, ",") != "h2" {
		t.Errorf("tcp ALPN: reused %v, offers %q (%v)", alpn == first, alpn.config.NextProtos, err)
	}
}

func TestTLSOfferedALPN(t *testing.T) {
	tests := []struct {
		mode config.Mode
		list []string
		want string
	}{
		{config.ModeHTTP, nil, "http/1.1"},
		{config.ModeHTTP, []string{"h2", "http/1.1"}, "http/1.1"},
		{config.ModeHTTP, []string{"h2"}, "http/1.1"},
		{config.ModeHTTP, []string{"http/1.0", "http/1.1"}, "http/1.0,http/1.1"},
		{config.ModeTCP, nil, ""},
		{config.ModeTCP, []string{"h2", "x"}, "h2,x"},
	}
	for _, tt := range tests {
		if got := strings.Join(offeredALPN(tt.mode, tt.list), ","); got != tt.want {
			t.Errorf("%s %q: offers %q, want %q", tt.mode, tt.list, got, tt.want)
		}
	}
}

// writePEM writes a certificate's chain and key, together or apart.
func writePEM(tb testing.TB, dir, name string, c *config.Certificate, keyApart bool) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	body := append(append([]byte{}, c.CertPEM...), c.KeyPEM...)
	if keyApart {
		body = c.CertPEM
		if err := os.WriteFile(path+".key", c.KeyPEM, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(path, body, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	one := writePEM(t, dir, "one.pem", testCert(t, "one", "one.test"), false)
	sub := filepath.Join(dir, "certs")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	writePEM(t, sub, "b.pem", testCert(t, "b", "b.test"), true) // key in b.pem.key
	writePEM(t, sub, "a.pem", testCert(t, "a", "a.test"), false)
	tb, err := compileTLS(nil, config.ModeHTTP, &config.BindTLS{Certificates: []string{one, sub}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range tb.certs {
		got = append(got, c.cert.Leaf.Subject.CommonName)
	}
	if strings.Join(got, ",") != "one,a,b" || !tb.fromFiles {
		t.Errorf("loaded %q (from files %v), want one,a,b in that order", got, tb.fromFiles)
	}
	// Files are read again by every reload, so a renewed file is served.
	if again, err := compileTLS(tb, config.ModeHTTP, tb.src, nil); err != nil || again == tb {
		t.Errorf("a bind with files was reused across a reload (%v)", err)
	}

	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	nokey := writePEM(t, dir, "nokey.pem", testCert(t, "nokey"), false)
	if err := os.WriteFile(nokey, testCert(t, "nokey").CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	errs := []struct{ crt, want string }{
		{filepath.Join(dir, "missing.pem"), "no such file"},
		{bad, "no private key in the file"},
		{nokey, "no private key in the file"},
		{"@ghost", "no such in-memory certificate"},
		{t.TempDir(), "directory holds no certificate"},
	}
	for _, e := range errs {
		_, err := compileTLS(nil, config.ModeHTTP, &config.BindTLS{Certificates: []string{e.crt}}, nil)
		if err == nil || !strings.Contains(err.Error(), e.want) || !strings.Contains(err.Error(), e.crt) {
			t.Errorf("crt %s: error %v, want one naming it and saying %q", e.crt, err, e.want)
		}
	}
}

// tlsProxy runs a Runtime whose frontend listens in clear on one port and
// with TLS on another, and returns both addresses.
func tlsProxy(t *testing.T, rt *Runtime, cfg func(plain, secure int) *config.Config) (string, string) {
	t.Helper()
	plain, secure := freePort(t), freePort(t)
	if err := rt.Apply(cfg(plain, secure)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
	return "127.0.0.1:" + strconv.Itoa(plain), "127.0.0.1:" + strconv.Itoa(secure)
}

// echoBackend answers with the request's X-Forwarded-Proto and its path.
func echoBackend(t *testing.T, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", name, r.Header.Get("X-Forwarded-Proto"), r.URL.Path)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func serverOf(tb testing.TB, name, addr string) config.Server {
	host, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	return config.NewServer(name, host, port)
}

func TestTLSTerminationAndRules(t *testing.T) {
	web, secure := echoBackend(t, "web"), echoBackend(t, "secure")
	certs := map[string]*config.Certificate{
		"default": testCert(t, "default", "default.test"),
		"shop":    testCert(t, "shop", "shop.test"),
	}
	build := func(plain, tlsPort int) *config.Config {
		redirect := &config.Condition{Or: [][]config.Term{{
			{Negate: true, Inline: &config.ACL{Fetch: config.FetchSSLFC, Match: config.MatchBool}},
			{Inline: &config.ACL{Fetch: config.FetchHost, Match: config.MatchStr, Values: []string{"shop.test"}}},
		}}}
		sni := &config.Condition{Or: [][]config.Term{{{Inline: &config.ACL{Fetch: config.FetchSSLFCSNI, Match: config.MatchStr, Values: []string{"shop.test"}}}}}}
		return &config.Config{
			Certificates: certs,
			Frontends: []*config.Frontend{{
				Name: "fe", Mode: config.ModeHTTP,
				Binds: []config.Bind{
					{Host: "127.0.0.1", Port: plain},
					{Host: "127.0.0.1", Port: tlsPort, TLS: &config.BindTLS{Certificates: []string{"@default", "@shop"}}},
				},
				Options: config.Options{ForwardFor: true},
				HTTPRequest: []config.HTTPRequestRule{{Action: config.ActionRedirect, Cond: redirect,
					Redirect: &config.Redirect{Kind: config.RedirectScheme, Value: "https", Code: 308}}},
				UseBackends:    []config.UseBackend{{Backend: "secure", Cond: sni}},
				DefaultBackend: "web",
			}},
			Backends: []*config.Backend{
				{Name: "web", Mode: config.ModeHTTP, Servers: []config.Server{serverOf(t, "w", web)}},
				{Name: "secure", Mode: config.ModeHTTP, Servers: []config.Server{serverOf(t, "s", secure)}},
			},
		}
	}
	reg := prometheus.NewRegistry()
	rt := New(Options{Registerer: reg})
	plainAddr, tlsAddr := tlsProxy(t, rt, build)

	client := func(sni string) *http.Client {
		return &http.Client{
			Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: sni, InsecureSkipVerify: true}},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	get := func(c *http.Client, url, host string) (int, string, string) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s (Host %s): %v", url, host, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(body)
	}
	tests := []struct {
		name, url, sni, host string
		status               int
		location, body       string
	}{
		{"plain", "http://" + plainAddr + "/a?q=1", "", "other.test", 200, "", "web http /a"},
		{"plain to a TLS host redirects", "http://" + plainAddr + "/a?q=1", "", "shop.test:80", 308, "https://shop.test/a?q=1", ""},
		{"TLS, ssl_fc true, no redirect", "https://" + tlsAddr + "/a", "other.test", "shop.test", 200, "", "web https /a"},
		{"ssl_fc_sni routes", "https://" + tlsAddr + "/b", "shop.test", "shop.test", 200, "", "secure https /b"},
	}
	for _, tt := range tests {
		status, loc, body := get(client(tt.sni), tt.url, tt.host)
		if status != tt.status || loc != tt.location || body != tt.body {
			t.Errorf("%s: %d %q %q, want %d %q %q", tt.name, status, loc, body, tt.status, tt.location, tt.body)
		}
	}
	if got := servedCN(t, tlsAddr, "shop.test"); got != "shop" {
		t.Errorf("SNI shop.test served %q", got)
	}
	if got := servedCN(t, tlsAddr, ""); got != "default" {
		t.Errorf("no SNI served %q", got)
	}

	// A connection that is not TLS at all fails its handshake, is counted,
	// and leaves the listener serving.
	raw, err := net.Dial("tcp", tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(raw, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	_, _ = io.ReadAll(raw)
	raw.Close()
	deadline := time.Now().Add(5 * time.Second)
	for counterAt(t, gathered(t, reg), `sluice_frontend_tls_handshake_failures_total{frontend="fe"}`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the failed handshake was not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := servedCN(t, tlsAddr, "shop.test"); got != "shop" {
		t.Errorf("after a failed handshake, SNI shop.test served %q", got)
	}
}

func TestTLSReloadSwapsCertificatesKeepsSessions(t *testing.T) {
	web := echoBackend(t, "web")
	first := testCert(t, "first", "site.test")
	cfgWith := func(c *config.Certificate) func(int, int) *config.Config {
		return func(plain, secure int) *config.Config {
			return &config.Config{
				Certificates: map[string]*config.Certificate{"site": c},
				Frontends: []*config.Frontend{{
					Name: "fe", Mode: config.ModeHTTP,
					Binds: []config.Bind{
						{Host: "127.0.0.1", Port: plain},
						{Host: "127.0.0.1", Port: secure, TLS: &config.BindTLS{Certificates: []string{"@site"}}},
					},
					DefaultBackend: "web",
				}},
				Backends: []*config.Backend{{Name: "web", Mode: config.ModeHTTP, Servers: []config.Server{serverOf(t, "w", web)}}},
			}
		}
	}
	rt := New(Options{})
	var plainPort, tlsPort int
	plainAddr, tlsAddr := tlsProxy(t, rt, func(p, s int) *config.Config {
		plainPort, tlsPort = p, s
		return cfgWith(first)(p, s)
	})
	_ = plainAddr

	// A keep-alive TLS connection opened before the reload.
	cache := tls.NewLRUClientSessionCache(4)
	old, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "site.test", InsecureSkipVerify: true, ClientSessionCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	br := bufio.NewReader(old)
	roundTrip := func() string {
		fmt.Fprintf(old, "GET /k HTTP/1.1\r\nHost: site.test\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("keep-alive TLS request: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(body)
	}
	if got := roundTrip(); got != "web  /k" {
		t.Fatalf("before reload: %q", got)
	}

	second := testCert(t, "second", "site.test")
	if err := rt.Apply(cfgWith(second)(plainPort, tlsPort)); err != nil {
		t.Fatal(err)
	}
	if got := servedCN(t, tlsAddr, "site.test"); got != "second" {
		t.Errorf("after reload, a new connection got %q, want the new certificate", got)
	}
	if got := roundTrip(); got != "web  /k" {
		t.Errorf("the connection opened before the reload: %q", got)
	}
	// TLS 1.3 tickets arrive after the handshake: a read has consumed them.
	resumed, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "site.test", InsecureSkipVerify: true, ClientSessionCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if !resumed.ConnectionState().DidResume {
		t.Errorf("a session from before the reload was not resumed: ticket keys did not survive it")
	}

	// A broken certificate is refused; the previous one keeps serving.
	if err := rt.Apply(cfgWith(&config.Certificate{CertPEM: []byte("x"), KeyPEM: []byte("y")})(plainPort, tlsPort)); err == nil ||
		!strings.Contains(err.Error(), `bind 127.0.0.1:`+strconv.Itoa(tlsPort)) || !strings.Contains(err.Error(), `crt "@site"`) {
		t.Errorf("broken certificate: error %v, want one naming the bind and the crt", err)
	}
	if got := servedCN(t, tlsAddr, "site.test"); got != "second" {
		t.Errorf("after a refused reload, served %q", got)
	}
}

func TestTLSModeTCP(t *testing.T) {
	echo := support.ServeConns(t, func(c net.Conn) { _, _ = io.Copy(c, c) })
	certs := map[string]*config.Certificate{"c": testCert(t, "c", "tcp.test")}
	rt := New(Options{})
	_, tlsAddr := tlsProxy(t, rt, func(plain, secure int) *config.Config {
		return &config.Config{
			Certificates: certs,
			Frontends: []*config.Frontend{{
				Name: "fe", Mode: config.ModeTCP,
				Binds: []config.Bind{
					{Host: "127.0.0.1", Port: plain},
					{Host: "127.0.0.1", Port: secure, TLS: &config.BindTLS{Certificates: []string{"@c"}, ALPN: []string{"x-proto"}}},
				},
				DefaultBackend: "echo",
			}},
			Backends: []*config.Backend{{Name: "echo", Mode: config.ModeTCP, Servers: []config.Server{serverOf(t, "e", echo)}}},
		}
	})
	c, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "tcp.test", InsecureSkipVerify: true, NextProtos: []string{"x-proto"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "x-proto" {
		t.Errorf("negotiated %q, want x-proto", p)
	}
	msg := strings.Repeat("hello over TLS ", 5000)
	go func() { _, _ = io.WriteString(c, msg); _ = c.CloseWrite() }()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != msg {
		t.Errorf("echo through TLS: %d bytes (%v), want %d", len(got), err, len(msg))
	}
}

func TestCheckTLS(t *testing.T) {
	dir := t.TempDir()
	good := writePEM(t, dir, "good.pem", testCert(t, "good", "good.test"), false)
	src := fmt.Sprintf("frontend f\n bind :443 ssl crt %s\n bind :8443 ssl crt %s/missing.pem\n default_backend b\nbackend b\n server s 127.0.0.1:1\n", good, dir)
	cfg, _, err := config.Parse("t.cfg", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	err = CheckTLS(cfg)
	if err == nil || !strings.Contains(err.Error(), "t.cfg:3: frontend \"f\": bind :8443: crt") || strings.Contains(err.Error(), ":443:") {
		t.Errorf("CheckTLS: %v, want only the missing file named at t.cfg:3", err)
	}
}

// A reload can turn TLS on and off on a listener that stays open: each new
// connection follows the table of its moment.
func TestTLSToggledOnOpenListener(t *testing.T) {
	web := echoBackend(t, "web")
	certs := map[string]*config.Certificate{"c": testCert(t, "c", "toggle.test")}
	port := freePort(t)
	cfg := func(tlsOn bool) *config.Config {
		b := config.Bind{Host: "127.0.0.1", Port: port}
		if tlsOn {
			b.TLS = &config.BindTLS{Certificates: []string{"@c"}}
		}
		return &config.Config{
			Certificates: certs,
			Frontends:    []*config.Frontend{{Name: "fe", Mode: config.ModeHTTP, Binds: []config.Bind{b}, DefaultBackend: "web"}},
			Backends:     []*config.Backend{{Name: "web", Mode: config.ModeHTTP, Servers: []config.Server{serverOf(t, "w", web)}}},
		}
	}
	rt := New(Options{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	httpsClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "toggle.test"}}}
	plainClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i, tlsOn := range []bool{true, false, true} {
		if err := rt.Apply(cfg(tlsOn)); err != nil {
			t.Fatal(err)
		}
		c, url, other := plainClient, "http://"+addr+"/p", "https://"+addr+"/p"
		if tlsOn {
			c, url, other = httpsClient, "https://"+addr+"/p", "http://"+addr+"/p"
		}
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("step %d (TLS %v): %v", i, tlsOn, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "web  /p" {
			t.Errorf("step %d (TLS %v): body %q", i, tlsOn, body)
		}
		// The other scheme fails on this listener now.
		oc := plainClient
		if !tlsOn {
			oc = httpsClient
		}
		if resp, err := oc.Get(other); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Errorf("step %d (TLS %v): %s answered 200", i, tlsOn, other)
			}
		}
	}
}

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/test/support"
)

// seedConfig is the seed example: path_beg routing with a default backend.
func seedConfig(port int, blog, web []*backend) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend http
    bind 127.0.0.1:%d
    mode http

    acl url_blog path_beg /blog
    use_backend blog-backend if url_blog

    default_backend web-backend

backend blog-backend
    balance roundrobin
`, port)
	for _, s := range blog {
		fmt.Fprintf(&b, "    server %s %s\n", s.name, s.addr)
	}
	b.WriteString("\nbackend web-backend\n    balance roundrobin\n")
	for _, s := range web {
		fmt.Fprintf(&b, "    server %s %s\n", s.name, s.addr)
	}
	return b.String()
}

func TestSeedRouting(t *testing.T) {
	blog := startBackend(t, "blog1", "127.0.0.2", nil)
	web := startBackend(t, "web1", "127.0.0.3", nil)
	port := support.FreePort(t)
	startSluice(t, seedConfig(port, []*backend{blog}, []*backend{web}))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cases := []struct{ path, want string }{
		{"/blog", "blog1"},
		{"/blog/post/1", "blog1"},
		{"/blogging", "blog1"}, // path_beg is a plain prefix, as in HAProxy
		{"/", "web1"},
		{"/about", "web1"},
		{"/static/blog", "web1"},
	}
	for _, c := range cases {
		status, by, body := get(t, http.DefaultClient, base+c.path)
		if status != 200 || by != c.want || body != c.want+" "+c.path {
			t.Errorf("GET %s: status %d served by %q body %q, want 200 from %s", c.path, status, by, body, c.want)
		}
	}
	// The same with curl, a client we did not write.
	out, err := exec.Command("curl", "-s", "-H", "X-Test: 1", base+"/blog/x").CombinedOutput()
	if err != nil || string(out) != "blog1 /blog/x" {
		t.Errorf("curl /blog/x: %q, %v", out, err)
	}
}

func TestNoBackendMatches503(t *testing.T) {
	web := startBackend(t, "web1", "127.0.0.3", nil)
	port := support.FreePort(t)
	startSluice(t, fmt.Sprintf(`
frontend http
    bind 127.0.0.1:%d
    acl api path_beg /api
    use_backend api if api
backend api
    server a %s
`, port, web.addr))
	status, _, _ := get(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/other", port))
	if status != 503 {
		t.Fatalf("no matching use_backend and no default: status %d, want 503", status)
	}
	status, by, _ := get(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/api/x", port))
	if status != 200 || by != "web1" {
		t.Fatalf("/api/x: %d %q", status, by)
	}
}

func TestRoundRobinAndKeepAliveReuse(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	b := startBackend(t, "b", "127.0.0.3", nil)
	port := support.FreePort(t)
	startSluice(t, seedConfig(port, nil, []*backend{a, b}))

	// One client connection, 1000 requests.
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	var clientConns int
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		clientConns++
		return net.Dial(network, addr)
	}
	c := &http.Client{Transport: tr}
	counts := map[string]int{}
	const n = 1000
	for i := 0; i < n; i++ {
		status, by, _ := get(t, c, fmt.Sprintf("http://127.0.0.1:%d/r%d", port, i))
		if status != 200 {
			t.Fatalf("request %d: status %d", i, status)
		}
		counts[by]++
	}
	if counts["a"] != n/2 || counts["b"] != n/2 {
		t.Errorf("round robin over 2 equal servers: %v, want 500 each", counts)
	}
	if clientConns != 1 {
		t.Errorf("client opened %d connections, want 1", clientConns)
	}
	backendConns := a.conns.Load() + b.conns.Load()
	t.Logf("1000 requests over 1 client connection used %d backend connections", backendConns)
	if backendConns > 4 {
		t.Errorf("backend connections: %d, want reuse (at most 4)", backendConns)
	}
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	port := support.FreePort(t)
	startSluice(t, seedConfig(port, nil, []*backend{a}))
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var req strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&req, "GET /p%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	for i := 0; i < 10; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if want := fmt.Sprintf("a /p%d", i); string(body) != want {
			t.Fatalf("response %d: body %q, want %q", i, body, want)
		}
	}
}

func TestChunkedBothWaysAndExpectContinue(t *testing.T) {
	echo := startBackend(t, "echo", "127.0.0.2", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-TE", strings.Join(r.TransferEncoding, ","))
		// No Content-Length and several flushes: a chunked response.
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "[%s]", body)
			w.(http.Flusher).Flush()
		}
	})
	port := support.FreePort(t)
	startSluice(t, seedConfig(port, nil, []*backend{echo}))
	url := fmt.Sprintf("http://127.0.0.1:%d/echo", port)

	// Chunked request body (unknown length) and chunked response.
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 5; i++ {
			fmt.Fprintf(pw, "part%d;", i)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", url, pr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := strings.Repeat("[part0;part1;part2;part3;part4;]", 3)
	if string(body) != want || resp.Header.Get("X-TE") != "chunked" || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("chunked round trip: body %q TE(req)=%q TE(resp)=%v", body, resp.Header.Get("X-TE"), resp.TransferEncoding)
	}

	// An HTTP/1.0 client gets the chunked response de-chunked, ended by
	// the close of the connection.
	got := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), "GET /echo HTTP/1.0\r\n\r\n")
	head, body10, _ := strings.Cut(got, "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 200") || strings.Contains(strings.ToLower(head), "transfer-encoding") || body10 != "[][][]" {
		t.Fatalf("HTTP/1.0 client: head %q body %q", head, body10)
	}

	// Expect: 100-continue with curl: the body must arrive, without curl's
	// one-second wait for the 100.
	start := time.Now()
	out, err := exec.Command("curl", "-s", "-H", "Expect: 100-continue", "--data-binary", strings.Repeat("x", 2000), url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v %s", err, out)
	}
	if !strings.HasPrefix(string(out), "["+strings.Repeat("x", 2000)+"]") {
		t.Fatalf("expect-continue body not relayed: %.80q", out)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("curl waited %v: the proxy did not answer 100 Continue", d)
	}
}

func TestHopByHopAndForwardedHeaders(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	port := support.FreePort(t)
	cfg := strings.Replace(seedConfig(port, nil, []*backend{a}), "frontend http\n", "frontend http\n    option forwardfor\n", 1)
	startSluice(t, cfg)
	raw := fmt.Sprintf("GET /h HTTP/1.1\r\nHost: example.test\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nX-Forwarded-For: 10.9.9.9\r\nX-Kept: yes\r\n\r\n")
	got := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), raw)
	if !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Fatalf("response: %q", got)
	}
	r := a.lastRequest()
	if r.Header.Get("X-Secret") != "" || r.Header.Get("Keep-Alive") != "" {
		t.Errorf("hop-by-hop headers reached the server: %v", r.Header)
	}
	if r.Header.Get("X-Kept") != "yes" {
		t.Errorf("end-to-end header lost: %v", r.Header)
	}
	if got := strings.Join(r.Header.Values("X-Forwarded-For"), ", "); got != "10.9.9.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want the client appended", got)
	}
	if r.Header.Get("X-Forwarded-Proto") != "http" || r.Header.Get("X-Forwarded-Host") != "example.test" {
		t.Errorf("X-Forwarded-Proto/Host: %v", r.Header)
	}
	if !strings.Contains(strings.ToLower(got), "connection: close") {
		t.Errorf("client asked to close, response lacks Connection: close: %q", got)
	}
}

func TestSmugglingAndGarbageRefused(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	port := support.FreePort(t)
	startSluice(t, seedConfig(port, nil, []*backend{a}))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cases := []struct{ name, raw, want string }{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"conflicting CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", "400"},
		{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 5\r\n\r\nabcde", "400"},
		{"negative CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "400"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", "400"},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n", "400"},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", "400"},
		{"TE not chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "40"},
		{"TE chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", "40"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", "400"},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "400"},
		{"bad version", "GET / HTTP/9.9\r\nHost: x\r\n\r\n", "505"},
	}
	for _, c := range cases {
		got := rawExchange(t, addr, c.raw)
		if !strings.HasPrefix(got, "HTTP/1.1 "+c.want) {
			t.Errorf("%s: got %.60q, want status %s...", c.name, got, c.want)
		}
	}
	if a.reqs.Load() != 0 {
		t.Errorf("%d smuggling attempts reached the server", a.reqs.Load())
	}
	// Bad chunk size in a body: the head was fine and is already streaming
	// to the server when the body turns out bad; the client gets 400 and the
	// server connection is dropped.
	got := rawExchange(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("bad chunk size: %.80q, want 400", got)
	}
	// The proxy still serves.
	if status, _, _ := get(t, http.DefaultClient, "http://"+addr+"/"); status != 200 {
		t.Fatalf("after garbage: %d", status)
	}
}

func TestHeadLimits(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	port := support.FreePort(t)
	startSluice(t, seedConfig(port, nil, []*backend{a}))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	long := "GET /" + strings.Repeat("a", 20000) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	if got := rawExchange(t, addr, long); !strings.HasPrefix(got, "HTTP/1.1 414") {
		t.Errorf("long URI: %.40q, want 414", got)
	}
	big := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 100)+"\r\n", 200) + "\r\n"
	if got := rawExchange(t, addr, big); !strings.HasPrefix(got, "HTTP/1.1 431") {
		t.Errorf("large headers: %.40q, want 431", got)
	}
}

func TestUpstreamErrors(t *testing.T) {
	// A server that answers garbage, one that never answers, and a port
	// nobody listens on.
	garbage, _ := net.Listen("tcp", "127.0.0.2:0")
	defer garbage.Close()
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			go func() {
				_, _ = bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, "NOT HTTP AT ALL\r\n\r\n")
				c.Close()
			}()
		}
	}()
	silent, _ := net.Listen("tcp", "127.0.0.3:0")
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	closedPort := support.FreePort(t)
	port := support.FreePort(t)
	startSluice(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 500ms
    timeout server 300ms
    retries 1
frontend http
    bind 127.0.0.1:%d
    use_backend garbage if { path_beg /garbage }
    use_backend silent if { path_beg /silent }
    default_backend down
backend garbage
    server g %s
backend silent
    server s %s
backend down
    server d 127.0.0.1:%d
`, port, garbage.Addr(), silent.Addr(), closedPort))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for path, want := range map[string]int{"/garbage": 502, "/silent": 504, "/down": 503} {
		status, _, body := get(t, http.DefaultClient, base+path)
		if status != want || !strings.Contains(body, fmt.Sprint(want)) {
			t.Errorf("%s: status %d body %q, want %d", path, status, body, want)
		}
	}
}

package dataplane

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/test/support"
)

// rawBackend is an allocation-free HTTP/1.1 server for measuring the proxy:
// it answers every request head it reads with the same canned response.
func rawBackend(tb testing.TB, body string) string {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	return support.ServeConns(tb, func(c net.Conn) {
		buf := make([]byte, 8192)
		const eoh = "\r\n\r\n"
		matched := 0 // bytes of eoh seen so far, across reads
		for {
			n, err := c.Read(buf)
			for _, ch := range buf[:n] {
				switch {
				case ch == eoh[matched]:
					matched++
				case ch == '\r':
					matched = 1
				default:
					matched = 0
				}
				if matched == len(eoh) {
					matched = 0
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}
			if err != nil {
				return
			}
		}
	})
}

// startProxy runs a Runtime on 127.0.0.1 with one frontend whose only
// backend round-robins over addrs, and returns the frontend's address.
func startProxy(tb testing.TB, addrs ...string) (*Runtime, string) {
	tb.Helper()
	port := freePort(tb)
	be := &config.Backend{Name: "app", Retries: 3}
	for i, a := range addrs {
		host, p, _ := net.SplitHostPort(a)
		pn, _ := strconv.Atoi(p)
		be.Servers = append(be.Servers, config.Server{Name: "s" + strconv.Itoa(i+1), Host: host, Port: pn, Weight: 1, Inter: 2 * time.Second, Rise: 2, Fall: 3})
	}
	cfg := &config.Config{
		Frontends: []*config.Frontend{{Name: "fe", Binds: []config.Bind{{Host: "127.0.0.1", Port: port}}, DefaultBackend: "app"}},
		Backends:  []*config.Backend{be},
	}
	rt := New(Options{})
	if err := rt.Apply(cfg); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
	return rt, "127.0.0.1:" + strconv.Itoa(port)
}

func freePort(tb testing.TB) int { return support.FreePort(tb) }

// keepAliveClient sends the same GET over one connection and reads each
// response up to the body's known end marker.
type keepAliveClient struct {
	conn net.Conn
	req  []byte
	buf  []byte
	end  []byte
	last []byte // the last response read
}

func newClient(tb testing.TB, addr, end string) *keepAliveClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &keepAliveClient{conn: c, req: []byte("GET /bench HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"), buf: make([]byte, 64<<10), end: []byte(end)}
}

func (k *keepAliveClient) do() error {
	if _, err := k.conn.Write(k.req); err != nil {
		return err
	}
	n := 0
	for {
		m, err := k.conn.Read(k.buf[n:])
		n += m
		if bytes.HasSuffix(k.buf[:n], k.end) {
			k.last = k.buf[:n]
			if !bytes.HasPrefix(k.buf[:n], []byte("HTTP/1.1 200 ")) {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
		if n == len(k.buf) {
			return io.ErrShortBuffer
		}
	}
}

const smallBody = "0123456789012345678901234567890123456789012345678901234567END\n"

func TestProxyRoundTrip(t *testing.T) {
	_, addr := startProxy(t, rawBackend(t, smallBody))
	c := newClient(t, addr, "END\n")
	for i := 0; i < 100; i++ {
		if err := c.do(); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
}

// BenchmarkProxyKeepAlive measures one proxied request on a keep-alive
// client connection with a pooled server connection: parse, route, pick,
// forward, relay.
func BenchmarkProxyKeepAlive(b *testing.B) {
	_, addr := startProxy(b, rawBackend(b, smallBody), rawBackend(b, smallBody))
	measureRoundTrips(b, newClient(b, addr, "END\n"))
}

// BenchmarkNetHTTPReverseProxyKeepAlive is the baseline the engine is
// measured against: net/http's server with httputil.ReverseProxy, same
// client, same backends.
func BenchmarkNetHTTPReverseProxyKeepAlive(b *testing.B) {
	backends := []string{rawBackend(b, smallBody), rawBackend(b, smallBody)}
	var next atomic.Uint64
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = backends[next.Add(1)%2]
		},
		Transport:  &http.Transport{MaxIdleConnsPerHost: 64},
		BufferPool: &copyBuffers{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: rp}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	measureRoundTrips(b, newClient(b, ln.Addr().String(), "END\n"))
}

// copyBuffers hands ReverseProxy its copy buffers from a pool, as a tuned
// deployment does (without one it allocates 32 KiB per response).
type copyBuffers struct{ p sync.Pool }

func (c *copyBuffers) Get() []byte {
	if v, ok := c.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (c *copyBuffers) Put(buf []byte) { c.p.Put(&buf) }

// measureRoundTrips warms c's connections up, then times b.N round trips.
func measureRoundTrips(b *testing.B, c *keepAliveClient) {
	for i := 0; i < 100; i++ {
		if err := c.do(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.do(); err != nil {
			b.Fatal(err)
		}
	}
}

// splitBackend answers each request with a Content-Length body sent in two
// writes, the second after pause: the proxy must relay the whole body
// whether the second part is already there when the first leaves or not.
func splitBackend(tb testing.TB, first, second int, pause time.Duration) string {
	head := []byte("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(first+second) + "\r\n\r\n")
	part1 := append(head, bytes.Repeat([]byte("a"), first)...)
	part2 := bytes.Repeat([]byte("b"), second)
	return support.ServeConns(tb, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if !bytes.HasSuffix(buf[:n], []byte("\r\n\r\n")) {
				continue // the test client sends each head in one write
			}
			c.Write(part1)
			time.Sleep(pause)
			c.Write(part2)
		}
	})
}

func TestProxyBodyInPieces(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second int
		pause         time.Duration
	}{
		{"together", 16 << 10, 68, 0},
		{"second late", 16 << 10, 68, 20 * time.Millisecond},
		{"beyond coalescing", 30 << 10, 30 << 10, 0},
		{"beyond coalescing, late", 30 << 10, 30 << 10, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startProxy(t, splitBackend(t, tc.first, tc.second, tc.pause))
			c := newClient(t, addr, strings.Repeat("b", tc.second))
			for i := 0; i < 3; i++ {
				if err := c.do(); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				_, body, _ := bytes.Cut(c.last, []byte("\r\n\r\n"))
				want := strings.Repeat("a", tc.first) + strings.Repeat("b", tc.second)
				if string(body) != want {
					t.Fatalf("request %d: body of %d bytes, not the %d sent", i, len(body), len(want))
				}
			}
		})
	}
}

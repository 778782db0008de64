package dataplane

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/test/support"
)

// timeout client and timeout server bound inactivity: a body that keeps
// flowing, one byte every 80 ms for 800 ms, outlives both (300 ms), up
// and down.
func TestBodyFlowOutlivesTimeouts(t *testing.T) {
	const cfg = `
frontend fe
    mode http
    bind 127.0.0.1:%d
    timeout client 300ms
    default_backend app
backend app
    mode http
    timeout server 300ms
    server s1 %s
`
	trickle := func(w io.Writer) {
		for range 10 {
			time.Sleep(80 * time.Millisecond)
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
		}
	}
	t.Run("download", func(t *testing.T) {
		server := support.ServeConns(t, func(c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
			trickle(c)
		})
		_, addr, _ := applyConfig(t, cfg, server)
		c := dialProxy(t, addr)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != "xxxxxxxxxx" {
			t.Fatalf("body %q, %v: the download was cut", body, err)
		}
	})
	t.Run("upload", func(t *testing.T) {
		server := support.ServeConns(t, func(c net.Conn) {
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+string(body))
		})
		_, addr, _ := applyConfig(t, cfg, server)
		c := dialProxy(t, addr)
		_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
		trickle(c)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.EqualFold(string(body), "xxxxxxxxxx") {
			t.Fatalf("%d %q: the upload was cut", resp.StatusCode, body)
		}
	})
}

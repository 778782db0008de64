package e2e

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/test/support"
)

// echoServer accepts TCP connections on ip, reads everything until the
// client half-closes, then answers "echo:" + what it read and closes.
func echoServer(t *testing.T, ip string) net.Listener {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				data, _ := io.ReadAll(c) // returns at the client's half-close
				_, _ = c.Write(append([]byte("echo:"), data...))
			}()
		}
	}()
	return ln
}

func TestTCPModeEchoWithHalfClose(t *testing.T) {
	e1 := echoServer(t, "127.0.0.2")
	e2 := echoServer(t, "127.0.0.3")
	port := support.FreePort(t)
	startSluice(t, fmt.Sprintf(`
frontend tcp-in
    mode tcp
    bind 127.0.0.1:%d
    default_backend echo
backend echo
    mode tcp
    balance roundrobin
    server e1 %s
    server e2 %s
`, port, e1.Addr(), e2.Addr()))
	for i := 0; i < 6; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := strings.Repeat(fmt.Sprintf("m%d-", i), 50000) // 250 kB+, several reads
		go func() {
			_, _ = io.WriteString(c, msg)
			_ = c.(*net.TCPConn).CloseWrite() // half-close: the server must see EOF
		}()
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != "echo:"+msg {
			t.Fatalf("session %d: %d bytes back (err %v), want %d", i, len(got), err, len(msg)+5)
		}
	}
}

// wsBackend answers a WebSocket handshake, then echoes frames' payloads
// back as unmasked text frames.
func wsBackend(t *testing.T) *backend {
	return startBackend(t, "ws", "127.0.0.2", func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want websocket", 400)
			return
		}
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
		_ = brw.Flush()
		for {
			payload, err := readFrame(brw.Reader)
			if err != nil {
				return
			}
			if _, err := conn.Write(frame(append([]byte("echo:"), payload...), false)); err != nil {
				return
			}
		}
	})
}

// frame builds a final text frame (masked as clients must).
func frame(payload []byte, masked bool) []byte {
	b := []byte{0x81}
	m := byte(0)
	if masked {
		m = 0x80
	}
	switch {
	case len(payload) < 126:
		b = append(b, m|byte(len(payload)))
	default:
		b = append(b, m|126, byte(len(payload)>>8), byte(len(payload)))
	}
	if !masked {
		return append(b, payload...)
	}
	key := []byte{1, 2, 3, 4}
	b = append(b, key...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, err
		}
		n = int(l[0])<<8 | int(l[1])
	}
	var key [4]byte
	masked := h[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return nil, err
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	if masked {
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return p, nil
}

func TestWebSocketThroughProxy(t *testing.T) {
	ws := wsBackend(t)
	port := support.FreePort(t)
	startSluice(t, seedConfig(port, nil, []*backend{ws}))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	for i := 0; i < 5; i++ {
		msg := []byte(fmt.Sprintf("hello %d %s", i, strings.Repeat("x", i*100)))
		if _, err := c.Write(frame(msg, true)); err != nil {
			t.Fatal(err)
		}
		got, err := readFrame(br)
		if err != nil || string(got) != "echo:"+string(msg) {
			t.Fatalf("message %d: %q %v", i, got, err)
		}
	}
}

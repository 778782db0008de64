//go:build !race

package h1

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestZeroAllocs holds the hot path to its promise: after warm-up nothing
// here allocates, on success or on error. (The race detector allocates, hence
// the build tag.)
func TestZeroAllocs(t *testing.T) {
	req := []byte(benchRequest)
	bad := []byte("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n")
	resp := []byte(benchResponse)
	chunked := []byte(benchChunkedBody(16, 1024))
	plain := bytes.Repeat([]byte("x"), 64<<10)

	var r Request
	var s Response
	rd := bytes.NewReader(nil)
	src := bufio.NewReaderSize(rd, 4096)
	dst := make([]byte, 0, 4096)
	var sink int

	cases := []struct {
		name string
		fn   func()
	}{
		{"Request.Parse", func() {
			r.Reset()
			if err := r.Parse(req, false); err != nil {
				t.Fatal(err)
			}
		}},
		{"Request.Parse incomplete", func() {
			if err := r.Parse(req[:len(req)/2], false); err != ErrNeedMore {
				t.Fatal(err)
			}
		}},
		{"Request.Parse rejected", func() {
			if err := r.Parse(bad, false); err != reqErrors.obsFold {
				t.Fatal(err)
			}
		}},
		{"Request.Parse too large", func() {
			if err := r.Parse(req[:len(req)/2], true); err != ErrHeaderTooLarge {
				t.Fatal(err)
			}
		}},
		{"Response.Parse", func() {
			s.Reset()
			if err := s.Parse(resp, false); err != nil {
				t.Fatal(err)
			}
			sink += int(s.BodyMode(r.Method))
		}},
		{"CopyLength", func() {
			rd.Reset(plain)
			src.Reset(rd)
			if _, err := CopyLength(io.Discard, src, int64(len(plain))); err != nil {
				t.Fatal(err)
			}
		}},
		{"CopyChunked", func() {
			rd.Reset(chunked)
			src.Reset(rd)
			if _, err := CopyChunked(io.Discard, src); err != nil {
				t.Fatal(err)
			}
		}},
		{"CopyDechunked", func() {
			rd.Reset(chunked)
			src.Reset(rd)
			if _, err := CopyDechunked(io.Discard, src); err != nil {
				t.Fatal(err)
			}
		}},
		{"CopyChunked malformed", func() {
			rd.Reset(chunked[:len(chunked)-3])
			src.Reset(rd)
			if _, err := CopyChunked(io.Discard, src); err != io.ErrUnexpectedEOF {
				t.Fatal(err)
			}
		}},
		{"header helpers", func() {
			for _, h := range r.Headers {
				if !Drop(r.Headers, h.Name) {
					sink++
				}
			}
			v, _ := Cookie(r.Headers, []byte("SERVERID"))
			q, _ := QueryParam(r.Query, []byte("size"))
			sink += len(v) + len(q)
		}},
		{"append head", func() {
			dst = AppendRequestLine(dst[:0], r.Method, r.Path, 1)
			for _, h := range r.Headers {
				dst = AppendHeader(dst, h.Name, h.Value)
			}
			dst = AppendHeader(dst, "X-Forwarded-For", "10.0.0.1")
			dst = AppendContentLength(dst, 12345)
			dst = AppendStatusLine(dst, 1, 200, "")
		}},
	}
	for _, c := range cases {
		c.fn() // warm up: grow Headers and dst once
		if n := testing.AllocsPerRun(100, c.fn); n > 0 {
			t.Errorf("%s: %v allocations per run, want 0", c.name, n)
		}
	}
	if !strings.Contains(string(dst), "X-Forwarded-For") || sink == 0 {
		t.Error("the measured code did not run")
	}
}

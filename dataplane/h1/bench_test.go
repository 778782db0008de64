package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
)

// benchRequest is what a browser sends for a page: eleven fields, a
// query, cookies.
const benchRequest = "GET /products/shoes/running?color=blue&size=42&page=2 HTTP/1.1\r\n" +
	"Host: shop.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Referer: https://shop.example.com/products/shoes\r\n" +
	"Cookie: SERVERID=web3; session=8f2a9c1e6b7d4e3fa0c2d5e8b1f4a7c9; _ga=GA1.2.123456789.1700000000\r\n" +
	"Connection: keep-alive\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"Sec-Fetch-Mode: navigate\r\n" +
	"Cache-Control: max-age=0\r\n" +
	"\r\n"

const benchResponse = "HTTP/1.1 200 OK\r\n" +
	"Date: Mon, 13 May 2024 10:00:00 GMT\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Length: 12345\r\n" +
	"Cache-Control: private, max-age=0\r\n" +
	"Set-Cookie: SERVERID=web3; Path=/; HttpOnly\r\n" +
	"Vary: Accept-Encoding\r\n" +
	"Content-Encoding: gzip\r\n" +
	"Server: nginx\r\n" +
	"X-Request-Id: 5f1c7a2e-9b3d-4c8e-a6f0-2d4b8e1c3a5f\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

// benchChunkedBody returns n chunks of size bytes, an extension and a
// trailer, as a streaming backend would send.
func benchChunkedBody(n, size int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", size, strings.Repeat("d", size))
	}
	b.WriteString("0;done\r\nX-Checksum: 0123456789abcdef\r\n\r\n")
	return b.String()
}

func BenchmarkParseRequest(b *testing.B) {
	buf := []byte(benchRequest)
	var r Request
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Parse(buf, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRequestNetHTTP is the baseline: net/http on the same bytes,
// its reader reused.
func BenchmarkParseRequestNetHTTP(b *testing.B) {
	buf := []byte(benchRequest)
	rd := bytes.NewReader(buf)
	br := bufio.NewReader(rd)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(buf)
		br.Reset(rd)
		if _, err := http.ReadRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	buf := []byte(benchResponse)
	var r Response
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Parse(buf, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponseNetHTTP(b *testing.B) {
	buf := []byte(benchResponse)
	rd := bytes.NewReader(buf)
	br := bufio.NewReader(rd)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(buf)
		br.Reset(rd)
		if _, err := http.ReadResponse(br, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchCopy(b *testing.B, body []byte, copy func(*bufio.Reader) error) {
	rd := bytes.NewReader(body)
	src := bufio.NewReaderSize(rd, 16<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		src.Reset(rd)
		if err := copy(src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCopyChunked(b *testing.B) {
	for _, shape := range []struct{ n, size int }{{16, 4096}, {1024, 64}} {
		body := []byte(benchChunkedBody(shape.n, shape.size))
		b.Run(fmt.Sprintf("%dx%d", shape.n, shape.size), func(b *testing.B) {
			benchCopy(b, body, func(src *bufio.Reader) error {
				_, err := CopyChunked(io.Discard, src)
				return err
			})
		})
	}
}

func BenchmarkCopyDechunked(b *testing.B) {
	for _, shape := range []struct{ n, size int }{{16, 4096}, {1024, 64}} {
		body := []byte(benchChunkedBody(shape.n, shape.size))
		b.Run(fmt.Sprintf("%dx%d", shape.n, shape.size), func(b *testing.B) {
			benchCopy(b, body, func(src *bufio.Reader) error {
				_, err := CopyDechunked(io.Discard, src)
				return err
			})
		})
	}
}

// BenchmarkCopyChunkedNetHTTP decodes the same bodies with net/http's
// chunked reader, the nearest standard-library equivalent (it dechunks and
// leaves trailers unread).
func BenchmarkCopyChunkedNetHTTP(b *testing.B) {
	for _, shape := range []struct{ n, size int }{{16, 4096}, {1024, 64}} {
		body := []byte(benchChunkedBody(shape.n, shape.size))
		buf := make([]byte, 32<<10)
		b.Run(fmt.Sprintf("%dx%d", shape.n, shape.size), func(b *testing.B) {
			benchCopy(b, body, func(src *bufio.Reader) error {
				_, err := io.CopyBuffer(io.Discard, httputil.NewChunkedReader(src), buf)
				return err
			})
		})
	}
}

func BenchmarkCopyLength(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 64<<10)
	benchCopy(b, body, func(src *bufio.Reader) error {
		_, err := CopyLength(io.Discard, src, int64(len(body)))
		return err
	})
}

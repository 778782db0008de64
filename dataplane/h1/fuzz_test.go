package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

var requestSeeds = []string{
	benchRequest,
	"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"\r\nGET /a?b=c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"GET http://[::1]:8080/x?y HTTP/1.1\r\nHost: z\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
	"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\nHost: h\n\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\t \r\nConnection: close\t\r\n\r\n",
	"GET http://h:/ HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /%00 HTTP/1.1\r\nHost:\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive , close\r\n\r\n",
	"GET http://h?a HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET //x/a:b? HTTP/1.1\r\nHost: x\r\n\r\n",
}

// within reports whether s lies inside buf, which the parser promises for
// every slice it returns.
func within(buf, s []byte) bool {
	if len(s) == 0 {
		return true
	}
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return p >= b && p+uintptr(len(s)) <= b+uintptr(len(buf))
}

// clCollapsed reports whether hdrs rely on the collapsing of repeated or
// listed Content-Length values, which net/http refuses.
func clCollapsed(hdrs []Header) bool {
	n := 0
	for _, h := range hdrs {
		if EqualFold(h.Name, "content-length") {
			n++
			if n > 1 || bytes.IndexByte(h.Value, ',') >= 0 {
				return true
			}
		}
	}
	return false
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r, full Request
		err := r.Parse(data, false)
		errFull := full.Parse(data, true)
		switch {
		case err == ErrNeedMore:
			if errFull != ErrURITooLong && errFull != ErrHeaderTooLarge {
				t.Fatalf("incomplete, but with a full buffer: %v", errFull)
			}
			return
		case err != errFull:
			t.Fatalf("full buffer changed the result: %v vs %v", err, errFull)
		case err != nil:
			var e *Error
			if !errors.As(err, &e) || e.Status < 400 || e.Status > 505 || e.Reason == "" {
				t.Fatalf("error %v carries no client-error status", err)
			}
			return
		}
		checkRequest(t, data, &r)

		// Every proper prefix of an accepted head is merely incomplete.
		step := max(1, r.HeadLen/256)
		for i := 0; i < r.HeadLen; i += step {
			var p Request
			if err := p.Parse(data[:i], false); err != ErrNeedMore {
				t.Fatalf("prefix [:%d] of an accepted head: %v", i, err)
			}
		}
		var head Request
		if err := head.Parse(data[:r.HeadLen], false); err != nil || !reflect.DeepEqual(head, r) {
			t.Fatalf("the head alone parses differently: %v\n%+v\n%+v", err, head, r)
		}
		agreeWithNetHTTP(t, data[:r.HeadLen], &r)
	})
}

func checkRequest(t *testing.T, data []byte, r *Request) {
	t.Helper()
	if r.HeadLen <= 0 || r.HeadLen > len(data) {
		t.Fatalf("HeadLen %d, buffer %d", r.HeadLen, len(data))
	}
	if r.ContentLength >= 0 && r.Chunked {
		t.Fatal("both Content-Length and chunked")
	}
	if r.Minor != 0 && r.Minor != 1 || len(r.Headers) > MaxHeaders {
		t.Fatalf("Minor %d, %d headers", r.Minor, len(r.Headers))
	}
	if r.Minor == 0 && (r.Chunked || r.Upgrade || r.Expect100) {
		t.Fatal("HTTP/1.1 features on an HTTP/1.0 request")
	}
	head := data[:r.HeadLen]
	for _, s := range [][]byte{r.Method, r.Target, r.Query, r.Host} {
		if !within(head, s) {
			t.Fatalf("%q does not alias the head", s)
		}
	}
	for _, h := range r.Headers {
		if !within(head, h.Name) || !within(head, h.Value) || !validToken(h.Name) || !validValue(h.Value) {
			t.Fatalf("bad header %q: %q", h.Name, h.Value)
		}
	}
	if !validToken(r.Method) || string(r.Method) == "CONNECT" {
		t.Fatalf("method %q", r.Method)
	}
	switch r.Form {
	case OriginForm, AsteriskForm:
		if !bytes.HasPrefix(r.Target, r.Path) || !within(head, r.Path) {
			t.Fatalf("Path %q is not a prefix of Target %q", r.Path, r.Target)
		}
	case AbsoluteForm:
		if len(r.Path) == 0 || r.Path[0] != '/' || !bytes.Contains(r.Target, r.Host) || len(r.Host) == 0 {
			t.Fatalf("absolute-form: Target %q Host %q Path %q", r.Target, r.Host, r.Path)
		}
	}
	if r.Query != nil && !bytes.HasSuffix(r.Target, append([]byte("?"), r.Query...)) {
		t.Fatalf("Target %q does not end in ?Query %q", r.Target, r.Query)
	}
	if r.Form != AbsoluteForm && len(r.Path)+len(r.Query)+min(1, len(r.Target)-len(r.Path)) != len(r.Target) {
		t.Fatalf("Target %q is not Path %q ? Query %q", r.Target, r.Path, r.Query)
	}
	if r.Form == AsteriskForm && (string(r.Method) != "OPTIONS" || string(r.Target) != "*") {
		t.Fatalf("asterisk-form %q %q", r.Method, r.Target)
	}
	if len(r.Host) > 0 && !validHost(r.Host) {
		t.Fatalf("invalid Host %q accepted", r.Host)
	}
}

// agreeWithNetHTTP checks that net/http, a widely deployed backend parser,
// reads an accepted head the same way: a head we forward must not mean
// something else to the backend.
func agreeWithNetHTTP(t *testing.T, head []byte, r *Request) {
	t.Helper()
	if clCollapsed(r.Headers) {
		return // documented: we collapse equal Content-Length values
	}
	// net/http does not skip the empty lines RFC 9112 §2.2 allows.
	h := head
	for bytes.HasPrefix(h, []byte("\r\n")) {
		h = h[2:]
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(h)))
	if err != nil {
		t.Fatalf("accepted %q, net/http refuses it: %v", head, err)
	}
	if req.Method != string(r.Method) || req.RequestURI != string(r.Target) || req.ProtoMinor != r.Minor {
		t.Fatalf("request line: net/http %q %q 1.%d", req.Method, req.RequestURI, req.ProtoMinor)
	}
	if req.Host != string(r.Host) {
		t.Fatalf("Host %q, net/http %q", r.Host, req.Host)
	}
	if netChunked := len(req.TransferEncoding) == 1 && req.TransferEncoding[0] == "chunked"; netChunked != r.Chunked {
		t.Fatalf("chunked %v, net/http %v", r.Chunked, netChunked)
	}
	if r.ContentLength >= 0 && req.ContentLength != r.ContentLength {
		t.Fatalf("Content-Length %d, net/http %d", r.ContentLength, req.ContentLength)
	}
	if req.Close != r.Close {
		t.Fatalf("Close %v, net/http %v", r.Close, req.Close)
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		benchResponse,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.0 200\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r, full Response
		err := r.Parse(data, false)
		errFull := full.Parse(data, true)
		switch {
		case err == ErrNeedMore:
			if errFull != errRespTooLarge {
				t.Fatalf("incomplete, but with a full buffer: %v", errFull)
			}
			return
		case err != errFull:
			t.Fatalf("full buffer changed the result: %v vs %v", err, errFull)
		case err != nil:
			if !errors.Is(err, ErrBadGateway) || err.(*Error).Status != 502 {
				t.Fatalf("error %v is not a 502", err)
			}
			return
		}
		if r.HeadLen <= 0 || r.HeadLen > len(data) || r.Status < 100 || r.Status > 599 ||
			r.ContentLength >= 0 && r.Chunked || !within(data[:r.HeadLen], r.Reason) {
			t.Fatalf("invariants broken: %+v", r)
		}
		for i := 0; i < r.HeadLen; i += max(1, r.HeadLen/256) {
			var p Response
			if err := p.Parse(data[:i], false); err != ErrNeedMore {
				t.Fatalf("prefix [:%d] of an accepted head: %v", i, err)
			}
		}
		if clCollapsed(r.Headers) {
			return
		}
		n := 0
		for _, h := range r.Headers {
			if EqualFold(h.Name, "transfer-encoding") {
				n++
				if !EqualFold(h.Value, "chunked") {
					n++
				}
			}
		}
		if n > 1 {
			return // documented: codings other than chunked are relayed, net/http refuses them
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data[:r.HeadLen])), nil)
		if err != nil {
			t.Fatalf("accepted %q, net/http refuses it: %v", data[:r.HeadLen], err)
		}
		mode := r.BodyMode([]byte("GET"))
		if resp.StatusCode != r.Status || resp.ProtoMinor != r.Minor {
			t.Fatalf("status line: net/http %d 1.%d", resp.StatusCode, resp.ProtoMinor)
		}
		if netClose := r.Close || mode == BodyUntilClose; resp.Close != netClose {
			t.Fatalf("close %v, net/http %v", netClose, resp.Close)
		}
		if mode == BodyLength && resp.ContentLength != r.ContentLength {
			t.Fatalf("Content-Length %d, net/http %d", r.ContentLength, resp.ContentLength)
		}
	})
}

func FuzzCopyChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"3;a=b;c=\"d\\\"\"\r\nabc\r\n0\r\nTrailer: x\r\n\r\n",
		"A\r\n0123456789\r\n0000\r\n\r\nNEXT",
		"4000000000000001\r\n",
		"5\r\nhello\n0\r\n\r\n",
		"0\r\nX: a\r\n b\r\n\r\n",
		benchChunkedBody(3, 20),
	} {
		f.Add([]byte(s), uint16(0))
		f.Add([]byte(s), uint16(48))
	}
	f.Fuzz(func(t *testing.T, data []byte, size uint16) {
		bufSize := 16 + int(size)%4096
		n, out, rest, err := runCopy(CopyChunked, data, bufSize)
		if !bytes.HasPrefix(data, out) {
			t.Fatalf("forwarded %q, not a prefix of the input", out)
		}
		if err != nil {
			if err != io.ErrUnexpectedEOF && !errors.Is(err, ErrBadChunk) {
				t.Fatalf("unexpected error %v", err)
			}
		} else if len(out)+rest != len(data) {
			t.Fatalf("forwarded %d bytes and left %d of %d", len(out), rest, len(data))
		}

		// Dechunking checks the same framing and yields the data.
		dn, dout, drest, derr := runCopy(CopyDechunked, data, bufSize)
		if derr != err || err == nil && (dn != n || drest != rest || int64(len(dout)) != n) {
			t.Fatalf("dechunk: n=%d rest=%d err=%v; verbatim n=%d rest=%d err=%v", dn, drest, derr, n, rest, err)
		}

		// The reader's size only matters to lines that do not fit.
		bn, _, brest, berr := runCopy(CopyChunked, data, 64<<10)
		if err != errChunkLine && (berr != err || err == nil && (bn != n || brest != rest)) {
			t.Fatalf("buffer %d: n=%d err=%v; 64K: n=%d err=%v", bufSize, n, err, bn, berr)
		}
		if err != nil {
			return
		}
		// net/http's decoder must read the same data from what we forward.
		got, nerr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(out)))
		if nerr != nil && strings.Contains(nerr.Error(), "too much non-data") {
			return
		}
		if nerr != nil || !bytes.Equal(got, dout) {
			t.Fatalf("net/http reads %q (%v), we read %q", got, nerr, dout)
		}
	})
}

// runCopy runs a copier over data with a reader of the given size and
// returns its count, the output, the bytes it left unread and its error.
func runCopy(copy func(io.Writer, *bufio.Reader) (int64, error), data []byte, size int) (int64, []byte, int, error) {
	rd := bytes.NewReader(data)
	src := bufio.NewReaderSize(rd, size)
	var out bytes.Buffer
	n, err := copy(&out, src)
	return n, out.Bytes(), src.Buffered() + rd.Len(), err
}

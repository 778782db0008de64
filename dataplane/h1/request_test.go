package h1

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// want describes the fields a valid request must parse to. Zero fields of
// the optional kind are still compared: every case states them all.
type wantRequest struct {
	method, target, path, query, host string
	form                              TargetForm
	minor                             int
	headers                           int
	contentLength                     int64
	chunked, close, upgrade, expect   bool
}

func TestParseRequestValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want wantRequest
	}{
		{"origin-form", "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n",
			wantRequest{method: "GET", target: "/index.html", path: "/index.html", host: "example.com", minor: 1, headers: 1, contentLength: -1}},
		{"query", "GET /a/b?x=1&y=%zz HTTP/1.1\r\nHost: h\r\n\r\n",
			wantRequest{method: "GET", target: "/a/b?x=1&y=%zz", path: "/a/b", query: "x=1&y=%zz", host: "h", minor: 1, headers: 1, contentLength: -1}},
		{"empty query", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
			wantRequest{method: "GET", target: "/a?", path: "/a", host: "h", minor: 1, headers: 1, contentLength: -1}},
		{"percent-encoded path", "GET /a%20b%2F HTTP/1.1\r\nHost: h\r\n\r\n",
			wantRequest{method: "GET", target: "/a%20b%2F", path: "/a%20b%2F", host: "h", minor: 1, headers: 1, contentLength: -1}},
		{"absolute-form overrides Host", "GET http://Example.com:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
			wantRequest{method: "GET", target: "http://Example.com:8080/p?q", path: "/p", query: "q", host: "Example.com:8080", form: AbsoluteForm, minor: 1, headers: 1, contentLength: -1}},
		{"absolute-form without path", "GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n",
			wantRequest{method: "GET", target: "HTTPS://h", path: "/", host: "h", form: AbsoluteForm, minor: 1, headers: 1, contentLength: -1}},
		{"absolute-form query without path", "GET http://h?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
			wantRequest{method: "GET", target: "http://h?x=1", path: "/", query: "x=1", host: "h", form: AbsoluteForm, minor: 1, headers: 1, contentLength: -1}},
		{"absolute-form IPv6", "GET http://[2001:db8::1]:80/ HTTP/1.1\r\nHost: x\r\n\r\n",
			wantRequest{method: "GET", target: "http://[2001:db8::1]:80/", path: "/", host: "[2001:db8::1]:80", form: AbsoluteForm, minor: 1, headers: 1, contentLength: -1}},
		{"asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
			wantRequest{method: "OPTIONS", target: "*", path: "*", host: "h", form: AsteriskForm, minor: 1, headers: 1, contentLength: -1}},
		{"HTTP/1.0 without Host closes", "GET / HTTP/1.0\r\n\r\n",
			wantRequest{method: "GET", target: "/", path: "/", minor: 0, contentLength: -1, close: true}},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			wantRequest{method: "GET", target: "/", path: "/", minor: 0, headers: 1, contentLength: -1}},
		{"Connection: close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, CLOSE\r\n\r\n",
			wantRequest{method: "GET", target: "/", path: "/", host: "h", minor: 1, headers: 2, contentLength: -1, close: true}},
		{"upgrade", "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
			wantRequest{method: "GET", target: "/ws", path: "/ws", host: "h", minor: 1, headers: 3, contentLength: -1, upgrade: true}},
		{"upgrade without Connection token", "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
			wantRequest{method: "GET", target: "/ws", path: "/ws", host: "h", minor: 1, headers: 2, contentLength: -1}},
		{"upgrade ignored in HTTP/1.0", "GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
			wantRequest{method: "GET", target: "/ws", path: "/ws", minor: 0, headers: 2, contentLength: -1, close: true}},
		{"expect 100-continue", "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-Continue\r\n\r\n",
			wantRequest{method: "PUT", target: "/f", path: "/f", host: "h", minor: 1, headers: 3, contentLength: 10, expect: true}},
		{"expect ignored in HTTP/1.0", "PUT /f HTTP/1.0\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
			wantRequest{method: "PUT", target: "/f", path: "/f", minor: 0, headers: 2, contentLength: 10, close: true}},
		{"content-length list collapses", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\ncontent-length: 05\r\n\r\n",
			wantRequest{method: "POST", target: "/", path: "/", host: "h", minor: 1, headers: 3, contentLength: 5}},
		{"content-length zero", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
			wantRequest{method: "POST", target: "/", path: "/", host: "h", minor: 1, headers: 2, contentLength: 0}},
		{"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n",
			wantRequest{method: "POST", target: "/", path: "/", host: "h", minor: 1, headers: 2, contentLength: -1, chunked: true}},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
			wantRequest{method: "GET", target: "/", path: "/", host: "h", minor: 1, headers: 1, contentLength: -1}},
		{"whitespace and obs-text in value", "GET / HTTP/1.1\r\nHost:h\r\nX-A: \t a \x80\xff b\t \r\nX-Empty:\r\n\r\n",
			wantRequest{method: "GET", target: "/", path: "/", host: "h", minor: 1, headers: 3, contentLength: -1}},
		{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n",
			wantRequest{method: "GET", target: "/", path: "/", minor: 1, headers: 1, contentLength: -1}},
		{"token method", "M-SEARCH /x HTTP/1.1\r\nHost: 10.0.0.1:1900\r\n\r\n",
			wantRequest{method: "M-SEARCH", target: "/x", path: "/x", host: "10.0.0.1:1900", minor: 1, headers: 1, contentLength: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := []byte(tt.in + "BODY")
			var r Request
			if err := r.Parse(buf, false); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := wantRequest{
				method: string(r.Method), target: string(r.Target), path: string(r.Path),
				query: string(r.Query), host: string(r.Host), form: r.Form, minor: r.Minor,
				headers: len(r.Headers), contentLength: r.ContentLength,
				chunked: r.Chunked, close: r.Close, upgrade: r.Upgrade, expect: r.Expect100,
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if r.HeadLen != len(tt.in) {
				t.Errorf("HeadLen = %d, want %d", r.HeadLen, len(tt.in))
			}
		})
	}
}

func TestParseRequestHeaders(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: h\r\nAccept:  text/html \r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"
	var r Request
	if err := r.Parse([]byte(in), false); err != nil {
		t.Fatal(err)
	}
	want := []string{"Host", "h", "Accept", "text/html", "X-Dup", "1", "x-dup", "2"}
	var got []string
	for _, h := range r.Headers {
		got = append(got, string(h.Name), string(h.Value))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("headers %q, want %q", got, want)
	}
}

func TestParseRequestReject(t *testing.T) {
	const host = "Host: h\r\n"
	tests := []struct {
		name string
		in   string
		want *Error
	}{
		{"bare LF request line", "GET / HTTP/1.1\n" + host + "\r\n", reqErrors.bareLF},
		{"bare LF header", "GET / HTTP/1.1\r\nHost: h\n\r\n", reqErrors.bareLF},
		{"bare LF end", "GET / HTTP/1.1\r\n" + host + "\n", reqErrors.bareLF},
		{"bare LF before request line", "\nGET / HTTP/1.1\r\n" + host + "\r\n", reqErrors.bareLF},
		{"bare CR before request line", "\rGET / HTTP/1.1\r\n" + host + "\r\n", reqErrors.bareCR},
		{"bare CR at line start", "GET / HTTP/1.1\r\n" + host + "\rX: y\r\n\r\n", reqErrors.bareCR},
		{"CR in value", "GET / HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n", reqErrors.value},
		{"NUL in value", "GET / HTTP/1.1\r\n" + host + "X: a\x00b\r\n\r\n", reqErrors.value},
		{"DEL in value", "GET / HTTP/1.1\r\n" + host + "X: a\x7fb\r\n\r\n", reqErrors.value},
		{"NUL in name", "GET / HTTP/1.1\r\n" + host + "X\x00: a\r\n\r\n", reqErrors.name},
		{"NUL in target", "GET /\x00 HTTP/1.1\r\n" + host + "\r\n", errTarget},
		{"NUL in method", "G\x00T / HTTP/1.1\r\n" + host + "\r\n", errMethod},
		{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", reqErrors.obsFold},
		{"obs-fold tab", "GET / HTTP/1.1\r\n" + host + "X: a\r\n\tb\r\n\r\n", reqErrors.obsFold},
		{"space before first field", "GET / HTTP/1.1\r\n " + host + "\r\n", reqErrors.leadingSpace},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", reqErrors.name},
		{"empty name", "GET / HTTP/1.1\r\n" + host + ": v\r\n\r\n", reqErrors.name},
		{"no colon", "GET / HTTP/1.1\r\n" + host + "Xv\r\n\r\n", reqErrors.name},
		{"non-token name", "GET / HTTP/1.1\r\n" + host + "X(y): v\r\n\r\n", reqErrors.name},
		{"invalid method", "G(T / HTTP/1.1\r\n" + host + "\r\n", errMethod},
		{"empty method", " / HTTP/1.1\r\n" + host + "\r\n", errMethod},
		{"double space", "GET  / HTTP/1.1\r\n" + host + "\r\n", errRequestLine},
		{"tab separator", "GET\t/ HTTP/1.1\r\n" + host + "\r\n", errMethod},
		{"no version", "GET /\r\n" + host + "\r\n", errRequestLine},
		{"method only", "GET\r\n" + host + "\r\n", errRequestLine},
		{"trailing space", "GET / HTTP/1.1 \r\n" + host + "\r\n", errVersion},
		{"lower-case version", "GET / http/1.1\r\n" + host + "\r\n", errVersion},
		{"version garbage", "GET / HTTP/1.x\r\n" + host + "\r\n", errVersion},
		{"HTTP/1.2", "GET / HTTP/1.2\r\n" + host + "\r\n", errHTTP2},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", errHTTP2},
		{"HTTP/0.9", "GET / HTTP/0.9\r\n" + host + "\r\n", errHTTP2},
		{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", errConnect},
		{"asterisk for GET", "GET * HTTP/1.1\r\n" + host + "\r\n", errAsterisk},
		{"ftp scheme", "GET ftp://h/ HTTP/1.1\r\n" + host + "\r\n", errScheme},
		{"relative target", "GET index.html HTTP/1.1\r\n" + host + "\r\n", errTarget},
		{"userinfo", "GET http://u:p@h/ HTTP/1.1\r\n" + host + "\r\n", errUserinfo},
		{"empty authority", "GET http:///x HTTP/1.1\r\n" + host + "\r\n", errHost},
		{"bad port", "GET http://h:8a/ HTTP/1.1\r\n" + host + "\r\n", errHost},
		{"fragment", "GET /a#b HTTP/1.1\r\n" + host + "\r\n", errTarget},
		{"non-ASCII target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n", errTarget},
		{"bad percent", "GET /a%zz HTTP/1.1\r\n" + host + "\r\n", errPercent},
		{"short percent", "GET /a%4 HTTP/1.1\r\n" + host + "\r\n", errPercent},
		{"percent at end", "GET /a% HTTP/1.1\r\n" + host + "\r\n", errPercent},
		{"missing Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", errMissingHost},
		{"missing Host absolute-form", "GET http://h/ HTTP/1.1\r\n\r\n", errMissingHost},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", errMultipleHost},
		{"two Hosts HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", errMultipleHost},
		{"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", errHost},
		{"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", errHost},
		{"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", errHost},
		{"Host unclosed IPv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", errHost},
		{"Host bracketed IPv4", "GET / HTTP/1.1\r\nHost: [1.2.3.4]\r\n\r\n", errHost},
		{"Host two ports", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", errHost},
		{"CL and TE", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", reqErrors.lengthAndEncoding},
		{"TE and CL", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", reqErrors.lengthAndEncoding},
		{"CL sign", "POST / HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\n", reqErrors.contentLength},
		{"CL negative", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", reqErrors.contentLength},
		{"CL hex", "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x5\r\n\r\n", reqErrors.contentLength},
		{"CL inner space", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1 2\r\n\r\n", reqErrors.contentLength},
		{"CL empty", "POST / HTTP/1.1\r\n" + host + "Content-Length:\r\n\r\n", reqErrors.contentLength},
		{"CL empty element", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5,\r\n\r\n", reqErrors.contentLength},
		{"CL overflow", "POST / HTTP/1.1\r\n" + host + "Content-Length: 9223372036854775808\r\n\r\n", reqErrors.contentLength},
		{"CL list differs", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 6\r\n\r\n", reqErrors.conflictingLength},
		{"CL fields differ", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", reqErrors.conflictingLength},
		{"TE unknown before chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n", errUnknownTE},
		{"TE chunked not last", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n", reqErrors.chunkedNotLast},
		{"TE without chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", reqErrors.chunkedNotLast},
		{"TE chunked with parameter", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked;q=1\r\n\r\n", reqErrors.chunkedNotLast},
		{"TE identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n", reqErrors.chunkedNotLast},
		{"TE chunked twice", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n", reqErrors.chunkedTwice},
		{"TE chunked in two fields", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", reqErrors.chunkedTwice},
		{"TE empty element", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: , chunked\r\n\r\n", reqErrors.encoding},
		{"TE empty", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n\r\n", reqErrors.encoding},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", reqErrors.encodingHTTP10},
		{"too many headers", "GET / HTTP/1.1\r\n" + host + strings.Repeat("X: y\r\n", MaxHeaders) + "\r\n", errTooMany},
		{"TLS handshake", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", errMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			err := r.Parse([]byte(tt.in), false)
			if err != tt.want {
				t.Fatalf("Parse = %v, want %v", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.want.Status || e.Reason == "" {
				t.Fatalf("error %v is not an *Error with status %d", err, tt.want.Status)
			}
			var kind *Error
			switch e.Status {
			case 400:
				kind = ErrBadRequest
			case 431:
				kind = ErrHeaderTooLarge
			case 501:
				kind = ErrNotImplemented
			case 505:
				kind = ErrVersionNotSupported
			}
			if !errors.Is(err, kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, kind)
			}
		})
	}
}

func TestRequestErrorStatuses(t *testing.T) {
	// Spot-check that the statuses sent to clients are the ones the RFCs
	// name, since the table above compares error identities only.
	for _, c := range []struct {
		err    *Error
		status int
	}{
		{reqErrors.obsFold, 400}, {errTooMany, 431}, {errConnect, 501}, {errUnknownTE, 501},
		{errHTTP2, 505}, {ErrURITooLong, 414}, {ErrHeaderTooLarge, 431}, {reqErrors.lengthAndEncoding, 400},
	} {
		if c.err.Status != c.status {
			t.Errorf("%q: status %d, want %d", c.err.Reason, c.err.Status, c.status)
		}
	}
}

func TestParseRequestIncremental(t *testing.T) {
	inputs := []string{
		"GET /index.html?a=b HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nCookie: a=b; c=d\r\n\r\n",
		"\r\n\r\nPOST http://h:1/x HTTP/1.1\r\nHost: y\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
		"OPTIONS * HTTP/1.0\r\n\r\n",
	}
	for _, in := range inputs {
		buf := []byte(in)
		var whole Request
		if err := whole.Parse(buf, false); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		var r Request
		for i := 0; i < len(buf); i++ {
			if err := r.Parse(buf[:i], false); err != ErrNeedMore {
				t.Fatalf("%q[:%d]: %v, want ErrNeedMore", in, i, err)
			}
		}
		if err := r.Parse(buf, false); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r, whole) {
			t.Errorf("%q: byte by byte\n%+v\nwhole\n%+v", in, r, whole)
		}
	}
}

func TestParseRequestFull(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"GET /aaaaaaaaaaaaaaaa", ErrURITooLong},
		{"GET / HTTP/1.1\r", ErrURITooLong},
		{"\r\n\r\n", ErrURITooLong},
		{"GET / HTTP/1.1\r\n", ErrHeaderTooLarge},
		{"GET / HTTP/1.1\r\nHost: h\r\nX: aaaaaaaa", ErrHeaderTooLarge},
		{"GET / HTTP/1.1\r\nHost: h\r\n\r", ErrHeaderTooLarge},
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", nil},
	}
	for _, tt := range tests {
		var r Request
		if err := r.Parse([]byte(tt.in), true); err != tt.want {
			t.Errorf("Parse(%q, full) = %v, want %v", tt.in, err, tt.want)
		}
		if tt.want == nil {
			continue
		}
		if err := r.Parse([]byte(tt.in), false); err != ErrNeedMore {
			t.Errorf("Parse(%q, not full) = %v, want ErrNeedMore", tt.in, err)
		}
	}
}

func TestParseRequestReuse(t *testing.T) {
	var r Request
	if err := r.Parse([]byte("POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close, upgrade\r\nUpgrade: x\r\n\r\n"), false); err != nil {
		t.Fatal(err)
	}
	if err := r.Parse([]byte("GET /b HTTP/1.1\r\nHost: b\r\n\r\n"), false); err != nil {
		t.Fatal(err)
	}
	if r.Chunked || r.Close || r.Upgrade || r.Expect100 || r.Form != OriginForm || r.Query != nil ||
		r.ContentLength != -1 || len(r.Headers) != 1 || string(r.Host) != "b" {
		t.Errorf("state leaked from the previous request: %+v", r)
	}
}

func TestRequestBodyMode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want BodyMode
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", BodyNone},
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", BodyNone},
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n", BodyLength},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", BodyChunked},
	} {
		var r Request
		if err := r.Parse([]byte(c.in), false); err != nil {
			t.Fatal(err)
		}
		if got := r.BodyMode(); got != c.want {
			t.Errorf("%q: %v, want %v", c.in, got, c.want)
		}
	}
}

package h1

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseResponseValid(t *testing.T) {
	type want struct {
		status        int
		reason        string
		minor         int
		contentLength int64
		chunked       bool
		coded         bool
		close         bool
		upgrade       bool
		mode          BodyMode // for a GET
	}
	tests := []struct {
		name string
		in   string
		want want
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n",
			want{status: 200, reason: "OK", minor: 1, contentLength: 12, mode: BodyLength}},
		{"no reason with SP", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
			want{status: 404, minor: 1, contentLength: 0, mode: BodyLength}},
		{"no reason without SP", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n",
			want{status: 200, minor: 1, contentLength: 1, mode: BodyLength}},
		{"reason with spaces", "HTTP/1.1 500 Internal  Server\tError\r\nContent-Length: 0\r\n\r\n",
			want{status: 500, reason: "Internal  Server\tError", minor: 1, contentLength: 0, mode: BodyLength}},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			want{status: 200, reason: "OK", minor: 1, contentLength: -1, chunked: true, mode: BodyChunked}},
		{"coded then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
			want{status: 200, reason: "OK", minor: 1, contentLength: -1, chunked: true, coded: true, mode: BodyChunked}},
		{"final coding not chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
			want{status: 200, reason: "OK", minor: 1, contentLength: -1, coded: true, mode: BodyUntilClose}},
		{"no framing", "HTTP/1.1 200 OK\r\n\r\n",
			want{status: 200, reason: "OK", minor: 1, contentLength: -1, mode: BodyUntilClose}},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
			want{status: 200, reason: "OK", minor: 0, contentLength: 2, close: true, mode: BodyLength}},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
			want{status: 200, reason: "OK", minor: 0, contentLength: 2, mode: BodyLength}},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
			want{status: 200, reason: "OK", minor: 1, contentLength: 2, close: true, mode: BodyLength}},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n",
			want{status: 204, reason: "No Content", minor: 1, contentLength: -1, mode: BodyNone}},
		{"not modified with length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
			want{status: 304, reason: "Not Modified", minor: 1, contentLength: 100, mode: BodyNone}},
		{"continue", "HTTP/1.1 100 Continue\r\n\r\n",
			want{status: 100, reason: "Continue", minor: 1, contentLength: -1, mode: BodyNone}},
		{"switching protocols", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			want{status: 101, reason: "Switching Protocols", minor: 1, contentLength: -1, upgrade: true, mode: BodyNone}},
		{"CL list", "HTTP/1.1 200 OK\r\nContent-Length: 3,3\r\nContent-Length: 3\r\n\r\n",
			want{status: 200, reason: "OK", minor: 1, contentLength: 3, mode: BodyLength}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			buf := []byte(tt.in + "body")
			if err := r.Parse(buf, false); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := want{r.Status, string(r.Reason), r.Minor, r.ContentLength, r.Chunked, r.Coded, r.Close, r.Upgrade, r.BodyMode([]byte("GET"))}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if r.HeadLen != len(tt.in) {
				t.Errorf("HeadLen = %d, want %d", r.HeadLen, len(tt.in))
			}
			if m := r.BodyMode([]byte("HEAD")); m != BodyNone {
				t.Errorf("BodyMode(HEAD) = %v", m)
			}
		})
	}
}

func TestParseResponseReject(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Error
	}{
		{"HTTP/2", "HTTP/2 200 OK\r\n\r\n", errStatusLine},
		{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", errStatusLine},
		{"lower-case", "http/1.1 200 OK\r\n\r\n", errStatusLine},
		{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", errStatusLine},
		{"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", errStatusLine},
		{"status 099", "HTTP/1.1 099 X\r\n\r\n", errStatusLine},
		{"status 600", "HTTP/1.1 600 X\r\n\r\n", errStatusLine},
		{"double space", "HTTP/1.1  200 OK\r\n\r\n", errStatusLine},
		{"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", errStatusLine},
		{"HTTP/0.9 body", "<html>\r\n", errStatusLine},
		{"garbage prefix", "<ht", errStatusLine},
		{"bare LF status", "HTTP/1.1 200 OK\n\r\n", respErrors.bareLF},
		{"bare LF field", "HTTP/1.1 200 OK\r\nX: y\n\r\n", respErrors.bareLF},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", respErrors.obsFold},
		{"space before colon", "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", respErrors.name},
		{"NUL in value", "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", respErrors.value},
		{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", respErrors.lengthAndEncoding},
		{"CL conflict", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", respErrors.conflictingLength},
		{"CL invalid", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", respErrors.contentLength},
		{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", respErrors.chunkedTwice},
		{"TE empty element", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n", respErrors.encoding},
		{"TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", respErrors.encodingHTTP10},
		{"too many fields", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", MaxHeaders+1) + "\r\n", respErrors.tooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			err := r.Parse([]byte(tt.in), false)
			if err != tt.want {
				t.Fatalf("Parse = %v, want %v", err, tt.want)
			}
			if tt.want.Status != 502 || !errors.Is(err, ErrBadGateway) {
				t.Errorf("%v: status %d, want a 502 wrapping ErrBadGateway", err, tt.want.Status)
			}
		})
	}
}

func TestParseResponseIncrementalAndFull(t *testing.T) {
	in := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: a=b; Path=/\r\nContent-Length: 5\r\n\r\n")
	var whole, r Response
	if err := whole.Parse(in, false); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(in); i++ {
		if err := r.Parse(in[:i], false); err != ErrNeedMore {
			t.Fatalf("[:%d]: %v, want ErrNeedMore", i, err)
		}
		if err := r.Parse(in[:i], true); err != errRespTooLarge {
			t.Fatalf("[:%d] full: %v, want %v", i, err, errRespTooLarge)
		}
	}
	if err := r.Parse(in, true); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, whole) {
		t.Errorf("incremental %+v\nwhole %+v", r, whole)
	}
}

func TestBodyModeString(t *testing.T) {
	seen := map[string]bool{}
	for m := BodyNone; m <= BodyUntilClose+1; m++ {
		seen[m.String()] = true
	}
	if len(seen) != 5 {
		t.Errorf("BodyMode names not distinct: %v", seen)
	}
}

package h1

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

func TestAppendLines(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{string(AppendStatusLine(nil, 1, 200, "")), "HTTP/1.1 200 OK\r\n"},
		{string(AppendStatusLine([]byte("x"), 0, 404, "Nope")), "xHTTP/1.0 404 Nope\r\n"},
		{string(AppendStatusLine(nil, 1, 599, "")), "HTTP/1.1 599 \r\n"},
		{string(AppendRequestLine(nil, []byte("GET"), []byte("/a?b"), 1)), "GET /a?b HTTP/1.1\r\n"},
		{string(AppendHeader(nil, "Host", []byte("h"))), "Host: h\r\n"},
		{string(AppendHeader(nil, []byte("X"), "")), "X: \r\n"},
		{string(AppendContentLength(nil, 1234567890123)), "Content-Length: 1234567890123\r\n"},
		{string(AppendResponseLine(nil, 1, &Response{Status: 201, Reason: []byte("Made")})), "HTTP/1.1 201 Made\r\n"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestAppendOriginForm(t *testing.T) {
	for _, c := range []struct{ target, want string }{
		{"/a?b", "/a?b"},
		{"http://h/a?b", "/a?b"},
		{"http://h", "/"},
		{"http://h?", "/?"},
		{"http://h?x", "/?x"},
	} {
		var r Request
		if err := r.Parse([]byte("GET "+c.target+" HTTP/1.1\r\nHost: h\r\n\r\n"), false); err != nil {
			t.Fatal(err)
		}
		if got := string(AppendOriginForm(nil, &r)); got != c.want {
			t.Errorf("%q: %q, want %q", c.target, got, c.want)
		}
	}
	var r Request
	if err := r.Parse([]byte("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), false); err != nil {
		t.Fatal(err)
	}
	if got := string(AppendOriginForm(nil, &r)); got != "*" {
		t.Errorf("asterisk-form: %q", got)
	}
}

func TestAppendError(t *testing.T) {
	for _, e := range []*Error{reqErrors.obsFold, errTooMany, ErrURITooLong, errConnect, errHTTP2, errStatusLine} {
		raw := AppendError(nil, e)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(raw))), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		body := make([]byte, 200)
		n, _ := resp.Body.Read(body)
		if resp.StatusCode != e.Status || !resp.Close || string(body[:n]) != e.Reason+"\n" ||
			resp.Status[4:] != StatusText(e.Status) || StatusText(e.Status) == "" {
			t.Errorf("%q parsed as %d %q close=%v body %q", raw, resp.StatusCode, resp.Status, resp.Close, body[:n])
		}
	}
}

func TestStatusTextMatchesNetHTTP(t *testing.T) {
	// RFC 9110 renamed these; net/http keeps the RFC 7231 phrases.
	renamed := map[int]string{413: "Content Too Large", 414: "URI Too Long", 416: "Range Not Satisfiable", 422: "Unprocessable Content"}
	for code := 100; code < 600; code++ {
		got := StatusText(code)
		if r, ok := renamed[code]; ok {
			if got != r {
				t.Errorf("StatusText(%d) = %q, want %q", code, got, r)
			}
			continue
		}
		if got != "" && got != http.StatusText(code) {
			t.Errorf("StatusText(%d) = %q, net/http says %q", code, got, http.StatusText(code))
		}
	}
	if StatusText(200) != "OK" || StatusText(777) != "" {
		t.Error("StatusText misses the basics")
	}
}

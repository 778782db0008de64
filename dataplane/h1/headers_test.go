package h1

import "testing"

func hdrs(kv ...string) []Header {
	var h []Header
	for i := 0; i < len(kv); i += 2 {
		h = append(h, Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return h
}

func TestEqualFold(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"CONTENT-LENGTH", "content-length", true},
		{"content-length", "content-lengt", false},
		{"content\rlength", "content-length", false}, // '\r'|0x20 == '-': no bit tricks
		{"[", "{", false},
		{"\xc0", "\xe0", false}, // non-ASCII is not folded
		{"", "", true},
	} {
		if got := EqualFold([]byte(c.a), c.b); got != c.want {
			t.Errorf("EqualFold(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestIsHopByHop(t *testing.T) {
	hop := []string{"Connection", "keep-alive", "Proxy-Connection", "TE", "te", "Transfer-Encoding",
		"Upgrade", "Proxy-Authenticate", "proxy-authorization"}
	end := []string{"Host", "Content-Length", "Trailer", "Cookie", "Authorization", "Tee", "X-Upgrade", ""}
	for _, n := range hop {
		if !IsHopByHop([]byte(n)) {
			t.Errorf("IsHopByHop(%q) = false", n)
		}
	}
	for _, n := range end {
		if IsHopByHop([]byte(n)) {
			t.Errorf("IsHopByHop(%q) = true", n)
		}
	}
}

func TestConnectionListedAndDrop(t *testing.T) {
	h := hdrs("Host", "h", "Connection", "keep-alive, X-Secret ,", "connection", "content-length,HOST",
		"X-Secret", "s", "X-Other", "o", "Content-Length", "3")
	for _, c := range []struct {
		name         string
		listed, drop bool
	}{
		{"x-secret", true, true},
		{"X-Other", false, false},
		{"keep-alive", true, true},
		{"Content-Length", true, false},
		{"host", true, false},
		{"Upgrade", false, true},
		{"", false, false},
	} {
		if got := ConnectionListed(h, []byte(c.name)); got != c.listed {
			t.Errorf("ConnectionListed(%q) = %v", c.name, got)
		}
		if got := Drop(h, []byte(c.name)); got != c.drop {
			t.Errorf("Drop(%q) = %v", c.name, got)
		}
	}
}

func TestHeaderValue(t *testing.T) {
	h := hdrs("A", "1", "b", "2", "B", "3")
	if v, ok := HeaderValue(h, "B"); !ok || string(v) != "2" {
		t.Errorf("HeaderValue(B) = %q, %v", v, ok)
	}
	if _, ok := HeaderValue(h, "C"); ok {
		t.Error("HeaderValue(C) found")
	}
}

func TestCookie(t *testing.T) {
	h := hdrs("Cookie", "a=1; SERVERID=s1 ;b", "X", "SERVERID=no", "cookie", "q=\"quoted\"; e=; serverid=lower; SERVERID=s2")
	for _, c := range []struct {
		name, want string
		ok         bool
	}{
		{"SERVERID", "s1", true},
		{"a", "1", true},
		{"q", "quoted", true},
		{"e", "", true},
		{"serverid", "lower", true},
		{"b", "", false},
		{"missing", "", false},
	} {
		v, ok := Cookie(h, []byte(c.name))
		if ok != c.ok || string(v) != c.want {
			t.Errorf("Cookie(%q) = %q, %v; want %q, %v", c.name, v, ok, c.want, c.ok)
		}
	}
}

func TestSetCookieName(t *testing.T) {
	for _, c := range []struct {
		in, name, val string
		ok            bool
	}{
		{"SERVERID=s1; Path=/; HttpOnly", "SERVERID", "s1", true},
		{" id = \"v\" ;Secure", "id", "v", true},
		{"id=", "id", "", true},
		{"=v; Path=/", "", "", false},
		{"novalue; Path=/", "", "", false},
		{"bad name=v", "", "", false},
	} {
		n, v, ok := SetCookieName([]byte(c.in))
		if ok != c.ok || string(n) != c.name || string(v) != c.val {
			t.Errorf("SetCookieName(%q) = %q, %q, %v", c.in, n, v, ok)
		}
	}
}

func TestQueryParam(t *testing.T) {
	q := []byte("a=1&b=&c&d=x%20y&a=2&=z")
	for _, c := range []struct {
		name, want string
		ok         bool
	}{
		{"a", "1", true},
		{"b", "", true},
		{"c", "", true},
		{"d", "x%20y", true},
		{"", "z", true},
		{"e", "", false},
		{"A", "", false},
	} {
		v, ok := QueryParam(q, []byte(c.name))
		if ok != c.ok || string(v) != c.want {
			t.Errorf("QueryParam(%q) = %q, %v", c.name, v, ok)
		}
	}
	if _, ok := QueryParam(nil, []byte("a")); ok {
		t.Error("found a parameter in an empty query")
	}
}

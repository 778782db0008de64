package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestPrintReadable pins the printed form of a small configuration built in
// code: section order, directive order, criterion spelling and quoting.
func TestPrintReadable(t *testing.T) {
	s1 := NewServer("s1", "10.0.0.1", 8080)
	s1.Check, s1.Cookie = true, "a"
	s2 := NewServer("s2", "2001:db8::2", 8080)
	s2.Weight, s2.Backup, s2.Inter = 0, true, 1500*time.Millisecond
	c := &Config{
		Global: Global{MaxConn: 100},
		Frontends: []*Frontend{{
			Name:     "www",
			Binds:    []Bind{{Port: 80}, {Host: "::1", Port: 443, TLS: &BindTLS{Certificates: []string{"/certs/a b.pem"}, ALPN: []string{"http/1.1"}}}},
			Timeouts: Timeouts{Client: 30 * time.Second},
			Options:  Options{ForwardFor: true},
			ACLs: []ACL{
				{Name: "blog", Fetch: FetchPath, Match: MatchBeg, Values: []string{"/blog"}},
				{Name: "host", Fetch: FetchHdr, Arg: "host", Match: MatchBeg, IgnoreCase: true, Values: []string{"www."}},
				{Name: "sess", Fetch: FetchCookie, Arg: "sid", Match: MatchFound},
				{Name: "dash", Fetch: FetchURLParam, Arg: "q", Match: MatchSub, Values: []string{"-x", "a b"}},
			},
			HTTPRequest: []HTTPRequestRule{
				{Action: ActionSetHeader, Name: "X-Rate", Value: "50% off", Cond: &Condition{Or: [][]Term{{{Name: "blog"}}}}},
				{Action: ActionRedirect, Redirect: &Redirect{Kind: RedirectScheme, Value: "https", Code: 301}},
				{Action: ActionDeny, Status: 403},
				{Action: ActionReturn, Status: 200, ContentType: "text/plain", Body: "ok"},
			},
			HTTPResponse: []HTTPResponseRule{{Action: ActionDelHeader, Name: "Server"}},
			UseBackends: []UseBackend{{Backend: "app", Cond: &Condition{Unless: true, Or: [][]Term{
				{{Name: "blog"}, {Name: "host", Negate: true}},
				{{Inline: &ACL{Fetch: FetchPath, Match: MatchEnd, Values: []string{".css"}}}},
			}}}},
			DefaultBackend: "app",
		}},
		Backends: []*Backend{{
			Name:     "app",
			Balance:  Balance{Algorithm: BalanceURLParam, Param: "uid"},
			Retries:  3,
			Timeouts: Timeouts{Connect: 5 * time.Second, Server: time.Minute},
			Cookie:   &Cookie{Name: "SRV", Mode: CookieInsert, Indirect: true, NoCache: true, Attrs: []string{"SameSite=Lax"}},
			Check:    HTTPCheck{Enabled: true, Method: "GET", URI: "/healthz", ExpectStatus: 200},
			Servers:  []Server{s1, s2},
		}},
	}
	want := `global
    maxconn 100

frontend www
    mode http
    bind :80
    bind [::1]:443 ssl crt "/certs/a b.pem" alpn http/1.1
    timeout client 30s
    option forwardfor
    acl blog path_beg /blog
    acl host hdr_beg(host) -i www.
    acl sess req.cook(sid) -m found
    acl dash url_param(q) -m sub -- -x "a b"
    http-request set-header X-Rate "50%% off" if blog
    http-request redirect scheme https code 301
    http-request deny
    http-request return content-type text/plain string ok
    http-response del-header Server
    use_backend app unless blog !host || { path_end .css }
    default_backend app

backend app
    mode http
    balance url_param uid
    timeout connect 5s
    timeout server 1m
    cookie SRV insert indirect nocache attr SameSite=Lax
    option httpchk GET /healthz
    http-check expect status 200
    server s1 10.0.0.1:8080 check cookie a
    server s2 [2001:db8::2]:8080 weight 0 inter 1500ms backup
`
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	got := c.String()
	if got != want {
		t.Fatalf("printed:\n%s\nwant:\n%s", got, want)
	}
	back, _ := parseOK(t, got)
	if !equalIgnoringPos(back, c) {
		t.Errorf("the printed configuration does not read back to the same model:\n%s", back)
	}
}

func TestPrintHTTPCheckForms(t *testing.T) {
	tests := []struct {
		check HTTPCheck
		want  string
	}{
		{HTTPCheck{Enabled: true, Method: "OPTIONS", URI: "/"}, "option httpchk\n"},
		{HTTPCheck{Enabled: true, Method: "OPTIONS", URI: "/h"}, "option httpchk /h\n"},
		{HTTPCheck{Enabled: true, Method: "HEAD", URI: "/"}, "option httpchk HEAD /\n"},
		{HTTPCheck{Enabled: true, Method: "GET", URI: "/", Version: "HTTP/1.1"}, "option httpchk GET / HTTP/1.1\n"},
		{HTTPCheck{Enabled: true, Method: "GET", URI: "/", Version: "HTTP/1.1", Host: "a.example"}, `option httpchk GET / "HTTP/1.1\r\nHost: a.example"` + "\n"},
		{HTTPCheck{Method: "GET", URI: "/x"}, ""},
	}
	for _, tt := range tests {
		c := &Config{Backends: []*Backend{{Name: "b", Retries: 3, Check: tt.check}}}
		out := c.String()
		if !strings.HasSuffix(out, "balance roundrobin\n    "+tt.want) && !(tt.want == "" && strings.HasSuffix(out, "balance roundrobin\n")) {
			t.Errorf("%+v printed as:\n%s", tt.check, out)
		}
		back, _ := parseOK(t, out)
		if tt.check.Enabled && be(back).Check != tt.check {
			t.Errorf("%+v read back as %+v", tt.check, be(back).Check)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestPrintWriterError(t *testing.T) {
	if err := Print(failingWriter{}, &Config{Global: Global{MaxConn: 1}}); err == nil || err.Error() != "disk full" {
		t.Errorf("Print error = %v", err)
	}
	var b strings.Builder
	if err := Print(&b, &Config{}); err != nil || b.Len() != 0 {
		t.Errorf("empty config printed %q, %v", b.String(), err)
	}
}

package config

import (
	"errors"
	"strings"
	"testing"
)

// wantErr is one expected error: its line, its keyword exactly, and a part
// of its message.
type wantErr struct {
	line int
	kw   string
	msg  string
}

func checkErrors(t *testing.T, src string, want ...wantErr) {
	t.Helper()
	got := parseErrs(t, src)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s\n--- source ---\n%s", len(got), len(want), indent(got.Error()), src)
	}
	for i, w := range want {
		e := got[i]
		if e.Pos.File != "t.cfg" || e.Pos.Line != w.line || e.Keyword != w.kw || !strings.Contains(e.Msg, w.msg) {
			t.Errorf("error %d = %q\n          want t.cfg:%d: '%s': ...%s...", i, e.Error(), w.line, w.kw, w.msg)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		// Sections.
		{"outside section", "bind :80\n", []wantErr{{1, "bind", "outside of any section"}}},
		{"frontend without name", "frontend\n bind :80\n", []wantErr{{1, "frontend", "missing name"}}},
		{"global argument", "global foo\n", []wantErr{{1, "global", `takes no argument, found "foo"`}}},
		{"extra header argument", "backend b extra\n", []wantErr{{1, "backend", `unexpected argument "extra"`}}},
		{"from unknown", "backend b from nope\n", []wantErr{{1, "backend", `defaults section "nope" not found`}}},
		{"from without name", "backend b from\n", []wantErr{{1, "backend", "'from' needs the name"}}},
		{"from declared later", "backend b from d\ndefaults d\n", []wantErr{{1, "backend", `defaults section "d" not found`}}},
		{"duplicate defaults", "defaults d\ndefaults d\n", []wantErr{{2, "defaults", `duplicate defaults section "d"`}}},
		{"unsupported section", "peers p\n peer a 127.0.0.1:1\nbackend b\n", []wantErr{{1, "peers", "section not supported by sluice"}}},
		{"listen with nothing", "listen l\n mode http\n", []wantErr{{1, "listen", "neither a bind line nor a server line"}}},
		{"listen bad address", "listen l 127.0.0.1\n server s h:1\n", []wantErr{{1, "listen", "missing port"}}},

		// Keywords.
		{"unknown keyword", "backend b\n frobnicate 1\n", []wantErr{{2, "frobnicate", "unknown keyword"}}},
		{"typo suggestion", "frontend f\n bind :80\n default_backnd b\n", []wantErr{{3, "default_backnd", "did you mean 'default_backend'?"}}},
		{"wrong section", "backend b\n bind :80\n", []wantErr{{2, "bind", "not allowed in a backend section (only in frontend, listen)"}}},
		{"global keyword in proxy", "backend b\n daemon\n", []wantErr{{2, "daemon", "not allowed in a backend section (only in global)"}}},
		{"proxy keyword in global", "global\n server s h:1\n", []wantErr{{2, "server", "not allowed in a global section"}}},
		{"use_backend in backend", "backend b\n use_backend c\n", []wantErr{{2, "use_backend", "not allowed in a backend section"}}},
		{"maxconn in backend", "backend b\n maxconn 1\n", []wantErr{{2, "maxconn", "not allowed in a backend section"}}},
		{"acl in defaults", "defaults\n acl a path /\n", []wantErr{{2, "acl", "not allowed in a defaults section"}}},
		{"not supported", "backend b\n stick-table type ip size 1m\n", []wantErr{{2, "stick-table", "not supported by sluice"}}},
		{"not supported stats", "frontend f\n bind :80\n stats enable\n", []wantErr{{3, "stats", "not supported by sluice"}}},
		{"global not supported", "global\n ssl-default-bind-options no-sslv3\n", []wantErr{{2, "ssl-default-bind-options", "not supported by sluice"}}},
		{"global stats other", "global\n stats bind-processes 1\n", []wantErr{{2, "stats bind-processes", "not supported by sluice"}}},
		{"dot if", ".if defined(X)\nbackend b\n.endif\n", []wantErr{{1, ".if", "conditional blocks are not supported"}}},
		{"dot if unclosed", ".if 1\n.if 2\n.endif\nbackend b\n", []wantErr{{1, ".if", "conditional blocks"}, {1, ".if", "never closed"}, {2, ".if", "conditional blocks"}}},
		{"dot endif alone", ".endif\n", []wantErr{{1, ".endif", "without a matching .if"}}},
		{"dot unknown", ".frob\n", []wantErr{{1, ".frob", "unknown directive"}}},
		{"clitimeout", "frontend f\n bind :80\n clitimeout 5000\n", []wantErr{{3, "clitimeout", "use 'timeout client'"}}},
		{"contimeout", "backend b\n contimeout 5000\n", []wantErr{{2, "contimeout", "use 'timeout connect'"}}},
		{"srvtimeout", "backend b\n srvtimeout 5000\n", []wantErr{{2, "srvtimeout", "use 'timeout server'"}}},
		{"reqadd", "backend b\n reqadd X-A:\\ b\n", []wantErr{{2, "reqadd", "use 'http-request add-header'"}}},
		{"lexer error keeps going", "backend b\n server s \"h:1\n retries x\n", []wantErr{{2, "server", "unterminated double quote"}, {3, "retries", "invalid number"}}},

		// mode, maxconn, retries.
		{"mode missing", "backend b\n mode\n", []wantErr{{2, "mode", "expects http or tcp"}}},
		{"mode unknown", "backend b\n mode udp\n", []wantErr{{2, "mode", `unknown mode "udp"`}}},
		{"mode health", "backend b\n mode health\n", []wantErr{{2, "mode", "not supported by sluice"}}},
		{"maxconn negative", "global\n maxconn -1\n", []wantErr{{2, "maxconn", "invalid number"}}},
		{"maxconn two args", "global\n maxconn 1 2\n", []wantErr{{2, "maxconn", "exactly one number"}}},
		{"retries garbage", "backend b\n retries three\n", []wantErr{{2, "retries", "invalid number"}}},

		// bind.
		{"bind missing address", "frontend f\n bind\n", []wantErr{{2, "bind", "missing address"}}},
		{"bind missing port", "frontend f\n bind 127.0.0.1\n", []wantErr{{2, "bind", "missing port"}}},
		{"bind port range", "frontend f\n bind :80-90\n", []wantErr{{2, "bind", "port ranges"}}},
		{"bind port zero", "frontend f\n bind :0\n", []wantErr{{2, "bind", "invalid port"}}},
		{"bind port big", "frontend f\n bind :65536\n", []wantErr{{2, "bind", "invalid port"}}},
		{"bind hostname", "frontend f\n bind localhost:80\n", []wantErr{{2, "bind", "not an IP address"}}},
		{"bind unix", "frontend f\n bind /run/x.sock\n", []wantErr{{2, "bind", "UNIX socket"}}},
		{"bind quic", "frontend f\n bind quic4@:443\n", []wantErr{{2, "bind", `address family "quic4@"`}}},
		{"bind family mismatch", "frontend f\n bind ipv4@::1:80\n", []wantErr{{2, "bind", "family"}}},
		{"bind unsupported option", "frontend f\n bind :80 name web\n", []wantErr{{2, "bind", `bind option "name" is not supported by sluice`}}},
		{"bind unknown option", "frontend f\n bind :80 sssl\n", []wantErr{{2, "bind", `unknown bind option "sssl"`}}},
		{"bind ssl without crt", "frontend f\n bind :443 ssl\n", []wantErr{{2, "bind", `needs at least one "crt FILE"`}}},
		{"bind crt without ssl", "frontend f\n bind :443 crt a.pem\n", []wantErr{{2, "bind", `"crt" needs "ssl"`}}},
		{"bind alpn without ssl", "frontend f\n bind :80 alpn h2\n", []wantErr{{2, "bind", `"alpn" needs "ssl"`}}},
		{"bind crt without file", "frontend f\n bind :443 ssl crt\n", []wantErr{{2, "bind", "needs a value"}}},
		{"bind empty alpn", "frontend f\n bind :443 ssl crt a alpn h2,,x\n", []wantErr{{2, "bind", "empty protocol"}}},

		// use_backend, default_backend.
		{"dynamic backend", "frontend f\n bind :80\n use_backend %[req.hdr(host)]\n", []wantErr{{3, "use_backend", "dynamic backend names are not supported"}}},
		{"use_backend missing", "frontend f\n bind :80\n use_backend\n", []wantErr{{3, "use_backend", "missing backend name"}}},
		{"use_backend two names", "frontend f\n bind :80\n use_backend a b\nbackend a\n", []wantErr{{3, "use_backend", `found "b" after it`}}},
		{"use_backend empty if", "frontend f\n bind :80\n use_backend b if\nbackend b\n", []wantErr{{3, "use_backend", `missing condition after "if"`}}},
		{"default_backend two", "frontend f\n bind :80\n default_backend a b\n", []wantErr{{3, "default_backend", "exactly one backend name"}}},

		// balance.
		{"balance bare", "backend b\n balance\n", []wantErr{{2, "balance", "missing algorithm"}}},
		{"balance unknown", "backend b\n balance fastest\n", []wantErr{{2, "balance", `unknown algorithm "fastest"`}}},
		{"balance hash", "backend b\n balance hash path\n", []wantErr{{2, "balance", `algorithm "hash" is not supported by sluice`}}},
		{"balance url_param bare", "backend b\n balance url_param\n", []wantErr{{2, "balance", "needs a parameter name"}}},
		{"balance uri option", "backend b\n balance uri whole\n", []wantErr{{2, "balance", `option "whole" of balance uri is not supported`}}},

		// server.
		{"server no address", "backend b\n server s\n", []wantErr{{2, "server", "expects a name and an address"}}},
		{"server no port", "backend b\n server s 10.0.0.1\n", []wantErr{{2, "server", "missing port"}}},
		{"server bad port", "backend b\n server s h:99999\n", []wantErr{{2, "server", "invalid port"}}},
		{"server port offset", "backend b\n server s h:+1\n", []wantErr{{2, "server", "port offsets"}}},
		{"server bad host", "backend b\n server s bad_host!:80\n", []wantErr{{2, "server", "invalid host"}}},
		{"server bad name", "backend b\n server s/1 h:80\n", []wantErr{{2, "server", "invalid server name"}}},
		{"server weight range", "backend b\n server s h:80 weight 257\n", []wantErr{{2, "server", "weight 257 is out of range 0..256"}}},
		{"server weight garbage", "backend b\n server s h:80 weight x\n", []wantErr{{2, "server", "invalid number"}}},
		{"server weight missing", "backend b\n server s h:80 weight\n", []wantErr{{2, "server", `option "weight" needs a value`}}},
		{"server rise zero", "backend b\n server s h:80 rise 0\n", []wantErr{{2, "server", "rise must be at least 1"}}},
		{"server fall zero", "backend b\n server s h:80 fall 0\n", []wantErr{{2, "server", "fall must be at least 1"}}},
		{"server inter zero", "backend b\n server s h:80 inter 0\n", []wantErr{{2, "server", "inter must be greater than 0"}}},
		{"server inter garbage", "backend b\n server s h:80 inter 5x\n", []wantErr{{2, "server", "invalid time unit"}}},
		{"server check port", "backend b\n server s h:80 port 0\n", []wantErr{{2, "server", "port 0 is out of range"}}},
		{"server unsupported option", "backend b\n server s h:80 check-ssl\n", []wantErr{{2, "server", `server option "check-ssl" is not supported by sluice`}}},
		{"server unknown option", "backend b\n server s h:80 chek\n", []wantErr{{2, "server", `unknown server option "chek"`}}},
		{"server bad cookie", "backend b\n server s h:80 cookie a;b\n", []wantErr{{2, "server", "invalid character"}}},
		{"default-server cookie", "backend b\n default-server cookie x\n", []wantErr{{2, "default-server", "cannot be set on default-server"}}},
		{"default-server empty", "backend b\n default-server\n", []wantErr{{2, "default-server", "expects server options"}}},
		{"default-server in frontend", "frontend f\n bind :80\n default-server check\n", []wantErr{{3, "default-server", "not allowed in a frontend section"}}},

		// cookie.
		{"cookie passive", "backend b\n cookie SERVERID\n", []wantErr{{2, "cookie", "sluice supports insert, rewrite and prefix"}}},
		{"cookie two modes", "backend b\n cookie S insert rewrite\n", []wantErr{{2, "cookie", "only one of insert, rewrite and prefix"}}},
		{"cookie unknown option", "backend b\n cookie S insert sticky\n", []wantErr{{2, "cookie", `unknown cookie option "sticky"`}}},
		{"cookie postonly", "backend b\n cookie S insert postonly\n", []wantErr{{2, "cookie", `"postonly" is not supported`}}},
		{"cookie preserve rewrite", "backend b\n cookie S rewrite preserve\n", []wantErr{{2, "cookie", `"preserve" only applies to insert mode`}}},
		{"cookie maxidle", "backend b\n cookie S insert maxidle\n", []wantErr{{2, "cookie", "maxidle needs a value"}}},
		{"cookie bad time", "backend b\n cookie S insert maxlife forever\n", []wantErr{{2, "cookie", "maxlife"}}},
		{"cookie bad attr", "backend b\n cookie S insert attr \"a;b\"\n", []wantErr{{2, "cookie", "invalid cookie attribute"}}},
		{"cookie bad name", "backend b\n cookie \"a b\" insert\n", []wantErr{{2, "cookie", "invalid cookie name"}}},

		// timeout.
		{"timeout unknown", "backend b\n timeout forever 1s\n", []wantErr{{2, "timeout", `unknown timeout "forever"`}}},
		{"timeout missing", "backend b\n timeout\n", []wantErr{{2, "timeout", "missing timeout name"}}},
		{"timeout no value", "backend b\n timeout server\n", []wantErr{{2, "timeout server", "exactly one time value"}}},
		{"timeout bad value", "backend b\n timeout server 1.5s\n", []wantErr{{2, "timeout server", "invalid time unit"}}},
		{"timeout negative", "backend b\n timeout connect -1\n", []wantErr{{2, "timeout connect", "invalid time value"}}},
		{"timeout unsupported", "frontend f\n bind :80\n timeout client-fin 1s\n", []wantErr{{3, "timeout client-fin", "not supported by sluice"}}},
		{"timeout wrong side", "frontend f\n bind :80\n timeout server 1s\n", []wantErr{{3, "timeout server", "not allowed in a frontend section: it applies to the backend side"}}},
		{"timeout client in backend", "backend b\n timeout client 1s\n", []wantErr{{2, "timeout client", "applies to the frontend side"}}},

		// option.
		{"option missing", "backend b\n option\n", []wantErr{{2, "option", "missing option name"}}},
		{"option unknown", "backend b\n option fast\n", []wantErr{{2, "option", `unknown option "fast"`}}},
		{"option unsupported", "backend b\n option ssl-hello-chk\n", []wantErr{{2, "option ssl-hello-chk", "not supported by sluice"}}},
		{"option argument", "frontend f\n bind :80\n option forwardfor except 127.0.0.0/8\n", []wantErr{{3, "option forwardfor", `parameter "except" is not supported`}}},
		{"option wrong side", "frontend f\n bind :80\n option redispatch\n", []wantErr{{3, "option redispatch", "not allowed in a frontend section: it applies to backends"}}},
		{"option httpchk in frontend", "frontend f\n bind :80\n option httpchk\n", []wantErr{{3, "option httpchk", "applies to backends"}}},
		{"no option httpchk", "backend b\n no option httpchk\n", []wantErr{{2, "no option httpchk", "cannot be negated"}}},
		{"no option unknown", "backend b\n no option zzz\n", []wantErr{{2, "no option", `unknown option "zzz"`}}},
		{"no other", "backend b\n no stats\n", []wantErr{{2, "no stats", "not supported by sluice"}}},
		{"httpchk bad uri", "backend b\n option httpchk GET health\n", []wantErr{{2, "option httpchk", "invalid URI"}}},
		{"httpchk bad method", "backend b\n option httpchk \"G T\" /\n", []wantErr{{2, "option httpchk", "invalid method"}}},
		{"httpchk bad version", "backend b\n option httpchk GET / HTTP/2\n", []wantErr{{2, "option httpchk", "invalid HTTP version"}}},
		{"httpchk other header", "backend b\n option httpchk GET / HTTP/1.1\\r\\nAccept:\\ x\n", []wantErr{{2, "option httpchk", "only a Host header"}}},
		{"httpchk too many", "backend b\n option httpchk GET / HTTP/1.1 x\n", []wantErr{{2, "option httpchk", "at most"}}},
		{"http-check expect string", "backend b\n http-check expect string ok\n", []wantErr{{2, "http-check expect", `not "string"`}}},
		{"http-check expect status range", "backend b\n http-check expect status 200-399\n", []wantErr{{2, "http-check expect", "invalid status"}}},
		{"http-check expect status list", "backend b\n http-check expect status 200 204\n", []wantErr{{2, "http-check expect", "one status code"}}},
		{"http-check send", "backend b\n http-check send meth GET\n", []wantErr{{2, "http-check send", "not supported by sluice"}}},
		{"http-check unknown", "backend b\n http-check frob\n", []wantErr{{2, "http-check", `unknown sub-keyword "frob"`}}},

		// http-request / http-response.
		{"http-request missing action", "backend b\n http-request\n", []wantErr{{2, "http-request", "missing action"}}},
		{"http-request unknown action", "backend b\n http-request frob\n", []wantErr{{2, "http-request", `unknown action "frob"`}}},
		{"http-request unsupported action", "backend b\n http-request set-var(txn.x) str(1)\n", []wantErr{{2, "http-request set-var(txn.x)", "not supported by sluice"}}},
		{"http-request lua", "backend b\n http-request lua.cors a b c\n", []wantErr{{2, "http-request lua.cors", "not supported by sluice"}}},
		{"http-request track-sc", "backend b\n http-request track-sc1 src\n", []wantErr{{2, "http-request track-sc1", "not supported by sluice"}}},
		{"log-format value", "backend b\n http-request set-header X-A %[src]\n", []wantErr{{2, "http-request set-header", "log-format expressions are not supported"}}},
		{"log-format variable", "backend b\n http-request add-header X-A %ci\n", []wantErr{{2, "http-request add-header", "log-format expressions are not supported"}}},
		{"log-format set-path", "backend b\n http-request set-path /x%[path]\n", []wantErr{{2, "http-request set-path", "log-format expressions are not supported"}}},
		{"log-format redirect", "backend b\n http-request redirect location https://%[hdr(host)]/\n", []wantErr{{2, "http-request redirect", "log-format expressions are not supported"}}},
		{"log-format response", "backend b\n http-response set-header X %[res.hdr(y)]\n", []wantErr{{2, "http-response set-header", "log-format expressions are not supported"}}},
		{"bad header name", "backend b\n http-request set-header X-Forwarded-Proto: https\n", []wantErr{{2, "http-request set-header", `invalid header name "X-Forwarded-Proto:"`}}},
		{"header missing value", "backend b\n http-request set-header X-A\n", []wantErr{{2, "http-request set-header", "a header name and a value"}}},
		{"header extra value", "backend b\n http-request set-header X-A b c\n", []wantErr{{2, "http-request set-header", `unexpected argument "c"`}}},
		{"header value CRLF", "backend b\n http-request set-header X-A a\\r\\nb\n", []wantErr{{2, "http-request set-header", "control character"}}},
		{"del-header -m", "backend b\n http-request del-header X-A -m beg\n", []wantErr{{2, "http-request del-header", "-m is not supported"}}},
		{"del-header missing", "backend b\n http-request del-header\n", []wantErr{{2, "http-request del-header", "expects a header name"}}},
		{"set-path missing", "backend b\n http-request set-path\n", []wantErr{{2, "http-request set-path", "exactly one path"}}},
		{"redirect kind", "backend b\n http-request redirect to /x\n", []wantErr{{2, "http-request redirect", `unknown redirect type "to"`}}},
		{"redirect missing value", "backend b\n http-request redirect location\n", []wantErr{{2, "http-request redirect", "followed by a value"}}},
		{"redirect bad code", "backend b\n http-request redirect location /x code 200\n", []wantErr{{2, "http-request redirect", "invalid redirect code"}}},
		{"redirect unsupported option", "backend b\n http-request redirect prefix /x set-cookie A=1\n", []wantErr{{2, "http-request redirect", `"set-cookie" is not supported`}}},
		{"redirect bad scheme", "backend b\n http-request redirect scheme 1http\n", []wantErr{{2, "http-request redirect", "invalid scheme"}}},
		{"deny bad status", "backend b\n http-request deny deny_status 42\n", []wantErr{{2, "http-request deny", "invalid status"}}},
		{"deny unsupported", "backend b\n http-request deny content-type text/plain\n", []wantErr{{2, "http-request deny", `deny option "content-type" is not supported`}}},
		{"return body without type", "backend b\n http-request return string hi\n", []wantErr{{2, "http-request return", "needs a content-type"}}},
		{"return lf-string", "backend b\n http-request return lf-string %[src]\n", []wantErr{{2, "http-request return", `"lf-string" is not supported`}}},
		{"response unsupported", "backend b\n http-response set-status 200\n", []wantErr{{2, "http-response set-status", "not supported by sluice"}}},
		{"response deny", "backend b\n http-response deny\n", []wantErr{{2, "http-response deny", "not supported by sluice"}}},
		{"response unknown", "backend b\n http-response frob\n", []wantErr{{2, "http-response", `unknown action "frob"`}}},

		// acl and conditions.
		{"acl no name", "backend b\n acl\n", []wantErr{{2, "acl", "missing ACL name"}}},
		{"acl bad name", "backend b\n acl a/b path /\n", []wantErr{{2, "acl", "invalid ACL name"}}},
		{"acl predefined name", "backend b\n acl TRUE path /\n", []wantErr{{2, "acl", "predefined"}}},
		{"acl or name", "backend b\n acl or path /\n", []wantErr{{2, "acl", "OR operator"}}},
		{"acl no criterion", "backend b\n acl a\n", []wantErr{{2, "acl", "missing criterion"}}},
		{"acl unknown criterion", "backend b\n acl a pathh /x\n", []wantErr{{2, "acl", `unknown ACL criterion "pathh"`}}},
		{"acl unsupported criterion", "backend b\n acl a ssl_fc_alpn -i h2\n", []wantErr{{2, "acl", `ACL criterion "ssl_fc_alpn" is not supported by sluice`}}},
		{"acl ssl_fc with value", "backend b\n acl a ssl_fc 1\n", []wantErr{{2, "acl", `ssl_fc takes no value`}}},
		{"acl ssl_fc with -m str", "backend b\n acl a ssl_fc -m str x\n", []wantErr{{2, "acl", `conflicts with "ssl_fc"`}}},
		{"acl -m bool on a string", "backend b\n acl a ssl_fc_sni -m bool\n", []wantErr{{2, "acl", `-m bool only applies to ssl_fc`}}},
		{"bind crt in memory", "frontend f\n bind :443 ssl crt @store/site\n", []wantErr{{2, "bind", `crt-store sections are not supported`}}},
		{"acl hdr without name", "backend b\n acl a hdr x\n", []wantErr{{2, "acl", "needs a name: hdr(NAME)"}}},
		{"acl hdr empty name", "backend b\n acl a hdr() x\n", []wantErr{{2, "acl", "non-empty name"}}},
		{"acl hdr occurrence", "backend b\n acl a hdr(host,1) x\n", []wantErr{{2, "acl", "occurrence"}}},
		{"acl host with argument", "backend b\n acl a host(x) y\n", []wantErr{{2, "acl", "takes no argument"}}},
		{"acl host in tcp", "frontend f\n mode tcp\n bind :80\n use_backend b if { host a.example }\nbackend b\n mode tcp\n", []wantErr{{4, "use_backend", "uses host, which needs mode http"}}},
		{"acl path with argument", "backend b\n acl a path(x) /\n", []wantErr{{2, "acl", "takes no argument"}}},
		{"acl unbalanced", "backend b\n acl a hdr(host x\n", []wantErr{{2, "acl", "unbalanced parenthesis"}}},
		{"acl no value", "backend b\n acl a path_beg\n", []wantErr{{2, "acl", "at least one value"}}},
		{"acl flags only", "backend b\n acl a path_beg -i\n", []wantErr{{2, "acl", "at least one value"}}},
		{"acl bad regex", "backend b\n acl a path_reg ^(x\n", []wantErr{{2, "acl", "invalid regular expression"}}},
		{"acl bad -m reg", "backend b\n acl a hdr(x) -m reg [z-a]\n", []wantErr{{2, "acl", "invalid regular expression"}}},
		{"acl bad ip", "backend b\n acl a src 10.0.0.300\n", []wantErr{{2, "acl", "invalid address"}}},
		{"acl bad cidr", "backend b\n acl a src 10.0.0.0/33\n", []wantErr{{2, "acl", "invalid address prefix"}}},
		{"acl netmask", "backend b\n acl a src 10.0.0.0/255.0.0.0\n", []wantErr{{2, "acl", "invalid address prefix"}}},
		{"acl src -m str", "backend b\n acl a src -m str x\n", []wantErr{{2, "acl", "src can only be matched as an address"}}},
		{"acl -m ip on path", "backend b\n acl a path -m ip 1.2.3.4\n", []wantErr{{2, "acl", "-m ip only applies to src"}}},
		{"acl -m conflict", "backend b\n acl a path_beg -m end x\n", []wantErr{{2, "acl", "conflicts with"}}},
		{"acl -m unknown", "backend b\n acl a path -m fuzzy x\n", []wantErr{{2, "acl", `unknown match method "fuzzy"`}}},
		{"acl -m int", "backend b\n acl a path -m int 1\n", []wantErr{{2, "acl", "-m int is not supported"}}},
		{"acl -m missing", "backend b\n acl a path -m\n", []wantErr{{2, "acl", "-m needs a match method"}}},
		{"acl -m found value", "backend b\n acl a hdr(x) -m found y\n", []wantErr{{2, "acl", "takes no value"}}},
		{"acl -f", "backend b\n acl a path -f /etc/list\n", []wantErr{{2, "acl", "files (-f)"}}},
		{"acl unknown flag", "backend b\n acl a path -x /\n", []wantErr{{2, "acl", `unknown ACL flag "-x"`}}},
		{"acl bad method", "backend b\n acl a method \"GE T\"\n", []wantErr{{2, "acl", "invalid HTTP method"}}},
		{"cond unknown acl", "frontend f\n bind :80\n use_backend b if nope\nbackend b\n", []wantErr{{3, "use_backend", `unknown ACL "nope"`}}},
		{"cond acl of other proxy", "frontend f\n bind :80\n http-request deny if x\nbackend b\n acl x path /\n", []wantErr{{3, "http-request deny", `unknown ACL "x"`}}},
		{"cond failed acl not repeated", "frontend f\n bind :80\n acl bad ssl_fc_alpn h2\n use_backend b if bad\nbackend b\n", []wantErr{{3, "acl", "not supported"}}},
		{"cond empty group", "backend b\n acl a path /\n http-request deny if a || || a\n", []wantErr{{3, "http-request deny", "empty condition around '||'"}}},
		{"cond trailing or", "backend b\n acl a path /\n http-request deny if a ||\n", []wantErr{{3, "http-request deny", "empty condition"}}},
		{"cond bare not", "backend b\n http-request deny if !\n", []wantErr{{2, "http-request deny", "'!' must be followed"}}},
		{"cond double not", "backend b\n acl a path /\n http-request deny if !!a\n", []wantErr{{3, "http-request deny", "double negation"}}},
		{"cond unclosed brace", "backend b\n http-request deny if { path /\n", []wantErr{{2, "http-request deny", "missing '}'"}}},
		{"cond empty brace", "backend b\n http-request deny if { }\n", []wantErr{{2, "http-request deny", "empty anonymous ACL"}}},
		{"cond nested brace", "backend b\n http-request deny if { path { x } }\n", []wantErr{{2, "http-request deny", "cannot be nested"}}},
		{"cond glued brace", "backend b\n http-request deny if {path /x}\n", []wantErr{{2, "http-request deny", "braces of an anonymous ACL must be separate words"}}},
		{"cond bad inline", "backend b\n http-request deny if { path_beg }\n", []wantErr{{2, "http-request deny", "anonymous ACL: path needs at least one value"}}},
		{"cond unsupported inline", "backend b\n http-request deny if { sc_http_req_rate(0) gt 10 }\n", []wantErr{{2, "http-request deny", `"sc_http_req_rate" is not supported`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErrors(t, tt.src, tt.want...) })
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Pos{"a.cfg", 3}, "bind", "bad"}, "a.cfg:3: 'bind': bad"},
		{Error{Pos{}, "use_backend", `frontend "f": x`}, `'use_backend': frontend "f": x`},
		{Error{Pos{"a.cfg", 1}, "", "m"}, "a.cfg:1: m"},
		{Error{Pos{}, "", "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		w := Warning(tt.e)
		if got := w.String(); got != tt.want {
			t.Errorf("Warning.String() = %q, want %q", got, tt.want)
		}
	}
	l := ErrorList{{Pos{"a", 1}, "k", "one"}, {Pos{"a", 2}, "k", "two"}}
	if got := l.Error(); got != "a:1: 'k': one\na:2: 'k': two" {
		t.Errorf("ErrorList.Error() = %q", got)
	}
	var target *Error
	if !errors.As(error(l), &target) || target.Msg != "one" {
		t.Errorf("errors.As through ErrorList = %v", target)
	}
	if ErrorList(nil).err() != nil {
		t.Error("an empty ErrorList must become a nil error")
	}
}

// TestAllErrorsReported checks that parsing continues after errors and
// reports them in line order, parse and validation errors interleaved.
func TestAllErrorsReported(t *testing.T) {
	src := `frontend f
    bind :80
    use_backend missing
    bind :0
    frobnicate
backend b
    server s h:1 weight 999
    server s h:2
`
	checkErrors(t, src,
		wantErr{3, "use_backend", `backend "missing" does not exist`},
		wantErr{4, "bind", "invalid port"},
		wantErr{5, "frobnicate", "unknown keyword"},
		wantErr{7, "server", "out of range"},
	)
}

func TestWarnings(t *testing.T) {
	c, warns := parseOK(t, mustRead(t, "testdata/warnings.cfg"))
	var got []string
	for _, w := range warns {
		got = append(got, w.Pos.String()+" "+w.Keyword)
		if !strings.Contains(w.Msg, "ignored") {
			t.Errorf("warning without reason: %s", w)
		}
	}
	want := []string{
		"t.cfg:4 daemon", "t.cfg:5 chroot", "t.cfg:6 user", "t.cfg:7 group", "t.cfg:8 pidfile",
		"t.cfg:9 nbthread", "t.cfg:10 log", "t.cfg:11 stats socket", "t.cfg:12 tune.bufsize",
		"t.cfg:16 log", "t.cfg:18 option dontlognull", "t.cfg:25 no log", "t.cfg:26 description",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", indent(strings.Join(got, "\n")), indent(strings.Join(want, "\n")))
	}
	if c.Global.MaxConn != 1000 {
		t.Errorf("settings after ignored ones were lost: maxconn %d", c.Global.MaxConn)
	}
}

func TestHTTPOnlyOptionsDroppedInTCP(t *testing.T) {
	c, warns := parseOK(t, "defaults\n option forwardfor\n option httplog\n option http-server-close\n"+
		"frontend f\n mode tcp\n bind :1\n default_backend b\nbackend b\n mode tcp\n")
	if got := fe(c).Options; got != (Options{TCPLog: true}) {
		t.Errorf("frontend options = %+v", got)
	}
	if got := be(c).Options; got != (Options{TCPLog: true}) {
		t.Errorf("backend options = %+v", got)
	}
	if len(warns) != 6 {
		t.Errorf("got %d warnings, want 6: %v", len(warns), warns)
	}
	for _, w := range warns {
		if !strings.Contains(w.Msg, "requires mode http") {
			t.Errorf("warning %s", w)
		}
	}
}

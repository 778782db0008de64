package config

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Print writes c in the syntax Parse reads. The output is deterministic:
// global, then the frontends and the backends in model order, each with its
// directives in a fixed order. Defaults sections are not reconstructed:
// every proxy is written with its effective settings, leaving out only the
// values that equal the built-in defaults (weight 1, inter 2s, rise 2, fall 3,
// retries 3, redirect code 302, deny status 403, return status 200).
func Print(w io.Writer, c *Config) error {
	var p printer
	p.config(c)
	_, err := w.Write(p.buf.Bytes())
	return err
}

// String returns the configuration as Print writes it.
func (c *Config) String() string {
	var p printer
	p.config(c)
	return p.buf.String()
}

type printer struct {
	buf      bytes.Buffer
	sections int
}

func (p *printer) section(header ...string) {
	if p.sections > 0 {
		p.buf.WriteByte('\n')
	}
	p.sections++
	p.buf.WriteString(strings.Join(header, " "))
	p.buf.WriteByte('\n')
}

// line writes one indented directive; its words are already quoted.
func (p *printer) line(words ...string) {
	p.buf.WriteString("    ")
	p.buf.WriteString(strings.Join(words, " "))
	p.buf.WriteByte('\n')
}

func (p *printer) config(c *Config) {
	if c.Global.MaxConn != 0 {
		p.section("global")
		p.line("maxconn", strconv.Itoa(c.Global.MaxConn))
	}
	for _, f := range c.Frontends {
		if f != nil {
			p.frontend(f)
		}
	}
	for _, b := range c.Backends {
		if b != nil {
			p.backend(b)
		}
	}
}

func (p *printer) frontend(f *Frontend) {
	p.section("frontend", quote(f.Name))
	p.line("mode", f.Mode.String())
	if f.MaxConn != 0 {
		p.line("maxconn", strconv.Itoa(f.MaxConn))
	}
	for _, b := range f.Binds {
		words := []string{"bind", quote(formatHostPort(b.Host, b.Port))}
		if b.TLS != nil {
			words = append(words, "ssl")
			for _, c := range b.TLS.Certificates {
				words = append(words, "crt", quote(c))
			}
			if len(b.TLS.ALPN) > 0 {
				words = append(words, "alpn", quote(strings.Join(b.TLS.ALPN, ",")))
			}
		}
		p.line(words...)
	}
	p.timeouts(&f.Timeouts)
	p.options(&f.Options)
	p.acls(f.ACLs)
	p.requestRules(f.HTTPRequest)
	p.responseRules(f.HTTPResponse)
	for _, u := range f.UseBackends {
		p.line(append([]string{"use_backend", quote(u.Backend)}, condWords(u.Cond)...)...)
	}
	if f.DefaultBackend != "" {
		p.line("default_backend", quote(f.DefaultBackend))
	}
}

func (p *printer) backend(b *Backend) {
	p.section("backend", quote(b.Name))
	p.line("mode", b.Mode.String())
	bal := []string{"balance", b.Balance.Algorithm.String()}
	switch b.Balance.Algorithm {
	case BalanceURLParam:
		bal = append(bal, quote(b.Balance.Param))
	case BalanceHdr:
		bal = []string{"balance", quote("hdr(" + b.Balance.Param + ")")}
	}
	p.line(bal...)
	if b.Retries != 3 {
		p.line("retries", strconv.Itoa(b.Retries))
	}
	p.timeouts(&b.Timeouts)
	p.options(&b.Options)
	if c := b.Cookie; c != nil {
		p.line(cookieWords(c)...)
	}
	if b.DynamicCookieKey != "" {
		p.line("dynamic-cookie-key", quote(b.DynamicCookieKey))
	}
	if ch := b.Check; ch.Enabled {
		words := []string{"option", "httpchk"}
		switch {
		case ch.Method == "OPTIONS" && ch.Version == "" && ch.Host == "" && ch.URI == "/":
		case ch.Method == "OPTIONS" && ch.Version == "" && ch.Host == "":
			words = append(words, quote(ch.URI))
		default:
			words = append(words, quote(ch.Method), quote(ch.URI))
			if ch.Version != "" || ch.Host != "" {
				v := ch.Version
				if v == "" {
					v = "HTTP/1.0"
				}
				if ch.Host != "" {
					v += "\r\nHost: " + ch.Host
				}
				words = append(words, quote(v))
			}
		}
		p.line(words...)
	}
	if b.Check.ExpectStatus != 0 {
		p.line("http-check", "expect", "status", strconv.Itoa(b.Check.ExpectStatus))
	}
	p.acls(b.ACLs)
	p.requestRules(b.HTTPRequest)
	p.responseRules(b.HTTPResponse)
	for i := range b.Servers {
		p.line(serverWords(&b.Servers[i])...)
	}
}

func (p *printer) timeouts(t *Timeouts) {
	for _, f := range timeoutFields {
		if d := *f.ptr(t); d != 0 {
			p.line("timeout", f.name, FormatDuration(d))
		}
	}
}

func (p *printer) options(o *Options) {
	for _, opt := range []struct {
		on   bool
		name string
	}{
		{o.ForwardFor, "forwardfor"},
		{o.HTTPServerClose, "http-server-close"},
		{o.Redispatch, "redispatch"},
		{o.HTTPLog, "httplog"},
		{o.TCPLog, "tcplog"},
	} {
		if opt.on {
			p.line("option", opt.name)
		}
	}
}

func (p *printer) acls(acls []ACL) {
	for i := range acls {
		p.line(append([]string{"acl", quote(acls[i].Name)}, aclWords(&acls[i])...)...)
	}
}

func (p *printer) requestRules(rules []HTTPRequestRule) {
	for i := range rules {
		r := &rules[i]
		words := []string{"http-request", r.Action.String()}
		switch r.Action {
		case ActionSetHeader, ActionAddHeader:
			words = append(words, quote(r.Name), quote(escapeLogFormat(r.Value)))
		case ActionDelHeader:
			words = append(words, quote(r.Name))
		case ActionSetPath:
			words = append(words, quote(escapeLogFormat(r.Value)))
		case ActionRedirect:
			if rd := r.Redirect; rd != nil {
				words = append(words, rd.Kind.String(), quote(escapeLogFormat(rd.Value)))
				if rd.Code != 0 && rd.Code != defaultRedirectCode {
					words = append(words, "code", strconv.Itoa(rd.Code))
				}
				if rd.DropQuery {
					words = append(words, "drop-query")
				}
			}
		case ActionDeny:
			if r.Status != 0 && r.Status != defaultDenyStatus {
				words = append(words, "deny_status", strconv.Itoa(r.Status))
			}
		case ActionReturn:
			if r.Status != 0 && r.Status != defaultReturnStatus {
				words = append(words, "status", strconv.Itoa(r.Status))
			}
			if r.ContentType != "" {
				words = append(words, "content-type", quote(r.ContentType))
			}
			if r.Body != "" {
				words = append(words, "string", quote(r.Body))
			}
		}
		p.line(append(words, condWords(r.Cond)...)...)
	}
}

func (p *printer) responseRules(rules []HTTPResponseRule) {
	for i := range rules {
		r := &rules[i]
		words := []string{"http-response", r.Action.String(), quote(r.Name)}
		if r.Action != ActionDelHeader {
			words = append(words, quote(escapeLogFormat(r.Value)))
		}
		p.line(append(words, condWords(r.Cond)...)...)
	}
}

func cookieWords(c *Cookie) []string {
	w := []string{"cookie", quote(c.Name), c.Mode.String()}
	for _, o := range []struct {
		on   bool
		name string
	}{
		{c.Indirect, "indirect"}, {c.NoCache, "nocache"}, {c.Preserve, "preserve"},
		{c.HTTPOnly, "httponly"}, {c.Secure, "secure"}, {c.Dynamic, "dynamic"},
	} {
		if o.on {
			w = append(w, o.name)
		}
	}
	for _, d := range c.Domains {
		w = append(w, "domain", quote(d))
	}
	if c.MaxIdle != 0 {
		w = append(w, "maxidle", FormatDuration(c.MaxIdle))
	}
	if c.MaxLife != 0 {
		w = append(w, "maxlife", FormatDuration(c.MaxLife))
	}
	for _, a := range c.Attrs {
		w = append(w, "attr", quote(a))
	}
	return w
}

func serverWords(s *Server) []string {
	w := []string{"server", quote(s.Name), quote(formatHostPort(s.Host, s.Port))}
	if s.Weight != 1 {
		w = append(w, "weight", strconv.Itoa(s.Weight))
	}
	if s.Check {
		w = append(w, "check")
	}
	if s.Inter != 0 && s.Inter != defaultInter {
		w = append(w, "inter", FormatDuration(s.Inter))
	}
	if s.Rise != 0 && s.Rise != defaultRise {
		w = append(w, "rise", strconv.Itoa(s.Rise))
	}
	if s.Fall != 0 && s.Fall != defaultFall {
		w = append(w, "fall", strconv.Itoa(s.Fall))
	}
	if s.Cookie != "" {
		w = append(w, "cookie", quote(s.Cookie))
	}
	if s.Backup {
		w = append(w, "backup")
	}
	if s.Disabled {
		w = append(w, "disabled")
	}
	if s.MaxConn != 0 {
		w = append(w, "maxconn", strconv.Itoa(s.MaxConn))
	}
	if s.CheckPort != 0 {
		w = append(w, "port", strconv.Itoa(s.CheckPort))
	}
	return w
}

// derivedCriteria are the spellings with a match suffix, preferred when
// printing because they read like the HAProxy manual: path_beg /blog.
var derivedCriteria = map[Fetch]string{FetchPath: "path", FetchURL: "url", FetchHdr: "hdr", FetchHost: "host"}

// aclWords writes an ACL without its name: criterion, flags and values.
func aclWords(a *ACL) []string {
	var w []string
	crit := a.Fetch.String()
	needM := a.Match != MatchStr
	switch a.Fetch {
	case FetchSrc:
		needM = a.Match != MatchIP
	case FetchSSLFC:
		needM = false
	}
	if stem, ok := derivedCriteria[a.Fetch]; ok && a.Match != MatchStr && a.Match != MatchFound && a.Match != MatchIP {
		crit, needM = stem+"_"+a.Match.String(), false
	}
	switch a.Fetch {
	case FetchHdr, FetchURLParam, FetchCookie:
		crit += "(" + a.Arg + ")"
	}
	w = append(w, quote(crit))
	if a.IgnoreCase {
		w = append(w, "-i")
	}
	if needM {
		w = append(w, "-m", a.Match.String())
	}
	if len(a.Values) > 0 && strings.HasPrefix(a.Values[0], "-") {
		w = append(w, "--")
	}
	for _, v := range a.Values {
		w = append(w, quote(v))
	}
	return w
}

// condWords writes ` if|unless TERMS`, or nothing for a nil condition.
func condWords(c *Condition) []string {
	if c == nil {
		return nil
	}
	w := []string{"if"}
	if c.Unless {
		w[0] = "unless"
	}
	for i, and := range c.Or {
		if i > 0 {
			w = append(w, "||")
		}
		for _, t := range and {
			neg := ""
			if t.Negate {
				neg = "!"
			}
			if t.Inline != nil {
				w = append(w, neg+"{")
				w = append(w, aclWords(t.Inline)...)
				w = append(w, "}")
				continue
			}
			w = append(w, neg+quote(t.Name))
		}
	}
	return w
}

// syntaxWords are data values that must be quoted so that the lexer does not
// take them for condition syntax.
var syntaxWords = map[string]bool{"if": true, "unless": true, "{": true, "}": true, "||": true, "or": true}

// quote returns s as one word that lex reads back unchanged: bare when
// possible, otherwise in double quotes with backslash escapes.
func quote(s string) string {
	bare := s != "" && !syntaxWords[s] && !strings.HasPrefix(s, "!")
	for i := 0; i < len(s) && bare; i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f || c == '#' || c == '"' || c == '\'':
			bare = false
		case c == '\\' && escapable(s, i):
			bare = false
		}
	}
	if bare {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			// Always escaped inside quotes: the next byte may itself be
			// written as an escape sequence.
			b.WriteString(`\\`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < ' ' || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// escapable reports whether the backslash at s[i] would be read as the
// start of an escape sequence, and so must itself be escaped.
func escapable(s string, i int) bool {
	if i+1 >= len(s) {
		return true
	}
	return strings.IndexByte("\\\"' #tnrx", s[i+1]) >= 0
}

package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Validate checks the semantic rules that hold a configuration together:
// references (backends, ACLs), uniqueness (names, bind addresses, server
// cookies), value ranges, and features that need mode http. It does not
// assume the parser built c, so it also guards configurations built in code;
// such objects have a zero Pos, and every message names the frontend,
// backend or server concerned. The error, if any, is an ErrorList.
func (c *Config) Validate() error {
	var v validator
	v.config(c)
	return v.errs.err()
}

type validator struct {
	errs ErrorList
	// skipACL silences references to ACLs whose declaration already failed
	// to parse.
	skipACL map[aclScope]bool
	// certs are the configuration's in-memory certificates.
	certs map[string]*Certificate
	// skipNoBind names frontends whose bind lines failed to parse.
	skipNoBind map[string]bool
}

func (v *validator) add(pos Pos, kw, format string, args ...any) {
	v.errs = append(v.errs, &Error{Pos: pos, Keyword: kw, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) config(c *Config) {
	v.certs = c.Certificates
	for name, cert := range c.Certificates {
		if cert == nil || len(cert.CertPEM) == 0 || len(cert.KeyPEM) == 0 {
			v.add(Pos{}, "crt", "in-memory certificate %q has no certificate or no key", name)
		}
	}
	if c.Global.MaxConn < 0 {
		v.add(c.Global.Pos, "maxconn", "global maxconn %d is negative", c.Global.MaxConn)
	}
	backends := map[string]*Backend{}
	for i, b := range c.Backends {
		if b == nil {
			v.add(Pos{}, "backend", "backend #%d is nil", i)
			continue
		}
		if prev, dup := backends[b.Name]; dup {
			v.add(b.Pos, "backend", "duplicate backend name %q%s", b.Name, firstAt(prev.Pos))
			continue
		}
		backends[b.Name] = b
	}
	frontends := map[string]*Frontend{}
	for i, f := range c.Frontends {
		if f == nil {
			v.add(Pos{}, "frontend", "frontend #%d is nil", i)
			continue
		}
		if prev, dup := frontends[f.Name]; dup {
			v.add(f.Pos, "frontend", "duplicate frontend name %q%s", f.Name, firstAt(prev.Pos))
		} else {
			frontends[f.Name] = f
		}
		v.frontend(f, backends)
	}
	v.bindConflicts(c.Frontends)
	for _, b := range c.Backends {
		if b != nil {
			v.backend(b)
		}
	}
}

func firstAt(p Pos) string {
	if s := p.String(); s != "" {
		return " (first declared at " + s + ")"
	}
	return ""
}

func (v *validator) frontend(f *Frontend, backends map[string]*Backend) {
	ctx := fmt.Sprintf("frontend %q", f.Name)
	if !validName(f.Name) {
		v.add(f.Pos, "frontend", "invalid frontend name %q: use letters, digits, '-', '_', '.' and ':'", f.Name)
	}
	if !validEnum(modeNames[:], int(f.Mode)) {
		v.add(f.Pos, "mode", "%s: invalid mode %d", ctx, int(f.Mode))
	}
	if f.MaxConn < 0 {
		v.add(f.Pos, "maxconn", "%s: maxconn %d is negative", ctx, f.MaxConn)
	}
	if len(f.Binds) == 0 && !v.skipNoBind[f.Name] {
		v.add(f.Pos, "bind", "%s has no bind line, so it accepts no connection", ctx)
	}
	for _, b := range f.Binds {
		v.bind(ctx, b)
	}
	v.timeouts(f.Pos, ctx, &f.Timeouts, true)
	v.options(f.Pos, ctx, f.Mode, &f.Options)
	if f.Options.Redispatch {
		v.add(f.Pos, "option redispatch", "%s: applies to backends, not frontends", ctx)
	}
	scope := newScope(ctx, f.Name, f.Mode, f.ACLs)
	v.acls(scope)
	v.requestRules(scope, f.HTTPRequest)
	v.responseRules(scope, f.HTTPResponse)
	for _, u := range f.UseBackends {
		v.backendRef(u.Pos, "use_backend", ctx, f.Mode, u.Backend, backends)
		v.condition(scope, u.Pos, "use_backend", u.Cond)
	}
	if f.DefaultBackend != "" {
		v.backendRef(f.Pos, "default_backend", ctx, f.Mode, f.DefaultBackend, backends)
	}
}

func (v *validator) backendRef(pos Pos, kw, ctx string, mode Mode, name string, backends map[string]*Backend) {
	b, ok := backends[name]
	if !ok {
		v.add(pos, kw, "%s: backend %q does not exist", ctx, name)
		return
	}
	if b.Mode != mode {
		v.add(pos, kw, "%s is in mode %s but backend %q is in mode %s", ctx, mode, name, b.Mode)
	}
}

func (v *validator) bind(ctx string, b Bind) {
	if b.Port < 1 || b.Port > 65535 {
		v.add(b.Pos, "bind", "%s: port %d is out of range 1..65535", ctx, b.Port)
	}
	if b.Host != "" {
		if a, err := netip.ParseAddr(b.Host); err != nil || a.Zone() != "" {
			v.add(b.Pos, "bind", "%s: bind address %q is not an IP address", ctx, b.Host)
		}
	}
	if b.TLS == nil {
		return
	}
	if len(b.TLS.Certificates) == 0 {
		v.add(b.Pos, "bind", "%s: TLS bind %s has no certificate", ctx, b.Addr())
	}
	for _, c := range b.TLS.Certificates {
		if c == "" {
			v.add(b.Pos, "bind", "%s: TLS bind %s has an empty certificate path", ctx, b.Addr())
		}
		if name, ok := CertRef(c); ok && v.certs[name] == nil {
			v.add(b.Pos, "bind", "%s: TLS bind %s: no in-memory certificate %q", ctx, b.Addr(), name)
		}
	}
	for _, p := range b.TLS.ALPN {
		if p == "" || strings.ContainsAny(p, ", \t") {
			v.add(b.Pos, "bind", "%s: TLS bind %s has an invalid ALPN protocol %q", ctx, b.Addr(), p)
		}
	}
}

// bindConflicts reports two binds that cannot both listen: the same port
// on the same address, or on addresses one of which is a wildcard covering
// the other.
func (v *validator) bindConflicts(frontends []*Frontend) {
	type owner struct {
		fe   string
		bind Bind
	}
	byPort := map[int][]owner{}
	for _, f := range frontends {
		if f == nil {
			continue
		}
		for _, b := range f.Binds {
			for _, o := range byPort[b.Port] {
				if bindsOverlap(o.bind.Host, b.Host) {
					v.add(b.Pos, "bind", "frontend %q: address %s conflicts with %s of frontend %q%s",
						f.Name, bindText(b), bindText(o.bind), o.fe, firstAt(o.bind.Pos))
					break
				}
			}
			byPort[b.Port] = append(byPort[b.Port], owner{f.Name, b})
		}
	}
}

func bindText(b Bind) string { return formatHostPort(b.Host, b.Port) }

func bindsOverlap(a, b string) bool {
	return a == b || bindCovers(a, b) || bindCovers(b, a)
}

// bindCovers reports whether listening on wildcard w takes address x too.
// "" and "::" are dual-stack wildcards, "0.0.0.0" covers IPv4 only.
func bindCovers(w, x string) bool {
	switch w {
	case "", "::":
		return true
	case "0.0.0.0":
		a, err := netip.ParseAddr(x)
		return err == nil && a.Unmap().Is4()
	}
	return false
}

// timeouts checks the values and that each timeout is on the side that uses
// it: a frontend has no server to connect to, a backend no client to wait for.
func (v *validator) timeouts(pos Pos, ctx string, t *Timeouts, frontend bool) {
	for _, f := range timeoutFields {
		d := *f.ptr(t)
		switch {
		case d < 0:
			v.add(pos, "timeout "+f.name, "%s: negative timeout %s", ctx, d)
		case d != 0 && frontend && !f.fe:
			v.add(pos, "timeout "+f.name, "%s: applies to backends, not frontends", ctx)
		case d != 0 && !frontend && !f.be:
			v.add(pos, "timeout "+f.name, "%s: applies to frontends, not backends", ctx)
		}
	}
}

// options refuses the switches that need HTTP in a tcp proxy. The parser
// drops them with a warning when they come from a shared defaults section,
// so this only fires for configurations built in code.
func (v *validator) options(pos Pos, ctx string, m Mode, o *Options) {
	if m != ModeTCP {
		return
	}
	if o.ForwardFor {
		v.add(pos, "option forwardfor", "%s: requires mode http", ctx)
	}
	if o.HTTPServerClose {
		v.add(pos, "option http-server-close", "%s: requires mode http", ctx)
	}
	if o.HTTPLog {
		v.add(pos, "option httplog", "%s: requires mode http (use option tcplog)", ctx)
	}
}

// proxyScope is what conditions in one proxy can see.
type proxyScope struct {
	ctx      string
	name     string
	mode     Mode
	acls     []ACL
	declared map[string]bool
}

func newScope(ctx, name string, mode Mode, acls []ACL) *proxyScope {
	s := &proxyScope{ctx: ctx, name: name, mode: mode, acls: acls, declared: make(map[string]bool, len(acls))}
	for i := range acls {
		s.declared[acls[i].Name] = true
	}
	return s
}

func (v *validator) acls(s *proxyScope) {
	for i := range s.acls {
		a := &s.acls[i]
		if err := checkACLName(a.Name); err != nil {
			v.add(a.Pos, "acl", "%s: %s", s.ctx, err)
			continue
		}
		v.acl(s, a.Pos, "acl", fmt.Sprintf("ACL %q", a.Name), a)
	}
}

// acl checks one ACL, declared or inline.
func (v *validator) acl(s *proxyScope, pos Pos, kw, what string, a *ACL) {
	if !validEnum(fetchNames[:], int(a.Fetch)) {
		v.add(pos, kw, "%s: %s: invalid fetch %d", s.ctx, what, int(a.Fetch))
		return
	}
	if !validEnum(matchNames[:], int(a.Match)) {
		v.add(pos, kw, "%s: %s: invalid match %d", s.ctx, what, int(a.Match))
		return
	}
	switch a.Fetch {
	case FetchHdr, FetchCookie:
		if !isToken(a.Arg) {
			v.add(pos, kw, "%s: %s: invalid %s name %q", s.ctx, what, a.Fetch, a.Arg)
			return
		}
	case FetchURLParam:
		if a.Arg == "" || strings.ContainsAny(a.Arg, "()&=# \t") {
			v.add(pos, kw, "%s: %s: invalid url_param name %q", s.ctx, what, a.Arg)
			return
		}
	default:
		if a.Arg != "" {
			v.add(pos, kw, "%s: %s: %s takes no argument, found %q", s.ctx, what, a.Fetch, a.Arg)
			return
		}
	}
	if err := checkACLValues(a); err != nil {
		v.add(pos, kw, "%s: %s: %s", s.ctx, what, err)
		return
	}
	if s.mode == ModeTCP && a.Fetch != FetchSrc {
		v.add(pos, kw, "%s: %s uses %s, which needs mode http", s.ctx, what, a.Fetch)
	}
}

func (v *validator) condition(s *proxyScope, pos Pos, kw string, c *Condition) {
	if c == nil {
		return
	}
	if len(c.Or) == 0 {
		v.add(pos, kw, "%s: empty condition", s.ctx)
	}
	for _, and := range c.Or {
		if len(and) == 0 {
			v.add(pos, kw, "%s: empty group of terms in condition", s.ctx)
		}
		for _, t := range and {
			switch {
			case t.Inline != nil && t.Name != "":
				v.add(pos, kw, "%s: condition term has both a name (%q) and an inline ACL", s.ctx, t.Name)
			case t.Inline != nil:
				if t.Inline.Name != "" {
					v.add(pos, kw, "%s: inline ACL has a name (%q)", s.ctx, t.Inline.Name)
				}
				v.acl(s, pos, kw, "anonymous ACL", t.Inline)
			case t.Name == "":
				v.add(pos, kw, "%s: condition term has neither a name nor an inline ACL", s.ctx)
			case IsPredefinedACL(t.Name):
				if s.mode == ModeTCP && t.Name != "TRUE" && t.Name != "FALSE" {
					v.add(pos, kw, "%s: predefined ACL %s needs mode http", s.ctx, t.Name)
				}
			default:
				if !s.declared[t.Name] && !v.skipACL[aclScope{s.name, t.Name}] {
					v.add(pos, kw, "%s: unknown ACL %q", s.ctx, t.Name)
				}
			}
		}
	}
}

func (v *validator) requestRules(s *proxyScope, rules []HTTPRequestRule) {
	for i := range rules {
		r := &rules[i]
		kw := "http-request " + r.Action.String()
		if s.mode == ModeTCP {
			v.add(r.Pos, kw, "%s: http-request rules need mode http", s.ctx)
		}
		var err error
		switch r.Action {
		case ActionSetHeader, ActionAddHeader, ActionDelHeader:
			err = checkHeaderRule(r.Action, r.Name, r.Value)
		case ActionSetPath:
			if r.Value == "" || strings.ContainsAny(r.Value, " \t\r\n\x00") {
				err = fmt.Errorf("invalid path %q", r.Value)
			}
		case ActionRedirect:
			switch {
			case r.Redirect == nil:
				err = fmt.Errorf("redirect rule without a Redirect")
			case !validEnum(redirectNames[:], int(r.Redirect.Kind)):
				err = fmt.Errorf("invalid redirect kind %d", int(r.Redirect.Kind))
			case r.Redirect.Code != 0 && !redirectCodes[r.Redirect.Code]:
				err = fmt.Errorf("invalid redirect code %d: want 301, 302, 303, 307 or 308", r.Redirect.Code)
			default:
				err = checkRedirectValue(r.Redirect)
			}
		case ActionDeny, ActionReturn:
			if r.Status != 0 && (r.Status < 100 || r.Status > 599) {
				err = fmt.Errorf("invalid status %d: want 100 to 599", r.Status)
			} else if r.Action == ActionReturn && r.Body != "" && r.ContentType == "" {
				err = fmt.Errorf("a body needs a content-type")
			} else if e := checkHeaderValue(r.ContentType); e != nil {
				err = fmt.Errorf("content-type: %w", e)
			}
		default:
			err = fmt.Errorf("invalid action %d", int(r.Action))
		}
		if err != nil {
			v.add(r.Pos, kw, "%s: %s", s.ctx, err)
		}
		v.condition(s, r.Pos, kw, r.Cond)
	}
}

func (v *validator) responseRules(s *proxyScope, rules []HTTPResponseRule) {
	for i := range rules {
		r := &rules[i]
		kw := "http-response " + r.Action.String()
		if s.mode == ModeTCP {
			v.add(r.Pos, kw, "%s: http-response rules need mode http", s.ctx)
		}
		switch r.Action {
		case ActionSetHeader, ActionAddHeader, ActionDelHeader:
			if err := checkHeaderRule(r.Action, r.Name, r.Value); err != nil {
				v.add(r.Pos, kw, "%s: %s", s.ctx, err)
			}
		default:
			v.add(r.Pos, kw, "%s: action %s is not available in http-response", s.ctx, r.Action)
		}
		v.condition(s, r.Pos, kw, r.Cond)
	}
}

func checkHeaderRule(a HTTPAction, name, value string) error {
	if err := checkHeaderName(name); err != nil {
		return err
	}
	if a == ActionDelHeader && value != "" {
		return fmt.Errorf("del-header takes no value, found %q", value)
	}
	return checkHeaderValue(value)
}

func (v *validator) backend(b *Backend) {
	ctx := fmt.Sprintf("backend %q", b.Name)
	if !validName(b.Name) {
		v.add(b.Pos, "backend", "invalid backend name %q: use letters, digits, '-', '_', '.' and ':'", b.Name)
	}
	if !validEnum(modeNames[:], int(b.Mode)) {
		v.add(b.Pos, "mode", "%s: invalid mode %d", ctx, int(b.Mode))
	}
	v.balance(b, ctx)
	if b.Retries < 0 {
		v.add(b.Pos, "retries", "%s: retries %d is negative", ctx, b.Retries)
	}
	v.timeouts(b.Pos, ctx, &b.Timeouts, false)
	v.options(b.Pos, ctx, b.Mode, &b.Options)
	if c := b.Cookie; c != nil {
		if err := checkCookie(c); err != nil {
			v.add(c.Pos, "cookie", "%s: %s", ctx, err)
		}
		if b.Mode == ModeTCP {
			v.add(c.Pos, "cookie", "%s: cookie persistence needs mode http", ctx)
		}
	}
	if err := checkHTTPCheck(&b.Check); err != nil {
		v.add(b.Pos, "option httpchk", "%s: %s", ctx, err)
	}
	if s := b.Check.ExpectStatus; s != 0 && (s < 100 || s > 599) {
		v.add(b.Pos, "http-check expect", "%s: invalid status %d: want 100 to 599", ctx, s)
	}
	v.servers(b, ctx)
	scope := newScope(ctx, b.Name, b.Mode, b.ACLs)
	v.acls(scope)
	v.requestRules(scope, b.HTTPRequest)
	v.responseRules(scope, b.HTTPResponse)
}

func (v *validator) balance(b *Backend, ctx string) {
	bal := b.Balance
	switch {
	case !validEnum(balanceNames[:], int(bal.Algorithm)):
		v.add(b.Pos, "balance", "%s: invalid algorithm %d", ctx, int(bal.Algorithm))
		return
	case bal.Algorithm == BalanceURLParam && bal.Param == "":
		v.add(b.Pos, "balance", "%s: url_param needs a parameter name", ctx)
	case bal.Algorithm == BalanceHdr && !isToken(bal.Param):
		v.add(b.Pos, "balance", "%s: invalid header name %q for hdr()", ctx, bal.Param)
	case bal.Algorithm != BalanceURLParam && bal.Algorithm != BalanceHdr && bal.Param != "":
		v.add(b.Pos, "balance", "%s: balance %s takes no parameter, found %q", ctx, bal.Algorithm, bal.Param)
	}
	switch bal.Algorithm {
	case BalanceURI, BalanceURLParam, BalanceHdr:
		if b.Mode == ModeTCP {
			v.add(b.Pos, "balance", "%s: balance %s needs mode http", ctx, bal.Algorithm)
		}
	}
}

func (v *validator) servers(b *Backend, ctx string) {
	names := map[string]Pos{}
	cookies := map[string]string{}
	for i := range b.Servers {
		s := &b.Servers[i]
		sctx := fmt.Sprintf("%s: server %q", ctx, s.Name)
		if !validName(s.Name) {
			v.add(s.Pos, "server", "%s: invalid server name %q", ctx, s.Name)
		} else if prev, dup := names[s.Name]; dup {
			v.add(s.Pos, "server", "%s: duplicate server name %q%s", ctx, s.Name, firstAt(prev))
		} else {
			names[s.Name] = s.Pos
		}
		if err := checkHost(s.Host); err != nil {
			v.add(s.Pos, "server", "%s: %s", sctx, err)
		}
		if s.Port < 1 || s.Port > 65535 {
			v.add(s.Pos, "server", "%s: port %d is out of range 1..65535", sctx, s.Port)
		}
		if s.Weight < 0 || s.Weight > maxWeight {
			v.add(s.Pos, "server", "%s: weight %d is out of range 0..%d", sctx, s.Weight, maxWeight)
		}
		if s.MaxConn < 0 {
			v.add(s.Pos, "server", "%s: maxconn %d is negative", sctx, s.MaxConn)
		}
		if s.CheckPort < 0 || s.CheckPort > 65535 {
			v.add(s.Pos, "server", "%s: check port %d is out of range 1..65535", sctx, s.CheckPort)
		}
		if s.Inter < 0 || s.Rise < 0 || s.Fall < 0 {
			v.add(s.Pos, "server", "%s: negative inter, rise or fall", sctx)
		} else if s.Check && (s.Inter == 0 || s.Rise == 0 || s.Fall == 0) {
			v.add(s.Pos, "server", "%s: health checks need inter, rise and fall above 0 (NewServer sets HAProxy's defaults)", sctx)
		}
		if s.Cookie != "" {
			if err := checkCookieValue(s.Cookie); err != nil {
				v.add(s.Pos, "server", "%s: %s", sctx, err)
			} else if prev, dup := cookies[s.Cookie]; dup {
				v.add(s.Pos, "server", "%s: cookie value %q is already used by server %q", sctx, s.Cookie, prev)
			} else {
				cookies[s.Cookie] = s.Name
			}
		}
	}
}

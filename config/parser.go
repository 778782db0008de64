package config

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// ParseFile reads and parses the configuration file at path.
func ParseFile(path string) (*Config, []Warning, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, src)
}

// Parse reads an HAProxy-style configuration. filename is only used in
// messages. Parsing does not stop at the first problem: the returned error is
// an ErrorList holding every syntax error and every Validate error. On error
// the Config is nil; a Config returned with a nil error is valid. Warnings
// name directives that were accepted but have no effect in sluice.
func Parse(filename string, src []byte) (*Config, []Warning, error) {
	p := &parser{
		file:    filename,
		cfg:     &Config{},
		named:   map[string]*defaultsSection{},
		failed:  map[aclScope]bool{},
		noBind:  map[string]bool{},
		current: builtinDefaults(),
	}
	stmts, errs := lex(filename, src)
	p.errs = errs
	for i := range stmts {
		p.statement(&stmts[i])
	}
	p.endSection()
	if p.ifDepth > 0 {
		p.errs = append(p.errs, &Error{Pos: p.ifPos, Keyword: ".if", Msg: "block is never closed with .endif"})
	}
	v := validator{skipACL: p.failed, skipNoBind: p.noBind}
	v.config(p.cfg)
	errs = sortByLine(append(p.errs, v.errs...))
	if len(errs) > 0 {
		return nil, p.warns, errs
	}
	return p.cfg, p.warns, nil
}

// sortByLine orders parse and validation errors together, top to bottom;
// errors without a position (none come from the parser) keep their order.
func sortByLine(errs ErrorList) ErrorList {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Pos.Line < errs[j].Pos.Line })
	return errs
}

type sectionKind uint8

const (
	secGlobal sectionKind = iota
	secDefaults
	secFrontend
	secBackend
	secListen
)

var sectionNames = [...]string{
	secGlobal:   "global",
	secDefaults: "defaults",
	secFrontend: "frontend",
	secBackend:  "backend",
	secListen:   "listen",
}

// sectionMask is a set of section kinds, for the keyword table.
type sectionMask uint8

func (k sectionKind) mask() sectionMask { return 1 << k }

const (
	inGlobal   sectionMask = 1 << secGlobal
	inDefaults sectionMask = 1 << secDefaults
	inFrontend sectionMask = 1 << secFrontend
	inBackend  sectionMask = 1 << secBackend
	inListen   sectionMask = 1 << secListen

	// feSide and beSide are HAProxy's frontend and backend capabilities:
	// defaults and listen sections have both.
	feSide  = inDefaults | inFrontend | inListen
	beSide  = inDefaults | inBackend | inListen
	inProxy = inFrontend | inBackend | inListen
	inAny   = inGlobal | inDefaults | inProxy
)

func (m sectionMask) String() string {
	var names []string
	for k, n := range sectionNames {
		if m&(1<<k) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// defaultsSection is a parsed `defaults` section: templates that the proxies
// following it start from.
type defaultsSection struct {
	name   string
	fe     Frontend
	be     Backend
	server Server // default-server
}

// builtinDefaults are the settings of a proxy when no defaults section says
// otherwise; they match HAProxy's.
func builtinDefaults() *defaultsSection {
	return &defaultsSection{
		be:     Backend{Retries: 3},
		server: Server{Weight: 1, Inter: defaultInter, Rise: defaultRise, Fall: defaultFall},
	}
}

// section is the section being parsed. fe and be are set according to the
// section's capabilities, so a keyword writes to whichever of them applies:
// a listen or defaults section has both.
type section struct {
	kind   sectionKind
	pos    Pos
	name   string
	fe     *Frontend
	be     *Backend
	server *Server // the section's default-server
	// defs is what a defaults section fills in.
	defs *defaultsSection
	// discard is set when the header was unusable: the lines are still
	// checked but the proxy is not added to the configuration.
	discard bool
	// ownDefaultBackend: default_backend was written in this section.
	ownDefaultBackend bool
	// bindFailed and serverFailed record lines already reported, so that
	// their absence is not reported a second time.
	bindFailed, serverFailed bool
}

// aclScope names an ACL that failed to parse, so that validation does not
// report every condition using it as a second error.
type aclScope struct {
	proxy string // the frontend, backend or listen name
	acl   string
}

type parser struct {
	file  string
	cfg   *Config
	errs  ErrorList
	warns []Warning

	sec       *section // nil before the first section and inside skipped ones
	skipping  bool     // inside an unsupported section such as peers
	current   *defaultsSection
	named     map[string]*defaultsSection
	failed    map[aclScope]bool
	noBind    map[string]bool // frontends whose bind lines failed to parse
	globalSet bool

	ifDepth int
	ifPos   Pos
}

func (p *parser) errorf(pos Pos, kw, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: pos, Keyword: kw, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(pos Pos, kw, format string, args ...any) {
	p.warns = append(p.warns, Warning{Pos: pos, Keyword: kw, Msg: fmt.Sprintf(format, args...)})
}

// report records the error a keyword handler returned. Handlers return plain
// errors for the common case and *Error or ErrorList when they need to name
// a more precise keyword (`timeout client`) or report several problems.
func (p *parser) report(st *stmt, kw string, err error) {
	switch e := err.(type) {
	case nil:
	case *Error:
		p.errs = append(p.errs, fill(e, st.pos, kw))
	case ErrorList:
		for _, e := range e {
			p.errs = append(p.errs, fill(e, st.pos, kw))
		}
	default:
		p.errorf(st.pos, kw, "%s", err)
	}
}

func fill(e *Error, pos Pos, kw string) *Error {
	if e.Pos == (Pos{}) {
		e.Pos = pos
	}
	if e.Keyword == "" {
		e.Keyword = kw
	}
	return e
}

// kwError builds an error naming a keyword more precise than the table row's.
func kwError(kw, format string, args ...any) *Error {
	return &Error{Keyword: kw, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) statement(st *stmt) {
	kw := st.kw()
	if strings.HasPrefix(kw, ".") {
		p.directive(st)
		return
	}
	if kind, ok := sectionByName(kw); ok {
		p.endSection()
		p.beginSection(kind, st)
		return
	}
	if unsupportedSections[kw] {
		p.endSection()
		p.skipping = true
		p.errorf(st.pos, kw, "section not supported by sluice")
		return
	}
	if p.skipping {
		return
	}
	if p.sec == nil {
		p.errorf(st.pos, kw, "outside of any section: a configuration starts with global, defaults, frontend, backend or listen")
		return
	}
	p.dispatch(st)
}

func sectionByName(kw string) (sectionKind, bool) {
	for k, n := range sectionNames {
		if n == kw {
			return sectionKind(k), true
		}
	}
	return 0, false
}

// directive handles the dot-directives of HAProxy 2.4+. Conditional blocks
// are reported once at their .if; the lines inside are still read, so their
// own problems are reported too.
func (p *parser) directive(st *stmt) {
	switch kw := st.kw(); kw {
	case ".if":
		if p.ifDepth == 0 {
			p.ifPos = st.pos
		}
		p.ifDepth++
		p.errorf(st.pos, kw, "conditional blocks are not supported by sluice")
	case ".elif", ".else":
		if p.ifDepth == 0 {
			p.errorf(st.pos, kw, "without a matching .if")
		}
	case ".endif":
		if p.ifDepth == 0 {
			p.errorf(st.pos, kw, "without a matching .if")
			return
		}
		p.ifDepth--
	case ".diag", ".notice", ".warning", ".alert":
		p.errorf(st.pos, kw, "not supported by sluice")
	default:
		p.errorf(st.pos, kw, "unknown directive")
	}
}

func (p *parser) beginSection(kind sectionKind, st *stmt) {
	p.skipping = false
	s := &section{kind: kind, pos: st.pos}
	p.sec = s
	args := st.words[1:]
	kw := st.kw()

	if kind == secGlobal {
		if len(args) > 0 {
			p.errorf(st.pos, kw, "takes no argument, found %q", args[0].s)
		}
		if !p.globalSet {
			p.cfg.Global.Pos = st.pos
			p.globalSet = true
		}
		return
	}

	// The name is mandatory for proxies and optional for defaults.
	if kind != secDefaults || (len(args) > 0 && args[0].s != "from") {
		if len(args) == 0 || args[0].s == "" {
			p.errorf(st.pos, kw, "missing name")
			s.discard = true
		} else {
			s.name = args[0].s
			args = args[1:]
		}
	}

	// listen NAME ADDR:PORT is the old way of writing a bind line.
	var listenAddr *word
	if kind == secListen && len(args) > 0 && args[0].s != "from" {
		listenAddr = &args[0]
		args = args[1:]
	}

	// A proxy starts from the last defaults section; a defaults section
	// starts afresh, as in HAProxy. Either may name its base with `from`.
	base := p.current
	if kind == secDefaults {
		base = builtinDefaults()
	}
	if len(args) > 0 && args[0].s == "from" {
		switch {
		case len(args) < 2:
			p.errorf(st.pos, kw, "'from' needs the name of a defaults section")
		case p.named[args[1].s] == nil:
			p.errorf(st.pos, kw, "defaults section %q not found (it must be declared before it is used)", args[1].s)
		default:
			base = p.named[args[1].s]
		}
		args = args[min(2, len(args)):]
	}
	if len(args) > 0 {
		p.errorf(st.pos, kw, "unexpected argument %q", args[0].s)
	}

	switch kind {
	case secDefaults:
		if s.name != "" && p.named[s.name] != nil {
			p.errorf(st.pos, kw, "duplicate defaults section %q", s.name)
		}
		d := cloneDefaults(base)
		d.name = s.name
		s.defs = d
		s.fe, s.be, s.server = &d.fe, &d.be, &d.server
	case secFrontend:
		s.fe = frontendFrom(base, s.name, st.pos)
	case secBackend:
		s.be = backendFrom(base, s.name, st.pos)
		srv := base.server
		s.server = &srv
	case secListen:
		s.fe = frontendFrom(base, s.name, st.pos)
		s.be = backendFrom(base, s.name, st.pos)
		srv := base.server
		s.server = &srv
		if listenAddr != nil {
			binds, err := parseBindAddrs(listenAddr.s)
			if err != nil {
				p.errorf(st.pos, kw, "%s", err)
			}
			for _, b := range binds {
				b.Pos = st.pos
				s.fe.Binds = append(s.fe.Binds, b)
			}
		}
	}
}

// frontendFrom starts a frontend from the frontend half of a defaults section.
func frontendFrom(d *defaultsSection, name string, pos Pos) *Frontend {
	return &Frontend{
		Pos:            pos,
		Name:           name,
		Mode:           d.fe.Mode,
		Timeouts:       d.fe.Timeouts,
		Options:        d.fe.Options,
		MaxConn:        d.fe.MaxConn,
		DefaultBackend: d.fe.DefaultBackend,
	}
}

// backendFrom starts a backend from the backend half of a defaults section.
func backendFrom(d *defaultsSection, name string, pos Pos) *Backend {
	return &Backend{
		Pos:      pos,
		Name:     name,
		Mode:     d.be.Mode,
		Balance:  d.be.Balance,
		Cookie:   cloneCookie(d.be.Cookie),
		Check:    d.be.Check,
		Timeouts: d.be.Timeouts,
		Options:  d.be.Options,
		Retries:  d.be.Retries,
	}
}

func cloneDefaults(d *defaultsSection) *defaultsSection {
	c := *d
	c.be.Cookie = cloneCookie(d.be.Cookie)
	return &c
}

func cloneCookie(c *Cookie) *Cookie {
	if c == nil {
		return nil
	}
	n := *c
	n.Domains = append([]string(nil), c.Domains...)
	n.Attrs = append([]string(nil), c.Attrs...)
	if len(n.Domains) == 0 {
		n.Domains = nil
	}
	if len(n.Attrs) == 0 {
		n.Attrs = nil
	}
	return &n
}

// endSection files the finished section into the configuration.
func (p *parser) endSection() {
	s := p.sec
	p.sec = nil
	if s == nil {
		return
	}
	switch s.kind {
	case secDefaults:
		p.current = s.defs
		if s.name != "" && p.named[s.name] == nil {
			p.named[s.name] = s.defs
		}
	case secFrontend:
		if s.bindFailed {
			p.noBind[s.name] = true
		}
		p.httpOnlyOptions(s, "frontend", s.name, s.fe.Mode, &s.fe.Options)
		p.httpALPN(s.fe)
		if !s.discard {
			p.cfg.Frontends = append(p.cfg.Frontends, s.fe)
		}
	case secBackend:
		p.httpOnlyOptions(s, "backend", s.name, s.be.Mode, &s.be.Options)
		if !s.discard {
			p.cfg.Backends = append(p.cfg.Backends, s.be)
		}
	case secListen:
		p.endListen(s)
	}
}

// endListen splits a listen section into a frontend and a backend of the
// same name, as HAProxy treats it: the frontend forwards to the listen's own
// servers unless a default_backend (its own or inherited) says otherwise.
func (p *parser) endListen(s *section) {
	fe, be := s.fe, s.be
	hasBind, hasServers := len(fe.Binds) > 0, len(be.Servers) > 0
	if !hasBind && !hasServers {
		if s.bindFailed || s.serverFailed {
			return
		}
		p.errorf(s.pos, "listen", "%q has neither a bind line nor a server line, so it can neither accept nor forward traffic", s.name)
		return
	}
	p.httpOnlyOptions(s, "listen", s.name, fe.Mode, &fe.Options, &be.Options)
	p.httpALPN(fe)
	if !hasBind {
		// Used only as a backend: its rules run on the backend side.
		be.ACLs, be.HTTPRequest, be.HTTPResponse = fe.ACLs, fe.HTTPRequest, fe.HTTPResponse
		if len(fe.UseBackends) > 0 {
			p.warnf(fe.UseBackends[0].Pos, "use_backend", "ignored: listen %q has no bind line, so it only serves as a backend", s.name)
		}
		if s.ownDefaultBackend {
			p.warnf(s.pos, "default_backend", "ignored: listen %q has no bind line, so it only serves as a backend", s.name)
		}
		if !s.discard {
			p.cfg.Backends = append(p.cfg.Backends, be)
		}
		return
	}
	if fe.DefaultBackend == "" {
		fe.DefaultBackend = s.name
	}
	if s.discard {
		return
	}
	p.cfg.Frontends = append(p.cfg.Frontends, fe)
	if hasServers || fe.DefaultBackend == s.name {
		p.cfg.Backends = append(p.cfg.Backends, be)
	}
}

// httpOnlyOptions drops the options that only make sense in mode http from a
// tcp proxy, with a warning, as HAProxy does. They usually come from a
// defaults section shared by http and tcp proxies.
func (p *parser) httpOnlyOptions(s *section, kind, name string, m Mode, opts ...*Options) {
	if m != ModeTCP {
		return
	}
	var forwardFor, serverClose, httpLog bool
	for _, o := range opts {
		forwardFor = forwardFor || o.ForwardFor
		serverClose = serverClose || o.HTTPServerClose
		httpLog = httpLog || o.HTTPLog
		if o.HTTPLog {
			o.TCPLog = true
		}
		o.ForwardFor, o.HTTPServerClose, o.HTTPLog = false, false, false
	}
	if forwardFor {
		p.warnf(s.pos, "option forwardfor", "ignored in %s %q: it requires mode http", kind, name)
	}
	if serverClose {
		p.warnf(s.pos, "option http-server-close", "ignored in %s %q: it requires mode http", kind, name)
	}
	if httpLog {
		p.warnf(s.pos, "option httplog", "replaced by option tcplog in %s %q: it requires mode http", kind, name)
	}
}

// httpALPN drops, with a warning, the ALPN protocols a mode http frontend
// does not speak, so that `alpn h2,http/1.1` copied from HAProxy loads and
// clients are never offered HTTP/2. A mode tcp frontend offers its list as
// written: what flows inside the TLS session is the server's business.
func (p *parser) httpALPN(fe *Frontend) {
	if fe.Mode != ModeHTTP {
		return
	}
	for i := range fe.Binds {
		b := &fe.Binds[i]
		if b.TLS == nil || len(b.TLS.ALPN) == 0 {
			continue
		}
		var kept, dropped []string
		for _, proto := range b.TLS.ALPN {
			if HTTPALPN(proto) {
				kept = append(kept, proto)
			} else {
				dropped = append(dropped, proto)
			}
		}
		if len(dropped) > 0 {
			p.warnf(b.Pos, "bind", "alpn %s not offered on %s: mode http speaks HTTP/1.x only", strings.Join(dropped, ","), b.Addr())
			b.TLS.ALPN = kept
		}
	}
}

// HTTPALPN reports whether proto is an ALPN protocol mode http speaks.
func HTTPALPN(proto string) bool { return proto == "http/1.1" || proto == "http/1.0" }

// dispatch runs the handler of a keyword inside a section.
func (p *parser) dispatch(st *stmt) {
	kw := st.kw()
	rows := lookupKeyword(kw)
	if len(rows) == 0 {
		if s := suggest(kw, p.sec.kind); s != "" {
			p.errorf(st.pos, kw, "unknown keyword (did you mean '%s'?)", s)
		} else {
			p.errorf(st.pos, kw, "unknown keyword")
		}
		return
	}
	var allowed sectionMask
	for _, r := range rows {
		if r.sections&p.sec.kind.mask() != 0 {
			err := r.parse(p, p.sec, st)
			if err != nil {
				switch kw {
				case "bind":
					p.sec.bindFailed = true
				case "server":
					p.sec.serverFailed = true
				}
			}
			p.report(st, kw, err)
			return
		}
		allowed |= r.sections
	}
	p.errorf(st.pos, kw, "not allowed in a %s section (only in %s)", sectionNames[p.sec.kind], allowed)
}

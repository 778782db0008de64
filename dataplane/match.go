package dataplane

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/h1"
)

// matcher is one compiled ACL. Values are prepared at compile time (lowercased
// for -i, regexps compiled, CIDRs parsed) so matching never allocates.
type matcher struct {
	fetch config.Fetch
	arg   []byte // header, parameter or cookie name
	match config.Match
	fold  bool
	vals  [][]byte
	// set indexes vals for an exact match among many (lowercased when
	// fold), as HAProxy indexes its pattern lists: a redirect covering
	// every TLS host of a cluster costs one lookup, not a scan.
	set  map[string]struct{}
	res  []*regexp.Regexp
	nets []netip.Prefix
}

// setMin is how many values an exact match needs before a map beats
// comparing them one by one.
const setMin = 8

// cond is a compiled Condition: an OR of ANDs of (possibly negated) ACL
// groups. A named ACL declared on several lines is a group whose members are
// ORed, as HAProxy does.
type cond struct {
	unless bool
	or     [][]condTerm
}

type condTerm struct {
	negate bool
	group  []*matcher
}

// fetchVersion is the request's HTTP version ("1.0" or "1.1"); only the
// predefined ACLs HTTP_1.0 and HTTP_1.1 use it.
const fetchVersion = config.Fetch(-1)

var versions = [2][]byte{[]byte("1.0"), []byte("1.1")}

// request is what matching needs to know about a request; it lives inside the
// per-connection state and is reset, not reallocated, for every request.
type request struct {
	h        *h1.Request
	src      netip.Addr
	tls      *tlsInfo
	host     []byte // lowercased host without port, filled on first use
	hostDone bool
	hostBuf  [256]byte
}

func (r *request) reset(h *h1.Request, src netip.Addr, tls *tlsInfo) {
	r.h = h
	r.src = src
	r.tls = tls
	r.host = nil
	r.hostDone = false
}

// hostName returns the Host (or absolute-form authority) lowercased and
// without the port, computed once per request into a fixed buffer.
func (r *request) hostName() []byte {
	if r.hostDone {
		return r.host
	}
	r.hostDone = true
	h := r.h.Host
	if len(h) > 0 && h[0] == '[' { // IPv6 literal
		if i := bytes.IndexByte(h, ']'); i > 0 {
			h = h[:i+1]
		}
	} else if i := bytes.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	if len(h) > 0 && h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	if len(h) > len(r.hostBuf) {
		r.host = nil
		return nil
	}
	b := r.hostBuf[:len(h)]
	for i, c := range h {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	r.host = b
	return b
}

func (c *cond) eval(r *request) bool {
	if c == nil {
		return true
	}
	res := false
	for _, and := range c.or {
		ok := true
		for i := range and {
			if and[i].eval(r) == and[i].negate {
				ok = false
				break
			}
		}
		if ok {
			res = true
			break
		}
	}
	return res != c.unless
}

func (t *condTerm) eval(r *request) bool {
	for _, m := range t.group {
		if m.eval(r) {
			return true
		}
	}
	return false
}

func (m *matcher) eval(r *request) bool {
	switch m.fetch {
	case config.FetchPath:
		return m.test(r.h.Path)
	case config.FetchURL:
		return m.test(r.h.Target)
	case config.FetchMethod:
		return m.test(r.h.Method)
	case fetchVersion:
		return m.test(versions[r.h.Minor&1])
	case config.FetchHost:
		h := r.hostName()
		if h == nil {
			return false
		}
		return m.test(h)
	case config.FetchSrc:
		if !r.src.IsValid() {
			return false
		}
		src := r.src.Unmap()
		for _, n := range m.nets {
			if n.Contains(src) {
				return true
			}
		}
		return false
	case config.FetchSSLFC:
		return r.tls != nil && r.tls.on
	case config.FetchSSLFCSNI:
		if r.tls == nil || len(r.tls.sni) == 0 {
			return false
		}
		return m.test(r.tls.sni)
	case config.FetchURLParam:
		v, ok := h1.QueryParam(r.h.Query, m.arg)
		if !ok {
			return false
		}
		return m.test(v)
	case config.FetchCookie:
		v, ok := h1.Cookie(r.h.Headers, m.arg)
		if !ok {
			return false
		}
		return m.test(v)
	case config.FetchHdr:
		for i := range r.h.Headers {
			hd := &r.h.Headers[i]
			if !equalFoldBytes(hd.Name, m.arg) {
				continue
			}
			if m.match == config.MatchFound {
				return true
			}
			// Like HAProxy's hdr(), a comma-separated value is several values.
			v := hd.Value
			for len(v) > 0 {
				j := bytes.IndexByte(v, ',')
				var elem []byte
				if j < 0 {
					elem, v = v, nil
				} else {
					elem, v = v[:j], v[j+1:]
				}
				if m.test(bytes.TrimSpace(elem)) {
					return true
				}
			}
		}
		return false
	}
	return false
}

// test compares one fetched value with the matcher's values.
func (m *matcher) test(v []byte) bool {
	switch m.match {
	case config.MatchFound:
		return true
	case config.MatchReg:
		for _, re := range m.res {
			if re.Match(v) {
				return true
			}
		}
		return false
	}
	if m.set != nil {
		if !m.fold {
			_, ok := m.set[string(v)]
			return ok
		}
		var buf [256]byte
		if len(v) <= len(buf) {
			low := buf[:len(v)]
			for i, c := range v {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				low[i] = c
			}
			_, ok := m.set[string(low)]
			return ok
		}
	}
	for _, want := range m.vals {
		if m.one(v, want) {
			return true
		}
	}
	return false
}

func (m *matcher) one(v, want []byte) bool {
	switch m.match {
	case config.MatchStr:
		return m.eq(v, want)
	case config.MatchBeg:
		return len(v) >= len(want) && m.eq(v[:len(want)], want)
	case config.MatchEnd:
		return len(v) >= len(want) && m.eq(v[len(v)-len(want):], want)
	case config.MatchSub:
		return m.index(v, want) >= 0
	case config.MatchDir:
		return m.delimited(v, want, '/')
	case config.MatchDom:
		return m.delimited(v, want, '.')
	}
	return false
}

func (m *matcher) eq(a, b []byte) bool {
	if m.fold {
		return equalFoldBytes(a, b)
	}
	return bytes.Equal(a, b)
}

func (m *matcher) index(v, want []byte) int {
	if !m.fold {
		return bytes.Index(v, want)
	}
	for i := 0; i+len(want) <= len(v); i++ {
		if equalFoldBytes(v[i:i+len(want)], want) {
			return i
		}
	}
	return -1
}

// delimited reports whether want appears in v as a whole run of elements
// separated by sep (HAProxy's -m dir and -m dom).
func (m *matcher) delimited(v, want []byte, sep byte) bool {
	want = bytes.Trim(want, string(sep))
	if len(want) == 0 {
		return false
	}
	for i := 0; i+len(want) <= len(v); i++ {
		if i > 0 && v[i-1] != sep {
			continue
		}
		end := i + len(want)
		if end < len(v) && v[end] != sep {
			continue
		}
		if m.eq(v[i:end], want) {
			return true
		}
	}
	return false
}

// equalFoldBytes is an ASCII case-insensitive comparison.
// asciiLower lowercases ASCII letters only, as equalFoldBytes compares.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// compileACL turns one config.ACL into a matcher.
func compileACL(a *config.ACL) (*matcher, error) {
	m := &matcher{fetch: a.Fetch, arg: []byte(a.Arg), match: a.Match, fold: a.IgnoreCase}
	if a.Fetch == config.FetchHost {
		// Host names are case-insensitive whatever the ACL says.
		m.fold = true
	}
	switch {
	case a.Fetch == config.FetchSrc:
		for _, v := range a.Values {
			p, err := parsePrefix(v)
			if err != nil {
				return nil, err
			}
			m.nets = append(m.nets, p)
		}
	case a.Match == config.MatchReg:
		for _, v := range a.Values {
			expr := v
			if a.IgnoreCase {
				expr = "(?i)" + v
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("regular expression %q: %w", v, err)
			}
			m.res = append(m.res, re)
		}
	default:
		for _, v := range a.Values {
			m.vals = append(m.vals, []byte(v))
		}
		if a.Match == config.MatchStr && len(a.Values) >= setMin {
			m.set = make(map[string]struct{}, len(a.Values))
			for _, v := range a.Values {
				if m.fold {
					v = asciiLower(v)
				}
				m.set[v] = struct{}{}
			}
		}
	}
	return m, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("address %q: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address %q: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// aclScope resolves ACL names for one proxy: its own ACLs, then the
// frontend's when compiling a backend's rules.
type aclScope struct {
	named  map[string][]*matcher
	parent *aclScope
}

func newACLScope(acls []config.ACL, parent *aclScope) (*aclScope, error) {
	s := &aclScope{named: map[string][]*matcher{}, parent: parent}
	for i := range acls {
		m, err := compileACL(&acls[i])
		if err != nil {
			return nil, fmt.Errorf("acl %q: %w", acls[i].Name, err)
		}
		s.named[acls[i].Name] = append(s.named[acls[i].Name], m)
	}
	return s, nil
}

func (s *aclScope) lookup(name string) []*matcher {
	for ; s != nil; s = s.parent {
		if g, ok := s.named[name]; ok {
			return g
		}
	}
	return predefinedACL(name)
}

func (s *aclScope) compileCond(c *config.Condition) (*cond, error) {
	if c == nil {
		return nil, nil
	}
	out := &cond{unless: c.Unless}
	for _, and := range c.Or {
		var terms []condTerm
		for _, t := range and {
			var group []*matcher
			if t.Inline != nil {
				m, err := compileACL(t.Inline)
				if err != nil {
					return nil, err
				}
				group = []*matcher{m}
			} else {
				group = s.lookup(t.Name)
				if group == nil {
					return nil, fmt.Errorf("unknown acl %q", t.Name)
				}
			}
			terms = append(terms, condTerm{negate: t.Negate, group: group})
		}
		out.or = append(out.or, terms)
	}
	return out, nil
}

// predefinedACL returns HAProxy's predefined ACLs that make sense per request.
func predefinedACL(name string) []*matcher {
	method := func(ms ...string) []*matcher {
		m := &matcher{fetch: config.FetchMethod, match: config.MatchStr}
		for _, v := range ms {
			m.vals = append(m.vals, []byte(v))
		}
		return []*matcher{m}
	}
	switch name {
	case "TRUE", "HTTP":
		return []*matcher{{fetch: config.FetchMethod, match: config.MatchFound}}
	case "FALSE":
		return []*matcher{{fetch: config.FetchMethod, match: config.MatchStr}}
	case "METH_GET":
		return method("GET", "HEAD")
	case "METH_HEAD":
		return method("HEAD")
	case "METH_POST":
		return method("POST")
	case "METH_PUT":
		return method("PUT")
	case "METH_DELETE":
		return method("DELETE")
	case "METH_OPTIONS":
		return method("OPTIONS")
	case "METH_CONNECT":
		return method("CONNECT")
	case "METH_TRACE":
		return method("TRACE")
	case "HTTP_1.0":
		return []*matcher{{fetch: fetchVersion, match: config.MatchStr, vals: [][]byte{[]byte("1.0")}}}
	case "HTTP_1.1":
		return []*matcher{{fetch: fetchVersion, match: config.MatchStr, vals: [][]byte{[]byte("1.1")}}}
	}
	return nil
}

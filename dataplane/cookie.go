package dataplane

import (
	"bytes"
	"strconv"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/backend"
	"sluice.dev/sluice/dataplane/h1"
)

// cookieRule is a compiled `cookie` line: HAProxy's cookie persistence in
// insert, rewrite or prefix mode.
type cookieRule struct {
	name     []byte
	mode     config.CookieMode
	indirect bool
	nocache  bool
	preserve bool
	maxIdle  time.Duration
	maxLife  time.Duration
	// attrs is everything after NAME=VALUE in an inserted Set-Cookie,
	// prebuilt: "; path=/; domain=d; HttpOnly; Secure; ...".
	attrs []byte
}

// prefixSep separates the server's value from the application's in prefix
// mode, as HAProxy writes it.
const prefixSep = '~'

func newCookieRule(c *config.Cookie) *cookieRule {
	r := &cookieRule{
		name:     []byte(c.Name),
		mode:     c.Mode,
		indirect: c.Indirect,
		nocache:  c.NoCache,
		preserve: c.Preserve,
		maxIdle:  c.MaxIdle,
		maxLife:  c.MaxLife,
	}
	hasPath := false
	var extra []byte
	for _, a := range c.Attrs {
		if len(a) >= 5 && equalFoldBytes([]byte(a[:5]), []byte("path=")) {
			hasPath = true
		}
		extra = append(extra, "; "...)
		extra = append(extra, a...)
	}
	if !hasPath {
		r.attrs = append(r.attrs, "; path=/"...)
	}
	for _, d := range c.Domains {
		r.attrs = append(r.attrs, "; domain="...)
		r.attrs = append(r.attrs, d...)
	}
	if c.HTTPOnly {
		r.attrs = append(r.attrs, "; HttpOnly"...)
	}
	if c.Secure {
		r.attrs = append(r.attrs, "; Secure"...)
	}
	r.attrs = append(r.attrs, extra...)
	return r
}

// dated reports whether inserted cookies carry their dates (maxidle/maxlife).
func (r *cookieRule) dated() bool {
	return r.mode == config.CookieInsert && (r.maxIdle > 0 || r.maxLife > 0)
}

// persistence is what the request's cookie said, carried to the response.
type persistence struct {
	server *backend.Server // the server the cookie names, if it is known
	valid  bool            // the cookie named server was used
	first  int64           // first-seen date from the cookie (unix seconds), 0 if none
	last   int64
}

// lookup reads the persistence cookie of a request. It returns the server
// it designates (nil if none, unknown, expired), without allocating.
func (r *cookieRule) lookup(req *h1.Request, pool *backend.Pool, now int64) persistence {
	v, ok := h1.Cookie(req.Headers, r.name)
	if !ok {
		return persistence{}
	}
	var p persistence
	switch r.mode {
	case config.CookiePrefix:
		i := bytes.IndexByte(v, prefixSep)
		if i < 0 {
			return p
		}
		v = v[:i]
	case config.CookieInsert:
		if r.dated() {
			var fresh bool
			v, p.last, p.first, fresh = r.splitDates(v, now)
			if !fresh {
				return persistence{}
			}
		}
	}
	p.server = pool.ByCookie(v)
	return p
}

// splitDates takes "srv|LAST|FIRST" apart and tells whether the cookie is
// still within maxidle and maxlife. Dates are hexadecimal unix seconds. A
// cookie without dates is accepted (and gets dates in the response), as
// HAProxy does; one dated more than a day in the future is not.
func (r *cookieRule) splitDates(v []byte, now int64) (srv []byte, last, first int64, fresh bool) {
	i := bytes.IndexByte(v, '|')
	if i < 0 {
		return v, 0, 0, true
	}
	srv, rest := v[:i], v[i+1:]
	j := bytes.IndexByte(rest, '|')
	lastS, firstS := rest, []byte(nil)
	if j >= 0 {
		lastS, firstS = rest[:j], rest[j+1:]
	}
	last = parseHex(lastS)
	first = parseHex(firstS)
	const day = 24 * 3600
	if last > now+day || first > now+day {
		return srv, 0, 0, false
	}
	if r.maxIdle > 0 && last > 0 && now-last > int64(r.maxIdle/time.Second) {
		return srv, 0, 0, false
	}
	if r.maxLife > 0 && first > 0 && now-first > int64(r.maxLife/time.Second) {
		return srv, 0, 0, false
	}
	return srv, last, first, true
}

func parseHex(b []byte) int64 {
	if len(b) == 0 || len(b) > 15 {
		return 0
	}
	var n int64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int64(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		default:
			return 0
		}
	}
	return n
}

// needInsert decides whether the response to a request served by srv gets a
// fresh Set-Cookie in insert mode.
func (r *cookieRule) needInsert(p persistence, srv *backend.Server, now int64) bool {
	if srv.Cookie == "" {
		return false
	}
	if !r.indirect || !p.valid || p.server != srv {
		return true
	}
	// An indirect cookie that is still valid is only re-sent to refresh its
	// idle date, and not on every response.
	if r.maxIdle > 0 {
		return p.last == 0 || now-p.last > int64(r.maxIdle/time.Second)/4
	}
	return r.maxLife > 0 && p.first == 0
}

// appendInsert appends "NAME=VALUE[|LAST|FIRST]<attrs>" (the value of a
// Set-Cookie header) to dst.
func (r *cookieRule) appendInsert(dst []byte, srv *backend.Server, p persistence, now int64) []byte {
	dst = append(dst, r.name...)
	dst = append(dst, '=')
	dst = append(dst, srv.Cookie...)
	if r.dated() {
		first := p.first
		if first == 0 || p.server != srv {
			first = now
		}
		dst = append(dst, '|')
		dst = strconv.AppendInt(dst, now, 16)
		dst = append(dst, '|')
		dst = strconv.AppendInt(dst, first, 16)
	}
	return append(dst, r.attrs...)
}

// requestCookie rewrites a Cookie header value on its way to the server:
// insert+indirect removes the persistence cookie, prefix strips "srv~".
// It returns the value unchanged (same slice) when nothing applies.
func (r *cookieRule) requestCookie(dst, v []byte) ([]byte, bool) {
	strip := r.mode == config.CookieInsert && r.indirect
	if !strip && r.mode != config.CookiePrefix {
		return nil, false
	}
	changed := false
	start := len(dst)
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ';'); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		p := bytes.TrimLeft(part, " \t")
		if len(p) > len(r.name) && p[len(r.name)] == '=' && bytes.Equal(p[:len(r.name)], r.name) {
			changed = true
			if strip {
				continue
			}
			val := p[len(r.name)+1:]
			if i := bytes.IndexByte(val, prefixSep); i >= 0 {
				val = val[i+1:]
			}
			if len(dst) > start {
				dst = append(dst, "; "...)
			}
			dst = append(dst, r.name...)
			dst = append(dst, '=')
			dst = append(dst, val...)
			continue
		}
		if len(dst) > start {
			dst = append(dst, "; "...)
		}
		dst = append(dst, p...)
	}
	return dst, changed
}

// responseSetCookie handles a Set-Cookie header from the server. It returns
// the new value (appended to dst), or drop=true to remove the header. ours
// reports that the header is the persistence cookie.
func (r *cookieRule) responseSetCookie(dst, v []byte, srv *backend.Server) (out []byte, ours, drop bool) {
	name, val, ok := h1.SetCookieName(v)
	if !ok || !bytes.Equal(name, r.name) {
		return nil, false, false
	}
	switch r.mode {
	case config.CookieInsert:
		if r.preserve {
			return nil, true, false
		}
		return nil, true, true
	case config.CookieRewrite:
		if srv.Cookie == "" {
			return nil, true, false
		}
		dst = append(dst, name...)
		dst = append(dst, '=')
		dst = append(dst, srv.Cookie...)
		return append(dst, cookieAttrs(v)...), true, false
	case config.CookiePrefix:
		if srv.Cookie == "" {
			return nil, true, false
		}
		dst = append(dst, name...)
		dst = append(dst, '=')
		dst = append(dst, srv.Cookie...)
		dst = append(dst, prefixSep)
		dst = append(dst, val...)
		return append(dst, cookieAttrs(v)...), true, false
	}
	return nil, false, false
}

// cookieAttrs returns the "; attr..." tail of a Set-Cookie value.
func cookieAttrs(v []byte) []byte {
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		return v[i:]
	}
	return nil
}

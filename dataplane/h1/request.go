package h1

import "bytes"

// TargetForm is the form of a request-target (RFC 9112 §3.2).
type TargetForm uint8

const (
	OriginForm   TargetForm = iota // "/path?query"
	AbsoluteForm                   // "http://host/path?query"
	AsteriskForm                   // "*", OPTIONS only
)

// Request is a parsed request head. All slices alias the buffer given to
// Parse and are valid until that buffer is reused.
type Request struct {
	Method []byte
	// Target is the raw request-target. Path excludes "?query" and Query
	// excludes the "?"; for an absolute-form target Path starts at the path
	// ("/" when the target has none) and the engine should forward Path and
	// Query in origin-form.
	Target, Path, Query []byte
	Form                TargetForm
	Minor               int // 0 or 1: HTTP/1.0 or HTTP/1.1
	Headers             []Header
	// Host is the Host field's value, or the authority of an absolute-form
	// target (which then overrides the field, RFC 9112 §3.2.2). It is empty
	// for an HTTP/1.0 request without Host.
	Host          []byte
	ContentLength int64 // -1 when absent
	Chunked       bool  // Transfer-Encoding: chunked
	// Close is set when the connection must close after this exchange:
	// Connection: close, or HTTP/1.0 without keep-alive.
	Close bool
	// Upgrade is set for an HTTP/1.1 request whose Connection lists
	// "upgrade" and that has an Upgrade field.
	Upgrade bool
	// Expect100 is set for an HTTP/1.1 request with Expect: 100-continue.
	// Other expectations are left to the backend.
	Expect100 bool
	HeadLen   int // bytes of the head, leading empty lines and the final CRLF included
}

// slash is the Path of an absolute-form target without a path. It is
// shared and must not be written to.
var slash = []byte("/")

// Reset clears the request, keeping the Headers slice for reuse.
func (r *Request) Reset() {
	*r = Request{Headers: r.Headers[:0], ContentLength: -1}
}

// BodyMode tells how the request body is delimited. A request without
// Content-Length or chunked coding has no body (RFC 9112 §6.3).
func (r *Request) BodyMode() BodyMode {
	switch {
	case r.Chunked:
		return BodyChunked
	case r.ContentLength > 0:
		return BodyLength
	}
	return BodyNone
}

// Parse parses one complete request head at the start of buf. It returns
// ErrNeedMore when buf holds no complete head yet; if full is true, the
// caller's buffer cannot grow and Parse returns ErrURITooLong while the
// request line is incomplete or ErrHeaderTooLarge after it. Any other error
// is an *Error whose Status is the answer to send before closing; the
// fields parsed before the defect (Method, Target) are left set for logging.
//
// Parse starts over on every call, so it may be called again with the same
// buffer grown; lines complete so far are checked each time, which refuses
// garbage without waiting for the head to end.
func (r *Request) Parse(buf []byte, full bool) error {
	r.Reset()
	pos := 0
	for pos < len(buf) && (buf[pos] == '\r' || buf[pos] == '\n') {
		if buf[pos] == '\n' {
			return reqErrors.bareLF
		}
		if pos+1 == len(buf) {
			break
		}
		if buf[pos+1] != '\n' {
			return reqErrors.bareCR
		}
		pos += 2
	}
	end := bytes.IndexByte(buf[pos:], '\n')
	if end < 0 {
		// Refuse what cannot become a request line (a TLS handshake,
		// binary noise) now rather than when the buffer fills.
		partial := buf[pos:]
		for i, c := range partial {
			if c == ' ' || c == '\r' && i == len(partial)-1 {
				break
			}
			if !isToken(c) {
				return errMethod
			}
		}
		if full {
			return ErrURITooLong
		}
		return ErrNeedMore
	}
	line := buf[pos : pos+end]
	pos += end + 1
	if line[len(line)-1] != '\r' {
		return reqErrors.bareLF
	}
	if err := r.parseRequestLine(line[:len(line)-1]); err != nil {
		return err
	}

	f := framing{contentLength: -1}
	hosts := 0
	for {
		name, value, next, err := scanField(buf, pos, &reqErrors, len(r.Headers) == 0)
		if err != nil {
			return err
		}
		if next < 0 {
			if full {
				return ErrHeaderTooLarge
			}
			return ErrNeedMore
		}
		pos = next
		if name == nil {
			break
		}
		if len(r.Headers) == MaxHeaders {
			return errTooMany
		}
		r.Headers = append(r.Headers, Header{Name: name, Value: value})
		switch len(name) {
		case len("host"):
			if EqualFold(name, "host") {
				if hosts++; hosts > 1 {
					return errMultipleHost
				}
				if len(value) > 0 && !validHost(value) {
					return errHost
				}
				if r.Form != AbsoluteForm {
					r.Host = value
				}
			}
		case len("expect"):
			if EqualFold(name, "expect") && EqualFold(value, "100-continue") {
				r.Expect100 = r.Minor == 1
			}
		default:
			if err := f.field(name, value, &reqErrors); err != nil {
				return err
			}
		}
	}
	if hosts == 0 && r.Minor == 1 {
		return errMissingHost
	}
	chunked, closeConn, err := f.finish(r.Minor, &reqErrors)
	if err != nil {
		return err
	}
	if f.encoded {
		if !chunked {
			return reqErrors.chunkedNotLast
		}
		if f.otherCoding {
			return errUnknownTE
		}
	}
	r.Chunked = chunked
	r.Close = closeConn
	r.HeadLen = pos
	r.ContentLength = f.contentLength
	r.Upgrade = f.connUpgrade && f.upgrade && r.Minor == 1
	return nil
}

// parseRequestLine parses method SP request-target SP HTTP-version, the
// line ending already removed.
func (r *Request) parseRequestLine(line []byte) error {
	i := 0
	for i < len(line) && isToken(line[i]) {
		i++
	}
	if i == len(line) {
		return errRequestLine
	}
	if i == 0 || line[i] != ' ' {
		return errMethod
	}
	r.Method = line[:i]
	j := i + 1 + targetEnd(line[i+1:])
	if j == i+1 || j == len(line) {
		return errRequestLine
	}
	if line[j] != ' ' {
		return errTarget
	}
	r.Target = line[i+1 : j]
	minor, err := parseVersion(line[j+1:])
	if err != nil {
		return err
	}
	r.Minor = minor
	if string(r.Method) == "CONNECT" {
		return errConnect
	}
	return r.parseTarget()
}

// parseVersion accepts exactly HTTP/1.0 and HTTP/1.1.
func parseVersion(v []byte) (int, error) {
	if len(v) != len("HTTP/1.1") || string(v[:5]) != "HTTP/" || v[6] != '.' {
		return 0, errVersion
	}
	major, minor := v[5], v[7]
	if major < '0' || major > '9' || minor < '0' || minor > '9' {
		return 0, errVersion
	}
	if major != '1' || minor > '1' {
		return 0, errHTTP2
	}
	return int(minor - '0'), nil
}

func (r *Request) parseTarget() error {
	t := r.Target
	switch {
	case t[0] == '/':
		r.Form = OriginForm
		return r.splitPath(t)
	case len(t) == 1 && t[0] == '*':
		if string(r.Method) != "OPTIONS" {
			return errAsterisk
		}
		r.Form = AsteriskForm
		r.Path = t
		return nil
	}
	var rest []byte
	switch {
	case len(t) >= len("http://") && EqualFold(t[:len("http://")], "http://"):
		rest = t[len("http://"):]
	case len(t) >= len("https://") && EqualFold(t[:len("https://")], "https://"):
		rest = t[len("https://"):]
	default:
		if bytes.IndexByte(t, ':') < 0 {
			return errTarget
		}
		return errScheme
	}
	r.Form = AbsoluteForm
	end := 0
	for end < len(rest) && rest[end] != '/' && rest[end] != '?' {
		end++
	}
	authority := rest[:end]
	if bytes.IndexByte(authority, '@') >= 0 {
		return errUserinfo
	}
	if !validHost(authority) {
		return errHost
	}
	r.Host = authority
	rest = rest[end:]
	if len(rest) == 0 || rest[0] == '?' {
		r.Path = slash
		if len(rest) > 0 {
			r.Query = rest[1:]
		}
		return nil
	}
	return r.splitPath(rest)
}

// splitPath sets Path and Query from an origin-form target and checks the
// path's percent-escapes.
func (r *Request) splitPath(t []byte) error {
	path := t
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		path, r.Query = t[:q], t[q+1:]
	}
	for i := bytes.IndexByte(path, '%'); i >= 0; {
		if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
			return errPercent
		}
		n := bytes.IndexByte(path[i+3:], '%')
		if n < 0 {
			break
		}
		i += 3 + n
	}
	r.Path = path
	return nil
}

package h1

import "bytes"

// IsHopByHop reports whether a field named name applies to one connection
// only and must not be forwarded. The list is the fields RFC 9110 §7.6.1
// names (Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade) plus Proxy-Authenticate and Proxy-Authorization, which address
// the proxy itself (RFC 9110 §11.7) and would leak its credentials to a
// backend. Trailer is not in the list, unlike in net/http/httputil: chunked
// bodies are forwarded verbatim, trailers included, so the backend's or
// client's announcement of them stays true.
//
// The engine writes its own framing and connection fields (Transfer-Encoding:
// chunked, Connection, Upgrade) after dropping these.
func IsHopByHop(name []byte) bool {
	switch len(name) {
	case len("te"):
		return EqualFold(name, "te")
	case len("upgrade"):
		return EqualFold(name, "upgrade")
	case len("connection"): // and len("keep-alive")
		return EqualFold(name, "connection") || EqualFold(name, "keep-alive")
	case len("proxy-connection"):
		return EqualFold(name, "proxy-connection")
	case len("transfer-encoding"):
		return EqualFold(name, "transfer-encoding")
	case len("proxy-authenticate"):
		return EqualFold(name, "proxy-authenticate")
	case len("proxy-authorization"):
		return EqualFold(name, "proxy-authorization")
	}
	return false
}

// ConnectionListed reports whether any Connection field in hdrs lists name
// as a connection option, which makes that field hop-by-hop too (RFC 9110
// §7.6.1).
func ConnectionListed(hdrs []Header, name []byte) bool {
	for i := range hdrs {
		if !EqualFold(hdrs[i].Name, "connection") {
			continue
		}
		for list, more := hdrs[i].Value, true; more; {
			var tok []byte
			tok, list, more = nextElement(list)
			if len(tok) > 0 && equalFoldBytes(tok, name) {
				return true
			}
		}
	}
	return false
}

// Drop reports whether the field named name, taken from hdrs, must be left
// out when the message is forwarded: it is hop-by-hop, or listed by a
// Connection field. A Connection field may not nominate Host or
// Content-Length: dropping either on the way would let a client desync the
// backend (a body without its length) or unroute the request, and RFC 9110
// §7.6.1 forbids nominating fields meant for all recipients anyway.
func Drop(hdrs []Header, name []byte) bool {
	if IsHopByHop(name) {
		return true
	}
	if EqualFold(name, "host") || EqualFold(name, "content-length") {
		return false
	}
	return ConnectionListed(hdrs, name)
}

// HeaderValue returns the value of the first field named name.
func HeaderValue(hdrs []Header, name string) ([]byte, bool) {
	for i := range hdrs {
		if EqualFold(hdrs[i].Name, name) {
			return hdrs[i].Value, true
		}
	}
	return nil, false
}

// Cookie returns the value of the first cookie called name across all
// Cookie fields (RFC 6265 §5.4; names are case-sensitive). A value in
// double quotes is returned without them. The value aliases the header.
func Cookie(hdrs []Header, name []byte) ([]byte, bool) {
	for i := range hdrs {
		if !EqualFold(hdrs[i].Name, "cookie") {
			continue
		}
		for rest := hdrs[i].Value; len(rest) > 0; {
			pair := rest
			if j := bytes.IndexByte(rest, ';'); j >= 0 {
				pair, rest = rest[:j], rest[j+1:]
			} else {
				rest = nil
			}
			k, v, ok := cutPair(pair)
			if ok && bytes.Equal(k, name) {
				return v, true
			}
		}
	}
	return nil, false
}

// SetCookieName returns the cookie name and value at the start of a
// Set-Cookie field value (RFC 6265 §4.1), before any attributes. A value in
// double quotes is returned without them. ok is false when the value does
// not start with name=value.
func SetCookieName(value []byte) (name, val []byte, ok bool) {
	if j := bytes.IndexByte(value, ';'); j >= 0 {
		value = value[:j]
	}
	return cutPair(value)
}

// cutPair splits a trimmed "name=value" cookie pair.
func cutPair(pair []byte) (name, val []byte, ok bool) {
	j := bytes.IndexByte(pair, '=')
	if j < 0 {
		return nil, nil, false
	}
	name, val = trimOWS(pair[:j]), trimOWS(pair[j+1:])
	if !validToken(name) {
		return nil, nil, false
	}
	if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
		val = val[1 : len(val)-1]
	}
	return name, val, true
}

// QueryParam returns the raw (not percent-decoded) value of the first
// parameter called name in query, which excludes the "?". A parameter
// without "=" has an empty value.
func QueryParam(query []byte, name []byte) ([]byte, bool) {
	for len(query) > 0 {
		param := query
		if j := bytes.IndexByte(query, '&'); j >= 0 {
			param, query = query[:j], query[j+1:]
		} else {
			query = nil
		}
		key, val := param, []byte(nil)
		if j := bytes.IndexByte(param, '='); j >= 0 {
			key, val = param[:j], param[j+1:]
		}
		if bytes.Equal(key, name) {
			return val, true
		}
	}
	return nil, false
}

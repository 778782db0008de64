package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// isToken reports whether s is an RFC 9110 token: the syntax of header
// names, methods and cookie names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// checkHeaderName rejects names a request could not carry.
func checkHeaderName(name string) error {
	if !isToken(name) {
		return fmt.Errorf("invalid header name %q", name)
	}
	return nil
}

// checkHeaderValue rejects characters that would split or truncate a header.
func checkHeaderValue(v string) error {
	if i := strings.IndexAny(v, "\r\n\x00"); i >= 0 {
		return fmt.Errorf("header value %q contains a control character (CR, LF or NUL)", v)
	}
	return nil
}

// checkLogFormat rejects HAProxy log-format expressions, which sluice does
// not evaluate, and turns the %% escape into a literal percent sign.
func checkLogFormat(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		return "", fmt.Errorf("log-format expressions are not supported by sluice (in %q; write %%%% for a literal %%)", s)
	}
	return b.String(), nil
}

// escapeLogFormat is the inverse of checkLogFormat, for the printer.
func escapeLogFormat(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// parsePort reads a TCP port number, 1 to 65535.
func parsePort(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q: want 1 to 65535", s)
	}
	return int(n), nil
}

// splitHostPort splits "HOST:PORT", "[IPV6]:PORT" and HAProxy's bracketless
// "IPV6:PORT" (":::80" is port 80 on ::), where the port follows the last
// colon. A missing port is returned as "".
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", fmt.Errorf("missing ']' in address %q", s)
		}
		host, rest := s[1:end], s[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if rest[0] != ':' {
			return "", "", fmt.Errorf("unexpected %q after ']' in address %q", rest, s)
		}
		return host, rest[1:], nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", nil
	}
	return s[:i], s[i+1:], nil
}

// checkHost accepts an IP literal or a DNS name.
func checkHost(h string) error {
	if h == "" {
		return fmt.Errorf("missing host")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return fmt.Errorf("invalid address %q: zones are not supported", h)
		}
		return nil
	}
	if !validDNSName(h) {
		return fmt.Errorf("invalid host %q: want an IP address or a DNS name", h)
	}
	return nil
}

// validDNSName checks RFC 1123 host name syntax, allowing '_' as Kubernetes
// service names sometimes require.
func validDNSName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// formatHostPort writes an address so that splitHostPort reads it back:
// IPv6 literals get brackets and an empty host stays empty (":80").
func formatHostPort(host string, port int) string {
	p := strconv.Itoa(port)
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + p
	}
	return host + ":" + p
}

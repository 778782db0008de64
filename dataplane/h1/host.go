package h1

import "bytes"

// validHost reports whether h is uri-host [ ":" port ] (RFC 9110 §7.2):
// a registered name of unreserved and sub-delim characters (percent-encoded
// names are refused: no legitimate client sends them, and they would make
// host routing ambiguous), an IPv4 address (a subset of reg-name), or a
// bracketed IPv6 literal without zone identifier.
func validHost(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	if h[0] == '[' {
		end := bytes.IndexByte(h, ']')
		return end > 0 && validIPv6(h[1:end]) && validPort(h[end+1:])
	}
	i := 0
	for i < len(h) && class[h[i]]&clsHost != 0 {
		i++
	}
	return i > 0 && validPort(h[i:])
}

// validPort reports whether p is empty or ":" followed by digits.
func validPort(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	if p[0] != ':' {
		return false
	}
	for _, c := range p[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validIPv6 reports whether s is an IPv6address of RFC 3986 §3.2.2: eight
// 16-bit hex groups, one "::" standing for one or more zero groups, and an
// optional dotted IPv4 address as the last 32 bits.
func validIPv6(s []byte) bool {
	groups := 0
	ellipsis := false
	i := 0
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = true
		i = 2
	} else if len(s) > 0 && s[0] == ':' {
		return false
	}
	for i < len(s) {
		j := i
		for j < len(s) && j-i < 5 && isHex(s[j]) {
			j++
		}
		if j < len(s) && s[j] == '.' {
			if !validIPv4(s[i:]) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		groups++
		i = j
		if i == len(s) {
			break
		}
		if s[i] != ':' {
			return false
		}
		i++
		if i == len(s) {
			return false // a single trailing colon
		}
		if s[i] == ':' {
			if ellipsis {
				return false
			}
			ellipsis = true
			i++
		}
	}
	if ellipsis {
		return groups <= 7
	}
	return groups == 8
}

// validIPv4 reports whether s is a dotted-decimal IPv4 address with no
// leading zeros (which some parsers read as octal).
func validIPv4(s []byte) bool {
	parts := 0
	for {
		j := 0
		v := 0
		for j < len(s) && j < 4 && '0' <= s[j] && s[j] <= '9' {
			v = v*10 + int(s[j]-'0')
			j++
		}
		if j == 0 || j > 3 || v > 255 || j > 1 && s[0] == '0' {
			return false
		}
		parts++
		s = s[j:]
		if parts == 4 {
			return len(s) == 0
		}
		if len(s) == 0 || s[0] != '.' {
			return false
		}
		s = s[1:]
	}
}

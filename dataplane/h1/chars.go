package h1

// Byte classes, looked up in one table so each check is a load and a test.
const (
	clsToken  = 1 << iota // tchar (RFC 9110 §5.6.2)
	clsTarget             // allowed in a request-target: VCHAR except '#'
	clsValue              // allowed in a field value: VCHAR, obs-text, SP, HTAB
	clsHost               // allowed in a reg-name host: unreserved and sub-delims
	clsHex                // HEXDIG
)

var class [256]uint8

// lower maps ASCII upper-case letters to lower case and every other byte to
// itself.
var lower [256]byte

func init() {
	for c := 0; c < 256; c++ {
		lower[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			lower[c] = byte(c) + 'a' - 'A'
		}
		var k uint8
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || containsByte("!#$%&'*+-.^_`|~", c) {
			k |= clsToken
		}
		if 0x21 <= c && c <= 0x7e && c != '#' {
			k |= clsTarget
		}
		if c == '\t' || 0x20 <= c && c != 0x7f {
			k |= clsValue
		}
		if alnum || containsByte("-._~!$&'()*+,;=", c) {
			k |= clsHost
		}
		if '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' {
			k |= clsHex
		}
		class[c] = k
	}
}

func containsByte(s string, c int) bool {
	for i := 0; i < len(s); i++ {
		if int(s[i]) == c {
			return true
		}
	}
	return false
}

func isToken(c byte) bool { return class[c]&clsToken != 0 }
func isHex(c byte) bool   { return class[c]&clsHex != 0 }

func hexVal(c byte) int64 {
	switch {
	case c <= '9':
		return int64(c - '0')
	case c >= 'a':
		return int64(c - 'a' + 10)
	default:
		return int64(c - 'A' + 10)
	}
}

// validToken reports whether s is a non-empty token.
func validToken(s []byte) bool {
	for _, c := range s {
		if class[c]&clsToken == 0 {
			return false
		}
	}
	return len(s) > 0
}

// validValue reports whether every byte of s may appear in a field value.
func validValue(s []byte) bool {
	for _, c := range s {
		if class[c]&clsValue == 0 {
			return false
		}
	}
	return true
}

// EqualFold reports whether a and b are equal under ASCII case folding. It
// does not fold non-ASCII bytes, which is what field names and tokens need.
func EqualFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower[a[i]] != lower[b[i]] {
			return false
		}
	}
	return true
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower[a[i]] != lower[b[i]] {
			return false
		}
	}
	return true
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS removes optional whitespace (SP and HTAB) from both ends.
func trimOWS(s []byte) []byte {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// nextElement splits the first element off a comma-separated list (RFC 9110
// §5.6.1) and trims it. more is false when elem was the last element.
func nextElement(list []byte) (elem, rest []byte, more bool) {
	for i, c := range list {
		if c == ',' {
			return trimOWS(list[:i]), list[i+1:], true
		}
	}
	return trimOWS(list), nil, false
}

// parseDecimal parses a non-empty run of ASCII digits that fits an int64.
func parseDecimal(s []byte) (int64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

package h1

import "encoding/binary"

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

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// ctlIndex returns the index of the first byte of s that may not appear in
// a field value (a control other than HTAB, or DEL), or -1. Field values
// are most of a head, so it tests eight bytes at a time: a word without a
// byte below 0x20 and without 0x7f is clean; only a word with one (a tab,
// or the line's CR) is looked at bytewise.
func ctlIndex(s []byte) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		y := x ^ (lsb * 0x7f)
		if ((x-lsb*0x20)&^x|(y-lsb)&^y)&msb != 0 {
			for j := i; j < i+8; j++ {
				if class[s[j]]&clsValue == 0 {
					return j
				}
			}
		}
	}
	for ; i < len(s); i++ {
		if class[s[i]]&clsValue == 0 {
			return i
		}
	}
	return -1
}

// targetEnd returns the index of the first byte of s that may not appear in
// a request-target (anything but VCHAR, or '#'), or len(s); eight bytes at
// a time, like ctlIndex.
func targetEnd(s []byte) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		h := x ^ (lsb * '#')
		// bytes below 0x21, bytes from 0x7f up, and '#'
		if ((x-lsb*0x21)&^x|(x+lsb)|x|(h-lsb)&^h)&msb != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if class[s[i]]&clsTarget == 0 {
			return i
		}
	}
	return i
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

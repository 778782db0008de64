package config

import (
	"bytes"
	"fmt"
	"strings"
)

// word is one argument of a configuration line after quotes and escapes have
// been resolved.
type word struct {
	s string
	// lit reports that the word was written with quotes or backslashes. A
	// literal word is always data, never syntax: `"if"` is a header value and
	// `"}"` is an ACL value, which keeps printed configurations re-readable.
	lit bool
}

// stmt is one non-empty configuration line.
type stmt struct {
	pos   Pos
	words []word
}

func (s *stmt) kw() string { return s.words[0].s }

// args returns the words after the keyword as plain strings.
func (s *stmt) args() []string {
	out := make([]string, len(s.words)-1)
	for i, w := range s.words[1:] {
		out[i] = w.s
	}
	return out
}

// lex splits src into statements following HAProxy's rules: words are
// separated by spaces and tabs, '#' outside quotes starts a comment, single
// quotes are taken verbatim, and double quotes and bare words understand the
// backslash escapes \\ \" \' \  \# \t \n \r and \xHH. Environment variables
// are not expanded. A line that cannot be split is reported and dropped.
func lex(filename string, src []byte) ([]stmt, ErrorList) {
	var (
		stmts []stmt
		errs  ErrorList
	)
	line := 0
	for len(src) > 0 {
		line++
		var raw []byte
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			raw, src = src[:i], src[i+1:]
		} else {
			raw, src = src, nil
		}
		raw = bytes.TrimSuffix(raw, []byte{'\r'})
		pos := Pos{File: filename, Line: line}
		words, err := lexLine(raw)
		if err != nil {
			kw := ""
			if len(words) > 0 {
				kw = words[0].s
			}
			errs = append(errs, &Error{Pos: pos, Keyword: kw, Msg: err.Error()})
			continue
		}
		if len(words) > 0 {
			stmts = append(stmts, stmt{pos: pos, words: words})
		}
	}
	return stmts, errs
}

// lexLine splits one line. On error it returns the words read so far, so the
// caller can name the keyword.
func lexLine(line []byte) ([]word, error) {
	var (
		words []word
		cur   strings.Builder
		inTok bool // a word has started (possibly empty, as in "")
		lit   bool
	)
	flush := func() {
		if inTok {
			words = append(words, word{s: cur.String(), lit: lit})
		}
		cur.Reset()
		inTok, lit = false, false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == 0:
			return words, fmt.Errorf("NUL byte in configuration")
		case c == ' ' || c == '\t':
			flush()
		case c == '#':
			flush()
			return words, nil
		case c == '\'':
			inTok, lit = true, true
			end := bytes.IndexByte(line[i+1:], '\'')
			if end < 0 {
				flush()
				return words, fmt.Errorf("unterminated single quote")
			}
			cur.Write(line[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			inTok, lit = true, true
			j := i + 1
			closed := false
			for j < len(line) {
				switch line[j] {
				case '"':
					closed = true
				case '\\':
					n, _, err := unescape(&cur, line, j)
					if err != nil {
						flush()
						return words, err
					}
					j += n
					continue
				case 0:
					flush()
					return words, fmt.Errorf("NUL byte in configuration")
				default:
					cur.WriteByte(line[j])
					j++
					continue
				}
				break
			}
			if !closed {
				flush()
				return words, fmt.Errorf("unterminated double quote")
			}
			i = j
		case c == '\\':
			inTok = true
			n, kept, err := unescape(&cur, line, i)
			// A backslash kept as written (`\d` in a regular expression)
			// does not make the word literal.
			lit = lit || !kept
			if err != nil {
				flush()
				return words, err
			}
			i += n - 1
		default:
			inTok = true
			cur.WriteByte(c)
		}
	}
	flush()
	return words, nil
}

// unescape decodes the escape sequence starting with the backslash at
// line[i], writes the result and returns how many bytes it used. An unknown
// sequence is kept as written (kept is then true), so regular expressions
// such as `\.` and `\d` need no doubling.
func unescape(b *strings.Builder, line []byte, i int) (n int, kept bool, err error) {
	if i+1 >= len(line) {
		b.WriteByte('\\')
		return 1, true, nil
	}
	switch c := line[i+1]; c {
	case '\\', '"', '\'', ' ', '#':
		b.WriteByte(c)
	case 't':
		b.WriteByte('\t')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 'x':
		if i+3 >= len(line) || unhex(line[i+2]) < 0 || unhex(line[i+3]) < 0 {
			return 0, false, fmt.Errorf(`invalid \x escape: want two hexadecimal digits`)
		}
		b.WriteByte(byte(unhex(line[i+2])<<4 | unhex(line[i+3])))
		return 4, false, nil
	default:
		b.WriteByte('\\')
		b.WriteByte(c)
		return 2, true, nil
	}
	return 2, false, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

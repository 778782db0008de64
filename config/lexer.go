package config

import (
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
	// One conversion for the whole file: plain words are then substrings of
	// it and cost no allocation of their own.
	text := string(src)
	line := 0
	for len(text) > 0 {
		line++
		var raw string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			raw, text = text[:i], text[i+1:]
		} else {
			raw, text = text, ""
		}
		raw = strings.TrimSuffix(raw, "\r")
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
func lexLine(line string) ([]word, error) {
	var words []word
	i := 0
	for i < len(line) {
		switch c := line[i]; c {
		case ' ', '\t':
			i++
			continue
		case '#':
			return words, nil
		}
		// Fast path: a bare word without quotes or escapes is a substring.
		j := i
		for j < len(line) && strings.IndexByte(" \t#'\"\\\x00", line[j]) < 0 {
			j++
		}
		if j == len(line) || line[j] == ' ' || line[j] == '\t' || line[j] == '#' {
			words = append(words, word{s: line[i:j]})
			i = j
			continue
		}
		w, n, err := lexWord(line[i:])
		if err != nil {
			return words, err
		}
		words = append(words, w)
		i += n
	}
	return words, nil
}

// lexWord reads one word that has quotes or escapes, and returns it with the
// number of bytes it used.
func lexWord(line string) (word, int, error) {
	var (
		cur strings.Builder
		lit bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == 0:
			return word{}, 0, fmt.Errorf("NUL byte in configuration")
		case c == ' ' || c == '\t' || c == '#':
			return word{s: cur.String(), lit: lit}, i, nil
		case c == '\'':
			lit = true
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return word{}, 0, fmt.Errorf("unterminated single quote")
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			lit = true
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				switch line[j] {
				case '\\':
					n, _, err := unescape(&cur, line, j)
					if err != nil {
						return word{}, 0, err
					}
					j += n - 1
				case 0:
					return word{}, 0, fmt.Errorf("NUL byte in configuration")
				default:
					cur.WriteByte(line[j])
				}
			}
			if j >= len(line) {
				return word{}, 0, fmt.Errorf("unterminated double quote")
			}
			i = j
		case c == '\\':
			n, kept, err := unescape(&cur, line, i)
			if err != nil {
				return word{}, 0, err
			}
			// A backslash kept as written (`\d` in a regular expression)
			// does not make the word literal.
			lit = lit || !kept
			i += n - 1
		default:
			cur.WriteByte(c)
		}
	}
	return word{s: cur.String(), lit: lit}, len(line), nil
}

// unescape decodes the escape sequence starting with the backslash at
// line[i], writes the result and returns how many bytes it used. An unknown
// sequence is kept as written (kept is then true), so regular expressions
// such as `\.` and `\d` need no doubling.
func unescape(b *strings.Builder, line string, i int) (n int, kept bool, err error) {
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

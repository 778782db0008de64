package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestLexLine(t *testing.T) {
	w := func(s string) word { return word{s: s} }
	l := func(s string) word { return word{s: s, lit: true} }
	tests := []struct {
		line string
		want []word
	}{
		{"", nil},
		{"   \t ", nil},
		{"# only a comment", nil},
		{"bind :80", []word{w("bind"), w(":80")}},
		{"\tbind\t\t:80  ", []word{w("bind"), w(":80")}},
		{"bind :80 # trailing comment", []word{w("bind"), w(":80")}},
		{"bind :80#glued comment", []word{w("bind"), w(":80")}},
		{`a "b c" d`, []word{w("a"), l("b c"), w("d")}},
		{`a 'b "c" \n'`, []word{w("a"), l(`b "c" \n`)}},
		{`a "x\"y\\z"`, []word{w("a"), l(`x"y\z`)}},
		{`a "t\tn\nr\r"`, []word{w("a"), l("t\tn\nr\r")}},
		{`a "\x41\x7e"`, []word{w("a"), l("A~")}},
		{`a b\ c`, []word{w("a"), l("b c")}},
		{`a \#notcomment`, []word{w("a"), l("#notcomment")}},
		{`a "# not a comment"`, []word{w("a"), l("# not a comment")}},
		{`a pre"mid"'post'`, []word{w("a"), l("premidpost")}},
		{`a ""`, []word{w("a"), l("")}},
		{`a '' b`, []word{w("a"), l(""), w("b")}},
		{`a ^\d+\.x$`, []word{w("a"), w(`^\d+\.x$`)}},
		{`a \q`, []word{w("a"), w(`\q`)}},
		{`a trailing\`, []word{w("a"), w(`trailing\`)}},
		{`a "if"`, []word{w("a"), l("if")}},
		{"a caf\u00e9 # \u2014 UTF-8", []word{w("a"), w("caf\u00e9")}},
	}
	for _, tt := range tests {
		got, err := lexLine(tt.line)
		if err != nil {
			t.Errorf("lexLine(%q): %v", tt.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("lexLine(%q) = %#v, want %#v", tt.line, got, tt.want)
		}
	}
}

func TestLexLineErrors(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{`a "unterminated`, "unterminated double quote"},
		{`a 'unterminated`, "unterminated single quote"},
		{`a "\x4"`, `invalid \x escape`},
		{`a \xZZ`, `invalid \x escape`},
		{"a b\x00c", "NUL byte"},
	}
	for _, tt := range tests {
		_, err := lexLine(tt.line)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("lexLine(%q) error = %v, want %q", tt.line, err, tt.want)
		}
	}
}

func TestLexLines(t *testing.T) {
	// CRLF endings, blank lines and a missing final newline.
	stmts, errs := lex("f.cfg", []byte("global\r\n\r\n  maxconn 10\r\n# c\r\nfrontend x\r\n  bind :1"))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	var got []string
	for _, s := range stmts {
		got = append(got, s.pos.String()+" "+strings.Join(s.args(), ",")+"|"+s.kw())
	}
	want := []string{"f.cfg:1 |global", "f.cfg:3 10|maxconn", "f.cfg:5 x|frontend", "f.cfg:6 :1|bind"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}

	// A bad line is reported with its keyword and skipped; the rest is read.
	stmts, errs = lex("f.cfg", []byte("bind \"oops\nmaxconn 1\n"))
	if len(errs) != 1 || errs[0].Error() != "f.cfg:1: 'bind': unterminated double quote" {
		t.Errorf("errors = %v", errs)
	}
	if len(stmts) != 1 || stmts[0].kw() != "maxconn" {
		t.Errorf("statements after error = %+v", stmts)
	}
}

// TestQuoteRoundTrip checks that every string the printer quotes is read
// back by the lexer as the same single literal-or-bare word.
func TestQuoteRoundTrip(t *testing.T) {
	inputs := []string{
		"", "plain", "two words", "tab\there", `back\slash`, `end\`, `\n literal`, `\d`,
		`quote"inside`, "single'quote", "#hash", "a#b", "if", "unless", "{", "}", "||", "or",
		"!neg", "ctl\x01\x7f", "crlf\r\n", "caf\u00e9", `\x41`, `\\`, " lead", "trail ",
	}
	for _, in := range inputs {
		q := quote(in)
		words, err := lexLine("kw " + q)
		if err != nil {
			t.Errorf("quote(%q) = %s: lex error %v", in, q, err)
			continue
		}
		if len(words) != 2 || words[1].s != in {
			t.Errorf("quote(%q) = %s, lexed back as %#v", in, q, words)
			continue
		}
		if syntaxWords[in] && !words[1].lit {
			t.Errorf("quote(%q) = %s is not literal, it would be read as syntax", in, q)
		}
	}
	if q := quote(`^/api/v[0-9]+\.json$`); q != `^/api/v[0-9]+\.json$` {
		t.Errorf("regular expression needlessly quoted: %s", q)
	}
}

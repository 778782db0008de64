package config

import (
	"testing"
)

func TestParseCondition(t *testing.T) {
	n := func(name string) Term { return Term{Name: name} }
	not := func(name string) Term { return Term{Name: name, Negate: true} }
	pathBeg := func(v ...string) *ACL { return &ACL{Fetch: FetchPath, Match: MatchBeg, Values: v} }
	tests := []struct {
		cond string
		want *Condition
	}{
		{"if a", &Condition{Or: [][]Term{{n("a")}}}},
		{"unless a", &Condition{Unless: true, Or: [][]Term{{n("a")}}}},
		{"if a b c", &Condition{Or: [][]Term{{n("a"), n("b"), n("c")}}}},
		{"if a || b", &Condition{Or: [][]Term{{n("a")}, {n("b")}}}},
		{"if a or b", &Condition{Or: [][]Term{{n("a")}, {n("b")}}}},
		{"if a b || c", &Condition{Or: [][]Term{{n("a"), n("b")}, {n("c")}}}},
		{"if !a", &Condition{Or: [][]Term{{not("a")}}}},
		{"if ! a", &Condition{Or: [][]Term{{not("a")}}}},
		{"if a !b || !c d", &Condition{Or: [][]Term{{n("a"), not("b")}, {not("c"), n("d")}}}},
		{"if { path_beg /x /y }", &Condition{Or: [][]Term{{{Inline: pathBeg("/x", "/y")}}}}},
		{"if !{ path_beg /x }", &Condition{Or: [][]Term{{{Negate: true, Inline: pathBeg("/x")}}}}},
		{"if ! { path_beg /x }", &Condition{Or: [][]Term{{{Negate: true, Inline: pathBeg("/x")}}}}},
		{"if a { path_beg /x } || b", &Condition{Or: [][]Term{{n("a"), {Inline: pathBeg("/x")}}, {n("b")}}}},
		{"if { hdr(host) -i a.com } { src 10.0.0.0/8 }", &Condition{Or: [][]Term{{
			{Inline: &ACL{Fetch: FetchHdr, Arg: "host", Match: MatchStr, IgnoreCase: true, Values: []string{"a.com"}}},
			{Inline: &ACL{Fetch: FetchSrc, Match: MatchIP, Values: []string{"10.0.0.0/8"}}},
		}}}},
		{`if { path "}" }`, &Condition{Or: [][]Term{{{Inline: &ACL{Fetch: FetchPath, Match: MatchStr, Values: []string{"}"}}}}}}},
		{`if { path "||" or }`, &Condition{Or: [][]Term{{{Inline: &ACL{Fetch: FetchPath, Match: MatchStr, Values: []string{"||", "or"}}}}}}},
		{"if TRUE", &Condition{Or: [][]Term{{n("TRUE")}}}},
		{"if METH_GET || !HTTP_1.1", &Condition{Or: [][]Term{{n("METH_GET")}, {not("HTTP_1.1")}}}},
	}
	for _, tt := range tests {
		words, err := lexLine(tt.cond)
		if err != nil {
			t.Fatalf("lex %q: %v", tt.cond, err)
		}
		got, err := parseCondition(words)
		if err != nil {
			t.Errorf("parseCondition(%q): %v", tt.cond, err)
			continue
		}
		if !equalIgnoringPos(got, tt.want) {
			t.Errorf("parseCondition(%q)\n got  %s\n want %s", tt.cond, condWords(got), condWords(tt.want))
		}
		// The printer must write it back the same way.
		printed := ""
		for i, w := range condWords(got) {
			if i > 0 {
				printed += " "
			}
			printed += w
		}
		words, _ = lexLine(printed)
		again, err := parseCondition(words)
		if err != nil || !equalIgnoringPos(again, got) {
			t.Errorf("condition %q printed as %q reads back as %v, %v", tt.cond, printed, again, err)
		}
	}
}

func TestConditionsInConfig(t *testing.T) {
	c, _ := parseOK(t, mustRead(t, "testdata/acl.cfg"))
	f := fe(c)
	if len(f.ACLs) != 31 {
		t.Errorf("got %d ACLs, want 31", len(f.ACLs))
	}
	if len(f.UseBackends) != 6 {
		t.Fatalf("got %d use_backend rules, want 6", len(f.UseBackends))
	}
	// !p4 ! p5 or { path_beg -i /img /css }
	want := &Condition{Or: [][]Term{
		{{Name: "p4", Negate: true}, {Name: "p5", Negate: true}},
		{{Inline: &ACL{Fetch: FetchPath, Match: MatchBeg, IgnoreCase: true, Values: []string{"/img", "/css"}}}},
	}}
	if got := f.UseBackends[1].Cond; !equalIgnoringPos(got, want) {
		t.Errorf("second rule: %s", condWords(got))
	}
	for _, name := range []string{"TRUE", "FALSE", "HTTP", "HTTP_1.0", "HTTP_1.1", "METH_GET", "METH_POST", "METH_HEAD",
		"METH_PUT", "METH_DELETE", "METH_OPTIONS", "METH_CONNECT", "METH_TRACE"} {
		if !IsPredefinedACL(name) {
			t.Errorf("IsPredefinedACL(%q) = false", name)
		}
	}
	for _, name := range []string{"", "true", "METH_PATCH", "HTTP_2.0", "p1"} {
		if IsPredefinedACL(name) {
			t.Errorf("IsPredefinedACL(%q) = true", name)
		}
	}
}

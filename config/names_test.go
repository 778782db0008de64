package config

import (
	goparser "go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnumNames(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{ModeHTTP.String(), "http"},
		{ModeTCP.String(), "tcp"},
		{Mode(5).String(), "Mode(5)"},
		{BalanceRoundRobin.String(), "roundrobin"},
		{BalanceStaticRR.String(), "static-rr"},
		{BalanceURLParam.String(), "url_param"},
		{BalanceHdr.String(), "hdr"},
		{BalanceRandom.String(), "random"},
		{BalanceAlgorithm(-1).String(), "BalanceAlgorithm(-1)"},
		{CookieRewrite.String(), "rewrite"},
		{CookieMode(3).String(), "CookieMode(3)"},
		{FetchCookie.String(), "req.cook"},
		{FetchURLParam.String(), "url_param"},
		{FetchHost.String(), "host"},
		{Fetch(10).String(), "Fetch(10)"},
		{MatchDom.String(), "dom"},
		{MatchFound.String(), "found"},
		{MatchIP.String(), "ip"},
		{Match(10).String(), "Match(10)"},
		{MatchBool.String(), "bool"},
		{FetchSSLFCSNI.String(), "ssl_fc_sni"},
		{ActionSetPath.String(), "set-path"},
		{ActionReturn.String(), "return"},
		{HTTPAction(7).String(), "HTTPAction(7)"},
		{RedirectScheme.String(), "scheme"},
		{RedirectKind(3).String(), "RedirectKind(3)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// Every balance name is what the parser reads.
	for i, name := range balanceNames {
		args := []string{name}
		switch BalanceAlgorithm(i) {
		case BalanceURLParam:
			args = append(args, "p")
		case BalanceHdr:
			args = []string{"hdr(Host)"}
		}
		if b, err := ParseBalance(args); err != nil || b.Algorithm != BalanceAlgorithm(i) {
			t.Errorf("ParseBalance(%q) = %v, %v", args, b, err)
		}
	}
}

// TestPackageImports keeps the package free of Kubernetes and of the
// other layers, as its contract says.
func TestPackageImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := goparser.ParseFile(token.NewFileSet(), f, nil, goparser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if strings.Contains(path, "k8s.io") || strings.HasPrefix(path, "sluice.dev/") || path == "net/http" {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

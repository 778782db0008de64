package config

import "strconv"

// The names below are the words the configuration language uses, so that
// messages and logs read like the configuration itself.

var modeNames = [...]string{ModeHTTP: "http", ModeTCP: "tcp"}

func (m Mode) String() string { return enumName(modeNames[:], int(m), "Mode") }

var balanceNames = [...]string{
	BalanceRoundRobin: "roundrobin",
	BalanceStaticRR:   "static-rr",
	BalanceLeastConn:  "leastconn",
	BalanceFirst:      "first",
	BalanceSource:     "source",
	BalanceURI:        "uri",
	BalanceURLParam:   "url_param",
	BalanceHdr:        "hdr",
	BalanceRandom:     "random",
}

func (a BalanceAlgorithm) String() string {
	return enumName(balanceNames[:], int(a), "BalanceAlgorithm")
}

var cookieModeNames = [...]string{CookieInsert: "insert", CookieRewrite: "rewrite", CookiePrefix: "prefix"}

func (m CookieMode) String() string { return enumName(cookieModeNames[:], int(m), "CookieMode") }

var fetchNames = [...]string{
	FetchPath:     "path",
	FetchURL:      "url",
	FetchHdr:      "hdr",
	FetchSrc:      "src",
	FetchMethod:   "method",
	FetchURLParam: "url_param",
	FetchCookie:   "req.cook",
	FetchHost:     "host",
	FetchSSLFC:    "ssl_fc",
	FetchSSLFCSNI: "ssl_fc_sni",
}

func (f Fetch) String() string { return enumName(fetchNames[:], int(f), "Fetch") }

var matchNames = [...]string{
	MatchStr:   "str",
	MatchBeg:   "beg",
	MatchEnd:   "end",
	MatchSub:   "sub",
	MatchReg:   "reg",
	MatchDir:   "dir",
	MatchDom:   "dom",
	MatchIP:    "ip",
	MatchFound: "found",
	MatchBool:  "bool",
}

func (m Match) String() string { return enumName(matchNames[:], int(m), "Match") }

var actionNames = [...]string{
	ActionSetHeader: "set-header",
	ActionAddHeader: "add-header",
	ActionDelHeader: "del-header",
	ActionSetPath:   "set-path",
	ActionRedirect:  "redirect",
	ActionDeny:      "deny",
	ActionReturn:    "return",
}

func (a HTTPAction) String() string { return enumName(actionNames[:], int(a), "HTTPAction") }

var redirectNames = [...]string{RedirectLocation: "location", RedirectPrefix: "prefix", RedirectScheme: "scheme"}

func (k RedirectKind) String() string { return enumName(redirectNames[:], int(k), "RedirectKind") }

// enumName returns names[v], or "Type(v)" for a value outside the enum, which
// can only come from a configuration built in code.
func enumName(names []string, v int, typ string) string {
	if v >= 0 && v < len(names) && names[v] != "" {
		return names[v]
	}
	return typ + "(" + strconv.Itoa(v) + ")"
}

// validEnum reports whether v is one of the named values.
func validEnum(names []string, v int) bool { return v >= 0 && v < len(names) && names[v] != "" }

package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

var aclKeywords = []keyword{
	{inProxy, "acl", parseACLLine},
}

// criterion is an ACL fetch as written: a sample fetch, possibly with a
// suffix that fixes the match method (path_beg is path -m beg).
type criterion struct {
	fetch   Fetch
	match   Match
	derived bool // the suffix fixes the match; -m may not change it
	hasArg  bool // takes a (NAME) argument
}

var criteria = map[string]criterion{
	"path":     {FetchPath, MatchStr, false, false},
	"path_beg": {FetchPath, MatchBeg, true, false},
	"path_end": {FetchPath, MatchEnd, true, false},
	"path_sub": {FetchPath, MatchSub, true, false},
	"path_reg": {FetchPath, MatchReg, true, false},
	"path_dir": {FetchPath, MatchDir, true, false},
	"path_dom": {FetchPath, MatchDom, true, false},

	"url":     {FetchURL, MatchStr, false, false},
	"url_beg": {FetchURL, MatchBeg, true, false},
	"url_end": {FetchURL, MatchEnd, true, false},
	"url_sub": {FetchURL, MatchSub, true, false},
	"url_reg": {FetchURL, MatchReg, true, false},
	"url_dir": {FetchURL, MatchDir, true, false},
	"url_dom": {FetchURL, MatchDom, true, false},

	"hdr":     {FetchHdr, MatchStr, false, true},
	"req.hdr": {FetchHdr, MatchStr, false, true},
	"hdr_beg": {FetchHdr, MatchBeg, true, true},
	"hdr_end": {FetchHdr, MatchEnd, true, true},
	"hdr_sub": {FetchHdr, MatchSub, true, true},
	"hdr_reg": {FetchHdr, MatchReg, true, true},
	"hdr_dir": {FetchHdr, MatchDir, true, true},
	"hdr_dom": {FetchHdr, MatchDom, true, true},

	// host is sluice's own: the request's host name without its port.
	"host":     {FetchHost, MatchStr, false, false},
	"host_beg": {FetchHost, MatchBeg, true, false},
	"host_end": {FetchHost, MatchEnd, true, false},
	"host_sub": {FetchHost, MatchSub, true, false},
	"host_reg": {FetchHost, MatchReg, true, false},
	"host_dir": {FetchHost, MatchDir, true, false},
	"host_dom": {FetchHost, MatchDom, true, false},

	"src": {FetchSrc, MatchIP, false, false},

	"ssl_fc":     {FetchSSLFC, MatchBool, true, false},
	"ssl_fc_sni": {FetchSSLFCSNI, MatchStr, false, false},
	"method":     {FetchMethod, MatchStr, false, false},

	"url_param": {FetchURLParam, MatchStr, false, true},
	"urlp":      {FetchURLParam, MatchStr, false, true},

	"req.cook": {FetchCookie, MatchStr, false, true},
	"cook":     {FetchCookie, MatchStr, false, true},
	"cook_beg": {FetchCookie, MatchBeg, true, true},
	"cook_end": {FetchCookie, MatchEnd, true, true},
	"cook_sub": {FetchCookie, MatchSub, true, true},
	"cook_reg": {FetchCookie, MatchReg, true, true},
	"cook_dir": {FetchCookie, MatchDir, true, true},
	"cook_dom": {FetchCookie, MatchDom, true, true},
}

// unsupportedFetchPrefixes name HAProxy sample-fetch families that sluice
// does not evaluate, so that they are reported as unsupported rather than
// unknown.
var unsupportedFetchPrefixes = []string{
	"ssl_", "req.ssl_", "sc_", "sc0_", "sc1_", "sc2_", "src_", "dst", "req.",
	"res.", "capture.", "base", "hdr_", "cook_", "path_", "url_", "urlp_",
	"req_", "res_", "fe_", "be_", "srv_", "so_", "bc_", "fc_", "var", "http_",
	"always_", "env", "nbsrv", "connslots", "queue", "avg_queue", "status",
	"query", "payload", "rdp_cookie", "wait_end", "date", "rand", "int",
	"str", "bool", "meth", "ipv4", "ipv6", "table_", "lat_ns", "quic_",
	"ocsp_", "shsrv", "set-cookie", "scook", "uuid", "hostname", "thread",
	"stopping", "proc", "cpu_", "distcc_", "req_ssl", "ssl", "bin", "pid",
	"txn.", "sess.", "last_rule", "tune.", "unique-id", "nbproc", "ltime",
	"utime", "be_id", "fe_id", "srv_id",
}

// splitFetch separates "hdr(host)" into "hdr" and "host".
func splitFetch(s string) (name, arg string, hasArg bool, err error) {
	open := strings.IndexByte(s, '(')
	if open < 0 {
		return s, "", false, nil
	}
	if !strings.HasSuffix(s, ")") {
		return "", "", false, fmt.Errorf("unbalanced parenthesis in %q", s)
	}
	return s[:open], s[open+1 : len(s)-1], true, nil
}

// parseACLWords reads `CRITERION [-i] [-m METHOD] [--] VALUE...`, the body
// of an `acl` line and of an anonymous `{ }` ACL.
func parseACLWords(words []word) (ACL, error) {
	var acl ACL
	if len(words) == 0 {
		return acl, fmt.Errorf("missing criterion")
	}
	name, arg, hasArg, err := splitFetch(words[0].s)
	if err != nil {
		return acl, err
	}
	crit, ok := criteria[name]
	if !ok {
		if knownFetch(name) {
			return acl, fmt.Errorf("ACL criterion %q is not supported by sluice", name)
		}
		return acl, fmt.Errorf("unknown ACL criterion %q", name)
	}
	switch {
	case crit.hasArg && !hasArg:
		return acl, fmt.Errorf("criterion %q needs a name: %s(NAME)", name, name)
	case crit.hasArg && arg == "":
		return acl, fmt.Errorf("criterion %q needs a non-empty name", name)
	case crit.hasArg && strings.ContainsRune(arg, ','):
		return acl, fmt.Errorf("criterion %q: occurrence and other extra arguments are not supported by sluice", words[0].s)
	case !crit.hasArg && hasArg:
		return acl, fmt.Errorf("criterion %q takes no argument", name)
	}
	acl.Fetch, acl.Match, acl.Arg = crit.fetch, crit.match, arg

	rest := words[1:]
flags:
	for len(rest) > 0 && strings.HasPrefix(rest[0].s, "-") {
		flag := rest[0].s
		rest = rest[1:]
		switch flag {
		case "--":
			break flags
		case "-i":
			acl.IgnoreCase = true
		case "-n":
			// "never resolve names": sluice never does.
		case "-m":
			if len(rest) == 0 {
				return acl, fmt.Errorf("-m needs a match method")
			}
			m, err := parseMatch(rest[0].s, crit)
			if err != nil {
				return acl, err
			}
			if crit.derived && m != crit.match {
				return acl, fmt.Errorf("-m %s conflicts with %q, which already matches with -m %s", rest[0].s, name, crit.match)
			}
			acl.Match = m
			rest = rest[1:]
		case "-f":
			return acl, fmt.Errorf("ACL values read from files (-f) are not supported by sluice")
		case "-M", "-u":
			return acl, fmt.Errorf("ACL flag %s is not supported by sluice", flag)
		default:
			return acl, fmt.Errorf("unknown ACL flag %q (use -- before a value that starts with '-')", flag)
		}
	}
	for _, w := range rest {
		acl.Values = append(acl.Values, w.s)
	}
	return acl, checkACLValues(&acl)
}

// parseMatch reads the argument of -m.
func parseMatch(s string, crit criterion) (Match, error) {
	switch s {
	case "str":
		return MatchStr, nil
	case "beg":
		return MatchBeg, nil
	case "end":
		return MatchEnd, nil
	case "sub":
		return MatchSub, nil
	case "reg":
		return MatchReg, nil
	case "dir":
		return MatchDir, nil
	case "dom":
		return MatchDom, nil
	case "found":
		return MatchFound, nil
	case "ip":
		if crit.fetch != FetchSrc {
			return 0, fmt.Errorf("-m ip only applies to src")
		}
		return MatchIP, nil
	case "bool":
		if crit.fetch != FetchSSLFC {
			return 0, fmt.Errorf("-m bool only applies to ssl_fc")
		}
		return MatchBool, nil
	case "int", "len", "bin":
		return 0, fmt.Errorf("-m %s is not supported by sluice", s)
	}
	return 0, fmt.Errorf("unknown match method %q (want str, beg, end, sub, reg, dir, dom or found)", s)
}

// checkACLValues checks the values against the fetch and match method; it
// serves both the parser and Validate.
func checkACLValues(acl *ACL) error {
	if acl.Fetch == FetchSrc && acl.Match != MatchIP && acl.Match != MatchFound {
		return fmt.Errorf("src can only be matched as an address (-m ip), not with -m %s", acl.Match)
	}
	if acl.Match == MatchIP && acl.Fetch != FetchSrc {
		return fmt.Errorf("address matching only applies to src, not %s", acl.Fetch)
	}
	if (acl.Fetch == FetchSSLFC) != (acl.Match == MatchBool) {
		return fmt.Errorf("ssl_fc is a boolean, matched with -m bool only, not %s with -m %s", acl.Fetch, acl.Match)
	}
	if acl.Match == MatchBool {
		if len(acl.Values) > 0 {
			return fmt.Errorf("ssl_fc takes no value, found %q", acl.Values[0])
		}
		return nil
	}
	if acl.Match == MatchFound {
		if len(acl.Values) > 0 {
			return fmt.Errorf("-m found takes no value, found %q", acl.Values[0])
		}
		return nil
	}
	if len(acl.Values) == 0 {
		return fmt.Errorf("%s needs at least one value to match", acl.Fetch)
	}
	for _, v := range acl.Values {
		switch acl.Match {
		case MatchReg:
			expr := v
			if acl.IgnoreCase {
				expr = "(?i)" + v
			}
			if _, err := regexp.Compile(expr); err != nil {
				return fmt.Errorf("invalid regular expression %q: %w", v, err)
			}
		case MatchIP:
			if err := checkIPValue(v); err != nil {
				return err
			}
		}
		if acl.Fetch == FetchMethod && !isToken(v) {
			return fmt.Errorf("invalid HTTP method %q", v)
		}
	}
	return nil
}

// checkIPValue accepts an IPv4 or IPv6 address or CIDR prefix.
func checkIPValue(v string) error {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return fmt.Errorf("invalid address prefix %q: want an IP address or CIDR such as 10.0.0.0/8", v)
		}
		if p.Addr().Zone() != "" {
			return fmt.Errorf("invalid address prefix %q: zones are not supported", v)
		}
		return nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return fmt.Errorf("invalid address %q: want an IP address or CIDR such as 10.0.0.0/8", v)
	}
	return nil
}

func knownFetch(name string) bool {
	for _, p := range unsupportedFetchPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func parseACLLine(p *parser, s *section, st *stmt) error {
	if len(st.words) < 2 {
		return fmt.Errorf("missing ACL name")
	}
	name := st.words[1].s
	if err := checkACLName(name); err != nil {
		return err
	}
	acl, err := parseACLWords(st.words[2:])
	if err != nil {
		p.failed[aclScope{s.name, name}] = true
		return fmt.Errorf("ACL %q: %w", name, err)
	}
	acl.Pos, acl.Name = st.pos, name
	// In a listen, rules and their ACLs live on the frontend side; endListen
	// moves them when the listen has no bind.
	if s.fe != nil {
		s.fe.ACLs = append(s.fe.ACLs, acl)
	} else {
		s.be.ACLs = append(s.be.ACLs, acl)
	}
	return nil
}

// checkACLName enforces HAProxy's ACL name characters. The operator word
// "or" and the predefined names cannot be declared.
func checkACLName(name string) error {
	if !validName(name) {
		return fmt.Errorf("invalid ACL name %q: use letters, digits, '-', '_', '.' and ':'", name)
	}
	if name == "or" {
		return fmt.Errorf("%q cannot be an ACL name: it is the OR operator of conditions", name)
	}
	if IsPredefinedACL(name) {
		return fmt.Errorf("ACL %q is predefined and cannot be redeclared", name)
	}
	return nil
}

// validName reports whether s is usable as an HAProxy proxy, server or ACL
// name: letters, digits, '-', '_', '.' and ':'.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// predefinedACLs are the ACLs HAProxy declares implicitly. Conditions
// reference them by name (Term.Name); the dataplane evaluates them:
//
//	TRUE, FALSE      always and never
//	HTTP             the request is HTTP (always, in mode http)
//	HTTP_1.0         the request line says HTTP/1.0
//	HTTP_1.1         the request line says HTTP/1.1
//	METH_GET         the method is GET or HEAD
//	METH_<M>         the method is M, for POST, HEAD, PUT, DELETE, OPTIONS,
//	                 CONNECT and TRACE
var predefinedACLs = map[string]bool{
	"TRUE": true, "FALSE": true, "HTTP": true, "HTTP_1.0": true, "HTTP_1.1": true,
	"METH_GET": true, "METH_POST": true, "METH_HEAD": true, "METH_PUT": true,
	"METH_DELETE": true, "METH_OPTIONS": true, "METH_CONNECT": true, "METH_TRACE": true,
}

// IsPredefinedACL reports whether name is one of the ACLs that exist without
// declaration: TRUE, FALSE, HTTP, HTTP_1.0, HTTP_1.1 and METH_GET, METH_POST,
// METH_HEAD, METH_PUT, METH_DELETE, METH_OPTIONS, METH_CONNECT, METH_TRACE.
// METH_GET matches GET and HEAD, as in HAProxy. A Term naming one of these
// has no declaration in the proxy's ACLs.
func IsPredefinedACL(name string) bool { return predefinedACLs[name] }

// splitCond separates a rule's arguments from its `if`/`unless` condition.
// Quoted words are data, so `set-header X "if"` has no condition.
func splitCond(words []word) (args, cond []word) {
	for i, w := range words {
		if !w.lit && (w.s == "if" || w.s == "unless") {
			return words[:i], words[i:]
		}
	}
	return words, nil
}

// parseCondition reads `if|unless TERMS`, where terms are ANDed by
// juxtaposition and groups are ORed by `||` or `or`. A term is an ACL name or
// an anonymous `{ ... }` ACL, optionally negated by `!`.
func parseCondition(words []word) (*Condition, error) {
	if len(words) == 0 {
		return nil, nil
	}
	c := &Condition{Unless: words[0].s == "unless"}
	words = words[1:]
	if len(words) == 0 {
		return nil, fmt.Errorf("missing condition after %q", map[bool]string{false: "if", true: "unless"}[c.Unless])
	}
	var and []Term
	endGroup := func() error {
		if len(and) == 0 {
			return fmt.Errorf("empty condition around '||'")
		}
		c.Or = append(c.Or, and)
		and = nil
		return nil
	}
	for len(words) > 0 {
		w := words[0]
		words = words[1:]
		if !w.lit && (w.s == "||" || w.s == "or") {
			if err := endGroup(); err != nil {
				return nil, err
			}
			continue
		}
		var t Term
		text := w.s
		if !w.lit && strings.HasPrefix(text, "!") {
			t.Negate = true
			text = text[1:]
			if text == "" {
				if len(words) == 0 {
					return nil, fmt.Errorf("'!' must be followed by an ACL")
				}
				w, words = words[0], words[1:]
				text = w.s
				if !w.lit && strings.HasPrefix(text, "!") {
					return nil, fmt.Errorf("double negation %q is not supported", "! "+text)
				}
			} else if strings.HasPrefix(text, "!") {
				return nil, fmt.Errorf("double negation %q is not supported", w.s)
			}
		}
		if !w.lit && text == "{" {
			end := -1
			for i, x := range words {
				if !x.lit && x.s == "{" {
					return nil, fmt.Errorf("anonymous ACLs cannot be nested")
				}
				if !x.lit && x.s == "}" {
					end = i
					break
				}
			}
			if end < 0 {
				return nil, fmt.Errorf("missing '}' closing an anonymous ACL")
			}
			if end == 0 {
				return nil, fmt.Errorf("empty anonymous ACL '{ }'")
			}
			acl, err := parseACLWords(words[:end])
			if err != nil {
				return nil, fmt.Errorf("anonymous ACL: %w", err)
			}
			t.Inline = &acl
			words = words[end+1:]
		} else {
			if !validName(text) {
				hint := ""
				if strings.HasPrefix(text, "{") || strings.HasSuffix(text, "}") {
					hint = " (braces of an anonymous ACL must be separate words: { path_beg /x })"
				}
				return nil, fmt.Errorf("invalid ACL name %q in condition%s", text, hint)
			}
			t.Name = text
		}
		and = append(and, t)
	}
	if err := endGroup(); err != nil {
		return nil, err
	}
	return c, nil
}

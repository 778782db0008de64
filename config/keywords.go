package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// keyword is one row of the keyword table, as in HAProxy's own parser: the
// sections a directive may appear in and the function that reads it. A name
// may have several rows for different sections (`maxconn` means one thing in
// global and another in a frontend).
type keyword struct {
	sections sectionMask
	name     string
	parse    func(p *parser, s *section, st *stmt) error
}

// keywordTables lists every family; each lives in its own kw_*.go file.
var keywordTables = [][]keyword{
	globalKeywords,
	proxyKeywords,
	bindKeywords,
	serverKeywords,
	aclKeywords,
	httpKeywords,
	timeoutKeywords,
	optionKeywords,
	cookieKeywords,
	balanceKeywords,
	knownKeywords,
}

var keywordIndex = buildIndex()

func buildIndex() map[string][]keyword {
	idx := map[string][]keyword{}
	for _, t := range keywordTables {
		for _, k := range t {
			idx[k.name] = append(idx[k.name], k)
		}
	}
	return idx
}

// keywordFamilies are prefixes naming whole families of HAProxy global
// settings, matched when no exact row exists.
var keywordFamilies = []keyword{
	{inGlobal, "tune.", noEffect("HAProxy's internal tuning does not apply to sluice")},
	{inGlobal, "profiling.", noEffect("HAProxy's profiling does not apply to sluice")},
	{inGlobal, "ssl-", unsupported},
	{inGlobal, "lua-", unsupported},
	{inGlobal, "h1-", unsupported},
	{inGlobal, "h2-", unsupported},
	{inGlobal, "quic-", unsupported},
	{inGlobal, "httpclient.", unsupported},
	{inGlobal, "51degrees-", unsupported},
	{inGlobal, "deviceatlas-", unsupported},
	{inGlobal, "wurfl-", unsupported},
}

func lookupKeyword(kw string) []keyword {
	if rows := keywordIndex[kw]; rows != nil {
		return rows
	}
	for _, f := range keywordFamilies {
		if strings.HasPrefix(kw, f.name) {
			return []keyword{f}
		}
	}
	return nil
}

// unsupported is the handler of HAProxy keywords that sluice knows but does
// not implement: the configuration is refused rather than half-applied.
func unsupported(_ *parser, _ *section, _ *stmt) error {
	return errNotSupported
}

var errNotSupported = errors.New("not supported by sluice")

// noEffect accepts a keyword that means nothing for a single in-process
// proxy, with a warning so that nothing is ignored silently.
func noEffect(why string) func(*parser, *section, *stmt) error {
	return func(p *parser, _ *section, st *stmt) error {
		p.warnf(st.pos, st.kw(), "ignored: %s", why)
		return nil
	}
}

// removed refuses a keyword that HAProxy itself no longer accepts, naming
// its modern replacement.
func removed(replacement string) func(*parser, *section, *stmt) error {
	return func(*parser, *section, *stmt) error {
		return fmt.Errorf("removed from HAProxy; use %s instead", replacement)
	}
}

// unsupportedSections are HAProxy sections that sluice does not implement.
// Their content is skipped after one error on the section line.
var unsupportedSections = map[string]bool{
	"peers": true, "resolvers": true, "userlist": true, "mailers": true,
	"cache": true, "program": true, "http-errors": true, "ring": true,
	"log-forward": true, "fcgi-app": true, "crt-store": true, "traces": true,
	"acme": true, "dynamic-update": true,
}

// knownKeywords are HAProxy directives that are neither implemented nor
// meaningless: unsupported, removed from HAProxy, or without effect here.
var knownKeywords = []keyword{
	// Process management and logging have no meaning inside one process
	// that logs on its own.
	{inProxy | inDefaults, "log", noEffect("sluice writes its own access log")},
	{inProxy | inDefaults, "log-tag", noEffect("sluice writes its own access log")},
	{inProxy | inDefaults, "description", noEffect("descriptions are informational")},
	{inProxy | inDefaults, "bind-process", noEffect("sluice runs as a single process")},

	// Implemented nowhere in sluice.
	{inProxy | inDefaults, "stick-table", unsupported},
	{inProxy | inDefaults, "stick", unsupported},
	{inProxy | inDefaults, "tcp-request", unsupported},
	{inProxy | inDefaults, "tcp-response", unsupported},
	{inProxy | inDefaults, "tcp-check", unsupported},
	{inProxy | inDefaults, "http-after-response", unsupported},
	{inProxy | inDefaults, "http-error", unsupported},
	{inProxy | inDefaults, "http-reuse", unsupported},
	{inProxy | inDefaults, "http-send-name-header", unsupported},
	{inProxy | inDefaults, "capture", unsupported},
	{inProxy | inDefaults, "declare", unsupported},
	{inProxy | inDefaults, "errorfile", unsupported},
	{inProxy | inDefaults, "errorfiles", unsupported},
	{inProxy | inDefaults, "errorloc", unsupported},
	{inProxy | inDefaults, "errorloc302", unsupported},
	{inProxy | inDefaults, "errorloc303", unsupported},
	{inProxy | inDefaults, "stats", unsupported},
	{inProxy | inDefaults, "monitor-uri", unsupported},
	{inProxy | inDefaults, "monitor", unsupported},
	{inProxy | inDefaults, "compression", unsupported},
	{inProxy | inDefaults, "filter", unsupported},
	{inProxy | inDefaults, "redirect", unsupported},
	{inProxy | inDefaults, "unique-id-format", unsupported},
	{inProxy | inDefaults, "unique-id-header", unsupported},
	{inProxy | inDefaults, "log-format", unsupported},
	{inProxy | inDefaults, "log-format-sd", unsupported},
	{inProxy | inDefaults, "error-log-format", unsupported},
	{inProxy | inDefaults, "log-steps", unsupported},
	{inProxy | inDefaults, "hash-type", unsupported},
	{inProxy | inDefaults, "hash-balance-factor", unsupported},
	{inProxy | inDefaults, "hash-key", unsupported},
	{inProxy | inDefaults, "fullconn", unsupported},
	{inProxy | inDefaults, "server-template", unsupported},
	{inProxy | inDefaults, "persist", unsupported},
	{inProxy | inDefaults, "force-persist", unsupported},
	{inProxy | inDefaults, "ignore-persist", unsupported},
	{inProxy | inDefaults, "rate-limit", unsupported},
	{inProxy | inDefaults, "source", unsupported},
	{inProxy | inDefaults, "use-server", unsupported},
	{inProxy | inDefaults, "dispatch", unsupported},
	{inProxy | inDefaults, "use-fcgi-app", unsupported},
	{inProxy | inDefaults, "email-alert", unsupported},
	{inProxy | inDefaults, "external-check", unsupported},
	{inProxy | inDefaults, "load-server-state-from-file", unsupported},
	{inProxy | inDefaults, "server-state-file-name", unsupported},
	{inProxy | inDefaults, "max-keep-alive-queue", unsupported},
	{inProxy | inDefaults, "max-session-srv-conns", unsupported},
	{inProxy | inDefaults, "backlog", unsupported},
	{inProxy | inDefaults, "id", unsupported},
	{inProxy | inDefaults, "guid", unsupported},
	{inProxy | inDefaults, "disabled", unsupported},
	{inProxy | inDefaults, "enabled", unsupported},
	{inProxy | inDefaults, "grace", unsupported},
	{inProxy | inDefaults, "clitcpka-cnt", unsupported},
	{inProxy | inDefaults, "clitcpka-idle", unsupported},
	{inProxy | inDefaults, "clitcpka-intvl", unsupported},
	{inProxy | inDefaults, "srvtcpka-cnt", unsupported},
	{inProxy | inDefaults, "srvtcpka-idle", unsupported},
	{inProxy | inDefaults, "srvtcpka-intvl", unsupported},

	// Removed from HAProxy itself; the message names what replaced them.
	{inProxy | inDefaults, "clitimeout", removed("'timeout client'")},
	{inProxy | inDefaults, "contimeout", removed("'timeout connect'")},
	{inProxy | inDefaults, "srvtimeout", removed("'timeout server'")},
	{inProxy | inDefaults, "redispatch", removed("'option redispatch'")},
	{inProxy | inDefaults, "block", removed("'http-request deny'")},
	{inProxy | inDefaults, "reqadd", removed("'http-request add-header'")},
	{inProxy | inDefaults, "reqdel", removed("'http-request del-header'")},
	{inProxy | inDefaults, "reqidel", removed("'http-request del-header'")},
	{inProxy | inDefaults, "reqrep", removed("'http-request replace-header' or 'replace-path'")},
	{inProxy | inDefaults, "reqirep", removed("'http-request replace-header' or 'replace-path'")},
	{inProxy | inDefaults, "reqdeny", removed("'http-request deny'")},
	{inProxy | inDefaults, "reqideny", removed("'http-request deny'")},
	{inProxy | inDefaults, "reqallow", removed("'http-request allow'")},
	{inProxy | inDefaults, "reqiallow", removed("'http-request allow'")},
	{inProxy | inDefaults, "reqpass", removed("'http-request' rules")},
	{inProxy | inDefaults, "reqipass", removed("'http-request' rules")},
	{inProxy | inDefaults, "reqtarpit", removed("'http-request tarpit'")},
	{inProxy | inDefaults, "reqitarpit", removed("'http-request tarpit'")},
	{inProxy | inDefaults, "reqsetbe", removed("'use_backend'")},
	{inProxy | inDefaults, "reqisetbe", removed("'use_backend'")},
	{inProxy | inDefaults, "rspadd", removed("'http-response add-header'")},
	{inProxy | inDefaults, "rspdel", removed("'http-response del-header'")},
	{inProxy | inDefaults, "rspidel", removed("'http-response del-header'")},
	{inProxy | inDefaults, "rsprep", removed("'http-response replace-header'")},
	{inProxy | inDefaults, "rspirep", removed("'http-response replace-header'")},
	{inProxy | inDefaults, "rspdeny", removed("'http-response deny'")},
	{inProxy | inDefaults, "rspideny", removed("'http-response deny'")},
	{inProxy | inDefaults, "appsession", removed("'cookie' persistence")},
	{inProxy | inDefaults, "monitor-net", removed("'http-request return' with an ACL on src")},
	{inProxy | inDefaults, "transparent", removed("'option transparent'")},
}

// suggest returns the known keyword closest to a misspelt one, if any is
// close enough to be a plausible typo.
func suggest(kw string, kind sectionKind) string {
	if len(kw) < 4 || len(kw) > 40 {
		return ""
	}
	best, bestDist := "", 3
	names := make([]string, 0, len(keywordIndex))
	for n := range keywordIndex {
		names = append(names, n)
	}
	sort.Strings(names) // deterministic choice between equally close names
	for _, n := range names {
		allowed := false
		for _, r := range keywordIndex[n] {
			allowed = allowed || r.sections&kind.mask() != 0
		}
		if !allowed {
			continue
		}
		if d := editDistance(kw, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

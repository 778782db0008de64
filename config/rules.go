package config

// Fetch names the part of a request an ACL looks at (HAProxy's "sample fetch").
type Fetch int

const (
	FetchPath     Fetch = iota // path: the path of the request-target, without the query
	FetchURL                   // url: the whole request-target
	FetchHdr                   // hdr(NAME): every value of header NAME (Arg)
	FetchSrc                   // src: the client's IP address
	FetchMethod                // method
	FetchURLParam              // url_param(NAME): a query-string parameter (Arg)
	FetchCookie                // req.cook(NAME): a request cookie (Arg)
	// FetchHost is the request's host name: the Host header (or the
	// authority of an absolute-form target), lowercased, without its port.
	// It is a sluice criterion (`host`, `host_end`, `host_reg`): Ingress host
	// rules match names, and `hdr(host)` would see the port.
	FetchHost
	// FetchSSLFC (ssl_fc) is true when the client connection is TLS. It is
	// a boolean: it takes no value and matches with MatchBool.
	FetchSSLFC
	// FetchSSLFCSNI (ssl_fc_sni) is the server name the client sent in TLS;
	// empty (no match) on a plain connection.
	FetchSSLFCSNI
)

// Match is how a fetched value is compared with an ACL's values (`-m`).
type Match int

const (
	MatchStr   Match = iota // -m str: exact
	MatchBeg                // -m beg: prefix
	MatchEnd                // -m end: suffix
	MatchSub                // -m sub: substring
	MatchReg                // -m reg: regular expression (RE2 syntax)
	MatchDir                // -m dir: a slash-delimited element
	MatchDom                // -m dom: a dot-delimited element
	MatchIP                 // src: IP addresses and CIDR prefixes
	MatchFound              // -m found: the value exists
	MatchBool               // -m bool: a boolean fetch is true
)

// ACL is a named (or anonymous, inside `{ }`) test on the request.
// `path_beg /blog` is {Fetch: FetchPath, Match: MatchBeg, Values: ["/blog"]}.
type ACL struct {
	Pos        Pos
	Name       string // empty for an anonymous ACL
	Fetch      Fetch
	Arg        string // header, parameter or cookie name for hdr/url_param/req.cook
	Match      Match
	IgnoreCase bool // -i
	Values     []string
}

// Condition is the `if COND` / `unless COND` part of a rule: an OR of ANDs,
// exactly as HAProxy reads "a b || !c { path_beg /x }".
type Condition struct {
	Unless bool
	Or     [][]Term
}

// Term is one ACL reference in a condition, possibly negated with `!`.
type Term struct {
	Negate bool
	// Name references ACLs declared with `acl`; several declarations with one
	// name are ORed, as in HAProxy. Inline is set instead for `{ ... }`.
	Name   string
	Inline *ACL
}

// UseBackend is `use_backend NAME [if|unless COND]`.
type UseBackend struct {
	Pos     Pos
	Backend string
	Cond    *Condition // nil: always
}

// HTTPAction is the verb of an http-request/http-response rule.
type HTTPAction int

const (
	ActionSetHeader HTTPAction = iota // set-header NAME VALUE
	ActionAddHeader                   // add-header NAME VALUE
	ActionDelHeader                   // del-header NAME
	ActionSetPath                     // set-path VALUE (http-request only)
	ActionRedirect                    // redirect ... (http-request only)
	ActionDeny                        // deny [deny_status N] (http-request only)
	ActionReturn                      // return [status N] [content-type T] [string S] (http-request only)
)

// HTTPRequestRule is one `http-request` line.
type HTTPRequestRule struct {
	Pos    Pos
	Action HTTPAction
	Name   string // header name for the header actions
	Value  string // header value, or the new path for set-path
	// Redirect is set for ActionRedirect.
	Redirect *Redirect
	// Status is deny_status for deny (default 403) and status for return (default 200).
	Status      int
	ContentType string // return
	Body        string // return: `string TEXT`
	Cond        *Condition
}

// RedirectKind is what a redirect rewrites.
type RedirectKind int

const (
	RedirectLocation RedirectKind = iota // location URL: the whole target
	RedirectPrefix                       // prefix P: P + original path
	RedirectScheme                       // scheme S: S://host + original path
)

// Redirect is `http-request redirect location|prefix|scheme VALUE [code N] [drop-query]`.
type Redirect struct {
	Kind      RedirectKind
	Value     string
	Code      int // 301, 302 (default), 303, 307 or 308
	DropQuery bool
}

// HTTPResponseRule is one `http-response` line (set-header, add-header, del-header).
type HTTPResponseRule struct {
	Pos    Pos
	Action HTTPAction
	Name   string
	Value  string
	Cond   *Condition
}

package config

import (
	"fmt"
	"strings"
)

var optionKeywords = []keyword{
	{inDefaults | inProxy, "option", parseOption},
	{inDefaults | inProxy, "no", parseNo},
	{beSide, "http-check", parseHTTPCheck},
}

// option is one `option NAME` switch. Like HAProxy, an option applies to
// the frontend side, the backend side or both; a defaults or listen section
// sets it on each side it applies to.
type option struct {
	fe, be bool
	// set applies the option to targets, the Options of the sides it
	// applies to; on is false for `no option`. A nil set means the option is
	// accepted with a warning (why).
	set       func(s *section, targets []*Options, on bool, args []string) error
	negatable bool
	why       string
}

// boolOption builds the setter of a switch stored in Options. None of
// sluice's switches take parameters.
func boolOption(field func(*Options) *bool) func(*section, []*Options, bool, []string) error {
	return func(_ *section, targets []*Options, on bool, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("parameter %q is not supported by sluice", args[0])
		}
		for _, o := range targets {
			*field(o) = on
		}
		return nil
	}
}

var options map[string]option

func init() {
	noLog := "sluice writes its own access log"
	noKernel := "sluice does not tune kernel socket behaviour"
	noStats := "sluice keeps its own statistics"
	options = map[string]option{
		"forwardfor":        {fe: true, be: true, negatable: true, set: boolOption(func(o *Options) *bool { return &o.ForwardFor })},
		"http-server-close": {fe: true, be: true, negatable: true, set: boolOption(func(o *Options) *bool { return &o.HTTPServerClose })},
		"redispatch":        {be: true, negatable: true, set: boolOption(func(o *Options) *bool { return &o.Redispatch })},
		"httplog":           {fe: true, be: true, negatable: true, set: setLogFormat(true)},
		"tcplog":            {fe: true, be: true, negatable: true, set: setLogFormat(false)},
		"http-keep-alive":   {fe: true, be: true, set: setKeepAlive},
		"httpchk":           {be: true, set: setHTTPChk},

		"dontlognull":         {fe: true, be: true, negatable: true, why: noLog},
		"dontlog-normal":      {fe: true, be: true, negatable: true, why: noLog},
		"log-health-checks":   {fe: true, be: true, negatable: true, why: noLog},
		"log-separate-errors": {fe: true, be: true, negatable: true, why: noLog},
		"logasap":             {fe: true, be: true, negatable: true, why: noLog},
		"contstats":           {fe: true, be: true, negatable: true, why: noStats},
		"socket-stats":        {fe: true, be: true, negatable: true, why: noStats},
		"splice-auto":         {fe: true, be: true, negatable: true, why: noKernel},
		"splice-request":      {fe: true, be: true, negatable: true, why: noKernel},
		"splice-response":     {fe: true, be: true, negatable: true, why: noKernel},
		"tcp-smart-accept":    {fe: true, be: true, negatable: true, why: noKernel},
		"tcp-smart-connect":   {fe: true, be: true, negatable: true, why: noKernel},
		"http-no-delay":       {fe: true, be: true, negatable: true, why: noKernel},
		"http-use-htx":        {fe: true, be: true, negatable: true, why: "HTX is how every HTTP proxy works since HAProxy 2.1"},
	}
}

// unsupportedOptions are HAProxy options that sluice does not implement.
var unsupportedOptions = map[string]bool{
	"abortonclose": true, "accept-invalid-http-request": true, "accept-invalid-http-response": true,
	"accept-unsafe-violations-in-http-request": true, "accept-unsafe-violations-in-http-response": true,
	"allbackups": true, "checkcache": true, "clitcpka": true, "srvtcpka": true, "tcpka": true,
	"disable-h2-upgrade": true, "h1-case-adjust-bogus-client": true, "h1-case-adjust-bogus-server": true,
	"http-buffer-request": true, "http-ignore-probes": true, "http-pretend-keepalive": true,
	"http-restrict-req-hdr-names": true, "httpclose": true, "forceclose": true, "http-tunnel": true,
	"http_proxy": true, "http-drop-request-trailers": true, "http-drop-response-trailers": true,
	"idle-close-on-response": true, "independent-streams": true, "ldap-check": true,
	"mysql-check": true, "nolinger": true, "originalto": true, "persist": true, "pgsql-check": true,
	"prefer-last-server": true, "redis-check": true, "smtpchk": true, "spop-check": true,
	"ssl-hello-chk": true, "tcp-check": true, "transparent": true, "external-check": true,
	"http-use-proxy-header": true, "log-error-via-logformat": true, "assume-rfc6587-ntf": true,
	"dont-parse-log": true, "host-is-valid": true,
}

func parseOption(p *parser, s *section, st *stmt) error {
	return applyOption(p, s, st, st.words[1:], true, "option")
}

// parseNo handles `no option NAME` and `no log`.
func parseNo(p *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) == 0 {
		return fmt.Errorf("expects 'option NAME' or 'log'")
	}
	switch args[0] {
	case "option":
		return applyOption(p, s, st, st.words[2:], false, "no option")
	case "log":
		p.warnf(st.pos, "no log", "ignored: sluice writes its own access log")
		return nil
	}
	return kwError("no "+args[0], "not supported by sluice")
}

func applyOption(p *parser, s *section, st *stmt, words []word, on bool, prefix string) error {
	if len(words) == 0 {
		return kwError(prefix, "missing option name")
	}
	name := words[0].s
	kw := prefix + " " + name
	args := make([]string, 0, len(words)-1)
	for _, w := range words[1:] {
		args = append(args, w.s)
	}
	o, ok := options[name]
	var targets []*Options
	if ok && o.fe && s.fe != nil {
		targets = append(targets, &s.fe.Options)
	}
	if ok && o.be && s.be != nil {
		targets = append(targets, &s.be.Options)
	}
	switch {
	case !ok && unsupportedOptions[name]:
		return kwError(kw, "not supported by sluice")
	case !ok:
		return kwError(prefix, "unknown option %q", name)
	case len(targets) == 0:
		side := "backends"
		if o.fe {
			side = "frontends"
		}
		return kwError(kw, "not allowed in a %s section: it applies to %s", sectionNames[s.kind], side)
	case !on && !o.negatable:
		return kwError(kw, "cannot be negated")
	case o.set == nil:
		p.warnf(st.pos, kw, "ignored: %s", o.why)
		return nil
	}
	if err := o.set(s, targets, on, args); err != nil {
		return kwError(kw, "%s", err)
	}
	return nil
}

// setLogFormat implements httplog and tcplog, which choose between two
// access log formats: the last one written wins.
func setLogFormat(http bool) func(*section, []*Options, bool, []string) error {
	return func(_ *section, targets []*Options, on bool, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("parameter %q is not supported by sluice", args[0])
		}
		for _, o := range targets {
			if http {
				o.HTTPLog = on
				o.TCPLog = o.TCPLog && !on
			} else {
				o.TCPLog = on
				o.HTTPLog = o.HTTPLog && !on
			}
		}
		return nil
	}
}

// setKeepAlive implements `option http-keep-alive`, HAProxy's default
// connection mode, which cancels an inherited http-server-close.
func setKeepAlive(_ *section, targets []*Options, _ bool, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("takes no parameter")
	}
	for _, o := range targets {
		o.HTTPServerClose = false
	}
	return nil
}

// setHTTPChk reads `option httpchk [[METHOD] URI [VERSION]]`. VERSION may
// carry a Host header the way HAProxy users have long written it:
// "HTTP/1.1\r\nHost:\ www.example.com".
func setHTTPChk(s *section, _ []*Options, _ bool, args []string) error {
	c := HTTPCheck{Enabled: true, Method: "OPTIONS", URI: "/", ExpectStatus: s.be.Check.ExpectStatus}
	switch len(args) {
	case 0:
	case 1:
		c.URI = args[0]
	case 2, 3:
		c.Method, c.URI = args[0], args[1]
		if len(args) == 3 {
			v, host, err := parseCheckVersion(args[2])
			if err != nil {
				return err
			}
			c.Version, c.Host = v, host
		}
	default:
		return fmt.Errorf("expects at most a method, a URI and a version")
	}
	if err := checkHTTPCheck(&c); err != nil {
		return err
	}
	s.be.Check = c
	return nil
}

func parseCheckVersion(v string) (version, host string, err error) {
	version, headers, hasHeaders := strings.Cut(v, "\r\n")
	if version != "HTTP/1.0" && version != "HTTP/1.1" {
		return "", "", fmt.Errorf("invalid HTTP version %q: want HTTP/1.0 or HTTP/1.1", version)
	}
	if !hasHeaders {
		return version, "", nil
	}
	for _, h := range strings.Split(headers, "\r\n") {
		name, value, ok := strings.Cut(h, ":")
		if !ok || !strings.EqualFold(name, "host") {
			return "", "", fmt.Errorf("only a Host header can follow the version, found %q (http-check send is not supported by sluice)", h)
		}
		if host != "" {
			return "", "", fmt.Errorf("Host header given twice")
		}
		host = strings.TrimSpace(value)
		if host == "" {
			return "", "", fmt.Errorf("empty Host header")
		}
	}
	return version, host, nil
}

// checkHTTPCheck validates a health check request; Validate uses it too.
func checkHTTPCheck(c *HTTPCheck) error {
	if !c.Enabled {
		return nil
	}
	if !isToken(c.Method) {
		return fmt.Errorf("invalid method %q", c.Method)
	}
	if c.URI != "*" && !strings.HasPrefix(c.URI, "/") {
		return fmt.Errorf("invalid URI %q: want a path starting with '/' or '*'", c.URI)
	}
	if strings.ContainsAny(c.URI, " \t\r\n\x00") {
		return fmt.Errorf("invalid URI %q: it contains white space or control characters", c.URI)
	}
	switch c.Version {
	case "", "HTTP/1.0", "HTTP/1.1":
	default:
		return fmt.Errorf("invalid HTTP version %q: want HTTP/1.0 or HTTP/1.1", c.Version)
	}
	if err := checkHeaderValue(c.Host); err != nil {
		return fmt.Errorf("Host: %w", err)
	}
	return nil
}

func parseHTTPCheck(_ *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) == 0 {
		return fmt.Errorf("missing sub-keyword")
	}
	kw := "http-check " + args[0]
	switch args[0] {
	case "expect":
		if len(args) == 3 && args[1] == "status" {
			n, err := parseStatus(args[2])
			if err != nil {
				return kwError(kw, "%s", err)
			}
			s.be.Check.ExpectStatus = n
			return nil
		}
		if len(args) >= 2 && args[1] == "status" {
			return kwError(kw, "expects one status code (ranges and lists are not supported by sluice)")
		}
		if len(args) >= 2 {
			return kwError(kw, "only 'expect status N' is supported by sluice, not %q", args[1])
		}
		return kwError(kw, "missing 'status N'")
	case "send", "connect", "comment", "disable-on-404", "send-state", "set-var", "set-var-fmt", "unset-var":
		return kwError(kw, "not supported by sluice")
	}
	return fmt.Errorf("unknown sub-keyword %q", args[0])
}

// parseStatus reads an HTTP status code, 100 to 599.
func parseStatus(s string) (int, error) {
	n, err := parseCount(s)
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("invalid status %q: want 100 to 599", s)
	}
	return n, nil
}

package config

import (
	"fmt"
	"strings"
)

var httpKeywords = []keyword{
	{inProxy, "http-request", parseHTTPRequest},
	{inProxy, "http-response", parseHTTPResponse},
}

// unsupportedRequestActions and unsupportedResponseActions are the HAProxy
// actions sluice does not implement. Actions with an argument in their
// name, such as set-var(txn.x) or track-sc0, are looked up by their stem.
var unsupportedRequestActions = map[string]bool{
	"allow": true, "auth": true, "cache-use": true, "capture": true, "del-acl": true,
	"del-map": true, "disable-l7-retry": true, "do-log": true, "do-resolve": true,
	"early-hint": true, "normalize-uri": true, "reject": true, "replace-header": true,
	"replace-path": true, "replace-pathq": true, "replace-uri": true, "replace-value": true,
	"sc-add-gpc": true, "sc-inc-gpc": true, "sc-inc-gpc0": true, "sc-inc-gpc1": true,
	"sc-set-gpt": true, "sc-set-gpt0": true, "send-spoe-group": true, "set-bandwidth-limit": true,
	"set-dst": true, "set-dst-port": true, "set-log-level": true, "set-map": true,
	"set-mark": true, "set-method": true, "set-nice": true, "set-pathq": true,
	"set-priority-class": true, "set-priority-offset": true, "set-query": true,
	"set-src": true, "set-src-port": true, "set-timeout": true, "set-tos": true,
	"set-uri": true, "set-var": true, "set-var-fmt": true, "silent-drop": true,
	"strict-mode": true, "tarpit": true, "track-sc": true, "unset-var": true,
	"use-service": true, "wait-for-body": true, "wait-for-handshake": true,
	"add-acl": true, "set-fc-mark": true, "set-fc-tos": true, "set-retries": true,
	"pause": true, "send-spoe-msg": true,
}

var unsupportedResponseActions = map[string]bool{
	"allow": true, "cache-store": true, "capture": true, "del-acl": true, "del-map": true,
	"deny": true, "do-log": true, "redirect": true, "replace-header": true,
	"replace-value": true, "return": true, "sc-add-gpc": true, "sc-inc-gpc": true,
	"sc-inc-gpc0": true, "sc-inc-gpc1": true, "sc-set-gpt": true, "sc-set-gpt0": true,
	"send-spoe-group": true, "set-bandwidth-limit": true, "set-log-level": true,
	"set-map": true, "set-mark": true, "set-nice": true, "set-status": true,
	"set-timeout": true, "set-tos": true, "set-var": true, "set-var-fmt": true,
	"silent-drop": true, "strict-mode": true, "track-sc": true, "unset-var": true,
	"wait-for-body": true, "add-acl": true, "set-fc-mark": true, "set-fc-tos": true,
	"pause": true, "send-spoe-msg": true,
}

// actionStem strips what HAProxy writes inside an action name:
// "set-var(txn.x)" -> "set-var", "track-sc0" -> "track-sc", "lua.cors" -> "lua.".
func actionStem(a string) string {
	if i := strings.IndexByte(a, '('); i >= 0 {
		a = a[:i]
	}
	if strings.HasPrefix(a, "lua.") {
		return "lua."
	}
	if strings.HasPrefix(a, "track-sc") {
		return "track-sc"
	}
	return a
}

func parseHTTPRequest(_ *parser, s *section, st *stmt) error {
	r, err := parseRequestRule(st)
	if err != nil {
		return err
	}
	// In a listen, rules live on the frontend side (see endListen).
	if s.fe != nil {
		s.fe.HTTPRequest = append(s.fe.HTTPRequest, r)
	} else {
		s.be.HTTPRequest = append(s.be.HTTPRequest, r)
	}
	return nil
}

func parseHTTPResponse(_ *parser, s *section, st *stmt) error {
	r, err := parseResponseRule(st)
	if err != nil {
		return err
	}
	if s.fe != nil {
		s.fe.HTTPResponse = append(s.fe.HTTPResponse, r)
	} else {
		s.be.HTTPResponse = append(s.be.HTTPResponse, r)
	}
	return nil
}

// ruleArgs splits an http-request/http-response line into its action, the
// action's arguments and its condition.
func ruleArgs(st *stmt) (action string, args []word, cond *Condition, err error) {
	if len(st.words) < 2 {
		return "", nil, nil, fmt.Errorf("missing action")
	}
	action = st.words[1].s
	args, condWords := splitCond(st.words[2:])
	cond, err = parseCondition(condWords)
	return action, args, cond, err
}

func parseRequestRule(st *stmt) (HTTPRequestRule, error) {
	var r HTTPRequestRule
	action, args, cond, err := ruleArgs(st)
	kw := "http-request " + action
	if action == "" && err != nil {
		return r, err
	}
	if err != nil {
		return r, kwError(kw, "%s", err)
	}
	r.Pos, r.Cond = st.pos, cond
	switch action {
	case "set-header", "add-header", "del-header":
		r.Action, r.Name, r.Value, err = headerAction(action, args)
	case "set-path":
		r.Action = ActionSetPath
		if len(args) != 1 {
			err = fmt.Errorf("expects exactly one path")
			break
		}
		r.Value, err = checkLogFormat(args[0].s)
		if err == nil && r.Value == "" {
			err = fmt.Errorf("empty path")
		}
	case "redirect":
		r.Action = ActionRedirect
		r.Redirect, err = parseRedirect(args)
	case "deny":
		r.Action = ActionDeny
		r.Status, err = parseDeny(args)
	case "return":
		r.Action = ActionReturn
		err = parseReturn(&r, args)
	default:
		if unsupportedRequestActions[actionStem(action)] || actionStem(action) == "lua." {
			return r, kwError(kw, "not supported by sluice")
		}
		return r, kwError("http-request", "unknown action %q", action)
	}
	if err != nil {
		return r, kwError(kw, "%s", err)
	}
	return r, nil
}

func parseResponseRule(st *stmt) (HTTPResponseRule, error) {
	var r HTTPResponseRule
	action, args, cond, err := ruleArgs(st)
	kw := "http-response " + action
	if action == "" && err != nil {
		return r, err
	}
	if err != nil {
		return r, kwError(kw, "%s", err)
	}
	r.Pos, r.Cond = st.pos, cond
	switch action {
	case "set-header", "add-header", "del-header":
		r.Action, r.Name, r.Value, err = headerAction(action, args)
	default:
		if unsupportedResponseActions[actionStem(action)] || actionStem(action) == "lua." {
			return r, kwError(kw, "not supported by sluice")
		}
		return r, kwError("http-response", "unknown action %q", action)
	}
	if err != nil {
		return r, kwError(kw, "%s", err)
	}
	return r, nil
}

// headerAction reads `set-header|add-header NAME VALUE` and `del-header NAME`.
func headerAction(action string, args []word) (HTTPAction, string, string, error) {
	a := map[string]HTTPAction{"set-header": ActionSetHeader, "add-header": ActionAddHeader, "del-header": ActionDelHeader}[action]
	want := 2
	if a == ActionDelHeader {
		want = 1
		if len(args) > 1 && args[1].s == "-m" {
			return a, "", "", fmt.Errorf("-m is not supported by sluice")
		}
	}
	switch {
	case len(args) < want:
		if a == ActionDelHeader {
			return a, "", "", fmt.Errorf("expects a header name")
		}
		return a, "", "", fmt.Errorf("expects a header name and a value")
	case len(args) > want:
		return a, "", "", fmt.Errorf("unexpected argument %q (quote values that contain spaces; a condition starts with if or unless)", args[want].s)
	}
	name := args[0].s
	if err := checkHeaderName(name); err != nil {
		return a, "", "", err
	}
	if a == ActionDelHeader {
		return a, name, "", nil
	}
	value, err := checkLogFormat(args[1].s)
	if err != nil {
		return a, "", "", err
	}
	if err := checkHeaderValue(value); err != nil {
		return a, "", "", err
	}
	return a, name, value, nil
}

// Redirect status codes HAProxy accepts.
var redirectCodes = map[int]bool{301: true, 302: true, 303: true, 307: true, 308: true}

const (
	defaultRedirectCode = 302
	defaultDenyStatus   = 403
	defaultReturnStatus = 200
)

// parseRedirect reads `location|prefix|scheme VALUE [code N] [drop-query]`.
func parseRedirect(args []word) (*Redirect, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("expects location, prefix or scheme followed by a value")
	}
	r := &Redirect{Code: defaultRedirectCode}
	switch args[0].s {
	case "location":
		r.Kind = RedirectLocation
	case "prefix":
		r.Kind = RedirectPrefix
	case "scheme":
		r.Kind = RedirectScheme
	default:
		return nil, fmt.Errorf("unknown redirect type %q: want location, prefix or scheme", args[0].s)
	}
	v, err := checkLogFormat(args[1].s)
	if err != nil {
		return nil, err
	}
	r.Value = v
	if err := checkRedirectValue(r); err != nil {
		return nil, err
	}
	for i := 2; i < len(args); i++ {
		switch opt := args[i].s; opt {
		case "code":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("code needs a value")
			}
			i++
			n, err := parseCount(args[i].s)
			if err != nil || !redirectCodes[n] {
				return nil, fmt.Errorf("invalid redirect code %q: want 301, 302, 303, 307 or 308", args[i].s)
			}
			r.Code = n
		case "drop-query":
			r.DropQuery = true
		case "append-slash", "set-cookie", "clear-cookie", "ignore-empty", "keep-query", "set-cookie-fmt":
			return nil, fmt.Errorf("redirect option %q is not supported by sluice", opt)
		default:
			return nil, fmt.Errorf("unknown redirect option %q", opt)
		}
	}
	return r, nil
}

func checkRedirectValue(r *Redirect) error {
	if r.Value == "" {
		return fmt.Errorf("empty redirect %s", r.Kind)
	}
	if strings.ContainsAny(r.Value, " \t\r\n\x00") {
		return fmt.Errorf("redirect %s %q contains white space or control characters", r.Kind, r.Value)
	}
	if r.Kind == RedirectScheme && !validScheme(r.Value) {
		return fmt.Errorf("invalid scheme %q", r.Value)
	}
	return nil
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if i == 0 && !letter || !letter && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return s != ""
}

// parseDeny reads `[deny_status N]` (also spelt `status N`).
func parseDeny(args []word) (int, error) {
	status := defaultDenyStatus
	for i := 0; i < len(args); i++ {
		switch opt := args[i].s; opt {
		case "deny_status", "status":
			if i+1 >= len(args) {
				return 0, fmt.Errorf("%s needs a value", opt)
			}
			i++
			n, err := parseStatus(args[i].s)
			if err != nil {
				return 0, err
			}
			status = n
		case "content-type", "string", "lf-string", "file", "lf-file", "errorfile", "errorfiles", "default-errorfiles", "hdr":
			return 0, fmt.Errorf("deny option %q is not supported by sluice", opt)
		default:
			return 0, fmt.Errorf("unknown deny option %q", opt)
		}
	}
	return status, nil
}

// parseReturn reads `[status N] [content-type T] [string S]`.
func parseReturn(r *HTTPRequestRule, args []word) error {
	r.Status = defaultReturnStatus
	for i := 0; i < len(args); i++ {
		opt := args[i].s
		switch opt {
		case "status", "content-type", "string":
			if i+1 >= len(args) {
				return fmt.Errorf("%s needs a value", opt)
			}
			i++
		}
		switch opt {
		case "status":
			n, err := parseStatus(args[i].s)
			if err != nil {
				return err
			}
			r.Status = n
		case "content-type":
			if err := checkHeaderValue(args[i].s); err != nil || args[i].s == "" {
				return fmt.Errorf("invalid content-type %q", args[i].s)
			}
			r.ContentType = args[i].s
		case "string":
			r.Body = args[i].s
		case "lf-string", "file", "lf-file", "errorfile", "errorfiles", "default-errorfiles", "hdr":
			return fmt.Errorf("return option %q is not supported by sluice", opt)
		default:
			return fmt.Errorf("unknown return option %q", opt)
		}
	}
	if r.Body != "" && r.ContentType == "" {
		return fmt.Errorf("a body (string) needs a content-type")
	}
	return nil
}

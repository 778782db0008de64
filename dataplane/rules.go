package dataplane

import (
	"fmt"
	"strconv"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/h1"
)

// reqRule is a compiled http-request rule.
type reqRule struct {
	action config.HTTPAction
	cond   *cond
	name   []byte
	value  []byte
	// reply is the prebuilt response of deny and return (and of a redirect
	// to a fixed location).
	reply    *reply
	status   int
	redirect *config.Redirect
}

// final reports whether the rule answers the request itself.
func (r *reqRule) final() bool {
	return r.action == config.ActionDeny || r.action == config.ActionReturn || r.action == config.ActionRedirect
}

// respRule is a compiled http-response rule.
type respRule struct {
	action config.HTTPAction
	cond   *cond
	name   []byte
	value  []byte
}

func compileReqRules(rules []config.HTTPRequestRule, scope *aclScope) ([]reqRule, error) {
	out := make([]reqRule, 0, len(rules))
	for i := range rules {
		r := &rules[i]
		c, err := scope.compileCond(r.Cond)
		if err != nil {
			return nil, fmt.Errorf("http-request %s: %w", r.Action, err)
		}
		cr := reqRule{action: r.Action, cond: c, name: []byte(r.Name), value: []byte(r.Value), redirect: r.Redirect}
		switch r.Action {
		case config.ActionDeny:
			cr.status = r.Status
			if cr.status == 0 {
				cr.status = 403
			}
			cr.reply = errorReply(cr.status, "Request forbidden by administrative rules.")
		case config.ActionReturn:
			cr.status = r.Status
			if cr.status == 0 {
				cr.status = 200
			}
			cr.reply = buildReply(cr.status, r.ContentType, r.Body, nil)
		case config.ActionRedirect:
			cr.status = r.Redirect.Code
			if cr.status == 0 {
				cr.status = 302
			}
			if r.Redirect.Kind == config.RedirectLocation {
				cr.reply = buildReply(cr.status, "", "", [][2]string{{"Location", r.Redirect.Value}})
			}
		}
		out = append(out, cr)
	}
	return out, nil
}

func compileRespRules(rules []config.HTTPResponseRule, scope *aclScope) ([]respRule, error) {
	out := make([]respRule, 0, len(rules))
	for i := range rules {
		r := &rules[i]
		c, err := scope.compileCond(r.Cond)
		if err != nil {
			return nil, fmt.Errorf("http-response %s: %w", r.Action, err)
		}
		out = append(out, respRule{action: r.Action, cond: c, name: []byte(r.Name), value: []byte(r.Value)})
	}
	return out, nil
}

// reply is a response the proxy writes itself. head holds the status line and
// headers without the blank line, so the engine can add "Connection: close"
// when it is about to close.
type reply struct {
	status int
	head   []byte
	body   []byte
}

// appendTo appends the whole response to dst.
func (r *reply) appendTo(dst []byte, close bool) []byte {
	dst = append(dst, r.head...)
	if close {
		dst = append(dst, "Connection: close\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, r.body...)
}

// buildReply renders a response with a Content-Length, so the client
// connection stays usable after it.
func buildReply(status int, contentType, body string, headers [][2]string) *reply {
	b := appendStatusLine(nil, status)
	b = append(b, "\r\n"...)
	for _, h := range headers {
		b = append(b, h[0]...)
		b = append(b, ": "...)
		b = append(b, h[1]...)
		b = append(b, "\r\n"...)
	}
	if body != "" {
		if contentType == "" {
			contentType = "text/plain"
		}
		b = append(b, "Content-Type: "...)
		b = append(b, contentType...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n"...)
	return &reply{status: status, head: b, body: []byte(body)}
}

// errorReply is the small HTML page HAProxy users know, for the proxy's own
// errors.
func errorReply(status int, msg string) *reply {
	body := "<html><body><h1>" + strconv.Itoa(status) + " " + h1.StatusText(status) + "</h1>\n" + msg + "\n</body></html>\n"
	return buildReply(status, "text/html", body, [][2]string{{"Cache-Control", "no-cache"}})
}

// The proxy's own error responses, built once.
var (
	reply400 = errorReply(400, "Your browser sent an invalid request.")
	reply404 = errorReply(404, "The requested URL was not found.")
	reply408 = errorReply(408, "Your browser didn't send a complete request in time.")
	reply414 = errorReply(414, "The request URI is too long.")
	reply431 = errorReply(431, "The request header fields are too large.")
	reply500 = errorReply(500, "An internal server error occurred.")
	reply501 = errorReply(501, "The request method or transfer coding is not supported.")
	reply502 = errorReply(502, "The server returned an invalid or incomplete response.")
	reply503 = errorReply(503, "No server is available to handle this request.")
	reply504 = errorReply(504, "The server didn't respond in time.")
	reply505 = errorReply(505, "Only HTTP/1.0 and HTTP/1.1 are supported.")
)

// replyFor maps a status to the proxy's error page.
func replyFor(status int) *reply {
	switch status {
	case 400:
		return reply400
	case 404:
		return reply404
	case 408:
		return reply408
	case 414:
		return reply414
	case 431:
		return reply431
	case 501:
		return reply501
	case 502:
		return reply502
	case 503:
		return reply503
	case 504:
		return reply504
	case 505:
		return reply505
	}
	return reply500
}

func appendStatusLine(b []byte, status int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	return append(b, h1.StatusText(status)...)
}

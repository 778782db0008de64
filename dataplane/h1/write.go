package h1

import "strconv"

// AppendStatusLine appends "HTTP/1.<minor> <status> <reason>\r\n". An empty
// reason is replaced by the standard phrase for the status.
func AppendStatusLine(dst []byte, minor, status int, reason string) []byte {
	if reason == "" {
		reason = StatusText(status)
	}
	dst = append(dst, "HTTP/1."...)
	dst = append(dst, byte('0'+minor), ' ')
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	return append(dst, "\r\n"...)
}

// AppendResponseLine appends a received status line unchanged but for the
// version, which becomes the proxy's own.
func AppendResponseLine(dst []byte, minor int, r *Response) []byte {
	dst = append(dst, "HTTP/1."...)
	dst = append(dst, byte('0'+minor), ' ')
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, r.Reason...)
	return append(dst, "\r\n"...)
}

// AppendRequestLine appends "<method> <target> HTTP/1.<minor>\r\n".
func AppendRequestLine(dst []byte, method, target []byte, minor int) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1."...)
	dst = append(dst, byte('0'+minor))
	return append(dst, "\r\n"...)
}

// AppendOriginForm appends the request's target in origin-form, the form a
// backend expects: Path and Query, the scheme and authority of an
// absolute-form target removed.
func AppendOriginForm(dst []byte, r *Request) []byte {
	if r.Form != AbsoluteForm {
		return append(dst, r.Target...)
	}
	dst = append(dst, r.Path...)
	if r.Query != nil {
		dst = append(dst, '?')
		dst = append(dst, r.Query...)
	}
	return dst
}

// AppendHeader appends "<name>: <value>\r\n". Neither is checked: they come
// from a parsed head or from the proxy itself.
func AppendHeader[N, V []byte | string](dst []byte, name N, value V) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendContentLength appends "Content-Length: <n>\r\n".
func AppendContentLength(dst []byte, n int64) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, "\r\n"...)
}

// AppendError appends a complete HTTP/1.1 response reporting e to the
// client: its status, a plain-text body with the reason, and Connection:
// close, since no error leaves the connection in a known state.
func AppendError(dst []byte, e *Error) []byte {
	dst = AppendStatusLine(dst, 1, e.Status, "")
	dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"...)
	dst = AppendContentLength(dst, int64(len(e.Reason)+1))
	dst = append(dst, "\r\n"...)
	dst = append(dst, e.Reason...)
	return append(dst, '\n')
}

// StatusText returns the reason phrase RFC 9110 §15 gives a status code,
// or "" for an unregistered one.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 103:
		return "Early Hints"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Content"
	case 425:
		return "Too Early"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

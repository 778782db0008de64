package h1

import "bytes"

// BodyMode tells how a message body is delimited.
type BodyMode uint8

const (
	BodyNone       BodyMode = iota // no body
	BodyLength                     // ContentLength bytes
	BodyChunked                    // chunked transfer coding
	BodyUntilClose                 // everything until the backend closes
)

func (m BodyMode) String() string {
	switch m {
	case BodyNone:
		return "none"
	case BodyLength:
		return "length"
	case BodyChunked:
		return "chunked"
	case BodyUntilClose:
		return "until-close"
	}
	return "invalid"
}

// Response is a parsed response head. All slices alias the buffer given to
// Parse and are valid until that buffer is reused.
type Response struct {
	Status        int
	Reason        []byte
	Minor         int // 0 or 1: HTTP/1.0 or HTTP/1.1
	Headers       []Header
	ContentLength int64 // -1 when absent
	Chunked       bool  // the final transfer coding is chunked
	// Coded is set when Transfer-Encoding lists a coding other than
	// chunked. The engine must then relay the Transfer-Encoding fields as
	// received (to an HTTP/1.1 client) instead of writing its own, since
	// the content is still encoded with them.
	Coded bool
	// Close is set when the response asks for the connection to close
	// (Connection: close, or HTTP/1.0 without keep-alive). A body of mode
	// BodyUntilClose also ends the connection, whatever Close says.
	Close bool
	// Upgrade is set when Connection lists "upgrade" and an Upgrade field is
	// present; it means a protocol switch only together with Status 101.
	Upgrade bool
	HeadLen int // bytes of the head, the final CRLF included
}

// Reset clears the response, keeping the Headers slice for reuse.
func (r *Response) Reset() {
	*r = Response{Headers: r.Headers[:0], ContentLength: -1}
}

// BodyMode tells how the response body is delimited (RFC 9112 §6.3), given
// the method of the request it answers. An interim (1xx) response has no
// body; the engine reads the next head after forwarding it.
func (r *Response) BodyMode(reqMethod []byte) BodyMode {
	switch {
	case r.Status < 200 || r.Status == 204 || r.Status == 304:
		return BodyNone
	case string(reqMethod) == "HEAD":
		return BodyNone
	case r.Chunked:
		return BodyChunked
	case r.ContentLength >= 0:
		return BodyLength
	}
	return BodyUntilClose
}

// Parse parses one complete response head at the start of buf, with the
// contract of Request.Parse. Every defect is reported with status 502,
// including a head that does not fit a full buffer: the client is not at
// fault, so 431 would mislead it.
func (r *Response) Parse(buf []byte, full bool) error {
	r.Reset()
	end := bytes.IndexByte(buf, '\n')
	if end < 0 {
		// Refuse a backend that does not speak HTTP/1 (an HTTP/0.9 body, TLS)
		// as soon as the first bytes show it.
		const prefix = "HTTP/1."
		n := min(len(buf), len(prefix))
		if string(buf[:n]) != prefix[:n] {
			return errStatusLine
		}
		if full {
			return errRespTooLarge
		}
		return ErrNeedMore
	}
	line := buf[:end]
	if len(line) == 0 || line[len(line)-1] != '\r' {
		return respErrors.bareLF
	}
	if err := r.parseStatusLine(line[:len(line)-1]); err != nil {
		return err
	}

	pos := end + 1
	f := framing{contentLength: -1}
	for {
		name, value, next, err := scanField(buf, pos, &respErrors, len(r.Headers) == 0)
		if err != nil {
			return err
		}
		if next < 0 {
			if full {
				return errRespTooLarge
			}
			return ErrNeedMore
		}
		pos = next
		if name == nil {
			break
		}
		if len(r.Headers) == MaxHeaders {
			return respErrors.tooMany
		}
		r.Headers = append(r.Headers, Header{Name: name, Value: value})
		if err := f.field(name, value, &respErrors); err != nil {
			return err
		}
	}
	chunked, closeConn, err := f.finish(r.Minor, &respErrors)
	if err != nil {
		return err
	}
	r.Chunked = chunked
	r.Coded = f.otherCoding
	r.ContentLength = f.contentLength
	r.Upgrade = f.connUpgrade && f.upgrade
	r.Close = closeConn
	r.HeadLen = pos
	return nil
}

// parseStatusLine parses HTTP-version SP 3DIGIT SP reason-phrase, the line
// ending already removed. The SP after the code is optional: servers that
// send no reason phrase commonly omit it, and the phrase carries no
// meaning (RFC 9112 §4).
func (r *Response) parseStatusLine(line []byte) error {
	if len(line) < len("HTTP/1.1 200") || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return errStatusLine
	}
	switch line[7] {
	case '0':
		r.Minor = 0
	case '1':
		r.Minor = 1
	default:
		return errStatusLine
	}
	code := line[9:12]
	for _, c := range code {
		if c < '0' || c > '9' {
			return errStatusLine
		}
	}
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if r.Status < 100 || r.Status > 599 {
		return errStatusLine
	}
	rest := line[12:]
	if len(rest) > 0 {
		if rest[0] != ' ' || !validValue(rest[1:]) {
			return errStatusLine
		}
		r.Reason = rest[1:]
	}
	return nil
}

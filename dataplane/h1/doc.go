// Package h1 is the HTTP/1.1 wire codec of the proxy's hot path: it parses
// request and response heads in place, streams bodies without buffering
// them, and appends outgoing heads to reused byte slices. It does no I/O
// scheduling, routing or networking of its own.
//
// # Memory
//
// Parsed heads alias the caller's buffer: every []byte in a Request or
// Response points into the buffer given to Parse and stays valid until that
// buffer is reused. Parse keeps the Headers slice between calls, so after
// warm-up parsing allocates nothing, not even on the error path (all errors
// are preallocated *Error values). The body copiers work directly on the
// bufio.Reader's own buffer and need no scratch memory.
//
// # Use
//
// The engine reads into a buffer and calls Request.Parse(buf, full) until
// it stops returning ErrNeedMore; an *Error is answered with AppendError
// and the connection closed. To forward the head it writes the request
// line with the target in origin-form (AppendOriginForm), every field for
// which Drop is false (replacing the Host field's value by Request.Host
// when the target was absolute-form), its own connection fields, and
// "Transfer-Encoding: chunked" when Request.Chunked, since
// Transfer-Encoding itself is hop-by-hop. The body follows Request.BodyMode
// with CopyLength or CopyChunked. Responses are read the same way; 1xx
// heads other than 101 are forwarded and followed by the real response,
// and Response.BodyMode, given the request method, says how the body ends.
//
// # Strictness
//
// The proxy sits in front of backends whose parsers we do not know, so any
// message two parsers might frame differently is refused rather than
// repaired. The choices, with the RFC 9110/9112 rule they follow:
//
//   - Line endings are CRLF everywhere: a bare LF is refused in the head, in
//     chunk-size lines, after chunk data and in trailers (RFC 9112 §2.2 lets
//     a recipient accept it; a smuggling-aware proxy must not). A bare CR is
//     refused too.
//   - Empty lines (CRLF) before the request line are skipped, as RFC 9112
//     §2.2 asks; they count toward HeadLen.
//   - The request line is method SP request-target SP HTTP-version with
//     exactly one SP between the parts. The method is a token. The
//     request-target may hold visible ASCII except '#'; bytes >= 0x80 are
//     refused (clients percent-encode them) and a malformed percent-escape
//     in the path is refused, so routing never sees an ambiguous path. The
//     query is not checked beyond its character set.
//   - Only origin-form ("/path?query"), absolute-form with an http or https
//     scheme (Host is then taken from the target, RFC 9112 §3.2.2;
//     userinfo is refused) and "*" for OPTIONS are accepted. CONNECT is
//     answered 501 Not Implemented: the proxy does not tunnel, and 405 would
//     require an Allow header naming methods of a resource that does not
//     exist.
//   - The version must be HTTP/1.0 or HTTP/1.1. A well-formed other version
//     ("HTTP/2.0", as in the HTTP/2 preface, or "HTTP/1.2") gets 505; any
//     other version string gets 400.
//   - Field names are tokens with no whitespace before the colon. Values may
//     hold VCHAR, obs-text, SP and HTAB only, so NUL, CR and other controls
//     are refused. Line folding (obs-fold) is refused, as is whitespace
//     before the first field.
//   - HTTP/1.1 requires exactly one Host; more than one Host is refused for
//     every version. Host must be a valid uri-host with an optional port
//     (registered names without percent-encoding, IPv4, or a bracketed IPv6
//     literal without zone).
//   - Content-Length is decimal digits only and at most 2^63-1. Repeated
//     fields and comma lists collapse to one value when all values are
//     numerically equal, and are refused otherwise (RFC 9110 §8.6).
//   - Content-Length together with Transfer-Encoding is refused for
//     requests and responses (RFC 9112 §6.3 calls it a smuggling attempt
//     that "ought to be handled as an error").
//   - A request's Transfer-Encoding must end in chunked, else 400 (RFC 9112
//     §6.3); chunked listed twice is 400; another coding before chunked is
//     501 (§6.1: a coding the proxy does not understand, and it would have
//     to forward it unchanged to a backend that may not either). An empty
//     list element is 400. Transfer-Encoding in an HTTP/1.0 request is 400
//     (§6.1: its framing is faulty).
//   - A response whose Transfer-Encoding does not end in chunked is read
//     until close (§6.3); chunked twice, an empty element, or any
//     Transfer-Encoding in an HTTP/1.0 response is a 502.
//   - At most MaxHeaders fields; more is 431 for a request. A head that does
//     not fit the caller's buffer is 414 while the request line is
//     incomplete and 431 after it.
//   - Every response defect is a 502 (the client did nothing wrong),
//     including a response head too large for the buffer.
//   - Chunk sizes are 1 to 16 hex digits and at most 2^62; no sign, prefix
//     or whitespace is accepted except the optional whitespace the grammar
//     allows around ";" and "=" in chunk extensions, which must otherwise
//     be well-formed tokens or quoted strings. A chunk-size or trailer line
//     must fit in the reader's buffer and in 4 KiB; trailers are limited to
//     MaxHeaders fields and 16 KiB and are checked like header fields.
//
// After any error other than ErrNeedMore the connection cannot be re-synced
// and must be closed once the error response is written.
package h1

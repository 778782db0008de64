package h1

import "errors"

// Error is a protocol error together with the HTTP status the proxy answers
// with. All Errors are preallocated package values, so reporting one does
// not allocate; compare with errors.Is against the exported categories.
type Error struct {
	Status int
	Reason string
	// kind is the exported category this error refines, so that errors.Is
	// works on precise errors without exporting each of them.
	kind *Error
}

func (e *Error) Error() string { return e.Reason }

// Unwrap returns the category of a precise error (ErrBadRequest,
// ErrBadGateway, ErrBadChunk, ...), or nil for a category itself.
func (e *Error) Unwrap() error {
	if e.kind == nil {
		return nil
	}
	return e.kind
}

// ErrNeedMore is returned by Parse when the buffer does not yet hold a
// complete head. It is not an *Error: nothing is wrong yet.
var ErrNeedMore = errors.New("h1: incomplete message head")

// Categories. Precise errors unwrap to one of these.
var (
	ErrBadRequest          = &Error{Status: 400, Reason: "bad request"}
	ErrURITooLong          = &Error{Status: 414, Reason: "request line too long"}
	ErrHeaderTooLarge      = &Error{Status: 431, Reason: "request header fields too large"}
	ErrNotImplemented      = &Error{Status: 501, Reason: "not implemented"}
	ErrVersionNotSupported = &Error{Status: 505, Reason: "HTTP version not supported"}
	// ErrBadGateway is the category of every response defect.
	ErrBadGateway = &Error{Status: 502, Reason: "bad gateway"}
	// ErrBadChunk is the category of chunked-body framing errors. Its
	// status fits a request body; for a response body the head has already
	// been forwarded, so the status is moot.
	ErrBadChunk = &Error{Status: 400, Reason: "malformed chunked body"}
)

func badRequest(reason string) *Error {
	return &Error{Status: 400, Reason: reason, kind: ErrBadRequest}
}
func badGateway(reason string) *Error {
	return &Error{Status: 502, Reason: reason, kind: ErrBadGateway}
}
func badChunk(reason string) *Error { return &Error{Status: 400, Reason: reason, kind: ErrBadChunk} }

// Request-only errors.
var (
	errRequestLine  = badRequest("malformed request line")
	errMethod       = badRequest("invalid method")
	errTarget       = badRequest("invalid request-target")
	errPercent      = badRequest("invalid percent-encoding in path")
	errAsterisk     = badRequest("asterisk-form request-target is only valid for OPTIONS")
	errScheme       = badRequest("absolute-form request-target must use http or https")
	errUserinfo     = badRequest("userinfo in request-target")
	errVersion      = badRequest("malformed HTTP version")
	errMissingHost  = badRequest("missing Host header")
	errMultipleHost = badRequest("multiple Host headers")
	errHost         = badRequest("invalid Host")
	errConnect      = &Error{Status: 501, Reason: "CONNECT is not supported", kind: ErrNotImplemented}
	errUnknownTE    = &Error{Status: 501, Reason: "unsupported transfer coding", kind: ErrNotImplemented}
	errHTTP2        = &Error{Status: 505, Reason: "only HTTP/1.0 and HTTP/1.1 are supported", kind: ErrVersionNotSupported}
	errTooMany      = &Error{Status: 431, Reason: "too many header fields", kind: ErrHeaderTooLarge}
)

// Response-only errors.
var (
	errStatusLine   = badGateway("malformed response status line")
	errRespTooLarge = badGateway("response head too large")
)

// fieldErrors holds the errors the shared field parser reports, so that a
// request reports 4xx and a response 502 for the same defect.
type fieldErrors struct {
	bareLF, bareCR, obsFold, leadingSpace, name, value, tooMany,
	contentLength, conflictingLength, lengthAndEncoding,
	encoding, chunkedTwice, chunkedNotLast, encodingHTTP10 *Error
}

var reqErrors = fieldErrors{
	bareLF:            badRequest("bare LF line ending"),
	bareCR:            badRequest("bare CR in header section"),
	obsFold:           badRequest("obs-fold (folded header line)"),
	leadingSpace:      badRequest("whitespace before first header field"),
	name:              badRequest("invalid header name"),
	value:             badRequest("invalid character in header value"),
	tooMany:           errTooMany,
	contentLength:     badRequest("invalid Content-Length"),
	conflictingLength: badRequest("conflicting Content-Length"),
	lengthAndEncoding: badRequest("both Content-Length and Transfer-Encoding"),
	encoding:          badRequest("invalid Transfer-Encoding"),
	chunkedTwice:      badRequest("chunked transfer coding applied twice"),
	chunkedNotLast:    badRequest("Transfer-Encoding does not end in chunked"),
	encodingHTTP10:    badRequest("Transfer-Encoding in HTTP/1.0 request"),
}

var respErrors = fieldErrors{
	bareLF:            badGateway("bare LF line ending in response"),
	bareCR:            badGateway("bare CR in response header section"),
	obsFold:           badGateway("obs-fold (folded header line) in response"),
	leadingSpace:      badGateway("whitespace before first response header field"),
	name:              badGateway("invalid response header name"),
	value:             badGateway("invalid character in response header value"),
	tooMany:           badGateway("too many response header fields"),
	contentLength:     badGateway("invalid Content-Length in response"),
	conflictingLength: badGateway("conflicting Content-Length in response"),
	lengthAndEncoding: badGateway("both Content-Length and Transfer-Encoding in response"),
	encoding:          badGateway("invalid Transfer-Encoding in response"),
	chunkedTwice:      badGateway("chunked transfer coding applied twice in response"),
	chunkedNotLast:    nil, // a response is then read until close, not refused
	encodingHTTP10:    badGateway("Transfer-Encoding in HTTP/1.0 response"),
}

// Chunked-body errors.
var (
	errChunkSize      = badChunk("invalid chunk size")
	errChunkOverflow  = badChunk("chunk size too large")
	errChunkExt       = badChunk("invalid chunk extension")
	errChunkBareLF    = badChunk("bare LF in chunked body")
	errChunkCRLF      = badChunk("chunk data not followed by CRLF")
	errChunkLine      = badChunk("chunk-size or trailer line too long")
	errTrailer        = badChunk("invalid trailer field")
	errTrailerFold    = badChunk("obs-fold in trailer section")
	errTrailerTooMany = badChunk("trailer section too large")
)

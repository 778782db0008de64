package h1

// Header is one header field as received. Name and Value alias the parsed
// buffer; Value has its surrounding whitespace removed.
type Header struct{ Name, Value []byte }

// MaxHeaders bounds the number of header fields in a head, and of trailer
// fields in a chunked body.
const MaxHeaders = 100

// scanField parses the field line starting at buf[pos]. It returns next ==
// -1 when the line is incomplete, and name == nil with next >= 0 when the
// line is the empty line that ends the head. A defect in an incomplete line
// is reported at once.
func scanField(buf []byte, pos int, e *fieldErrors, first bool) (name, value []byte, next int, err error) {
	if pos >= len(buf) {
		return nil, nil, -1, nil
	}
	switch buf[pos] {
	case '\r':
		if pos+1 >= len(buf) {
			return nil, nil, -1, nil
		}
		if buf[pos+1] != '\n' {
			return nil, nil, 0, e.bareCR
		}
		return nil, nil, pos + 2, nil
	case '\n':
		return nil, nil, 0, e.bareLF
	case ' ', '\t':
		if first {
			return nil, nil, 0, e.leadingSpace
		}
		return nil, nil, 0, e.obsFold
	}
	i := pos
	for i < len(buf) && isToken(buf[i]) {
		i++
	}
	switch {
	case i == len(buf):
		return nil, nil, -1, nil
	case buf[i] == '\n':
		return nil, nil, 0, e.bareLF
	case buf[i] != ':' || i == pos:
		return nil, nil, 0, e.name
	}
	// The first byte that cannot be part of the value must be the CR of
	// the line's CRLF: finding it both ends the line and checks the value.
	v := buf[i+1:]
	k := ctlIndex(v)
	if k < 0 {
		return nil, nil, -1, nil
	}
	switch v[k] {
	case '\r':
		if k+1 == len(v) {
			return nil, nil, -1, nil
		}
		if v[k+1] != '\n' {
			return nil, nil, 0, e.value
		}
	case '\n':
		return nil, nil, 0, e.bareLF
	default:
		return nil, nil, 0, e.value
	}
	return buf[pos:i], trimOWS(v[:k]), i + 1 + k + 2, nil
}

// framing accumulates the fields that decide how a message is delimited and
// whether its connection persists; they are shared by requests and
// responses.
type framing struct {
	contentLength int64 // -1 until a Content-Length field is seen
	encoded       bool  // a Transfer-Encoding field was seen
	chunkedCount  int
	lastChunked   bool // the final transfer coding seen so far is chunked
	otherCoding   bool // a coding other than chunked was listed
	connClose     bool
	connKeepAlive bool
	connUpgrade   bool
	upgrade       bool // an Upgrade field was seen
}

// field records name: value if it is one of the framing fields.
func (f *framing) field(name, value []byte, e *fieldErrors) *Error {
	switch len(name) {
	case len("connection"):
		if EqualFold(name, "connection") {
			for list, more := value, true; more; {
				var tok []byte
				tok, list, more = nextElement(list)
				switch {
				case EqualFold(tok, "close"):
					f.connClose = true
				case EqualFold(tok, "keep-alive"):
					f.connKeepAlive = true
				case EqualFold(tok, "upgrade"):
					f.connUpgrade = true
				}
			}
		}
	case len("upgrade"):
		if EqualFold(name, "upgrade") {
			f.upgrade = true
		}
	case len("content-length"):
		if EqualFold(name, "content-length") {
			return f.length(value, e)
		}
	case len("transfer-encoding"):
		if EqualFold(name, "transfer-encoding") {
			f.encoded = true
			for list, more := value, true; more; {
				var coding []byte
				coding, list, more = nextElement(list)
				switch {
				case len(coding) == 0:
					return e.encoding
				case EqualFold(coding, "chunked"):
					f.chunkedCount++
					f.lastChunked = true
				default:
					f.otherCoding = true
					f.lastChunked = false
				}
			}
		}
	}
	return nil
}

// length records a Content-Length field: a list of decimal values that must
// all be equal, to each other and to any earlier Content-Length.
func (f *framing) length(value []byte, e *fieldErrors) *Error {
	for list, more := value, true; more; {
		var elem []byte
		elem, list, more = nextElement(list)
		n, ok := parseDecimal(elem)
		if !ok {
			return e.contentLength
		}
		if f.contentLength >= 0 && f.contentLength != n {
			return e.conflictingLength
		}
		f.contentLength = n
	}
	return nil
}

// finish checks the framing fields against each other. It reports whether
// the body is chunked and whether the connection must close.
func (f *framing) finish(minor int, e *fieldErrors) (chunked, closeConn bool, err *Error) {
	closeConn = f.connClose || minor == 0 && !f.connKeepAlive
	if !f.encoded {
		return false, closeConn, nil
	}
	switch {
	case f.contentLength >= 0:
		return false, closeConn, e.lengthAndEncoding
	case minor == 0:
		return false, closeConn, e.encodingHTTP10
	case f.chunkedCount > 1:
		return false, closeConn, e.chunkedTwice
	}
	return f.lastChunked, closeConn, nil
}

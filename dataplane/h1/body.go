package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

const (
	// maxChunkLine bounds a chunk-size line (extensions included) and each
	// trailer line; a line must also fit in the reader's buffer.
	maxChunkLine = 4096
	// maxTrailerBytes bounds the whole trailer section.
	maxTrailerBytes = 16 << 10
	// maxChunkSize is the largest chunk accepted, far beyond any real body
	// but safe from overflow when added to running totals.
	maxChunkSize = 1 << 62
)

// CopyLength copies exactly n body bytes from src to dst and returns the
// number copied. It writes straight out of src's buffer, one Write per
// buffer fill, and allocates nothing. A body that ends early returns
// io.ErrUnexpectedEOF; other errors come unchanged from src or dst (a
// *net.OpError tells which side by its Op).
func CopyLength(dst io.Writer, src *bufio.Reader, n int64) (int64, error) {
	var written int64
	for written < n {
		win, err := window(src)
		if err != nil {
			return written, err
		}
		win = win[:min(int64(len(win)), n-written)]
		w, err := write(dst, win)
		src.Discard(w)
		written += int64(w)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// CopyChunked forwards a chunked body verbatim: chunk-size lines with their
// extensions, data, the last chunk, trailers and the final CRLF. Every byte
// is checked before it is written (see the package documentation for the
// rules), so a malformed body stops before its first bad byte reaches dst.
// It returns the number of chunk-data bytes written; a framing error wraps
// ErrBadChunk. Like CopyLength it writes out of src's buffer and does not
// allocate.
func CopyChunked(dst io.Writer, src *bufio.Reader) (int64, error) {
	return copyChunked(dst, src, true)
}

// CopyDechunked is CopyChunked for a recipient that cannot receive chunked
// coding (an HTTP/1.0 client): it checks the same framing but writes only
// the chunk data, dropping extensions and trailers.
func CopyDechunked(dst io.Writer, src *bufio.Reader) (int64, error) {
	return copyChunked(dst, src, false)
}

// chunkState is where the chunked-body parser stands.
type chunkState uint8

const (
	atSize    chunkState = iota // at the start of a chunk-size line
	inData                      // inside chunk data
	atDataEnd                   // at the CRLF that ends chunk data
	atTrailer                   // at the start of a trailer line or the final CRLF
)

// chunkParser checks chunked framing over successive windows of the
// reader's buffer.
type chunkParser struct {
	state        chunkState
	remain       int64 // data bytes left in the current chunk
	trailers     int
	trailerBytes int
}

func copyChunked(dst io.Writer, src *bufio.Reader, verbatim bool) (int64, error) {
	var p chunkParser
	var written int64 // chunk data bytes written
	for {
		win, err := window(src)
		if err != nil {
			return written, err
		}
		// pos is how far win has been checked; need, when non-zero, is how
		// many bytes from pos the parser needs in one piece to go on.
		pos, need, data := 0, 0, int64(0)
		done := false
		for pos < len(win) && need == 0 && !done {
			switch p.state {
			case atSize, atTrailer:
				i := bytes.IndexByte(win[pos:], '\n')
				if i < 0 {
					if p.state == atSize && sizeOverflows(win[pos:]) {
						return written, errChunkOverflow
					}
					need = len(win) - pos + 1
					break
				}
				line := win[pos : pos+i+1]
				if p.state == atSize {
					// An overflowing size is reported as such however long
					// the line, as it is when the line arrives in pieces.
					size, err := parseChunkLine(line)
					if err == nil && len(line) > maxChunkLine {
						err = errChunkLine
					}
					if err != nil {
						return written, err
					}
					p.remain = size
					p.state = inData
					if size == 0 {
						p.state = atTrailer
					}
				} else {
					if len(line) > maxChunkLine {
						return written, errChunkLine
					}
					end, err := p.trailer(line)
					if err != nil {
						return written, err
					}
					done = end
				}
				pos += len(line)
			case inData:
				k := int(min(int64(len(win)-pos), p.remain))
				if !verbatim {
					w, err := write(dst, win[pos:pos+k])
					written += int64(w)
					if err != nil {
						src.Discard(pos + w)
						return written, err
					}
				}
				pos += k
				data += int64(k)
				if p.remain -= int64(k); p.remain == 0 {
					p.state = atDataEnd
				}
			case atDataEnd:
				switch {
				case win[pos] == '\n':
					return written, errChunkBareLF
				case win[pos] != '\r':
					return written, errChunkCRLF
				case pos+1 == len(win):
					need = 2
				case win[pos+1] != '\n':
					return written, errChunkCRLF
				default:
					pos += 2
					p.state = atSize
				}
			}
		}
		if verbatim {
			if w, err := write(dst, win[:pos]); err != nil {
				src.Discard(w)
				return written, err
			}
			written += data
		}
		src.Discard(pos)
		if done {
			return written, nil
		}
		if need > 0 {
			if need > maxChunkLine+1 {
				return written, errChunkLine
			}
			if _, err := src.Peek(need); err != nil {
				if err == bufio.ErrBufferFull {
					return written, errChunkLine
				}
				return written, unexpected(err)
			}
		}
	}
}

// trailer checks one trailer line (CRLF included). done is set by the
// empty line that ends the body.
func (p *chunkParser) trailer(line []byte) (done bool, err *Error) {
	n := len(line)
	if n < 2 || line[n-2] != '\r' {
		return false, errChunkBareLF
	}
	if n == 2 {
		return true, nil
	}
	if isOWS(line[0]) {
		return false, errTrailerFold
	}
	p.trailers++
	p.trailerBytes += n
	if p.trailers > MaxHeaders || p.trailerBytes > maxTrailerBytes {
		return false, errTrailerTooMany
	}
	field := line[:n-2]
	i := 0
	for i < len(field) && isToken(field[i]) {
		i++
	}
	if i == 0 || i == len(field) || field[i] != ':' || !validValue(field[i+1:]) {
		return false, errTrailer
	}
	return false, nil
}

// parseChunkLine parses chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1),
// given the line through its LF.
func parseChunkLine(line []byte) (int64, *Error) {
	// The size is checked first, as sizeOverflows does on an incomplete
	// line, so that the verdict does not depend on where reads split.
	if sizeOverflows(line) {
		return 0, errChunkOverflow
	}
	n := len(line)
	if n < 2 || line[n-2] != '\r' {
		return 0, errChunkBareLF
	}
	line = line[:n-2]
	var size int64
	i := 0
	for ; i < len(line) && isHex(line[i]); i++ {
		size = size<<4 | hexVal(line[i])
	}
	if i == 0 {
		return 0, errChunkSize
	}
	if i < len(line) && !isOWS(line[i]) && line[i] != ';' {
		return 0, errChunkSize
	}
	// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
	for i < len(line) {
		j := skipOWS(line, i)
		if j == len(line) || line[j] != ';' {
			return 0, errChunkExt
		}
		j = skipOWS(line, j+1)
		k := tokenEnd(line, j)
		if k == j {
			return 0, errChunkExt
		}
		if j = skipOWS(line, k); j < len(line) && line[j] == '=' {
			j = skipOWS(line, j+1)
			if j < len(line) && line[j] == '"' {
				k = quotedEnd(line, j)
			} else if k = tokenEnd(line, j); k == j {
				k = -1
			}
			if k < 0 {
				return 0, errChunkExt
			}
		}
		i = k
	}
	return size, nil
}

// sizeOverflows reports whether a chunk-size line, complete or not, starts
// with more than 16 hex digits or a size above maxChunkSize. Checking an
// incomplete line refuses an endless size before it fills the buffer.
func sizeOverflows(line []byte) bool {
	var size int64
	for i, c := range line {
		if !isHex(c) {
			break
		}
		if i == 16 || size > maxChunkSize>>4 {
			return true
		}
		size = size<<4 | hexVal(c)
	}
	return size > maxChunkSize
}

func skipOWS(s []byte, i int) int {
	for i < len(s) && isOWS(s[i]) {
		i++
	}
	return i
}

func tokenEnd(s []byte, i int) int {
	for i < len(s) && isToken(s[i]) {
		i++
	}
	return i
}

// quotedEnd returns the index just past the quoted-string starting at
// s[i], or -1 if it is malformed (RFC 9110 §5.6.4).
func quotedEnd(s []byte, i int) int {
	for i++; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 == len(s) || class[s[i+1]]&clsValue == 0 {
				return -1
			}
			i++
		case class[c]&clsValue == 0:
			return -1
		}
	}
	return -1
}

// window returns src's buffered bytes, reading once if none are.
func window(src *bufio.Reader) ([]byte, error) {
	if src.Buffered() == 0 {
		if _, err := src.Peek(1); err != nil {
			return nil, unexpected(err)
		}
	}
	win, _ := src.Peek(src.Buffered())
	return win, nil
}

// write writes b to dst, turning a short write into an error.
func write(dst io.Writer, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := dst.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return n, err
}

// unexpected reports a body cut short by the end of the stream as such.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

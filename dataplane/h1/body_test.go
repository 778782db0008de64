package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// bufSizes are reader sizes that put buffer boundaries inside every part of
// a chunked body; 16 is bufio's minimum.
var bufSizes = []int{16, 17, 31, 64, 4096}

func TestCopyLength(t *testing.T) {
	body := strings.Repeat("0123456789", 1000)
	for _, size := range bufSizes {
		src := bufio.NewReaderSize(strings.NewReader(body+"NEXT"), size)
		var dst bytes.Buffer
		n, err := CopyLength(&dst, src, int64(len(body)))
		if err != nil || n != int64(len(body)) || dst.String() != body {
			t.Fatalf("size %d: n=%d err=%v, body intact=%v", size, n, err, dst.String() == body)
		}
		rest, _ := io.ReadAll(src)
		if string(rest) != "NEXT" {
			t.Errorf("size %d: left %q in the reader, want NEXT", size, rest)
		}
	}
}

func TestCopyLengthShort(t *testing.T) {
	src := bufio.NewReaderSize(strings.NewReader("abc"), 16)
	n, err := CopyLength(io.Discard, src, 10)
	if n != 3 || err != io.ErrUnexpectedEOF {
		t.Errorf("n=%d err=%v, want 3 and io.ErrUnexpectedEOF", n, err)
	}
	n, err = CopyLength(io.Discard, bufio.NewReader(strings.NewReader("")), 0)
	if n != 0 || err != nil {
		t.Errorf("empty body: n=%d err=%v", n, err)
	}
}

type failWriter struct{ after int }

var errWrite = errors.New("write failed")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) <= w.after {
		w.after -= len(p)
		return len(p), nil
	}
	n := w.after
	w.after = 0
	return n, errWrite
}

func TestCopyWriteError(t *testing.T) {
	src := bufio.NewReader(strings.NewReader(strings.Repeat("x", 100)))
	n, err := CopyLength(&failWriter{after: 40}, src, 100)
	if n != 40 || err != errWrite {
		t.Errorf("CopyLength: n=%d err=%v, want 40 and the writer's error", n, err)
	}
	src = bufio.NewReader(strings.NewReader("5\r\nhello\r\n0\r\n\r\n"))
	if _, err := CopyChunked(&failWriter{after: 3}, src); err != errWrite {
		t.Errorf("CopyChunked: err=%v, want the writer's error", err)
	}
}

func TestCopyChunkedValid(t *testing.T) {
	tests := []struct {
		name, in, data string
	}{
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"},
		{"several chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world"},
		{"empty body", "0\r\n\r\n", ""},
		{"upper and lower hex", "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij"},
		{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"},
		{"sixteen digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello"},
		{"extension", "5;name\r\nhello\r\n0;last=yes\r\n\r\n", "hello"},
		{"extensions with whitespace", "5 ; a = b ;c\t;d=\"q \\\" ;x\"\r\nhello\r\n0\r\n\r\n", "hello"},
		{"trailers", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Empty:\r\n\r\n", "hello"},
		{"CRLF in data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"},
		{"large chunk", "1000\r\n" + strings.Repeat("z", 0x1000) + "\r\n0\r\n\r\n", strings.Repeat("z", 0x1000)},
	}
	for _, tt := range tests {
		for _, size := range bufSizes {
			src := bufio.NewReaderSize(strings.NewReader(tt.in+"NEXT"), size)
			var dst bytes.Buffer
			n, err := CopyChunked(&dst, src)
			if longestLine(tt.in) > size {
				// A line must fit in the reader's buffer.
				if err != errChunkLine {
					t.Errorf("%s, size %d: %v, want %v", tt.name, size, err, errChunkLine)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s, size %d: %v", tt.name, size, err)
			}
			if dst.String() != tt.in {
				t.Errorf("%s, size %d: forwarded %q, want it verbatim", tt.name, size, dst.String())
			}
			if n != int64(len(tt.data)) {
				t.Errorf("%s, size %d: n=%d, want %d", tt.name, size, n, len(tt.data))
			}
			if rest, _ := io.ReadAll(src); string(rest) != "NEXT" {
				t.Errorf("%s, size %d: left %q, want NEXT", tt.name, size, rest)
			}

			src = bufio.NewReaderSize(strings.NewReader(tt.in+"NEXT"), size)
			dst.Reset()
			n, err = CopyDechunked(&dst, src)
			if err != nil || dst.String() != tt.data || n != int64(len(tt.data)) {
				t.Errorf("%s, size %d: dechunked %q n=%d err=%v, want %q", tt.name, size, dst.String(), n, err, tt.data)
			}
			if rest, _ := io.ReadAll(src); string(rest) != "NEXT" {
				t.Errorf("%s, size %d: dechunk left %q, want NEXT", tt.name, size, rest)
			}
		}
	}
}

func TestCopyChunkedInvalid(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", errChunkOverflow},
		{"above 2^62", "4000000000000001\r\n", errChunkOverflow},
		{"2^64-1", "FFFFFFFFFFFFFFFF\r\n", errChunkOverflow},
		{"huge", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\r\n", errChunkOverflow},
		{"endless", strings.Repeat("F", 2*maxChunkLine) + "\r\n", errChunkOverflow},
		{"long trailer", "0\r\nX: " + strings.Repeat("v", maxChunkLine) + "\r\n\r\n", errChunkLine},
		{"bad hex", "5g\r\nhello\r\n0\r\n\r\n", errChunkSize},
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", errChunkSize},
		{"minus", "-5\r\nhello\r\n0\r\n\r\n", errChunkSize},
		{"plus", "+5\r\nhello\r\n0\r\n\r\n", errChunkSize},
		{"leading space", " 5\r\nhello\r\n0\r\n\r\n", errChunkSize},
		{"empty size", "\r\nhello\r\n0\r\n\r\n", errChunkSize},
		{"trailing space", "5 \r\nhello\r\n0\r\n\r\n", errChunkExt},
		{"trailing tab", "5\t\r\nhello\r\n0\r\n\r\n", errChunkExt},
		{"bare LF size line", "5\nhello\r\n0\r\n\r\n", errChunkBareLF},
		{"bare LF last chunk", "5\r\nhello\r\n0\n\r\n", errChunkBareLF},
		{"bare CR size line", "5\rhello\r\n0\r\n\r\n", errChunkSize},
		{"data too long", "5\r\nhelloX\r\n0\r\n\r\n", errChunkCRLF},
		{"data CR only", "5\r\nhello\rX0\r\n\r\n", errChunkCRLF},
		{"data bare LF", "5\r\nhello\n0\r\n\r\n", errChunkBareLF},
		{"empty extension", "5;\r\nhello\r\n0\r\n\r\n", errChunkExt},
		{"extension without value", "5;a=\r\nhello\r\n0\r\n\r\n", errChunkExt},
		{"extension trailing space", "5;a \r\nhello\r\n0\r\n\r\n", errChunkExt},
		{"unterminated quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n", errChunkExt},
		{"control in quote", "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", errChunkExt},
		{"extension without semicolon", "5 a\r\nhello\r\n0\r\n\r\n", errChunkExt},
		{"long extension", "5;a=" + strings.Repeat("b", maxChunkLine) + "\r\nhello\r\n0\r\n\r\n", errChunkLine},
		{"trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", errTrailerFold},
		{"trailer no colon", "0\r\nX\r\n\r\n", errTrailer},
		{"trailer space before colon", "0\r\nX : a\r\n\r\n", errTrailer},
		{"trailer control", "0\r\nX: \x00\r\n\r\n", errTrailer},
		{"trailer bare LF", "0\r\nX: a\n\r\n", errChunkBareLF},
		{"final bare LF", "0\r\n\n", errChunkBareLF},
		{"too many trailers", "0\r\n" + strings.Repeat("X: y\r\n", MaxHeaders+1) + "\r\n", errTrailerTooMany},
		{"truncated data", "5\r\nhel", io.ErrUnexpectedEOF},
		{"truncated size", "5", io.ErrUnexpectedEOF},
		{"no last chunk", "5\r\nhello\r\n", io.ErrUnexpectedEOF},
		{"no final CRLF", "0\r\n", io.ErrUnexpectedEOF},
		{"half final CRLF", "0\r\n\r", io.ErrUnexpectedEOF},
		{"empty", "", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		for _, size := range bufSizes {
			for _, copy := range []func(io.Writer, *bufio.Reader) (int64, error){CopyChunked, CopyDechunked} {
				src := bufio.NewReaderSize(strings.NewReader(tt.in), size)
				_, err := copy(io.Discard, src)
				want := tt.want
				if err == errChunkLine && longestLine(tt.in) > size {
					continue // refused before the defect was reached, just as well
				}
				if err != want {
					t.Errorf("%s, size %d: %v, want %v", tt.name, size, err, want)
				}
				if e, ok := want.(*Error); ok && !errors.Is(err, ErrBadChunk) {
					t.Errorf("%s: %v does not wrap ErrBadChunk", tt.name, e)
				}
			}
		}
	}
}

func TestCopyChunkedLineLongerThanBuffer(t *testing.T) {
	in := "5;ext=" + strings.Repeat("v", 40) + "\r\nhello\r\n0\r\n\r\n"
	if _, err := CopyChunked(io.Discard, bufio.NewReaderSize(strings.NewReader(in), 16)); err != errChunkLine {
		t.Errorf("16-byte buffer: %v, want %v", err, errChunkLine)
	}
	if _, err := CopyChunked(io.Discard, bufio.NewReaderSize(strings.NewReader(in), 64)); err != nil {
		t.Errorf("64-byte buffer: %v", err)
	}
}

func TestCopyChunkedStopsBeforeBadBytes(t *testing.T) {
	// Nothing after the last good element may reach the backend.
	in := "5\r\nhello\r\n5\r\nworldX\r\n0\r\n\r\n"
	var dst bytes.Buffer
	_, err := CopyChunked(&dst, bufio.NewReaderSize(strings.NewReader(in), 4096))
	if err != errChunkCRLF {
		t.Fatalf("err=%v", err)
	}
	if strings.Contains(dst.String(), "X") {
		t.Errorf("forwarded bytes past the error: %q", dst.String())
	}
}

// longestLine returns the length of the longest CRLF-terminated line in the
// framing of a chunked body, chunk data excluded.
func longestLine(body string) int {
	longest := 0
	for len(body) > 0 {
		i := strings.Index(body, "\r\n")
		if i < 0 {
			return max(longest, len(body))
		}
		longest = max(longest, i+2)
		var size int64
		for _, c := range body[:i] {
			if !isHex(byte(c)) {
				break
			}
			size = size<<4 | hexVal(byte(c))
		}
		body = body[i+2:]
		if size > 0 && int64(len(body)) > size {
			body = body[size:]
		}
	}
	return longest
}

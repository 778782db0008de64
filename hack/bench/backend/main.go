// Command backend is the origin server of the side-by-side benchmark. It
// shares a core with the load generator, so it does as little as possible
// per request: no net/http, canned responses, and no copy of bulk data
// through user space.
//
//	backend -http 127.0.0.1:18081 -tcp 127.0.0.1:19081
//
// HTTP: GET / answers 64 bytes, GET /16k 16 KiB, anything else 404. Requests
// must not carry a body (the load generators send none); pipelined requests
// are answered in one write. "Connection: close" and HTTP/1.0 close the
// connection after the response.
//
// TCP: the client sends a decimal byte count and a newline; the server sends
// that many bytes and closes.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

const (
	smallBody = 64
	largeBody = 16 << 10
	// Above this a TCP transfer is sent from a tmpfs file with sendfile(2);
	// below it one write from memory is cheaper than opening the file.
	sendfileMin = 64 << 10
	fileSize    = 8 << 20
	maxTransfer = 1 << 34
)

func main() {
	httpAddr := flag.String("http", "", "HTTP listen address")
	tcpAddr := flag.String("tcp", "", "TCP (byte count) listen address")
	flag.Parse()
	if *httpAddr == "" && *tcpAddr == "" {
		log.Fatal("backend: give -http and/or -tcp")
	}
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			log.Fatalf("backend: %v", err)
		}
		go acceptLoop(ln, serveHTTP)
	}
	var data string
	if *tcpAddr != "" {
		var err error
		data, err = makeDataFile()
		if err != nil {
			log.Fatalf("backend: %v", err)
		}
		ln, err := net.Listen("tcp", *tcpAddr)
		if err != nil {
			os.Remove(data)
			log.Fatalf("backend: %v", err)
		}
		go acceptLoop(ln, func(c net.Conn) { serveBytes(c, data) })
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	if data != "" {
		os.Remove(data)
	}
}

func acceptLoop(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			// Out of descriptors under a connection storm: back off, the
			// load generator counts the failures.
			log.Printf("backend: accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c)
	}
}

// Responses are built once; the body is printable so a failed pre-flight
// check is readable with curl.
var (
	respSmall      = response(200, smallBody, false)
	respSmallClose = response(200, smallBody, true)
	respLarge      = response(200, largeBody, false)
	respLargeClose = response(200, largeBody, true)
	respNotFound   = response(404, 0, true)
)

func response(status, size int, closeConn bool) []byte {
	reason := map[int]string{200: "OK", 404: "Not Found"}[status]
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n", status, reason, size)
	if closeConn {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.Write(bytes.Repeat([]byte("x"), size))
	return b.Bytes()
}

func serveHTTP(c net.Conn) {
	defer c.Close()
	in := make([]byte, 8<<10)
	var out []byte
	n := 0
	for {
		m, err := c.Read(in[n:])
		if m == 0 && err != nil {
			return
		}
		n += m
		out = out[:0]
		done, closeConn := 0, false
		for !closeConn {
			end := bytes.Index(in[done:n], []byte("\r\n\r\n"))
			if end < 0 {
				break
			}
			var resp []byte
			resp, closeConn = answer(in[done : done+end])
			out = append(out, resp...)
			done += end + 4
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
		if closeConn {
			return
		}
		n = copy(in, in[done:n])
		if n == len(in) {
			return // a header block larger than the buffer: not from our load
		}
	}
}

// answer picks the canned response for one request head (without the blank
// line) and says whether the connection ends after it.
func answer(head []byte) ([]byte, bool) {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	fields := bytes.Fields(line)
	if len(fields) != 3 || !bytes.Equal(fields[0], []byte("GET")) {
		return respNotFound, true
	}
	closeConn := bytes.Equal(fields[2], []byte("HTTP/1.0")) || wantsClose(rest)
	switch string(fields[1]) {
	case "/":
		if closeConn {
			return respSmallClose, true
		}
		return respSmall, false
	case "/16k":
		if closeConn {
			return respLargeClose, true
		}
		return respLarge, false
	}
	return respNotFound, true
}

// wantsClose reports whether the header lines carry "Connection: close".
func wantsClose(headers []byte) bool {
	for len(headers) > 0 {
		var h []byte
		h, headers, _ = bytes.Cut(headers, []byte("\r\n"))
		name, value, ok := bytes.Cut(h, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("connection")) &&
			bytes.Contains(bytes.ToLower(value), []byte("close")) {
			return true
		}
	}
	return false
}

var smallData = bytes.Repeat([]byte("y"), sendfileMin)

func serveBytes(c net.Conn, dataFile string) {
	defer c.Close()
	var req [32]byte
	n := 0
	for !bytes.Contains(req[:n], []byte("\n")) {
		if n == len(req) {
			return
		}
		m, err := c.Read(req[n:])
		if err != nil {
			return
		}
		n += m
	}
	line, _, _ := bytes.Cut(req[:n], []byte("\n"))
	size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 10, 64)
	if err != nil || size < 0 || size > maxTransfer {
		return
	}
	if size <= sendfileMin {
		c.Write(smallData[:size])
		return
	}
	f, err := os.Open(dataFile)
	if err != nil {
		log.Printf("backend: %v", err)
		return
	}
	defer f.Close()
	tc := c.(*net.TCPConn)
	for size > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return
		}
		chunk := min(size, fileSize)
		// A LimitedReader over an *os.File is what lets TCPConn.ReadFrom
		// use sendfile(2).
		sent, err := tc.ReadFrom(&io.LimitedReader{R: f, N: chunk})
		size -= sent
		if err != nil || sent == 0 {
			return
		}
	}
}

// makeDataFile writes the bulk payload to tmpfs when there is one, so
// sendfile reads from memory, not disk.
func makeDataFile() (string, error) {
	dir := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir = "/dev/shm"
	}
	f, err := os.CreateTemp(dir, "sluice-bench-*.bin")
	if err != nil {
		return "", fmt.Errorf("bulk payload: %w", err)
	}
	_, werr := f.Write(bytes.Repeat([]byte("z"), fileSize))
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("bulk payload %s: %w", filepath.Base(f.Name()), err)
	}
	return f.Name(), nil
}

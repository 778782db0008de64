package sock

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
)

func freePipes() int {
	pipes.Lock()
	defer pipes.Unlock()
	return len(pipes.free)
}

// Bulk copies between two Conns, whichever way they were made, carry every
// byte through the splice path and leave its pipe for the next one.
func TestSplice(t *testing.T) {
	for _, from := range kinds {
		for _, to := range kinds {
			t.Run(from.name+" to "+to.name, func(t *testing.T) {
				src, srcPeer := from.pair(t)
				dst, dstPeer := to.pair(t)
				payload := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstu\n"), 3<<15)
				payload = append(payload, "tail"...)
				go func() {
					srcPeer.Write(payload)
					srcPeer.(*net.TCPConn).CloseWrite()
				}()
				got := make(chan []byte, 1)
				go func() {
					b, _ := io.ReadAll(dstPeer)
					got <- b
				}()
				before := freePipes()
				n, err := io.Copy(dst, src)
				if err != nil || n != int64(len(payload)) {
					t.Fatalf("io.Copy = %d, %v; want %d", n, err, len(payload))
				}
				dst.CloseWrite()
				if b := <-got; !bytes.Equal(b, payload) {
					t.Fatalf("peer got %d bytes, not the %d sent", len(b), len(payload))
				}
				if after := freePipes(); after != max(before, 1) {
					t.Fatalf("%d free pipes after a splice (%d before): the pipe was not used or not kept", after, before)
				}
			})
		}
	}
}

// Copies with something that is not a Conn go through user space.
func TestCopyOtherEnds(t *testing.T) {
	c, peer := dialed(t)
	text := strings.Repeat("abc", 50000)
	go func() {
		if _, err := c.ReadFrom(strings.NewReader(text)); err != nil {
			t.Error(err)
		}
		c.CloseWrite()
	}()
	b, err := io.ReadAll(peer)
	if err != nil || string(b) != text {
		t.Fatalf("ReadFrom a strings.Reader: peer got %d bytes, %v", len(b), err)
	}

	go func() {
		peer.Write([]byte(text))
		peer.(*net.TCPConn).CloseWrite()
	}()
	var out bytes.Buffer
	if n, err := c.WriteTo(&out); err != nil || n != int64(len(text)) || out.String() != text {
		t.Fatalf("WriteTo a bytes.Buffer = %d, %v", n, err)
	}
}

// The peer of the destination goes away mid-stream: the copy fails with
// the write error instead of hanging, and the half-full pipe is not kept.
func TestSpliceBrokenDestination(t *testing.T) {
	src, srcPeer := accepted(t)
	dst, dstPeer := dialed(t)
	dstPeer.(*net.TCPConn).SetLinger(0)
	dstPeer.Close()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range 64 {
			if _, err := srcPeer.Write(chunk); err != nil {
				return
			}
		}
		srcPeer.(*net.TCPConn).CloseWrite()
	}()
	if _, err := io.Copy(dst, src); err == nil {
		t.Fatal("a copy into a reset connection reported success")
	}
}

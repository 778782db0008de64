package dataplane

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// copyAuto carries every byte of short exchanges and of bulk streams (which
// move to the splice path after the first full buffer), wrapped or not.
func TestCopyAuto(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		raw  bool
	}{
		{"empty", 0, true},
		{"small", 64, true},
		{"one buffer", 16 << 10, true},
		{"bulk", 3<<20 + 17, true},
		{"bulk, plain net.Conn", 3<<20 + 17, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, srcPeer := tcpPair(t)
			dst, dstPeer := tcpPair(t)
			var s, d net.Conn = src, dst
			if !tc.raw {
				s, d = src.TCPConn, dst.TCPConn
			}
			payload := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstu\n"), tc.size/32+1)[:tc.size]
			go func() {
				srcPeer.Write(payload)
				srcPeer.(*net.TCPConn).CloseWrite()
			}()
			got := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(dstPeer)
				got <- b
			}()
			n, err := copyAuto(d, s)
			if err != nil || n != int64(tc.size) {
				t.Fatalf("copyAuto = %d, %v; want %d", n, err, tc.size)
			}
			dst.CloseWrite()
			if b := <-got; !bytes.Equal(b, payload) {
				t.Fatalf("peer got %d bytes, not the %d sent", len(b), len(payload))
			}
		})
	}
}

package sock

import (
	"net"
	"testing"
	"time"
)

// Raw accept and connect read and write socket addresses themselves (port
// in network byte order): both families round-trip.
func TestDialAcceptAddresses(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				t.Skipf("no %s: %v", host, err)
			}
			l, err := NewListener(ln.(*net.TCPListener))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			dialed := make(chan *Conn, 1)
			go func() {
				c, err := Dial(l.Addr().(*net.TCPAddr).AddrPort(), time.Second)
				if err != nil {
					t.Error(err)
				}
				dialed <- c
			}()
			a, err := l.AcceptConn()
			if err != nil {
				t.Fatal(err)
			}
			defer func() { a.Close(); Put(a) }()
			d := <-dialed
			if d == nil {
				return
			}
			defer func() { d.Close(); Put(d) }()
			if got, want := a.RemoteAddr().String(), d.LocalAddr().String(); got != want {
				t.Errorf("accepted RemoteAddr = %s, dialed LocalAddr = %s", got, want)
			}
			if got, want := d.RemoteAddr().String(), l.Addr().String(); got != want {
				t.Errorf("dialed RemoteAddr = %s, want %s", got, want)
			}
			if _, err := d.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := d.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if n, err := a.Read(buf); n != 1 || err != nil {
				t.Fatalf("Read = %d, %v", n, err)
			}
			if n, err := a.Read(buf); n != 0 || err == nil {
				t.Fatalf("Read after the peer's CloseWrite = %d, %v; want EOF", n, err)
			}
		})
	}
}

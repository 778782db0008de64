package dataplane

import (
	"bufio"
	"net"
	"sync"
	"time"

	"sluice.dev/sluice/dataplane/backend"
)

// upstream is one HTTP/1.1 connection to a server, with its read buffer.
// Idle upstreams wait in their server's idle list (or in a client
// connection's small cache) for the next request.
type upstream struct {
	srv  *backend.Server
	conn net.Conn
	br   *bufio.Reader
}

// Close closes the connection and returns its buffer to the pool.
func (u *upstream) Close() error {
	err := u.conn.Close()
	if u.br != nil {
		putReader(u.br)
		u.br = nil
	}
	return err
}

// upstreamBufSize is the server-side read buffer: large enough for any
// response head the client side accepts, and for small bodies to be
// forwarded together with their head in one write.
const upstreamBufSize = 16 << 10

var readerPool sync.Pool

func getReader(c net.Conn, size int) *bufio.Reader {
	if v := readerPool.Get(); v != nil {
		br := v.(*bufio.Reader)
		if br.Size() == size {
			br.Reset(c)
			return br
		}
	}
	return bufio.NewReaderSize(c, size)
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readerPool.Put(br)
}

// dialUpstream opens a new connection to srv.
func dialUpstream(srv *backend.Server, timeout time.Duration) (*upstream, error) {
	conn, err := dialTCP(srv.Addr, timeout)
	if err != nil {
		return nil, err
	}
	return &upstream{srv: srv, conn: conn, br: getReader(conn, upstreamBufSize)}, nil
}

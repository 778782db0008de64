// Command goproxy is the benchmark's standard-library peer: what a Go
// program gets from net/http with httputil.ReverseProxy, and a TCP relay
// made of two io.Copy calls (splice(2) between sockets on Linux). Both
// balance round robin.
//
//	goproxy -listen 127.0.0.1:18400 -backends 127.0.0.1:18081,127.0.0.1:18082 \
//	        -l4-listen 127.0.0.1:19400 -l4-backends 127.0.0.1:19081,127.0.0.1:19082
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18400", "HTTP listen address")
	backends := flag.String("backends", "127.0.0.1:18081,127.0.0.1:18082", "HTTP backends, comma-separated")
	l4Listen := flag.String("l4-listen", "", "TCP listen address (empty: no relay)")
	l4Backends := flag.String("l4-backends", "127.0.0.1:19081,127.0.0.1:19082", "TCP backends, comma-separated")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("goproxy: %v", err)
	}
	srv := &http.Server{
		Handler:           reverseProxy(strings.Split(*backends, ",")),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
	}
	go func() { log.Fatalf("goproxy: %v", srv.Serve(ln)) }()

	if *l4Listen != "" {
		tl, err := net.Listen("tcp", *l4Listen)
		if err != nil {
			log.Fatalf("goproxy: %v", err)
		}
		go relay(tl, strings.Split(*l4Backends, ","))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}

type roundRobin struct {
	next  atomic.Uint64
	addrs []string
}

func (r *roundRobin) pick() string {
	return r.addrs[(r.next.Add(1)-1)%uint64(len(r.addrs))]
}

func reverseProxy(addrs []string) http.Handler {
	rr := &roundRobin{addrs: addrs}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: rr.pick()})
			pr.Out.Host = pr.In.Host
		},
		// The default transport keeps only two idle connections per host,
		// which would turn 50 client connections into backend churn.
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		// Without a pool, ReverseProxy allocates a 32 KiB copy buffer for
		// every response, which a tuned deployment would not pay.
		BufferPool: &bufferPool{},
		ErrorLog:   log.New(io.Discard, "", 0),
	}
}

// bufferPool gives ReverseProxy its body copy buffers from a sync.Pool.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func relay(ln net.Listener, addrs []string) {
	rr := &roundRobin{addrs: addrs}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Printf("goproxy: accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go func() {
			defer c.Close()
			b, err := net.DialTimeout("tcp", rr.pick(), 5*time.Second)
			if err != nil {
				return
			}
			defer b.Close()
			done := make(chan struct{})
			go func() {
				pipe(b.(*net.TCPConn), c.(*net.TCPConn))
				close(done)
			}()
			pipe(c.(*net.TCPConn), b.(*net.TCPConn))
			<-done
		}()
	}
}

// pipe copies until EOF and passes the half-close on.
func pipe(dst, src *net.TCPConn) {
	io.Copy(dst, src)
	dst.CloseWrite()
}

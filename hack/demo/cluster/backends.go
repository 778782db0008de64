package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// endpoint is one address of an EndpointSlice, as this process serves it.
type endpoint struct {
	name string
	addr netip.AddrPort
	echo bool // a TCP echo server; otherwise HTTP
}

// endpointsOf lists the endpoints of a demo slice (see decodeExample).
func endpointsOf(s *discoveryv1.EndpointSlice) ([]endpoint, error) {
	port, err := endpointPort(s)
	if err != nil {
		return nil, err
	}
	svc := s.Labels[discoveryv1.LabelServiceName]
	var out []endpoint
	for i, ep := range s.Endpoints {
		name := endpointName(svc, ep, i)
		for _, a := range ep.Addresses {
			ip, err := netip.ParseAddr(a)
			if err != nil || !ip.Is4() || !ip.IsLoopback() {
				return nil, fmt.Errorf("endpoint %s: address %q is not in 127.0.0.0/8", name, a)
			}
			out = append(out, endpoint{name: name, addr: netip.AddrPortFrom(ip, uint16(*port.Port)), echo: *port.Name == echoPortName})
		}
	}
	return out, nil
}

// missing returns the endpoints of a that b lacks.
func missing(a, b []endpoint) []endpoint {
	var out []endpoint
	for _, e := range a {
		found := false
		for _, f := range b {
			found = found || e == f
		}
		if !found {
			out = append(out, e)
		}
	}
	return out
}

// fleet is every demo backend this process runs, by address.
type fleet struct {
	mu      sync.Mutex
	running map[netip.AddrPort]*backend
}

func newFleet() *fleet { return &fleet{running: map[netip.AddrPort]*backend{}} }

// start starts eps; if one cannot listen, it stops those it started and
// names the address that failed.
func (f *fleet) start(eps []endpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var started []*backend
	for _, ep := range eps {
		if b := f.running[ep.addr]; b != nil {
			if b.endpoint == ep {
				continue
			}
			b.close()
			delete(f.running, ep.addr)
		}
		b, err := startBackend(ep)
		if err != nil {
			for _, s := range started {
				s.close()
				delete(f.running, s.addr)
			}
			return err
		}
		started = append(started, b)
		f.running[ep.addr] = b
	}
	return nil
}

// stop stops the backends at the addresses of eps.
func (f *fleet) stop(eps []endpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ep := range eps {
		if b := f.running[ep.addr]; b != nil {
			b.close()
			delete(f.running, ep.addr)
		}
	}
}

// stopAll stops every backend and returns how many there were.
func (f *fleet) stopAll() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.running)
	for addr, b := range f.running {
		b.close()
		delete(f.running, addr)
	}
	return n
}

// backend is one running endpoint.
type backend struct {
	endpoint
	close func()
}

func startBackend(ep endpoint) (*backend, error) {
	ln, err := net.Listen("tcp", ep.addr.String())
	if err != nil {
		hint := ""
		if errors.Is(err, errAddrInUse) {
			hint = " (something else listens there; stop it or edit " + exampleFile + ")"
		}
		return nil, fmt.Errorf("backend %s: %w%s", ep.name, err, hint)
	}
	if ep.echo {
		e := &echoServer{name: ep.name, ln: ln, conns: map[net.Conn]struct{}{}}
		e.wg.Add(1)
		go e.serve()
		return &backend{endpoint: ep, close: e.close}, nil
	}
	srv := &http.Server{Handler: httpBackend(ep.name), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return &backend{endpoint: ep, close: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
		<-done
	}}, nil
}

// httpBackend answers with its name, the request it saw and the headers the
// proxy added, so routing, balancing and persistence show with curl.
func httpBackend(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", name)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var b strings.Builder
		fmt.Fprintf(&b, "server: %s\nrequest: %s %s (Host: %s)\n", name, r.Method, r.URL.RequestURI(), r.Host)
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Forwarded-") || k == "Cookie" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
		}
		_, _ = w.Write([]byte(b.String()))
	})
}

// echoServer answers every line it reads with "NAME: line", so a TCP client
// sees which server its connection reached.
type echoServer struct {
	name  string
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// echoIdle closes connections a client forgot.
const echoIdle = 5 * time.Minute

func (e *echoServer) serve() {
	defer e.wg.Done()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.mu.Lock()
		if e.conns == nil { // closing
			e.mu.Unlock()
			c.Close()
			return
		}
		e.conns[c] = struct{}{}
		e.wg.Add(1)
		e.mu.Unlock()
		go e.handle(c)
	}
}

func (e *echoServer) handle(c net.Conn) {
	defer e.wg.Done()
	defer func() {
		e.mu.Lock()
		delete(e.conns, c)
		e.mu.Unlock()
		c.Close()
	}()
	sc := bufio.NewScanner(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(echoIdle))
		if !sc.Scan() {
			return
		}
		if _, err := fmt.Fprintf(c, "%s: %s\n", e.name, sc.Text()); err != nil {
			return
		}
	}
}

func (e *echoServer) close() {
	e.ln.Close()
	e.mu.Lock()
	for c := range e.conns {
		c.Close()
	}
	e.conns = nil
	e.mu.Unlock()
	e.wg.Wait()
}

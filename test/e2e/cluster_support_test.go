package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// startPool starts one backend per name, the i-th on 127.0.0.(2+i), all on
// the same port, as the pods behind one Service port are.
func startPool(t *testing.T, h http.HandlerFunc, names ...string) []*backend {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		var lns []net.Listener
		port := 0
		ok := true
		for i := range names {
			ln, err := net.Listen("tcp", net.JoinHostPort(poolIP(i), strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			port = ln.Addr().(*net.TCPAddr).Port
			lns = append(lns, ln)
		}
		if !ok {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		out := make([]*backend, len(names))
		for i, ln := range lns {
			out[i] = serveBackend(t, names[i], ln, h)
		}
		return out
	}
	t.Fatalf("no port free on %d loopback addresses", len(names))
	return nil
}

func poolIP(i int) string { return fmt.Sprintf("127.0.0.%d", 2+i) }

// endpoint is one entry of an EndpointSlice, in one of the states a pod's
// endpoint goes through.
type endpoint struct {
	addr  string // host:port of the backend
	state endpointState
}

type endpointState int

const (
	epReady endpointState = iota
	epNotReady
	// epTerminating is what the EndpointSlice controller writes for a pod
	// being deleted that still passes its readiness probe.
	epTerminating
)

func readyEP(b *backend) endpoint       { return endpoint{b.addr, epReady} }
func notReadyEP(b *backend) endpoint    { return endpoint{b.addr, epNotReady} }
func terminatingEP(b *backend) endpoint { return endpoint{b.addr, epTerminating} }

// setEndpoints replaces the Service's EndpointSlice (the one env.endpoints
// writes) with eps, whose port is published under portName.
func (e *env) setEndpoints(svc, portName string, eps ...endpoint) {
	e.t.Helper()
	e.setSlice(svc, svc+"-1", portName, eps...)
}

// setSlice writes the Service's EndpointSlice named slice; a Service may
// have several.
func (e *env) setSlice(svc, sliceName, portName string, eps ...endpoint) {
	e.t.Helper()
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: sliceName, Namespace: e.ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	var port int32
	for _, ep := range eps {
		host, p, err := net.SplitHostPort(ep.addr)
		if err != nil {
			e.t.Fatal(err)
		}
		pn, _ := strconv.Atoi(p)
		if port != 0 && int32(pn) != port {
			e.t.Fatalf("endpoints of one slice must share a port: %d vs %d", pn, port)
		}
		port = int32(pn)
		yes, no := true, false
		cond := discoveryv1.EndpointConditions{Ready: &yes, Serving: &yes, Terminating: &no}
		switch ep.state {
		case epNotReady:
			cond = discoveryv1.EndpointConditions{Ready: &no, Serving: &no, Terminating: &no}
		case epTerminating:
			cond = discoveryv1.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}
		}
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{host}, Conditions: cond})
	}
	proto := corev1.ProtocolTCP
	slice.Ports = []discoveryv1.EndpointPort{{Name: &portName, Port: &port, Protocol: &proto}}
	if err := e.cp.PutEndpointSlice(e.ctx, slice); err != nil {
		e.t.Fatal(err)
	}
}

// createService creates a Service in the env's namespace.
func (e *env) createService(name string, ports ...corev1.ServicePort) *corev1.Service {
	e.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Spec:       corev1.ServiceSpec{Ports: ports},
	}
	got, err := e.cs.CoreV1().Services(e.ns).Create(e.ctx, svc, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func svcPort(name string, port int32, target intstr.IntOrString) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: target, Protocol: corev1.ProtocolTCP}
}

// createIngress creates ing in the env's namespace as it is: its class is
// the caller's business.
func (e *env) createIngress(ing *networkingv1.Ingress) *networkingv1.Ingress {
	e.t.Helper()
	ing.Namespace = e.ns
	got, err := e.cs.NetworkingV1().Ingresses(e.ns).Create(e.ctx, ing, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// ingressObj builds an Ingress of class (nil: no spec.ingressClassName).
func ingressObj(name string, class *string, annotations map[string]string, rules ...rule) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec:       networkingv1.IngressSpec{IngressClassName: class},
	}
	return withRules(ing, rules)
}

func (e *env) getIngress(name string) *networkingv1.Ingress {
	e.t.Helper()
	ing, err := e.cs.NetworkingV1().Ingresses(e.ns).Get(e.ctx, name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return ing
}

// statusAddrs renders an Ingress's status.loadBalancer.ingress as
// "ip|hostname,..." for comparisons.
func statusAddrs(ing *networkingv1.Ingress) string {
	var parts []string
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		parts = append(parts, lb.IP+"|"+lb.Hostname)
	}
	return strings.Join(parts, ",")
}

// warningsAbout lists the Warning Events on an Ingress as "Reason: note".
// The events.k8s.io and core APIs share one store, so either would do.
func (e *env) warningsAbout(ingress string) []string {
	e.t.Helper()
	list, err := e.cs.EventsV1().Events(e.ns).List(e.ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range list.Items {
		if ev.Type == corev1.EventTypeWarning && ev.Regarding.Kind == "Ingress" && ev.Regarding.Name == ingress {
			out = append(out, ev.Reason+": "+ev.Note)
		}
	}
	sort.Strings(out)
	return out
}

// quickClient is for polling: short timeout, no keep-alive, so each probe
// sees the table as it is now.
var quickClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// tryGet sends one GET with the given Host and returns status, X-Served-By
// and the response.
func tryGet(addr, host, path string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	req.Host = host
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := quickClient.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// want is one expected routing decision: a status and the backend that
// answered ("" for sluice's own answers).
type want struct {
	host, path string
	code       int
	by         string
}

// expectRoutes polls until every case holds (the table converges on the
// cluster within d), then reports the cases that still do not.
func expectRoutes(t *testing.T, addr string, d time.Duration, cases ...want) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var bad []string
		for _, c := range cases {
			resp, err := tryGet(addr, c.host, c.path, nil)
			switch {
			case err != nil:
				bad = append(bad, fmt.Sprintf("%s%s: %v, want %d from %q", c.host, c.path, err, c.code, c.by))
			case resp.StatusCode != c.code || resp.Header.Get("X-Served-By") != c.by:
				bad = append(bad, fmt.Sprintf("%s%s: %d from %q, want %d from %q", c.host, c.path, resp.StatusCode, resp.Header.Get("X-Served-By"), c.code, c.by))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after %v, %d of %d routes are wrong:\n  %s", d, len(bad), len(cases), strings.Join(bad, "\n  "))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loadLoop sends GETs to one route, one after the other over keep-alive
// connections, until stopped or until its count or time bound is reached,
// and counts the answers.
type loadLoop struct {
	t                    *testing.T
	stopc, done          chan struct{}
	total, failed        atomic.Int64
	mu                   sync.Mutex
	by                   map[string]int64
	failures             []string // the first few
	maxReqs              int64
	maxDur               time.Duration
	reachedBound, closed bool
}

func startLoad(t *testing.T, addr, host, path string, maxReqs int64, maxDur time.Duration) *loadLoop {
	l := &loadLoop{t: t, stopc: make(chan struct{}), done: make(chan struct{}), by: map[string]int64{}, maxReqs: maxReqs, maxDur: maxDur}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	go func() {
		defer close(l.done)
		defer client.CloseIdleConnections()
		deadline := time.Now().Add(maxDur)
		for n := int64(0); n < maxReqs; n++ {
			select {
			case <-l.stopc:
				return
			default:
			}
			if time.Now().After(deadline) {
				break
			}
			l.one(client, addr, host, path)
		}
		l.mu.Lock()
		l.reachedBound = true
		l.mu.Unlock()
	}()
	t.Cleanup(l.stop)
	return l
}

func (l *loadLoop) one(c *http.Client, addr, host, path string) {
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Host = host
	resp, err := c.Do(req)
	l.total.Add(1)
	if err != nil {
		l.fail(err.Error())
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		l.fail(fmt.Sprintf("status %d from %q (body error %v)", resp.StatusCode, resp.Header.Get("X-Served-By"), err))
		return
	}
	l.mu.Lock()
	l.by[resp.Header.Get("X-Served-By")]++
	l.mu.Unlock()
}

func (l *loadLoop) fail(what string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.failures) < 5 {
		l.failures = append(l.failures, fmt.Sprintf("request %d: %s", l.total.Load(), what))
	}
	l.mu.Unlock()
}

// served is how many 200s each backend gave so far.
func (l *loadLoop) served(name string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[name]
}

func (l *loadLoop) stop() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stopc)
	<-l.done
}

// finish stops the loop, logs its counts and fails the test on any failed
// request, or if the loop ran out of its bounds before the test was done
// (the later part of the test would then have run without traffic).
func (l *loadLoop) finish(what string) {
	l.t.Helper()
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Logf("%s: %d requests, %d failed, by backend %v", what, l.total.Load(), l.failed.Load(), l.by)
	if l.reachedBound {
		l.t.Errorf("%s: the request loop hit its bound (%d requests or %v) before the test ended", what, l.maxReqs, l.maxDur)
	}
	if n := l.failed.Load(); n > 0 {
		l.t.Errorf("%s: %d of %d requests failed; first: %s", what, n, l.total.Load(), strings.Join(l.failures, "; "))
	}
}

// waitTrafficTo waits until backend name answers more requests of the loop.
func (l *loadLoop) waitTrafficTo(t *testing.T, name string, d time.Duration) {
	t.Helper()
	start := l.served(name)
	waitFor(t, d, "loop traffic to reach "+name, func() bool { return l.served(name) >= start+20 })
}

// waitNoTrafficTo waits until backend b has answered none of the last quiet
// requests of the loop: the table no longer sends it anything.
func (l *loadLoop) waitNoTrafficTo(t *testing.T, b *backend, quiet int64, d time.Duration) {
	t.Helper()
	last, since := b.reqs.Load(), l.total.Load()
	waitFor(t, d, "loop traffic to leave "+b.name, func() bool {
		if n := b.reqs.Load(); n != last {
			last, since = n, l.total.Load()
			return false
		}
		return l.total.Load()-since >= quiet
	})
}

// lineEcho accepts TCP connections on ip:port (0 picks one) and answers
// every line with "NAME: line".
type lineEcho struct {
	name string
	addr string
	ln   net.Listener
}

func startEcho(t *testing.T, name, ip string, port int) *lineEcho {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	s := &lineEcho{name: name, addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := fmt.Fprintf(c, "%s: %s\n", name, sc.Text()); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

// lineConn is a client connection that sends lines and reads the echo.
type lineConn struct {
	c  net.Conn
	rd *bufio.Reader
}

func dialLine(addr string) (*lineConn, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	return &lineConn{c: c, rd: bufio.NewReader(c)}, nil
}

// say sends line and returns the reply without its newline.
func (l *lineConn) say(line string) (string, error) {
	_ = l.c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(l.c, "%s\n", line); err != nil {
		return "", err
	}
	got, err := l.rd.ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

func (l *lineConn) close() { l.c.Close() }

// tcpAsk opens a connection to addr, sends one line and returns the reply.
func tcpAsk(addr, line string) (string, error) {
	c, err := dialLine(addr)
	if err != nil {
		return "", err
	}
	defer c.close()
	return c.say(line)
}

// expectSpread polls host+path until each of the named backends has
// answered it with 200, within d.
func expectSpread(t *testing.T, addr string, d time.Duration, host, path string, names ...string) {
	t.Helper()
	seen := map[string]bool{}
	missing := func() []string {
		var out []string
		for _, n := range names {
			if !seen[n] {
				out = append(out, n)
			}
		}
		return out
	}
	deadline := time.Now().Add(d)
	for len(missing()) > 0 {
		if time.Now().After(deadline) {
			t.Errorf("%s%s: after %v, never served by %v (served by %v)", host, path, d, missing(), seen)
			return
		}
		if resp, err := tryGet(addr, host, path, nil); err == nil && resp.StatusCode == 200 {
			seen[resp.Header.Get("X-Served-By")] = true
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/test/support"
)

// checkedState is a checked server without a checker: the test feeds it
// results by hand.
func checkedState(t *testing.T, rise, fall int, trans chan<- Transition) *Server {
	r := NewRegistry(RegistryOptions{OnTransition: func(tr Transition) {
		if trans != nil {
			trans <- tr
		}
	}})
	t.Cleanup(r.Close)
	st := &state{reg: r, q: &queue{}}
	st.h = health{checked: true, rise: rise, fall: fall}
	s := &Server{Backend: "be", Name: "s", st: st}
	st.view.Store(s)
	return s
}

func TestHealthStateMachine(t *testing.T) {
	// S: check passed, F: check failed. U/D: the state after each check.
	tests := []struct {
		name   string
		checks string
		want   string
	}{
		{"healthy", "SSSS", "UUUU"},
		{"first check fails: down at once", "F", "D"},
		{"confirmed: down after fall", "SFFF", "UUUD"},
		{"failures must be consecutive", "SFFSFFSFF", "UUUUUUUUU"},
		{"rise to come back", "FSS", "DDU"},
		{"successes must be consecutive", "FSFSFSS", "DDDDDDU"},
		{"down and up again", "SFFFSSFFF", "UUUDDUUUD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trans := make(chan Transition, 20)
			s := checkedState(t, 2, 3, trans)
			var got []byte
			want := 0
			for i, c := range tt.checks {
				s.st.recordCheck(0, CheckResult{OK: c == 'S', Reason: "r" + strconv.Itoa(i)})
				state := byte('U')
				if !s.Up() {
					state = 'D'
				}
				if len(got) > 0 && got[len(got)-1] != state || len(got) == 0 && state == 'D' {
					want++
					select {
					case tr := <-trans:
						if tr.Up != (state == 'U') || tr.Reason != "r"+strconv.Itoa(i) || tr.Cause != CauseCheck || tr.Server != s {
							t.Errorf("check %d: transition %+v", i, tr)
						}
					default:
						t.Errorf("check %d: no transition reported", i)
					}
				}
				got = append(got, state)
			}
			if string(got) != tt.want {
				t.Errorf("states %s, want %s", got, tt.want)
			}
			if len(trans) != 0 {
				t.Errorf("%d extra transitions", len(trans))
			}
			st := s.CheckStats()
			if int(st.Successes) != strings.Count(tt.checks, "S") || int(st.Failures) != strings.Count(tt.checks, "F") {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestStaleCheckResultsDropped(t *testing.T) {
	s := checkedState(t, 2, 3, nil)
	s.st.h.gen = 2
	s.st.recordCheck(1, CheckResult{}) // from a replaced checker
	if !s.Up() || s.CheckStats().Failures != 0 {
		t.Fatal("a replaced checker's result was applied")
	}
}

func TestPassiveHealth(t *testing.T) {
	trans := make(chan Transition, 10)
	s := checkedState(t, 2, 3, trans)
	s.st.h.confirmed = true
	refused := errors.New("connection refused")
	s.ReportConnectFailure(refused)
	s.ReportConnectFailure(refused)
	s.ReportSuccess()
	s.ReportConnectFailure(refused)
	s.ReportConnectFailure(refused)
	if !s.Up() {
		t.Fatal("down after non-consecutive failures")
	}
	s.ReportConnectFailure(refused)
	if s.Up() {
		t.Fatal("up after fall consecutive connect failures")
	}
	tr := <-trans
	if tr.Up || tr.Cause != CauseTraffic || tr.Reason != "Layer4 connection problem" || tr.Detail != "connection refused" {
		t.Fatalf("transition %+v", tr)
	}
	// Live traffic does not bring it back; checks do.
	s.ReportSuccess()
	s.st.recordCheck(0, CheckResult{OK: true})
	if s.Up() {
		t.Fatal("up after one check with rise 2")
	}
	s.st.recordCheck(0, CheckResult{OK: true})
	if !s.Up() {
		t.Fatal("still down after rise checks")
	}
	// Live successes do not clear failed checks.
	s.st.recordCheck(0, CheckResult{})
	s.ReportSuccess()
	s.st.recordCheck(0, CheckResult{})
	s.ReportSuccess()
	s.st.recordCheck(0, CheckResult{})
	if s.Up() {
		t.Fatal("live successes masked failing checks")
	}
}

func TestPassiveHealthIgnoredWithoutCheck(t *testing.T) {
	p := build(t, farm(config.BalanceRoundRobin, 1))
	s := p.Servers()[0]
	for range 100 {
		s.ReportConnectFailure(nil)
	}
	if !s.Up() {
		t.Fatal("an unchecked server went down")
	}
}

// listener accepts and closes connections on 127.0.0.1 until closed.
func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

func hostPort(t *testing.T, addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	return h, port
}

// transitions collects transitions with the check counters at that time.
type transitions struct {
	ch chan seen
}

type seen struct {
	Transition
	stats CheckStats
}

func newTransitions() *transitions { return &transitions{ch: make(chan seen, 100)} }

func (tr *transitions) record(t Transition) { tr.ch <- seen{t, t.Server.CheckStats()} }

func (tr *transitions) next(t *testing.T) seen {
	t.Helper()
	select {
	case s := <-tr.ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no transition")
	}
	return seen{}
}

func TestTCPCheck(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	addr := ln.Addr().String()
	host, port := hostPort(t, addr)
	tr := newTransitions()
	r := NewRegistry(RegistryOptions{OnTransition: tr.record})
	defer r.Close()
	b := &config.Backend{Name: "be", Servers: []config.Server{{
		Name: "web", Host: host, Port: port, Weight: 1, Check: true,
		Inter: 20 * time.Millisecond, Rise: 2, Fall: 2,
	}}}
	p, err := r.Build(b)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Servers()[0]
	eventually(t, 5*time.Second, "two checks", func() bool { return s.CheckStats().Successes >= 2 })
	if !s.Up() || s.CheckStats().Last.Reason != "Layer4 check passed" {
		t.Fatalf("up %v, last %+v", s.Up(), s.CheckStats().Last)
	}

	failures := s.CheckStats().Failures
	ln.Close()
	down := tr.next(t)
	if down.Up || down.Server != s || down.Cause != CauseCheck || down.Reason != "Layer4 connection problem" || down.Detail == "" {
		t.Fatalf("transition %+v", down)
	}
	if n := down.stats.Failures - failures; n != 2 {
		t.Fatalf("down after %d failures, want fall=2", n)
	}
	if s.Up() || p.Pick(nil, nil) != nil {
		t.Fatal("down server still picked")
	}

	ln = listen(t, addr)
	defer ln.Close()
	up := tr.next(t)
	if !up.Up || up.Reason != "Layer4 check passed" {
		t.Fatalf("transition %+v", up)
	}
	if n := up.stats.Successes - down.stats.Successes; n != 2 {
		t.Fatalf("up after %d successes, want rise=2", n)
	}
	if p.Pick(nil, nil) != s {
		t.Fatal("server back up but not picked")
	}
}

// httpServer answers checks with the status in code and records requests.
type httpServer struct {
	code atomic.Int32
	mu   sync.Mutex
	reqs []string
	addr string
}

func startHTTP(t *testing.T, code int) *httpServer {
	t.Helper()
	h := &httpServer{}
	h.code.Store(int32(code))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.mu.Lock()
		h.reqs = append(h.reqs, fmt.Sprintf("%s %s %s host=%s close=%v", req.Method, req.RequestURI, req.Proto, req.Host, req.Close))
		h.mu.Unlock()
		w.WriteHeader(int(h.code.Load()))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return h
}

func TestHTTPCheckTransitions(t *testing.T) {
	h := startHTTP(t, 200)
	host, port := hostPort(t, h.addr)
	tr := newTransitions()
	r := NewRegistry(RegistryOptions{OnTransition: tr.record})
	defer r.Close()
	b := &config.Backend{
		Name:  "be",
		Check: config.HTTPCheck{Enabled: true, Method: "GET", URI: "/healthz"},
		// A generous response timeout: a loaded test machine must not
		// turn the expected status failures into timeouts.
		Timeouts: config.Timeouts{Check: 5 * time.Second},
		Servers: []config.Server{{
			Name: "web", Host: host, Port: port, Weight: 1, Check: true,
			Inter: 20 * time.Millisecond, Rise: 2, Fall: 2,
		}},
	}
	p, err := r.Build(b)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Servers()[0]
	eventually(t, 5*time.Second, "a check", func() bool { return s.CheckStats().Successes >= 1 })
	h.mu.Lock()
	req := h.reqs[0]
	h.mu.Unlock()
	if want := "GET /healthz HTTP/1.1 host=" + h.addr + " close=true"; req != want {
		t.Fatalf("check request %q, want %q", req, want)
	}

	h.code.Store(500)
	down := tr.next(t)
	if down.Up || down.Reason != "Layer7 wrong status 500" || down.Status != 500 {
		t.Fatalf("transition %+v", down)
	}
	h.code.Store(200)
	up := tr.next(t)
	if !up.Up || up.Reason != "Layer7 check passed" || up.Status != 200 {
		t.Fatalf("transition %+v", up)
	}
}

func TestHTTPCheckExpect(t *testing.T) {
	h := startHTTP(t, 200)
	host, port := hostPort(t, h.addr)
	tests := []struct {
		expect, status int
		ok             bool
		reason         string
	}{
		{0, 200, true, "Layer7 check passed"},
		{0, 302, true, "Layer7 check passed"},
		{0, 404, false, "Layer7 wrong status 404"},
		{0, 503, false, "Layer7 wrong status 503"},
		{204, 204, true, "Layer7 check passed"},
		{204, 200, false, "Layer7 wrong status 200"},
		{503, 503, true, "Layer7 check passed"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("expect %d got %d", tt.expect, tt.status), func(t *testing.T) {
			h.code.Store(int32(tt.status))
			b := &config.Backend{Check: config.HTTPCheck{Enabled: true, ExpectStatus: tt.expect}}
			set := newCheckSettings(b, &config.Server{Host: host, Port: port, Inter: time.Second})
			res := probe(context.Background(), &net.Dialer{}, &set)
			if res.OK != tt.ok || res.Reason != tt.reason || res.Status != tt.status {
				t.Fatalf("result %+v", res)
			}
		})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !strings.HasPrefix(h.reqs[0], "OPTIONS / HTTP/1.1") {
		t.Fatalf("default check request %q", h.reqs[0])
	}
}

// blockDialer never connects until its context ends.
type blockDialer struct{}

func (blockDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCheckFailures(t *testing.T) {
	silent := support.ServeConns(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	garbage := support.ServeConns(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.0\r\n")) })
	hangup := support.ServeConns(t, func(c net.Conn) {})
	closed := listen(t, "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name   string
		addr   string
		http   bool
		dialer Dialer
		reason string
	}{
		{"refused", closedAddr, false, &net.Dialer{}, "Layer4 connection problem"},
		{"connect timeout", closedAddr, false, blockDialer{}, "Layer4 timeout"},
		{"no response", silent, true, &net.Dialer{}, "Layer7 timeout"},
		{"not HTTP", garbage, true, &net.Dialer{}, "Layer7 invalid response"},
		{"closed", hangup, true, &net.Dialer{}, "Layer7 invalid response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := hostPort(t, tt.addr)
			b := &config.Backend{
				Check:    config.HTTPCheck{Enabled: tt.http},
				Timeouts: config.Timeouts{Connect: 20 * time.Millisecond, Check: 30 * time.Millisecond},
			}
			set := newCheckSettings(b, &config.Server{Host: host, Port: port, Inter: time.Minute})
			start := time.Now()
			res := probe(context.Background(), tt.dialer, &set)
			if res.OK || res.Reason != tt.reason {
				t.Fatalf("result %+v, want %s", res, tt.reason)
			}
			if el := time.Since(start); el > 10*time.Second || res.Duration <= 0 {
				t.Fatalf("check took %v (duration %v)", el, res.Duration)
			}
		})
	}
}

func TestCheckTimeouts(t *testing.T) {
	tests := []struct {
		name                     string
		inter, connect, check    time.Duration
		wantConnect, wantOverall time.Duration
	}{
		{"inter only", 2 * time.Second, 0, 0, 2 * time.Second, 2 * time.Second},
		{"connect bounds", 2 * time.Second, time.Second, 0, time.Second, 2 * time.Second},
		{"connect above inter", 2 * time.Second, 5 * time.Second, 0, 2 * time.Second, 2 * time.Second},
		{"check adds to connect", 2 * time.Second, time.Second, 3 * time.Second, time.Second, 4 * time.Second},
		{"check without connect", 2 * time.Second, 0, 500 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &config.Backend{Timeouts: config.Timeouts{Connect: tt.connect, Check: tt.check}}
			set := newCheckSettings(b, &config.Server{Host: "127.0.0.1", Port: 80, Inter: tt.inter})
			if set.connectTimeout != tt.wantConnect || set.timeout != tt.wantOverall {
				t.Fatalf("connect %v overall %v", set.connectTimeout, set.timeout)
			}
		})
	}
}

func TestCheckPort(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	defer ln.Close()
	_, checkPort := hostPort(t, ln.Addr().String())
	dead := listen(t, "127.0.0.1:0")
	_, port := hostPort(t, dead.Addr().String())
	dead.Close()
	r := NewRegistry(RegistryOptions{})
	defer r.Close()
	p, _ := r.Build(&config.Backend{Name: "be", Servers: []config.Server{{
		Name: "web", Host: "127.0.0.1", Port: port, CheckPort: checkPort, Weight: 1, Check: true,
		Inter: 10 * time.Millisecond,
	}}})
	s := p.Servers()[0]
	eventually(t, 5*time.Second, "three checks", func() bool { return s.CheckStats().Successes >= 3 })
	if st := s.CheckStats(); st.Failures != 0 || !s.Up() {
		t.Fatalf("checks went to the traffic port: %+v", st)
	}
}

// flakyDialer panics on its first call, then connects.
type flakyDialer struct{ calls atomic.Int32 }

func (d *flakyDialer) DialContext(ctx context.Context, n, a string) (net.Conn, error) {
	if d.calls.Add(1) == 1 {
		panic("dialer bug")
	}
	return okDialer{}.DialContext(ctx, n, a)
}

func TestCheckerSurvivesPanics(t *testing.T) {
	d := &flakyDialer{}
	var calls atomic.Int32
	r := NewRegistry(RegistryOptions{Dialer: d, OnTransition: func(Transition) {
		calls.Add(1)
		panic("callback bug")
	}})
	defer r.Close()
	b := farm(config.BalanceRoundRobin, 1)
	b.Servers[0].Check = true
	b.Servers[0].Inter = 10 * time.Millisecond
	b.Servers[0].Fall = 1
	p, _ := r.Build(b)
	s := p.Servers()[0]
	eventually(t, 5*time.Second, "checks after a panic", func() bool { return s.CheckStats().Successes >= 2 })
	// A panicking callback neither blocks the transition nor the checker.
	s.ReportConnectFailure(nil)
	if calls.Load() != 1 {
		t.Fatalf("callback calls %d, want 1 (the down transition)", calls.Load())
	}
	eventually(t, 5*time.Second, "recovery", func() bool { return calls.Load() == 2 && s.Up() })
}

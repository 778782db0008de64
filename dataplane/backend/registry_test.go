package backend

import (
	"context"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/config"
)

func TestRegistryReusesServers(t *testing.T) {
	r := NewRegistry(RegistryOptions{Dialer: okDialer{}})
	defer r.Close()
	b := farm(config.BalanceRoundRobin, 1, 1, 1)
	b.Servers[0].Check = true
	b.Servers[0].Inter = time.Hour
	p1, err := r.Build(b)
	if err != nil {
		t.Fatal(err)
	}
	s0, s1, s2 := p1.Servers()[0], p1.Servers()[1], p1.Servers()[2]
	p1.Acquire(context.Background(), s0)
	p1.Acquire(context.Background(), s1)
	checker := s0.st.checker

	// Same configuration: the very same servers.
	p2, err := r.Build(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range p2.Servers() {
		if s != p1.Servers()[i] {
			t.Fatalf("server %d rebuilt with an unchanged configuration", i)
		}
	}
	if s0.st.checker != checker {
		t.Fatal("checker restarted with unchanged settings")
	}

	// New weight for s0, new address for s1, s2 gone.
	b.Servers[0].Weight = 5
	b.Servers[1].Port = 20001
	b.Servers = b.Servers[:2]
	p3, err := r.Build(b)
	if err != nil {
		t.Fatal(err)
	}
	n0, n1 := p3.Servers()[0], p3.Servers()[1]
	if n0 == s0 || n0.st != s0.st || n0.Weight != 5 || s0.Weight != 1 {
		t.Fatalf("new weight: want a new view over the same state")
	}
	if n0.Active() != 1 {
		t.Fatalf("active count not carried over: %d", n0.Active())
	}
	if n1.st == s1.st || n1.Active() != 0 || n1.Addr != "127.0.0.1:20001" {
		t.Fatalf("new address: want a new server")
	}

	r.Sweep([]*Pool{p3})
	if s1.State() != StateRetired || s2.State() != StateRetired {
		t.Fatalf("swept servers: %v %v, want RETIRED", s1.State(), s2.State())
	}
	if n0.State() != StateUp || n1.State() != StateUp {
		t.Fatalf("live servers: %v %v", n0.State(), n1.State())
	}
	// A request still running on a retired server releases normally.
	s1.Release()
	if s1.Active() != 0 {
		t.Fatalf("retired server active %d", s1.Active())
	}
	// Rebuilding the old address gives a fresh server.
	b.Servers = append(b.Servers, config.Server{Name: "s2", Host: "127.0.0.1", Port: 10002, Weight: 1})
	p4, _ := r.Build(b)
	if p4.Servers()[2].st == s2.st || !p4.Servers()[2].Up() {
		t.Fatal("a swept server came back with its old state")
	}
}

func TestSweepStopsCheckers(t *testing.T) {
	r := NewRegistry(RegistryOptions{Dialer: okDialer{}})
	defer r.Close()
	b := farm(config.BalanceRoundRobin, 1, 1)
	for i := range b.Servers {
		b.Servers[i].Check = true
		b.Servers[i].Inter = 20 * time.Millisecond
	}
	p1, _ := r.Build(b)
	c0, c1 := p1.Servers()[0].st.checker, p1.Servers()[1].st.checker
	b.Servers = b.Servers[:1]
	p2, _ := r.Build(b)
	r.Sweep([]*Pool{p2})
	select {
	case <-c1.done:
	case <-time.After(5 * time.Second):
		t.Fatal("retired server's checker still running")
	}
	select {
	case <-c0.done:
		t.Fatal("live server's checker stopped")
	default:
	}
	checks := p1.Servers()[1].CheckStats().Successes
	time.Sleep(60 * time.Millisecond) // three intervals
	if got := p1.Servers()[1].CheckStats().Successes; got != checks {
		t.Fatalf("retired server checked %d more times", got-checks)
	}
}

func TestCheckerRestartKeepsHealth(t *testing.T) {
	r := NewRegistry(RegistryOptions{Dialer: okDialer{}})
	defer r.Close()
	b := farm(config.BalanceRoundRobin, 1)
	b.Servers[0].Check = true
	b.Servers[0].Inter = time.Hour
	p, _ := r.Build(b)
	s := p.Servers()[0]
	eventually(t, 5*time.Second, "the first check", func() bool { return s.CheckStats().Successes == 1 })
	for range DefaultFall {
		s.ReportConnectFailure(nil)
	}
	old := s.st.checker
	b.Servers[0].Fall = 5
	b.Servers[0].Inter = 2 * time.Hour
	p, _ = r.Build(b)
	s2 := p.Servers()[0]
	if s2.st.checker == old {
		t.Fatal("checker not restarted with new settings")
	}
	select {
	case <-old.done:
	case <-time.After(5 * time.Second):
		t.Fatal("old checker still running")
	}
	if s2.Up() {
		t.Fatal("a reload brought a down server up")
	}
	if s2.st.h.fall != 5 {
		t.Fatalf("fall %d, want 5", s2.st.h.fall)
	}
}

func TestRemovingCheckBringsServerUp(t *testing.T) {
	trans := make(chan Transition, 10)
	r := NewRegistry(RegistryOptions{Dialer: okDialer{}, OnTransition: func(tr Transition) { trans <- tr }})
	defer r.Close()
	b := farm(config.BalanceRoundRobin, 1)
	b.Servers[0].Check = true
	b.Servers[0].Inter = time.Hour
	p, _ := r.Build(b)
	s := p.Servers()[0]
	eventually(t, 5*time.Second, "the first check", func() bool { return s.CheckStats().Successes == 1 })
	for range DefaultFall {
		s.ReportConnectFailure(nil)
	}
	if tr := <-trans; tr.Up || tr.Cause != CauseTraffic {
		t.Fatalf("transition %+v", tr)
	}
	b.Servers[0].Check = false
	p, _ = r.Build(b)
	if s := p.Servers()[0]; !s.Up() || s.st.checker != nil {
		t.Fatalf("unchecked server: up %v checker %v", s.Up(), s.st.checker)
	}
	select {
	case tr := <-trans:
		if !tr.Up || tr.Cause != CauseConfig {
			t.Fatalf("transition %+v", tr)
		}
	default:
		t.Fatal("no transition reported")
	}
}

func TestBuildValidates(t *testing.T) {
	tests := []struct {
		name   string
		change func(b *config.Backend)
		want   string
	}{
		{"weight", func(b *config.Backend) { b.Servers[0].Weight = 257 }, "weight 257 out of range"},
		{"negative weight", func(b *config.Backend) { b.Servers[0].Weight = -1 }, "weight -1"},
		{"port", func(b *config.Backend) { b.Servers[0].Port = 0 }, "port 0"},
		{"check port", func(b *config.Backend) { b.Servers[0].CheckPort = 70000 }, "check port"},
		{"host", func(b *config.Backend) { b.Servers[0].Host = "" }, "no address"},
		{"duplicate", func(b *config.Backend) { b.Servers[1].Name = "s0" }, `"s0": declared twice`},
		{"maxconn", func(b *config.Backend) { b.Servers[0].MaxConn = -1 }, "maxconn"},
		{"hdr param", func(b *config.Backend) { b.Balance = config.Balance{Algorithm: config.BalanceHdr} }, "missing parameter"},
		{"algorithm", func(b *config.Backend) { b.Balance.Algorithm = 99 }, "unknown algorithm"},
		{"httpchk", func(b *config.Backend) { b.Check = config.HTTPCheck{Enabled: true, URI: "/ HTTP/1.0\r\nX: y"} }, "invalid URI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry(RegistryOptions{})
			defer r.Close()
			b := farm(config.BalanceRoundRobin, 1, 1)
			tt.change(b)
			_, err := r.Build(b)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), `backend "be"`) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if len(r.servers) != 0 {
				t.Fatal("a rejected backend left servers behind")
			}
		})
	}
}

func TestCloseStopsEverything(t *testing.T) {
	r := NewRegistry(RegistryOptions{Dialer: okDialer{}})
	b := farm(config.BalanceRoundRobin, 1, 1)
	for i := range b.Servers {
		b.Servers[i].Check = true
		b.Servers[i].Inter = 10 * time.Millisecond
	}
	p, _ := r.Build(b)
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	for _, s := range p.Servers() {
		if s.State() != StateRetired {
			t.Fatalf("%s: %v after Close", s.Name, s.State())
		}
	}
	if _, err := r.Build(b); err == nil {
		t.Fatal("Build after Close succeeded")
	}
	r.Close() // twice is fine
}

func TestDynamicCookie(t *testing.T) {
	reg := NewRegistry(RegistryOptions{})
	defer reg.Close()
	build := func(key string) *Pool {
		p, err := reg.Build(&config.Backend{Name: "dyn", DynamicCookieKey: key,
			Cookie: &config.Cookie{Name: "S", Mode: config.CookieInsert, Dynamic: true},
			Servers: []config.Server{
				{Name: "a", Host: "127.0.0.1", Port: 8001, Weight: 1},
				{Name: "b", Host: "127.0.0.1", Port: 8002, Weight: 1},
				{Name: "c", Host: "127.0.0.1", Port: 8003, Weight: 1, Cookie: "fixed"},
			}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := build("k1")
	a, b, c := p.Servers()[0], p.Servers()[1], p.Servers()[2]
	if len(a.Cookie) != 16 || a.Cookie == b.Cookie {
		t.Fatalf("dynamic cookies %q, %q: want distinct 16-hex values", a.Cookie, b.Cookie)
	}
	if c.Cookie != "fixed" {
		t.Fatalf("explicit cookie replaced: %q", c.Cookie)
	}
	if got := p.ByCookie([]byte(a.Cookie)); got != a {
		t.Fatalf("ByCookie(dynamic value) = %v", got)
	}
	if again := build("k1").Servers()[0].Cookie; again != a.Cookie {
		t.Fatalf("dynamic cookie not stable: %q then %q", a.Cookie, again)
	}
	if other := build("k2").Servers()[0].Cookie; other == a.Cookie {
		t.Fatal("dynamic cookie ignores the key")
	}
}

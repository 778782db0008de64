package backend

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/sluice/config"
)

type fakeConn struct {
	name   string
	closed atomic.Bool
}

func (c *fakeConn) Close() error {
	c.closed.Store(true)
	return nil
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func idleServer(t *testing.T, opts RegistryOptions) (*Registry, *Pool, *Server) {
	r := NewRegistry(opts)
	t.Cleanup(r.Close)
	p, err := r.Build(farm(config.BalanceRoundRobin, 1))
	if err != nil {
		t.Fatal(err)
	}
	return r, p, p.Servers()[0]
}

func conns(n int) []*fakeConn {
	cs := make([]*fakeConn, n)
	for i := range cs {
		cs[i] = &fakeConn{name: fmt.Sprint(i)}
	}
	return cs
}

func TestIdleLIFO(t *testing.T) {
	_, _, s := idleServer(t, RegistryOptions{})
	cs := conns(3)
	for _, c := range cs {
		if !s.PutIdle(c) {
			t.Fatal("PutIdle refused")
		}
	}
	if s.IdleLen() != 3 {
		t.Fatalf("IdleLen %d", s.IdleLen())
	}
	for i := 2; i >= 0; i-- {
		if got := s.GetIdle(); got != cs[i] {
			t.Fatalf("got %v, want conn %d", got, i)
		}
	}
	if got := s.GetIdle(); got != nil {
		t.Fatalf("empty list returned %v", got)
	}
}

func TestIdleCapDropsOldest(t *testing.T) {
	_, _, s := idleServer(t, RegistryOptions{MaxIdlePerServer: 2})
	cs := conns(3)
	for _, c := range cs {
		s.PutIdle(c)
	}
	if !cs[0].closed.Load() || cs[1].closed.Load() || cs[2].closed.Load() {
		t.Fatal("full list must close its oldest connection")
	}
	if s.GetIdle() != cs[2] || s.GetIdle() != cs[1] || s.GetIdle() != nil {
		t.Fatal("wrong connections kept")
	}
	// The ring wraps correctly over many rounds.
	for round := range 10 {
		cs := conns(3)
		for _, c := range cs {
			s.PutIdle(c)
		}
		if s.GetIdle() != cs[2] || s.GetIdle() != cs[1] || s.GetIdle() != nil {
			t.Fatalf("round %d: wrong connections kept", round)
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	_, _, s := idleServer(t, RegistryOptions{Now: clock.Now, IdleTimeout: 10 * time.Second})
	cs := conns(3)
	s.PutIdle(cs[0])
	clock.Advance(5 * time.Second)
	s.PutIdle(cs[1])
	clock.Advance(7 * time.Second) // cs[0] idle 12s, cs[1] 7s
	if got := s.GetIdle(); got != cs[1] {
		t.Fatalf("got %v, want the fresh connection", got)
	}
	if got := s.GetIdle(); got != nil {
		t.Fatalf("got %v idle past the timeout", got)
	}
	if !cs[0].closed.Load() || s.IdleLen() != 0 {
		t.Fatal("expired connection not closed")
	}

	// Put drops expired connections from the bottom.
	s.PutIdle(cs[1])
	clock.Advance(10 * time.Second)
	s.PutIdle(cs[2])
	if !cs[1].closed.Load() || s.IdleLen() != 1 {
		t.Fatalf("expired connection kept by Put (len %d)", s.IdleLen())
	}

	// Exactly the timeout is too old.
	clock.Advance(10 * time.Second)
	if got := s.GetIdle(); got != nil || !cs[2].closed.Load() {
		t.Fatal("connection idle for exactly the timeout returned")
	}
}

func TestIdleJanitorPrunes(t *testing.T) {
	_, _, s := idleServer(t, RegistryOptions{IdleTimeout: 20 * time.Millisecond})
	cs := conns(20) // more than a close batch
	for _, c := range cs {
		s.PutIdle(c)
	}
	eventually(t, 5*time.Second, "the janitor", func() bool { return s.IdleLen() == 0 })
	for i, c := range cs {
		if !c.closed.Load() {
			t.Fatalf("conn %d pruned but not closed", i)
		}
	}
}

func TestIdleClosedOnRetireAndDown(t *testing.T) {
	r, _, s := idleServer(t, RegistryOptions{})
	cs := conns(10)
	for _, c := range cs[:5] {
		s.PutIdle(c)
	}
	// Down: what was kept is closed.
	s.st.hmu.Lock()
	s.st.h.checked = true
	s.st.h.fall = 1
	s.st.hmu.Unlock()
	s.ReportConnectFailure(nil)
	for i, c := range cs[:5] {
		if !c.closed.Load() {
			t.Fatalf("conn %d kept after the server went down", i)
		}
	}
	s.PutIdle(cs[5])
	r.Sweep(nil)
	if !cs[5].closed.Load() {
		t.Fatal("idle conn kept after retirement")
	}
	if s.PutIdle(cs[6]) || s.GetIdle() != nil {
		t.Fatal("retired server keeps idle connections")
	}
}

func TestIdleDisabled(t *testing.T) {
	for _, opts := range []RegistryOptions{{IdleTimeout: -1}, {MaxIdlePerServer: -1}} {
		_, _, s := idleServer(t, opts)
		if s.PutIdle(&fakeConn{}) || s.GetIdle() != nil {
			t.Fatalf("%+v: idle connection kept", opts)
		}
	}
}

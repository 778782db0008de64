package backend

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sluice.dev/sluice/config"
)

// limited is a farm whose servers have maxconn n and the given queue timeout.
func limited(algo config.BalanceAlgorithm, n int, queue time.Duration, weights ...int) *config.Backend {
	b := farm(algo, weights...)
	b.Timeouts.Queue = queue
	for i := range b.Servers {
		b.Servers[i].MaxConn = n
	}
	return b
}

type acquired struct {
	s   *Server
	err error
}

// acquireAsync starts an Acquire and waits until it is queued.
func acquireAsync(t *testing.T, p *Pool, ctx context.Context, s *Server, bound bool) <-chan acquired {
	t.Helper()
	before := p.QueueLen()
	ch := make(chan acquired, 1)
	go func() {
		var a acquired
		if bound {
			a.s, a.err = p.AcquireServer(ctx, s)
		} else {
			a.s, a.err = p.Acquire(ctx, s)
		}
		ch <- a
	}()
	eventually(t, 5*time.Second, "the request to queue", func() bool { return p.QueueLen() > before })
	return ch
}

func receive(t *testing.T, ch <-chan acquired) acquired {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("queued request never came back")
	}
	return acquired{}
}

func TestQueueGetsReleasedSlot(t *testing.T) {
	p := build(t, limited(config.BalanceRoundRobin, 1, time.Minute, 1))
	s := p.Servers()[0]
	if _, err := p.Acquire(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	ch := acquireAsync(t, p, context.Background(), p.Pick(nil, nil), false)
	select {
	case a := <-ch:
		t.Fatalf("got a slot on a full server: %v", a)
	default:
	}
	s.Release()
	a := receive(t, ch)
	if a.err != nil || a.s != s {
		t.Fatalf("got %v, %v", a.s, a.err)
	}
	if s.Active() != 1 || p.QueueLen() != 0 {
		t.Fatalf("active %d queue %d, want 1 0", s.Active(), p.QueueLen())
	}
}

func TestQueueTimeout(t *testing.T) {
	tests := []struct {
		name     string
		timeouts config.Timeouts
		want     time.Duration
	}{
		{"queue", config.Timeouts{Queue: 30 * time.Millisecond, Connect: time.Hour}, 30 * time.Millisecond},
		{"connect", config.Timeouts{Connect: 20 * time.Millisecond}, 20 * time.Millisecond},
		{"default", config.Timeouts{}, DefaultQueueTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := limited(config.BalanceRoundRobin, 1, 0, 1)
			b.Timeouts = tt.timeouts
			p := build(t, b)
			if got := p.QueueTimeout(); got != tt.want {
				t.Fatalf("queue timeout %v, want %v", got, tt.want)
			}
			if tt.want > time.Second {
				return
			}
			s := p.Servers()[0]
			if _, err := p.Acquire(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := p.Acquire(context.Background(), s)
			if !errors.Is(err, ErrQueueTimeout) {
				t.Fatalf("err %v, want ErrQueueTimeout", err)
			}
			if waited := time.Since(start); waited < tt.want {
				t.Fatalf("gave up after %v, before the %v timeout", waited, tt.want)
			}
			if s.Active() != 1 || p.QueueLen() != 0 {
				t.Fatalf("active %d queue %d after timeout", s.Active(), p.QueueLen())
			}
		})
	}
}

func TestQueueContextCanceled(t *testing.T) {
	p := build(t, limited(config.BalanceRoundRobin, 1, time.Minute, 1))
	s := p.Servers()[0]
	p.Acquire(context.Background(), s)
	ctx, cancel := context.WithCancel(context.Background())
	ch := acquireAsync(t, p, ctx, s, false)
	cancel()
	if a := receive(t, ch); !errors.Is(a.err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", a.err)
	}
	if p.QueueLen() != 0 {
		t.Fatal("canceled request still queued")
	}
}

func TestQueueTakesAnyEligibleServer(t *testing.T) {
	p := build(t, limited(config.BalanceRoundRobin, 1, time.Minute, 1, 1))
	s0, s1 := p.Servers()[0], p.Servers()[1]
	for _, s := range []*Server{s0, s1} {
		if got, err := p.AcquireServer(context.Background(), s); err != nil || got != s {
			t.Fatalf("filling: got %v, %v", got, err)
		}
	}
	ch := acquireAsync(t, p, context.Background(), s0, false)
	s1.Release()
	if a := receive(t, ch); a.err != nil || a.s != s1 {
		t.Fatalf("got %v, %v; want s1", a.s, a.err)
	}
}

func TestAcquireMovesToAFreeServer(t *testing.T) {
	// Pick chose s0, which filled up before Acquire: the request goes to s1.
	p := build(t, limited(config.BalanceRoundRobin, 1, time.Minute, 1, 1))
	s0, s1 := p.Servers()[0], p.Servers()[1]
	p.AcquireServer(context.Background(), s0)
	if got, err := p.Acquire(context.Background(), s0); err != nil || got != s1 {
		t.Fatalf("got %v, %v; want s1", got, err)
	}
}

func TestQueueIsFIFO(t *testing.T) {
	p := build(t, limited(config.BalanceRoundRobin, 1, time.Minute, 1))
	s := p.Servers()[0]
	p.Acquire(context.Background(), s)
	first := acquireAsync(t, p, context.Background(), s, false)
	second := acquireAsync(t, p, context.Background(), s, false)
	s.Release()
	if a := receive(t, first); a.err != nil {
		t.Fatal(a.err)
	}
	select {
	case <-second:
		t.Fatal("second request served before the first")
	default:
	}
	s.Release()
	if a := receive(t, second); a.err != nil {
		t.Fatal(a.err)
	}
}

func TestQueueBoundToHashedServer(t *testing.T) {
	p := build(t, limited(config.BalanceURI, 1, time.Minute, 1, 1))
	k := key(7)
	s := p.Pick(k, nil)
	var other *Server
	for _, o := range p.Servers() {
		if o != s {
			other = o
		}
	}
	p.Acquire(context.Background(), s)
	p.Acquire(context.Background(), other)
	ch := acquireAsync(t, p, context.Background(), p.Pick(k, nil), false)
	other.Release()
	select {
	case a := <-ch:
		t.Fatalf("hashed request took %v's slot", a.s)
	case <-time.After(10 * time.Millisecond):
	}
	s.Release()
	if a := receive(t, ch); a.err != nil || a.s != s {
		t.Fatalf("got %v, %v; want %s", a.s, a.err, s.Name)
	}
}

func TestBoundWaiterFailsWhenServerGoesDown(t *testing.T) {
	b := limited(config.BalanceRoundRobin, 1, time.Minute, 1)
	b.Servers[0].Check = true
	b.Servers[0].Inter = time.Hour
	p := buildWith(t, RegistryOptions{Dialer: okDialer{}}, b)
	s := p.Servers()[0]
	eventually(t, 5*time.Second, "the first check", func() bool { return s.CheckStats().Successes == 1 })
	p.Acquire(context.Background(), s)
	ch := acquireAsync(t, p, context.Background(), s, true)
	for range DefaultFall {
		s.ReportConnectFailure(nil)
	}
	if a := receive(t, ch); !errors.Is(a.err, ErrServerDown) {
		t.Fatalf("err %v, want ErrServerDown", a.err)
	}
	// And a full, down server fails at once.
	if _, err := p.AcquireServer(context.Background(), s); !errors.Is(err, ErrServerDown) {
		t.Fatalf("err %v, want ErrServerDown", err)
	}
}

func TestQueueServedByServerComingUp(t *testing.T) {
	// s1 is down, s0 full: a request waits; s1 coming up serves it.
	b := limited(config.BalanceRoundRobin, 1, time.Minute, 1, 1)
	b.Servers[1].Check = true
	b.Servers[1].Inter = time.Hour
	p := buildWith(t, RegistryOptions{Dialer: okDialer{}}, b)
	s0, s1 := p.Servers()[0], p.Servers()[1]
	eventually(t, 5*time.Second, "the first check", func() bool { return s1.CheckStats().Successes == 1 })
	for range DefaultFall {
		s1.ReportConnectFailure(nil)
	}
	p.Acquire(context.Background(), s0)
	ch := acquireAsync(t, p, context.Background(), s0, false)
	s1.st.recordCheck(currentGen(s1), CheckResult{OK: true})
	s1.st.recordCheck(currentGen(s1), CheckResult{OK: true})
	if a := receive(t, ch); a.err != nil || a.s != s1 {
		t.Fatalf("got %v, %v; want s1", a.s, a.err)
	}
}

func TestQueueServedByLargerMaxConn(t *testing.T) {
	r := NewRegistry(RegistryOptions{})
	defer r.Close()
	b := limited(config.BalanceRoundRobin, 1, time.Minute, 1)
	p, _ := r.Build(b)
	s := p.Servers()[0]
	p.Acquire(context.Background(), s)
	ch := acquireAsync(t, p, context.Background(), s, false)
	b.Servers[0].MaxConn = 2
	if _, err := r.Build(b); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, ch); a.err != nil || a.s != s {
		t.Fatalf("got %v, %v", a.s, a.err)
	}
}

func TestQueueClosedBySweep(t *testing.T) {
	r := NewRegistry(RegistryOptions{})
	defer r.Close()
	p, _ := r.Build(limited(config.BalanceRoundRobin, 1, time.Minute, 1))
	s := p.Servers()[0]
	p.Acquire(context.Background(), s)
	ch := acquireAsync(t, p, context.Background(), s, false)
	r.Sweep(nil)
	if a := receive(t, ch); !errors.Is(a.err, ErrBackendRetired) {
		t.Fatalf("err %v, want ErrBackendRetired", a.err)
	}
	if _, err := p.Acquire(context.Background(), s); err == nil {
		t.Fatal("a retired backend queued a request")
	}
}

func TestMaxConnNeverExceeded(t *testing.T) {
	// Many goroutines through two servers of maxconn 2: at most 4 in
	// flight overall, at most 2 per server, and everyone gets through.
	p := build(t, limited(config.BalanceLeastConn, 2, time.Minute, 1, 1))
	var inFlight [2]atomic.Int64
	var violations atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				s, err := p.Acquire(context.Background(), p.Pick(nil, nil))
				if err != nil {
					t.Error(err)
					return
				}
				i := 0
				if s.Name == "s1" {
					i = 1
				}
				if n := inFlight[i].Add(1); n > 2 {
					violations.Add(1)
				}
				if g%4 == 0 {
					time.Sleep(time.Microsecond)
				}
				inFlight[i].Add(-1)
				s.Release()
			}
		}()
	}
	wg.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("maxconn exceeded %d times", v)
	}
	for _, s := range p.Servers() {
		if s.Active() != 0 {
			t.Fatalf("%s: %d slots leaked", s.Name, s.Active())
		}
	}
	if p.QueueLen() != 0 {
		t.Fatalf("%d left in queue", p.QueueLen())
	}
}

func TestWithoutMaxConnNoQueue(t *testing.T) {
	p := build(t, farm(config.BalanceRoundRobin, 1))
	s := p.Servers()[0]
	for range 1000 {
		if _, err := p.Acquire(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	if s.Active() != 1000 || !s.Available() {
		t.Fatalf("active %d available %v", s.Active(), s.Available())
	}
	for range 1000 {
		s.Release()
	}
	if s.Active() != 0 {
		t.Fatalf("active %d", s.Active())
	}
}

func TestQueueFollowsBackupTakeover(t *testing.T) {
	// The only primary and the first backup are down or full; when the
	// first backup goes down, the waiting request gets the second.
	b := limited(config.BalanceRoundRobin, 1, time.Minute, 1, 1, 1)
	b.Servers[1].Backup = true
	b.Servers[2].Backup = true
	b.Servers[1].Check = true
	b.Servers[1].Inter = time.Hour
	p := buildWith(t, RegistryOptions{Dialer: okDialer{}}, b)
	s0, b1, b2 := p.Servers()[0], p.Servers()[1], p.Servers()[2]
	eventually(t, 5*time.Second, "the first check", func() bool { return b1.CheckStats().Successes == 1 })
	setDown(s0, true)
	if got, err := p.Acquire(context.Background(), p.Pick(nil, nil)); err != nil || got != b1 {
		t.Fatalf("got %v, %v; want the first backup", got, err)
	}
	ch := acquireAsync(t, p, context.Background(), p.Pick(nil, nil), false)
	for range DefaultFall {
		b1.ReportConnectFailure(nil)
	}
	if a := receive(t, ch); a.err != nil || a.s != b2 {
		t.Fatalf("got %v, %v; want the second backup", a.s, a.err)
	}
}

package backend

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"sluice.dev/sluice/config"
)

// farm builds a backend of servers named s0, s1... on 127.0.0.1 with the
// given weights (ports 10000+i: nothing listens, nothing is checked).
func farm(algo config.BalanceAlgorithm, weights ...int) *config.Backend {
	b := &config.Backend{Name: "be", Balance: config.Balance{Algorithm: algo}}
	if algo == config.BalanceURLParam || algo == config.BalanceHdr {
		b.Balance.Param = "p"
	}
	for i, w := range weights {
		b.Servers = append(b.Servers, config.Server{
			Name: fmt.Sprintf("s%d", i), Host: "127.0.0.1", Port: 10000 + i, Weight: w,
		})
	}
	return b
}

// build returns the pool of b from a fresh registry closed with the test.
func build(t testing.TB, b *config.Backend) *Pool {
	t.Helper()
	return buildWith(t, RegistryOptions{}, b)
}

func buildWith(t testing.TB, opts RegistryOptions, b *config.Backend) *Pool {
	t.Helper()
	r := NewRegistry(opts)
	t.Cleanup(r.Close)
	p, err := r.Build(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// setDown forces a server's health bit, as a failed check would.
func setDown(s *Server, down bool) {
	if down {
		s.st.flags.Or(flagDown)
	} else {
		s.st.flags.And(^flagDown)
	}
}

// counts runs n picks and counts them per server name.
func counts(p *Pool, n int, key func(i int) []byte) map[string]int {
	c := map[string]int{}
	for i := range n {
		var k []byte
		if key != nil {
			k = key(i)
		}
		s := p.Pick(k, nil)
		if s == nil {
			c["<nil>"]++
			continue
		}
		c[s.Name]++
	}
	return c
}

// eventually polls cond every millisecond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func within(got, want int, tolerance float64) bool {
	d := float64(got - want)
	if d < 0 {
		d = -d
	}
	return d <= tolerance*float64(want)
}

// okDialer connects to nothing but always succeeds: TCP checks pass.
type okDialer struct{}

func (okDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	c, peer := net.Pipe()
	peer.Close()
	return c, nil
}

// currentGen is the generation of s's running checker.
func currentGen(s *Server) uint64 {
	s.st.hmu.Lock()
	defer s.st.hmu.Unlock()
	return s.st.h.gen
}

// algoName is the balance keyword of a.
func algoName(a config.BalanceAlgorithm) string {
	return [...]string{"roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param", "hdr", "random"}[a]
}

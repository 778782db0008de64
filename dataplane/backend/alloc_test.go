//go:build !race

package backend

import (
	"context"
	"fmt"
	"testing"

	"sluice.dev/sluice/config"
)

// The request path allocates nothing: Pick, Acquire/Release, ByCookie, the
// idle list and passive health reports.
func TestRequestPathDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	ip := []byte{10, 1, 2, 3}
	algos := []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceStaticRR, config.BalanceLeastConn,
		config.BalanceFirst, config.BalanceRandom, config.BalanceSource, config.BalanceURI, config.BalanceHdr}
	for _, algo := range algos {
		for _, maxconn := range []int{0, 100} {
			t.Run(fmt.Sprintf("%s/maxconn=%d", algoName(algo), maxconn), func(t *testing.T) {
				p := build(t, limited(algo, maxconn, 0, 1, 2, 3))
				allocs := testing.AllocsPerRun(1000, func() {
					s, err := p.Acquire(ctx, p.Pick(ip, nil))
					if err != nil {
						t.Fatal(err)
					}
					s.ReportSuccess()
					s.Release()
				})
				if allocs != 0 {
					t.Fatalf("%v allocations per request", allocs)
				}
			})
		}
	}
	t.Run("cookie+idle", func(t *testing.T) {
		b := farm(config.BalanceRoundRobin, 1, 1)
		b.Servers[1].Cookie = "web2"
		p := build(t, b)
		c := &fakeConn{}
		v := []byte("web2")
		allocs := testing.AllocsPerRun(1000, func() {
			s := p.ByCookie(v)
			if s == nil {
				t.Fatal("cookie not found")
			}
			s.PutIdle(c)
			if s.GetIdle() != c {
				t.Fatal("idle conn lost")
			}
		})
		if allocs != 0 {
			t.Fatalf("%v allocations", allocs)
		}
	})
}

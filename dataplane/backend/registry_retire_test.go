package backend

import (
	"context"
	"errors"
	"testing"
	"time"

	"sluice.dev/sluice/config"
)

// TestRetireSwappedPools: Retire takes out of service what Sweep would, the
// servers a rebuilt backend dropped and everything of a backend that left,
// and nothing that is still live.
func TestRetireSwappedPools(t *testing.T) {
	r := NewRegistry(RegistryOptions{})
	defer r.Close()
	a := farm(config.BalanceRoundRobin, 1, 1, 1)
	a.Name = "a"
	other := farm(config.BalanceRoundRobin, 1)
	other.Name = "other"
	pa1, _ := r.Build(a)
	po, _ := r.Build(other)
	s0, s1, s2 := pa1.Servers()[0], pa1.Servers()[1], pa1.Servers()[2]

	a.Servers = a.Servers[:2]
	a.Servers[1].Port = 20001 // s1 moves: a new server under the old name
	pa2, _ := r.Build(a)
	r.Retire([]PoolSwap{{Old: pa1, New: pa2}})
	if s1.State() != StateRetired || s2.State() != StateRetired {
		t.Fatalf("dropped servers: %v %v, want RETIRED", s1.State(), s2.State())
	}
	if s0.State() != StateUp || pa2.Servers()[1].State() != StateUp || po.Servers()[0].State() != StateUp {
		t.Fatal("a live server was retired")
	}

	// The backend leaves the table: its servers and queue go.
	lim := limited(config.BalanceRoundRobin, 1, time.Minute, 1)
	lim.Name = "lim"
	pl, _ := r.Build(lim)
	sl := pl.Servers()[0]
	pl.Acquire(context.Background(), sl)
	ch := acquireAsync(t, pl, context.Background(), sl, false)
	r.Retire([]PoolSwap{{Old: pa2}, {Old: pl}})
	if a := receive(t, ch); !errors.Is(a.err, ErrBackendRetired) {
		t.Fatalf("queued request: err %v, want ErrBackendRetired", a.err)
	}
	if pa2.Servers()[0].State() != StateRetired || sl.State() != StateRetired {
		t.Fatal("servers of a backend that left are not retired")
	}
	if po.Servers()[0].State() != StateUp {
		t.Fatal("an untouched backend's server was retired")
	}
	// What Retire took out, a Build makes anew.
	pa3, _ := r.Build(a)
	if pa3.Servers()[0].st == s0.st || !pa3.Servers()[0].Up() {
		t.Fatal("a retired server came back with its old state")
	}
}

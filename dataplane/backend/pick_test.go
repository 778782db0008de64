package backend

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"sluice.dev/sluice/config"
)

func TestScheduleIsExactAndSmooth(t *testing.T) {
	tests := []struct {
		weights []int64
		want    string // one cycle, servers as digits
	}{
		{[]int64{1}, "0"},
		{[]int64{1, 1, 1}, "012"},
		{[]int64{2, 4, 6}, "210212"}, // divided by the gcd: 1:2:3
		{[]int64{5, 1, 1}, "0010200"},
		{[]int64{1, 1, 1, 3}, "301323"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.weights), func(t *testing.T) {
			var got []byte
			for _, i := range buildSchedule(tt.weights) {
				got = append(got, byte('0'+i))
			}
			if string(got) != tt.want {
				t.Errorf("schedule %s, want %s", got, tt.want)
			}
		})
	}
}

func TestScheduleLargeFarmsKeepProportions(t *testing.T) {
	// 600 servers with weights 256 and 255 alternating: the sum exceeds
	// maxSchedule and the smooth budget, so both fallbacks run.
	w := make([]int64, 600)
	for i := range w {
		w[i] = int64(255 + i%2)
	}
	sched := buildSchedule(w)
	if len(sched) > maxSchedule {
		t.Fatalf("schedule of %d entries", len(sched))
	}
	seen := make([]int, len(w))
	for _, i := range sched {
		seen[i]++
	}
	for i, n := range seen {
		if n == 0 {
			t.Fatalf("server %d never scheduled", i)
		}
	}
}

func TestRoundRobinDistribution(t *testing.T) {
	for _, algo := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceStaticRR} {
		t.Run(algoName(algo), func(t *testing.T) {
			p := build(t, farm(algo, 1, 2, 3))
			got := counts(p, 6000, nil)
			want := map[string]int{"s0": 1000, "s1": 2000, "s2": 3000}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestRoundRobinSpreadsDownServersShare(t *testing.T) {
	// s1's turns must not all go to the server after it in the cycle.
	p := build(t, farm(config.BalanceRoundRobin, 1, 1, 1))
	setDown(p.Servers()[1], true)
	got := counts(p, 3000, nil)
	if got["s1"] != 0 || !within(got["s0"], 1500, 0.05) || !within(got["s2"], 1500, 0.05) {
		t.Errorf("got %v, want s0 and s2 near 1500 each", got)
	}
}

func TestRandomDistribution(t *testing.T) {
	p := build(t, farm(config.BalanceRandom, 1, 2, 3))
	got := counts(p, 60000, nil)
	for name, want := range map[string]int{"s0": 10000, "s1": 20000, "s2": 30000} {
		if !within(got[name], want, 0.05) {
			t.Errorf("%s: %d picks, want %d±5%% (all: %v)", name, got[name], want, got)
		}
	}
}

func TestRandomPrefersLessLoaded(t *testing.T) {
	p := build(t, farm(config.BalanceRandom, 1, 1))
	s0 := p.Servers()[0]
	for range 10 {
		if _, err := p.Acquire(context.Background(), s0); err != nil {
			t.Fatal(err)
		}
	}
	got := counts(p, 4000, nil)
	// s1 wins every draw that includes it: 3/4 of the picks.
	if !within(got["s1"], 3000, 0.05) {
		t.Errorf("got %v, want s1 near 3000", got)
	}
}

func TestLeastConnFollowsActiveCounts(t *testing.T) {
	p := build(t, farm(config.BalanceLeastConn, 1, 1, 1))
	ss := p.Servers()
	hold := func(s *Server, n int) {
		for range n {
			if _, err := p.Acquire(context.Background(), s); err != nil {
				t.Fatal(err)
			}
		}
	}
	hold(ss[0], 5)
	hold(ss[1], 2)
	hold(ss[2], 7)
	for range 10 {
		if s := p.Pick(nil, nil); s != ss[1] {
			t.Fatalf("picked %s with actives 5,2,7", s.Name)
		}
	}
	ss[0].Release()
	ss[0].Release()
	ss[0].Release()
	ss[0].Release() // 1,2,7
	if s := p.Pick(nil, nil); s != ss[0] {
		t.Fatalf("picked %s with actives 1,2,7", s.Name)
	}
}

func TestLeastConnTiesGoRoundRobin(t *testing.T) {
	p := build(t, farm(config.BalanceLeastConn, 1, 1, 1))
	got := counts(p, 3000, nil)
	want := map[string]int{"s0": 1000, "s1": 1000, "s2": 1000}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLeastConnWeightedFill(t *testing.T) {
	// Picking and holding: active counts follow the weights.
	p := build(t, farm(config.BalanceLeastConn, 1, 2, 3))
	for range 6000 {
		if _, err := p.Acquire(context.Background(), p.Pick(nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []int64{1000, 2000, 3000} {
		if got := p.Servers()[i].Active(); got < want-1 || got > want+1 {
			t.Errorf("s%d holds %d, want %d±1", i, got, want)
		}
	}
}

func TestFirstFillsInOrder(t *testing.T) {
	b := farm(config.BalanceFirst, 1, 1, 1)
	for i := range b.Servers {
		b.Servers[i].MaxConn = 2
	}
	p := build(t, b)
	var got []string
	for range 6 {
		s, err := p.Acquire(context.Background(), p.Pick(nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s.Name)
	}
	if want := "[s0 s0 s1 s1 s2 s2]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
	p.Servers()[0].Release()
	if s := p.Pick(nil, nil); s.Name != "s0" {
		t.Errorf("after a release on s0, picked %s", s.Name)
	}
}

func TestFirstWithoutMaxConn(t *testing.T) {
	p := build(t, farm(config.BalanceFirst, 1, 1, 1))
	if got := counts(p, 100, nil); got["s0"] != 100 {
		t.Errorf("got %v, want all on s0", got)
	}
	setDown(p.Servers()[0], true)
	if got := counts(p, 100, nil); got["s1"] != 100 {
		t.Errorf("s0 down: got %v, want all on s1", got)
	}
}

var hashAlgorithms = []config.BalanceAlgorithm{config.BalanceSource, config.BalanceURI, config.BalanceURLParam, config.BalanceHdr}

func key(i int) []byte {
	return fmt.Appendf(nil, "/item/%d", i)
}

func TestHashStableAndBalanced(t *testing.T) {
	for _, algo := range hashAlgorithms {
		t.Run(algoName(algo), func(t *testing.T) {
			p := build(t, farm(algo, 1, 2, 3))
			for i := range 100 {
				first := p.Pick(key(i), nil)
				for range 3 {
					if s := p.Pick(key(i), nil); s != first {
						t.Fatalf("key %d went to %s then %s", i, first.Name, s.Name)
					}
				}
			}
			got := counts(p, 60000, key)
			for name, want := range map[string]int{"s0": 10000, "s1": 20000, "s2": 30000} {
				if !within(got[name], want, 0.10) {
					t.Errorf("%s: %d keys, want %d±10%% (all: %v)", name, got[name], want, got)
				}
			}
		})
	}
}

func TestHashSourceIPs(t *testing.T) {
	// 4-byte IPv4 keys from one /16: still spread.
	p := build(t, farm(config.BalanceSource, 1, 1, 1, 1))
	got := counts(p, 40000, func(i int) []byte {
		return binary.BigEndian.AppendUint32(nil, 0x0a000000|uint32(i))
	})
	for i := range 4 {
		if name := fmt.Sprintf("s%d", i); !within(got[name], 10000, 0.10) {
			t.Errorf("%s: %d, want 10000±10%% (all: %v)", name, got[name], got)
		}
	}
}

func TestHashMissingKeyIsRoundRobin(t *testing.T) {
	p := build(t, farm(config.BalanceHdr, 1, 2, 3))
	got := counts(p, 6000, nil)
	want := map[string]int{"s0": 1000, "s1": 2000, "s2": 3000}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestConsistentHashOnlyMovesTheDownServersKeys(t *testing.T) {
	p := build(t, farm(config.BalanceURI, 1, 1, 1, 1, 1))
	const n = 20000
	before := make([]*Server, n)
	for i := range n {
		before[i] = p.Pick(key(i), nil)
	}
	down := p.Servers()[2]
	setDown(down, true)
	moved := map[string]int{}
	for i := range n {
		s := p.Pick(key(i), nil)
		switch {
		case s == down:
			t.Fatalf("key %d still on the down server", i)
		case before[i] != down && s != before[i]:
			t.Fatalf("key %d moved from %s to %s though %s is up", i, before[i].Name, s.Name, before[i].Name)
		case before[i] == down:
			moved[s.Name]++
		}
	}
	// The down server's keys spread over the others, not onto one.
	for _, name := range []string{"s0", "s1", "s3", "s4"} {
		if moved[name] == 0 {
			t.Errorf("none of s2's keys went to %s: %v", name, moved)
		}
	}
	setDown(down, false)
	for i := range n {
		if s := p.Pick(key(i), nil); s != before[i] {
			t.Fatalf("key %d on %s after s2 came back, was on %s", i, s.Name, before[i].Name)
		}
	}
}

func TestHashIsFixedAcrossProcesses(t *testing.T) {
	// The key hash and the ring depend on nothing but bytes and names: these
	// values are what every sluice replica and every version computes. A
	// change here re-maps the clients of every hashed backend on upgrade.
	hashes := []struct {
		in   string
		want uint64
	}{
		{"", 0x080e3e39373e1d1a},
		{"/", 0x46ce512bae97934a},
		{"/index.html?a=b", 0xd7d1708eb6bfced9},
	}
	for _, tt := range hashes {
		if got := hash64([]byte(tt.in)); got != tt.want {
			t.Errorf("hash64(%q) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
	p := build(t, farm(config.BalanceURI, 1, 1, 1, 1, 1))
	for k, want := range map[string]string{"/": "s1", "/a": "s3", "/item/1": "s1", "/item/2": "s3", "10.0.0.1": "s2"} {
		if got := p.Pick([]byte(k), nil).Name; got != want {
			t.Errorf("key %q on %s, want %s", k, got, want)
		}
	}
}

func TestHashAvalanche(t *testing.T) {
	// Flipping any input bit flips each output bit half of the time.
	rng := rand.New(rand.NewPCG(1, 2))
	var flips [64]int
	const n = 20000
	b := make([]byte, 64)
	for range n {
		in := b[:1+rng.IntN(len(b))]
		for j := range in {
			in[j] = byte(rng.Uint32())
		}
		h := hash64(in)
		bit := rng.IntN(len(in) * 8)
		in[bit/8] ^= 1 << (bit % 8)
		d := h ^ hash64(in)
		for k := range flips {
			flips[k] += int(d >> k & 1)
		}
	}
	for k, f := range flips {
		if r := float64(f) / n; r < 0.47 || r > 0.53 {
			t.Errorf("output bit %d flips with probability %.3f", k, r)
		}
	}
}

func TestHashIgnoresMaxConn(t *testing.T) {
	b := farm(config.BalanceURI, 1, 1)
	for i := range b.Servers {
		b.Servers[i].MaxConn = 1
	}
	p := build(t, b)
	s := p.Pick(key(1), nil)
	if _, err := p.Acquire(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := p.Pick(key(1), nil); got != s {
		t.Errorf("full server's key went to %s", got.Name)
	}
}

func TestDownServersSkipped(t *testing.T) {
	algos := append([]config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceStaticRR,
		config.BalanceLeastConn, config.BalanceFirst, config.BalanceRandom}, hashAlgorithms...)
	for _, algo := range algos {
		t.Run(algoName(algo), func(t *testing.T) {
			p := build(t, farm(algo, 1, 2, 3))
			setDown(p.Servers()[0], true)
			setDown(p.Servers()[2], true)
			got := counts(p, 600, key)
			if got["s1"] != 600 {
				t.Errorf("got %v, want all on s1", got)
			}
			setDown(p.Servers()[1], true)
			if got := counts(p, 10, key); got["<nil>"] != 10 {
				t.Errorf("all down: got %v, want nil", got)
			}
		})
	}
}

func TestBackup(t *testing.T) {
	b := farm(config.BalanceRoundRobin, 1, 1, 1, 1)
	b.Servers[2].Backup = true
	b.Servers[3].Backup = true
	p := build(t, b)
	ss := p.Servers()
	if got := counts(p, 100, nil); got["s0"] != 50 || got["s1"] != 50 {
		t.Fatalf("primaries up: got %v", got)
	}
	setDown(ss[0], true)
	if got := counts(p, 100, nil); got["s1"] != 100 {
		t.Fatalf("one primary up: got %v", got)
	}
	setDown(ss[1], true)
	if got := counts(p, 100, nil); got["s2"] != 100 {
		t.Fatalf("primaries down: got %v, want the first backup only", got)
	}
	setDown(ss[2], true)
	if got := counts(p, 100, nil); got["s3"] != 100 {
		t.Fatalf("first backup down: got %v, want the second", got)
	}
	setDown(ss[1], false)
	if got := counts(p, 100, nil); got["s1"] != 100 {
		t.Fatalf("a primary back: got %v", got)
	}
}

func TestBackupNotUsedForFullPrimaries(t *testing.T) {
	b := farm(config.BalanceRoundRobin, 1, 1)
	b.Servers[0].MaxConn = 1
	b.Servers[1].Backup = true
	p := build(t, b)
	s0 := p.Servers()[0]
	if _, err := p.Acquire(context.Background(), s0); err != nil {
		t.Fatal(err)
	}
	if s := p.Pick(nil, nil); s != s0 {
		t.Errorf("primary full: picked %s, want s0 (to queue on)", s.Name)
	}
}

func TestWeightZero(t *testing.T) {
	b := farm(config.BalanceRoundRobin, 0, 1)
	b.Servers[0].Cookie = "a"
	p := build(t, b)
	ss := p.Servers()
	if got := counts(p, 100, nil); got["s1"] != 100 {
		t.Fatalf("got %v, want nothing on weight 0", got)
	}
	// Not even when every other server is down (HAProxy: weight 0 takes
	// persistent connections only).
	setDown(ss[1], true)
	if s := p.Pick(nil, nil); s != nil {
		t.Fatalf("picked %s with only weight 0 up", s.Name)
	}
	if s := p.ByCookie([]byte("a")); s != ss[0] {
		t.Fatalf("ByCookie = %v, want s0", s)
	}
	// Weight-0 primaries do not hold backups back.
	b = farm(config.BalanceRoundRobin, 0, 1)
	b.Servers[1].Backup = true
	p = build(t, b)
	if s := p.Pick(nil, nil); s == nil || s.Name != "s1" {
		t.Fatalf("picked %v, want the backup", s)
	}
}

func TestDisabled(t *testing.T) {
	b := farm(config.BalanceRoundRobin, 1, 1)
	b.Servers[0].Disabled = true
	b.Servers[0].Check = true
	b.Servers[0].Cookie = "a"
	p := build(t, b)
	s0 := p.Servers()[0]
	if s0.Up() || s0.State() != StateMaint || s0.st.checker != nil {
		t.Fatalf("disabled server: up=%v state=%v checker=%v", s0.Up(), s0.State(), s0.st.checker)
	}
	if got := counts(p, 100, nil); got["s1"] != 100 {
		t.Fatalf("got %v", got)
	}
	if s := p.ByCookie([]byte("a")); s != nil {
		t.Fatalf("ByCookie returned disabled %s", s.Name)
	}
}

func TestExclude(t *testing.T) {
	algos := append([]config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceLeastConn,
		config.BalanceFirst, config.BalanceRandom}, hashAlgorithms...)
	for _, algo := range algos {
		t.Run(algoName(algo), func(t *testing.T) {
			p := build(t, farm(algo, 1, 1))
			ss := p.Servers()
			for i := range 100 {
				if s := p.Pick(key(i), ss[0]); s != ss[1] {
					t.Fatalf("excluding s0 picked %s", s.Name)
				}
			}
			setDown(ss[1], true)
			if s := p.Pick(key(1), ss[0]); s != ss[0] {
				t.Fatalf("excluded server is the only one up: picked %v", s)
			}
			// Same in a larger farm, where a hash walk gives up early.
			p = build(t, farm(algo, 1, 1, 1, 1, 1, 1, 1, 1))
			for _, s := range p.Servers()[1:] {
				setDown(s, true)
			}
			for i := range 200 {
				if s := p.Pick(key(i), p.Servers()[0]); s != p.Servers()[0] {
					t.Fatalf("key %d: excluded server is the only one up: picked %v", i, s)
				}
			}
		})
	}
}

func TestPickAvoidsFullServers(t *testing.T) {
	for _, algo := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceLeastConn, config.BalanceRandom} {
		t.Run(algoName(algo), func(t *testing.T) {
			b := farm(algo, 1, 1, 1)
			b.Servers[1].MaxConn = 1
			p := build(t, b)
			s1 := p.Servers()[1]
			if _, err := p.AcquireServer(context.Background(), s1); err != nil {
				t.Fatal(err)
			}
			if got := counts(p, 300, nil); got["s1"] != 0 {
				t.Errorf("full s1 picked: %v", got)
			}
		})
	}
}

func TestByCookie(t *testing.T) {
	b := farm(config.BalanceRoundRobin, 1, 1, 1)
	b.Servers[0].Cookie = "alpha"
	b.Servers[1].Cookie = "beta"
	b.Servers[2].Cookie = "alpha" // duplicate: the first declared wins
	p := build(t, b)
	ss := p.Servers()
	tests := []struct {
		v    string
		want *Server
	}{
		{"alpha", ss[0]},
		{"beta", ss[1]},
		{"gamma", nil},
		{"", nil},
		{"alph", nil},
	}
	for _, tt := range tests {
		if got := p.ByCookie([]byte(tt.v)); got != tt.want {
			t.Errorf("ByCookie(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
	setDown(ss[1], true)
	if got := p.ByCookie([]byte("beta")); got != nil {
		t.Errorf("ByCookie of a down server = %v, want nil", got)
	}
}

func TestEmptyPool(t *testing.T) {
	p := build(t, farm(config.BalanceLeastConn))
	if s := p.Pick(nil, nil); s != nil {
		t.Fatalf("picked %v from an empty backend", s)
	}
	if _, err := p.Acquire(context.Background(), nil); err == nil {
		t.Fatal("Acquire(nil) succeeded")
	}
}

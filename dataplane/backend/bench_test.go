package backend

import (
	"context"
	"fmt"
	"testing"

	"sluice.dev/sluice/config"
)

var benchAlgorithms = []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceStaticRR,
	config.BalanceLeastConn, config.BalanceFirst, config.BalanceRandom, config.BalanceSource,
	config.BalanceURI, config.BalanceURLParam, config.BalanceHdr}

// benchKey is what the engine would hash for a.
func benchKey(a config.BalanceAlgorithm) []byte {
	switch a {
	case config.BalanceSource:
		return []byte{10, 1, 2, 3}
	case config.BalanceURI:
		return []byte("/api/v1/items/12345")
	case config.BalanceURLParam, config.BalanceHdr:
		return []byte("user-8231")
	}
	return nil
}

// BenchmarkPick measures Pick alone over 10 servers with mixed weights.
func BenchmarkPick(b *testing.B) {
	for _, algo := range benchAlgorithms {
		b.Run(algoName(algo), func(b *testing.B) {
			p := build(b, farm(algo, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1))
			key := benchKey(algo)
			b.ReportAllocs()
			for b.Loop() {
				if p.Pick(key, nil) == nil {
					b.Fatal("no server")
				}
			}
		})
	}
}

// BenchmarkPickParallel is Pick from every CPU at once (shared counters).
func BenchmarkPickParallel(b *testing.B) {
	for _, algo := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceLeastConn, config.BalanceSource} {
		b.Run(algoName(algo), func(b *testing.B) {
			p := build(b, farm(algo, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1))
			key := benchKey(algo)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p.Pick(key, nil)
				}
			})
		})
	}
}

// BenchmarkRequest is the whole per-request sequence: Pick, Acquire, Release.
func BenchmarkRequest(b *testing.B) {
	ctx := context.Background()
	for _, algo := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceLeastConn, config.BalanceSource} {
		for _, maxconn := range []int{0, 1000} {
			b.Run(fmt.Sprintf("%s/maxconn=%d", algoName(algo), maxconn), func(b *testing.B) {
				p := build(b, limited(algo, maxconn, 0, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1))
				key := benchKey(algo)
				b.ReportAllocs()
				for b.Loop() {
					s, err := p.Acquire(ctx, p.Pick(key, nil))
					if err != nil {
						b.Fatal(err)
					}
					s.Release()
				}
			})
		}
	}
}

// BenchmarkPickLargeFarm shows how Pick scales with 200 servers.
func BenchmarkPickLargeFarm(b *testing.B) {
	for _, algo := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceLeastConn, config.BalanceURI} {
		b.Run(algoName(algo), func(b *testing.B) {
			w := make([]int, 200)
			for i := range w {
				w[i] = 1 + i%4
			}
			p := build(b, farm(algo, w...))
			key := benchKey(algo)
			b.ReportAllocs()
			for b.Loop() {
				p.Pick(key, nil)
			}
		})
	}
}

func BenchmarkIdle(b *testing.B) {
	p := build(b, farm(config.BalanceRoundRobin, 1))
	s := p.Servers()[0]
	c := &fakeConn{}
	b.ReportAllocs()
	for b.Loop() {
		s.PutIdle(c)
		s.GetIdle()
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10, 200} {
		for _, algo := range []config.BalanceAlgorithm{config.BalanceRoundRobin, config.BalanceURI} {
			b.Run(fmt.Sprintf("%s/%d", algoName(algo), n), func(b *testing.B) {
				w := make([]int, n)
				for i := range w {
					w[i] = 1 + i%4
				}
				be := farm(algo, w...)
				r := NewRegistry(RegistryOptions{})
				defer r.Close()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.Build(be); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkBuildRing is a hashed backend's ring built from scratch (a reload
// that changes its servers or weights).
func BenchmarkBuildRing(b *testing.B) {
	for _, n := range []int{10, 200} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			names := make([]string, n)
			weights := make([]int64, n)
			for i := range names {
				names[i], weights[i] = fmt.Sprintf("pod-%d", i), int64(1+i%4)
			}
			b.ReportAllocs()
			for b.Loop() {
				buildRing(names, weights)
			}
		})
	}
}

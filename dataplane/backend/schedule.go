package backend

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
)

// maxSchedule bounds the length of a round-robin schedule and of a hash
// ring. Beyond it weights are scaled down (every server keeps at least one
// entry), which only costs precision for farms of hundreds of servers with
// mixed weights.
const maxSchedule = 1 << 16

// buildSchedule returns one cycle of smooth weighted round robin over
// servers 0..len(weights)-1: server i appears weights[i]/g times (g the
// weights' greatest common divisor), its turns spread out. The order is the
// one of the "smooth weighted round-robin" scheme: every step each server's
// credit grows by its weight, the richest server (lowest index on ties) is
// chosen and pays the total weight. Weights must be positive.
//
// That costs len(weights) per turn; for very large farms with mixed weights
// the cycle is built by virtual time instead (server i's k-th turn at
// (k+½)/w), which is as fair but groups equal servers more.
func buildSchedule(weights []int64) []uint32 {
	w := normalize(weights, maxSchedule)
	var total int64
	for _, x := range w {
		total += x
	}
	if total*int64(len(w)) > smoothBudget {
		return virtualTimeSchedule(w, total)
	}
	sched := make([]uint32, total)
	credit := make([]int64, len(w))
	for t := range sched {
		best := 0
		for i, x := range w {
			credit[i] += x
			if credit[i] > credit[best] {
				best = i
			}
		}
		credit[best] -= total
		sched[t] = uint32(best)
	}
	return sched
}

// smoothBudget bounds the work of building a smooth schedule (a few ms).
const smoothBudget = 1 << 22

func virtualTimeSchedule(w []int64, total int64) []uint32 {
	type turn struct {
		num, den uint64 // virtual time num/den
		idx      uint32
	}
	turns := make([]turn, 0, total)
	for i, x := range w {
		for k := int64(0); k < x; k++ {
			turns = append(turns, turn{num: uint64(2*k + 1), den: uint64(2 * x), idx: uint32(i)})
		}
	}
	slices.SortFunc(turns, func(a, b turn) int {
		l, r := a.num*b.den, b.num*a.den
		switch {
		case l < r:
			return -1
		case l > r:
			return 1
		}
		return int(a.idx) - int(b.idx)
	})
	sched := make([]uint32, len(turns))
	for i, t := range turns {
		sched[i] = t.idx
	}
	return sched
}

// normalize divides weights by their gcd and, if their sum exceeds limit,
// scales them down proportionally, keeping each at least 1.
func normalize(weights []int64, limit int64) []int64 {
	var g int64
	for _, x := range weights {
		g = gcd(g, x)
	}
	out := make([]int64, len(weights))
	var sum int64
	for i, x := range weights {
		out[i] = x / g
		sum += out[i]
	}
	if sum > limit {
		for i, x := range out {
			out[i] = max(1, x*limit/sum)
		}
	}
	return out
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ring is a consistent-hash ring: sorted points, each owned by a server.
type ring struct {
	points []uint32 // sorted
	owner  []uint32 // owner[i] owns points[i]; index into Pool.primaries
}

// Ring sizing: each server gets weight*ppw points, ppw the largest power of
// two up to maxPointsPerWeight that keeps the ring within maxRing points.
// Using the raw weights and a power of two keeps points stable: adding or
// removing a server changes nobody else's points unless it crosses a power
// of two, and then each server keeps the first half of its points.
const (
	maxPointsPerWeight = 1024
	maxRing            = 1 << 16
)

// buildRing places each server's points by hashing "name#k". Points depend
// only on server names and weights, so that every process maps a key to the
// same server and a server keeps its points across reloads.
func buildRing(names []string, weights []int64) ring {
	var sum int64
	for _, w := range weights {
		sum += w
	}
	ppw := int64(maxPointsPerWeight)
	for ppw > 1 && sum*ppw > maxRing {
		ppw /= 2
	}
	count := func(w int64) int64 { return w * ppw }
	if sum > maxRing { // hundreds of heavy servers: scale down
		count = func(w int64) int64 { return max(1, w*maxRing/sum) }
	}
	// A point is its hash in the high half, its server in the low half, so
	// that sorting the integers sorts by hash, then server.
	var pts []uint64
	var buf []byte
	for i, name := range names {
		for k := range count(weights[i]) {
			buf = strconv.AppendInt(append(append(buf[:0], name...), '#'), k, 10)
			pts = append(pts, uint64(hash32(buf))<<32|uint64(i))
		}
	}
	slices.Sort(pts)
	r := ring{points: make([]uint32, len(pts)), owner: make([]uint32, len(pts))}
	for i, p := range pts {
		r.points[i], r.owner[i] = uint32(p>>32), uint32(p)
	}
	return r
}

// ringCache keeps each backend's latest ring: a reload that leaves a hashed
// backend's servers and weights alone does not rebuild it.
type ringCache map[string]*cachedRing

type cachedRing struct {
	names   []string
	weights []int64
	ring    ring
}

func (c ringCache) get(backend string, names []string, weights []int64) ring {
	if e := c[backend]; e != nil && slices.Equal(e.names, names) && slices.Equal(e.weights, weights) {
		return e.ring
	}
	r := buildRing(names, weights)
	c[backend] = &cachedRing{names: names, weights: weights, ring: r}
	return r
}

// Hash constants: odd 64-bit values with well-mixed bits.
const (
	hashSeed = 0x243f6a8885a308d3 // pi
	hashMulA = 0x9e3779b97f4a7c15 // 2^64 / golden ratio
	hashMulB = 0xd6e8feb86659fd93
)

// hash64 is a fixed (unseeded, endian-independent) hash: the same bytes hash
// the same in every process, which consistent hashing across replicas and
// restarts needs. Each 8-byte word is folded in with a 64x64->128 multiply
// whose halves are xored; a final avalanche spreads the last word's bits.
func hash64(b []byte) uint64 {
	h := uint64(hashSeed) ^ uint64(len(b))*hashMulA
	for len(b) >= 8 {
		h = fold(h^binary.LittleEndian.Uint64(b), hashMulB)
		b = b[8:]
	}
	if len(b) > 0 {
		var t uint64
		for i, c := range b {
			t |= uint64(c) << (8 * i)
		}
		h = fold(h^t, hashMulB)
	}
	return avalanche(h)
}

func fold(x, m uint64) uint64 {
	hi, lo := bits.Mul64(x^hashMulA, m)
	return hi ^ lo
}

func avalanche(h uint64) uint64 {
	h ^= h >> 32
	h *= hashMulB
	h ^= h >> 29
	h *= hashMulA
	h ^= h >> 32
	return h
}

func hash32(b []byte) uint32 { return uint32(hash64(b) >> 32) }

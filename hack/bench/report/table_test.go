package main

import (
	"math"
	"strings"
	"testing"
)

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-9
}

func TestMedianAndSpread(t *testing.T) {
	tests := []struct {
		name           string
		in             []float64
		median, spread float64
	}{
		{"none", nil, math.NaN(), math.NaN()},
		{"one", []float64{7}, 7, 0},
		{"odd, unsorted", []float64{30, 10, 20}, 20, 1},
		{"even", []float64{4, 1, 3, 2}, 2.5, 3 / 2.5},
		{"outlier moves spread, not median", []float64{100, 100, 50}, 100, 0.5},
		{"zero median", []float64{0, 0, 1}, 0, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); !same(got, tt.median) {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.median)
			}
			if got := spread(tt.in); !same(got, tt.spread) {
				t.Errorf("spread(%v) = %v, want %v", tt.in, got, tt.spread)
			}
		})
	}
}

func rowsOf(target string, values ...float64) []Row {
	var rs []Row
	for i, v := range values {
		rs = append(rs, Row{Round: i + 1, Target: target, Value: v})
	}
	return rs
}

func TestPairedRatio(t *testing.T) {
	value := func(r Row) float64 { return r.Value }
	tests := []struct {
		name     string
		rs, base []Row
		want     float64
	}{
		{"same round pairs", rowsOf("a", 10, 20, 30), rowsOf("haproxy", 10, 10, 10), 2},
		// Medians of the values would give 20/20 = 1; pairing by round
		// sees that a was behind in every round.
		{"paired, not ratio of medians", rowsOf("a", 9, 18, 27), rowsOf("haproxy", 10, 20, 30), 0.9},
		{"no baseline", rowsOf("a", 1, 2), nil, math.NaN()},
		{"round missing in baseline", rowsOf("a", 10, 20, 30), []Row{{Round: 2, Value: 10}}, 2},
		{"zero baseline skipped", rowsOf("a", 10, 20), rowsOf("haproxy", 0, 10), 2},
		{"not measured skipped", rowsOf("a", -1, -1), rowsOf("haproxy", 5, 5), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pairedRatio(tt.rs, tt.base, value); !same(got, tt.want) {
				t.Errorf("pairedRatio = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	rows := []Row{
		// Round 0 is the warm-up and must not count.
		{Round: 0, Scenario: "l4-bulk", Target: "haproxy", Value: 1, ProxyCPU: 99, LoadCore: 50, CoreUsOp: 1000},
		{Round: 0, Scenario: "l4-bulk", Target: "sluice", Value: 1e6, ProxyCPU: 99, LoadCore: 50, CoreUsOp: 1},
	}
	for round, v := range []struct{ h, s, hCore, sCore, sCPU, load float64 }{
		{1000, 1100, 400, 380, 70, 95},
		{900, 1000, 420, 400, 72, 96},
		{1100, 1300, 390, 350, 75, 97},
	} {
		rows = append(rows,
			Row{Round: round + 1, Scenario: "l4-bulk", Target: "haproxy", Value: v.h, ProxyCPU: 90, LoadCore: v.load, CoreUsOp: v.hCore, Errors: 1},
			Row{Round: round + 1, Scenario: "l4-bulk", Target: "sluice", Value: v.s, ProxyCPU: v.sCPU, LoadCore: v.load, CoreUsOp: v.sCore},
			Row{Round: round + 1, Scenario: "http-small", Target: "direct", Value: 5000, ProxyCPU: -1, LoadCore: 100, CoreUsOp: -1, ProcUsOp: -1},
		)
	}
	scenarios, sums := summarize(rows)
	if strings.Join(scenarios, ",") != "http-small,l4-bulk" {
		t.Fatalf("scenarios %v, want the canonical order http-small,l4-bulk", scenarios)
	}
	bulk := sums["l4-bulk"]
	if len(bulk) != 2 || bulk[0].Target != "haproxy" || bulk[1].Target != "sluice" {
		t.Fatalf("l4-bulk targets %+v", bulk)
	}
	h, s := bulk[0], bulk[1]
	if h.Rounds != 3 || h.Value != 1000 || h.Errors != 3 || h.VsBase != 1 || h.LoadBounded {
		t.Errorf("haproxy summary %+v", h)
	}
	if s.Value != 1100 || !same(s.Spread, 300.0/1100) {
		t.Errorf("sluice value %v spread %v, want 1100 and %v", s.Value, s.Spread, 300.0/1100)
	}
	if !same(s.VsBase, 1000.0/900) {
		t.Errorf("sluice × haproxy = %v, want the middle paired ratio %v", s.VsBase, 1000.0/900)
	}
	if !same(s.CoreVsBase, 380.0/400) {
		t.Errorf("sluice core × haproxy = %v, want %v", s.CoreVsBase, 380.0/400)
	}
	if !s.LoadBounded {
		t.Errorf("sluice at 72%% CPU with the load core at 96%% should be flagged as load-bounded")
	}
	direct := sums["http-small"][0]
	if direct.LoadBounded || direct.CoreUsOp != -1 || !math.IsNaN(direct.CoreSpread) || !math.IsNaN(direct.VsBase) {
		t.Errorf("direct (no proxy) summary %+v", direct)
	}

	md := markdown(rows)
	for _, want := range []string{
		"### l4-bulk: TCP, 4 connections each fetching 64 MiB (median of 3 rounds)",
		"| target | MB/s | spread | × haproxy | p50 µs | p99 µs | proxy CPU | load core | core µs/MB | spread | × haproxy | proc µs/MB | errors |",
		"| sluice | 1,100* | 27% | 1.11 |",
		"| direct | 5,000 | 0% | - | 0.0 | 0.0 | - | 100% | - | - | - | - | 0 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestNumber(t *testing.T) {
	for in, want := range map[float64]string{
		-1: "-", 0: "0.0", 28.34: "28.3", 100: "100", 1234.6: "1,235", 31532: "31,532", 1234567: "1,234,567",
	} {
		if got := number(in); got != want {
			t.Errorf("number(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestRowRoundTrip(t *testing.T) {
	in := Row{Round: 2, Scenario: "http-16k", Target: "sluice", Value: 20108.5, P50us: 2100, P99us: 5400,
		Errors: 3, Secs: 5.01, ProxyCPU: 99.5, LoadCore: 88, CoreUsOp: 44.25, ProcUsOp: 30.5, Steal: 0.5}
	out, err := parseRow(in.tsv())
	if err != nil || out != in {
		t.Fatalf("parseRow(tsv) = %+v, %v; want %+v", out, err, in)
	}
	if _, err := parseRow("1\thttp-small\tx"); err == nil {
		t.Error("a short row parsed without error")
	}
}

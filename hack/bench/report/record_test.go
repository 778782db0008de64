package main

import (
	"math"
	"testing"
)

func TestParseCPULine(t *testing.T) {
	stat := "cpu  10 0 10 100 0 0 0 0 0 0\n" +
		"cpu0 100 1 50 1000 9 2 20 3 0 0\n" +
		"cpu1 7 0 3 90 0 0 40 5 0 0\n" +
		"intr 12345\n"
	tests := []struct {
		cpu  int
		want cpuTimes
		ok   bool
	}{
		{0, cpuTimes{busy: 100 + 1 + 50 + 2 + 20, idle: 1009, steal: 3}, true},
		{1, cpuTimes{busy: 50, idle: 90, steal: 5}, true}, // softirq counts as busy
		{2, cpuTimes{}, false},
	}
	for _, tt := range tests {
		got, ok := parseCPULine(stat, tt.cpu)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cpu%d: got %+v %v, want %+v %v", tt.cpu, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		session int
		ticks   float64
		ok      bool
	}{
		{"plain", "4242 (haproxy) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0", 4242, 300, true},
		{"name with spaces and parentheses", "77 (nginx: worker (x) ) R 76 76 76 0 -1 0 0 0 0 0 12 8 0 0", 76, 20, true},
		{"truncated", "77 (x) R 1 2", 0, 0, false},
		{"garbage", "no parenthesis", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ticks, ok := parseProcStat(tt.line)
			if s != tt.session || ticks != tt.ticks || ok != tt.ok {
				t.Errorf("got %d %v %v, want %d %v %v", s, ticks, ok, tt.session, tt.ticks, tt.ok)
			}
		})
	}
}

func TestParseResult(t *testing.T) {
	out := "Running 5s test @ http://127.0.0.1:18200/\n" +
		"first error: dial: refused\n" +
		"RESULT ops=1000 secs=5.000 bytes=64000 p50_us=900 p99_us=2000 errors=2 short=1 detail=c0/r1\n"
	kv, ok := parseResult(out)
	if !ok || kv["ops"] != 1000 || kv["errors"] != 2 || kv["short"] != 1 {
		t.Fatalf("parseResult = %v, %v", kv, ok)
	}
	if _, present := kv["detail"]; present {
		t.Error("a non-numeric value was kept")
	}
	if _, ok := parseResult("Running 5s test\n"); ok {
		t.Error("found a RESULT line in output without one")
	}
	if got := firstError(out); got != "first error: dial: refused" {
		t.Errorf("firstError = %q", got)
	}
}

func TestMeasurementRow(t *testing.T) {
	http := measurement{
		res:      map[string]float64{"ops": 100000, "secs": 5, "p50_us": 800, "errors": 1, "short": 2},
		scenario: "http-small", wall: 5, hz: 100, proxied: true, procTicks: 400,
		load:  cpuTimes{busy: 475, idle: 25},
		proxy: cpuTimes{busy: 450, idle: 40, steal: 10},
	}
	r := http.row()
	want := Row{Value: 20000, P50us: 800, Secs: 5, Errors: 3, ProxyCPU: 80, LoadCore: 95,
		CoreUsOp: 45, ProcUsOp: 40, Steal: 1}
	if r != want {
		t.Errorf("http row %+v, want %+v", r, want)
	}

	bulk := http
	bulk.scenario = "l4-bulk"
	bulk.res = map[string]float64{"ops": 10, "secs": 5, "bytes": 10 * 64 << 20}
	r = bulk.row()
	mb := float64(10*64<<20) / 1e6
	if math.Abs(r.Value-mb/5) > 1e-9 || math.Abs(r.CoreUsOp-4.5e6/mb) > 1e-9 {
		t.Errorf("bulk: %v MB/s, %v µs/MB; want per MB, not per transfer", r.Value, r.CoreUsOp)
	}

	direct := http
	direct.proxied = false
	r = direct.row()
	if r.ProxyCPU != -1 || r.CoreUsOp != -1 || r.ProcUsOp != -1 || r.Value != 20000 {
		t.Errorf("direct row %+v: per-op figures should be absent", r)
	}
}

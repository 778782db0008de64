package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Row is one measurement: one target, one scenario, one round.
type Row struct {
	Round    int
	Scenario string
	Target   string
	Value    float64 // req/s, MB/s (l4-bulk) or conn/s (l4-conn)
	P50us    float64
	P99us    float64
	Errors   int64
	Secs     float64 // as measured by the load generator
	ProxyCPU float64 // % of one core used by the proxy's processes; -1 for none
	LoadCore float64 // % busy of the load generator's core
	CoreUsOp float64 // proxy core busy µs per op, softirq included; -1 for none
	ProcUsOp float64 // proxy process CPU µs per op; -1 for none
	Steal    float64 // % of both cores stolen by the hypervisor
}

var header = []string{"round", "scenario", "target", "value", "p50_us", "p99_us", "errors", "secs",
	"proxy_cpu_pct", "load_core_pct", "core_us_per_op", "proc_us_per_op", "steal_pct"}

func (r Row) tsv() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	return strings.Join([]string{strconv.Itoa(r.Round), r.Scenario, r.Target, f(r.Value), f(r.P50us),
		f(r.P99us), strconv.FormatInt(r.Errors, 10), f(r.Secs), f(r.ProxyCPU), f(r.LoadCore),
		f(r.CoreUsOp), f(r.ProcUsOp), f(r.Steal)}, "\t")
}

func parseRow(line string) (Row, error) {
	c := strings.Split(line, "\t")
	if len(c) != len(header) {
		return Row{}, fmt.Errorf("%d columns, want %d", len(c), len(header))
	}
	var (
		r   Row
		err error
	)
	num := func(s string) float64 {
		v, e := strconv.ParseFloat(s, 64)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	r.Round = int(num(c[0]))
	r.Scenario, r.Target = c[1], c[2]
	r.Value, r.P50us, r.P99us = num(c[3]), num(c[4]), num(c[5])
	r.Errors = int64(num(c[6]))
	r.Secs, r.ProxyCPU, r.LoadCore = num(c[7]), num(c[8]), num(c[9])
	r.CoreUsOp, r.ProcUsOp, r.Steal = num(c[10]), num(c[11]), num(c[12])
	return r, err
}

// unit is what a scenario's Value counts; l4-bulk's per-op figures are per MB.
func unit(scenario string) (rate, perOp string) {
	switch scenario {
	case "l4-bulk":
		return "MB/s", "µs/MB"
	case "l4-conn":
		return "conn/s", "µs/conn"
	}
	return "req/s", "µs/req"
}

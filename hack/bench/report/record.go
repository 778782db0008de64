package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// record runs the load command once and appends its row to -out.
func record(args []string) error {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	out := fs.String("out", "results.tsv", "file the row is appended to")
	round := fs.Int("round", 1, "round number; 0 is the warm-up")
	scenario := fs.String("scenario", "", "scenario name")
	target := fs.String("target", "", "target name")
	session := fs.Int("session", 0, "session id of the proxy's processes (0: no proxy, direct to the backends)")
	loadCPU := fs.Int("load-cpu", 0, "core of the load generator and backends")
	proxyCPU := fs.Int("proxy-cpu", 1, "core of the proxy under test")
	hz := fs.Float64("hz", 100, "clock ticks per second of /proc (getconf CLK_TCK)")
	timeout := fs.Duration("timeout", 2*time.Minute, "kill the load command after this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 || *scenario == "" || *target == "" {
		return errors.New("need -scenario, -target and a load command after --")
	}

	cores0, err := readCores(*loadCPU, *proxyCPU)
	if err != nil {
		return err
	}
	ticks0 := sessionTicks(*session)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.WaitDelay = 5 * time.Second
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	runErr := cmd.Run()
	wall := time.Since(start).Seconds()
	ticks1 := sessionTicks(*session)
	cores1, err := readCores(*loadCPU, *proxyCPU)
	if err != nil {
		return err
	}

	res, ok := parseResult(output.String())
	if !ok {
		return fmt.Errorf("%s %s: no RESULT line (%v): %s", *scenario, *target, runErr, lastLines(output.String(), 3))
	}
	if first := firstError(output.String()); first != "" {
		fmt.Fprintf(os.Stderr, "%s %s: %s\n", *scenario, *target, first)
	}
	m := measurement{
		res: res, scenario: *scenario, wall: wall, hz: *hz, proxied: *session > 0,
		procTicks: ticks1 - ticks0,
		load:      cores1[0].minus(cores0[0]), proxy: cores1[1].minus(cores0[1]),
	}
	row := m.row()
	row.Round, row.Scenario, row.Target = *round, *scenario, *target
	if err := appendRow(*out, row); err != nil {
		return err
	}
	rate, _ := unit(*scenario)
	fmt.Fprintf(os.Stderr, "r%d %-13s %-8s %10.1f %-6s p50=%.0fµs p99=%.0fµs err=%d proxy=%.0f%% load=%.0f%% core=%.1fµs/op steal=%.1f%%\n",
		row.Round, row.Scenario, row.Target, row.Value, rate, row.P50us, row.P99us, row.Errors,
		row.ProxyCPU, row.LoadCore, row.CoreUsOp, row.Steal)
	return nil
}

// measurement turns raw counters into a row.
type measurement struct {
	res         map[string]float64
	scenario    string
	wall        float64
	hz          float64
	proxied     bool
	procTicks   float64
	load, proxy cpuTimes
}

func (m measurement) row() Row {
	secs := m.res["secs"]
	r := Row{
		P50us: m.res["p50_us"], P99us: m.res["p99_us"], Secs: secs,
		Errors:   int64(m.res["errors"] + m.res["short"]),
		LoadCore: m.load.busyPct(), ProxyCPU: -1, CoreUsOp: -1, ProcUsOp: -1,
	}
	if total := m.load.total() + m.proxy.total(); total > 0 {
		r.Steal = 100 * (m.load.steal + m.proxy.steal) / total
	}
	// Work units: MB for bulk transfers, requests or connections otherwise.
	units := m.res["ops"]
	if m.scenario == "l4-bulk" {
		units = m.res["bytes"] / 1e6
	}
	if secs > 0 {
		r.Value = units / secs
	}
	if !m.proxied || units <= 0 || m.wall <= 0 {
		return r
	}
	r.ProxyCPU = 100 * m.procTicks / m.hz / m.wall
	r.CoreUsOp = m.proxy.busy / m.hz * 1e6 / units
	r.ProcUsOp = m.procTicks / m.hz * 1e6 / units
	return r
}

// parseResult finds the load generator's "RESULT k=v ..." line; values that
// are not numbers are left out.
func parseResult(output string) (map[string]float64, bool) {
	for line := range strings.Lines(output) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "RESULT ")
		if !ok {
			continue
		}
		kv := map[string]float64{}
		for _, f := range strings.Fields(rest) {
			k, v, _ := strings.Cut(f, "=")
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				kv[k] = n
			}
		}
		return kv, true
	}
	return nil, false
}

func firstError(output string) string {
	for line := range strings.Lines(output) {
		if strings.HasPrefix(line, "first error") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], " | ")
}

// cpuTimes are one core's /proc/stat counters, in clock ticks.
type cpuTimes struct{ busy, idle, steal float64 }

func (c cpuTimes) minus(o cpuTimes) cpuTimes {
	return cpuTimes{c.busy - o.busy, c.idle - o.idle, c.steal - o.steal}
}
func (c cpuTimes) total() float64 { return c.busy + c.idle + c.steal }
func (c cpuTimes) busyPct() float64 {
	if c.total() <= 0 {
		return 0
	}
	return 100 * c.busy / c.total()
}

func readCores(a, b int) ([2]cpuTimes, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return [2]cpuTimes{}, fmt.Errorf("cpu times: %w", err)
	}
	var out [2]cpuTimes
	for i, cpu := range []int{a, b} {
		t, ok := parseCPULine(string(data), cpu)
		if !ok {
			return out, fmt.Errorf("cpu times: no cpu%d in /proc/stat", cpu)
		}
		out[i] = t
	}
	return out, nil
}

// parseCPULine reads "cpuN user nice system idle iowait irq softirq steal
// ...". Busy includes irq and softirq: for a proxy much of the network stack
// runs there, on its core, and belongs to its cost.
func parseCPULine(stat string, cpu int) (cpuTimes, bool) {
	name := "cpu" + strconv.Itoa(cpu)
	for line := range strings.Lines(stat) {
		f := strings.Fields(line)
		if len(f) < 9 || f[0] != name {
			continue
		}
		var v [8]float64
		for i := range v {
			n, err := strconv.ParseFloat(f[i+1], 64)
			if err != nil {
				return cpuTimes{}, false
			}
			v[i] = n
		}
		user, nice, system, idle, iowait, irq, softirq, steal := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
		return cpuTimes{busy: user + nice + system + irq + softirq, idle: idle + iowait, steal: steal}, true
	}
	return cpuTimes{}, false
}

// sessionTicks sums user+system ticks of every process in session sid: the
// proxies are started with setsid, so this covers nginx's workers too.
func sessionTicks(sid int) float64 {
	if sid <= 0 {
		return 0
	}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total float64
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		if s, ticks, ok := parseProcStat(string(data)); ok && s == sid {
			total += ticks
		}
	}
	return total
}

// parseProcStat returns the session and utime+stime of a /proc/PID/stat
// line. The command name is in parentheses and may itself hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseProcStat(line string) (session int, ticks float64, ok bool) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state): session is field 6, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	s, err1 := strconv.Atoi(f[3])
	u, err2 := strconv.ParseFloat(f[11], 64)
	st, err3 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return s, u + st, true
}

func appendRow(path string, r Row) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.Size() == 0 {
		_, err = fmt.Fprintln(f, strings.Join(header, "\t"))
	}
	if err == nil {
		_, err = fmt.Fprintln(f, r.tsv())
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("results %s: %w", path, err)
	}
	return nil
}

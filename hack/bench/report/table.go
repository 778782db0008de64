package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// baseline is the peer every ratio is taken against.
const baseline = "haproxy"

// A row is flagged as bounded by the load generator when the load core was
// busier than loadBusy while the proxy used less than proxyIdle of its own.
const (
	loadBusy  = 90.0
	proxyIdle = 85.0
)

var scenarioOrder = []string{"http-small", "http-16k", "http-close", "http-small-c1", "l4-bulk", "l4-conn"}

var scenarioTitle = map[string]string{
	"http-small":    "GET /, 64 B body, keep-alive, 50 connections",
	"http-16k":      "GET /16k, 16 KiB body, keep-alive, 50 connections",
	"http-close":    "GET /, 64 B, Connection: close (a new client connection per request), 50 connections",
	"http-small-c1": "GET /, 64 B, keep-alive, one connection",
	"l4-bulk":       "TCP, 4 connections each fetching 64 MiB",
	"l4-conn":       "TCP, 50 loops of connect, fetch 64 B, close",
}

func table(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("want one results file, got %d arguments", len(args))
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := readRows(f)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	fmt.Print(markdown(rows))
	return nil
}

func readRows(r io.Reader) ([]Row, error) {
	var rows []Row
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, header[0]+"\t") {
			continue
		}
		row, err := parseRow(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

// Summary is one target's figures in one scenario over the measured rounds.
type Summary struct {
	Target      string
	Rounds      int
	Value       float64 // median
	Spread      float64 // (max-min)/median of Value
	VsBase      float64 // median of per-round Value / baseline's; NaN without a baseline
	P50us       float64
	P99us       float64
	ProxyCPU    float64 // median; -1 when there is no proxy
	LoadCore    float64
	CoreUsOp    float64 // median; -1 when there is no proxy
	CoreSpread  float64
	CoreVsBase  float64 // median of per-round CoreUsOp / baseline's
	ProcUsOp    float64 // median; -1 when there is no proxy
	Errors      int64
	LoadBounded bool
}

// summarize groups measured rows (round 0 is dropped) by scenario and target,
// in scenarioOrder and then order of appearance.
func summarize(rows []Row) (scenarios []string, sums map[string][]Summary) {
	type key struct{ scenario, target string }
	byKey := map[key][]Row{}
	var targets []string
	for _, r := range rows {
		if r.Round == 0 {
			continue
		}
		k := key{r.Scenario, r.Target}
		if byKey[k] == nil {
			if !slices.Contains(scenarios, r.Scenario) {
				scenarios = append(scenarios, r.Scenario)
			}
			if !slices.Contains(targets, r.Target) {
				targets = append(targets, r.Target)
			}
		}
		byKey[k] = append(byKey[k], r)
	}
	rank := func(s string) int {
		if i := slices.Index(scenarioOrder, s); i >= 0 {
			return i
		}
		return len(scenarioOrder)
	}
	slices.SortStableFunc(scenarios, func(a, b string) int { return rank(a) - rank(b) })

	sums = map[string][]Summary{}
	for _, sc := range scenarios {
		base := byKey[key{sc, baseline}]
		for _, t := range targets {
			rs := byKey[key{sc, t}]
			if len(rs) == 0 {
				continue
			}
			sums[sc] = append(sums[sc], summarizeTarget(t, rs, base))
		}
	}
	return scenarios, sums
}

func summarizeTarget(target string, rs, base []Row) Summary {
	col := func(f func(Row) float64) []float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return v
	}
	values := col(func(r Row) float64 { return r.Value })
	core := col(func(r Row) float64 { return r.CoreUsOp })
	s := Summary{
		Target:     target,
		Rounds:     len(rs),
		Value:      median(values),
		Spread:     spread(values),
		VsBase:     pairedRatio(rs, base, func(r Row) float64 { return r.Value }),
		P50us:      median(col(func(r Row) float64 { return r.P50us })),
		P99us:      median(col(func(r Row) float64 { return r.P99us })),
		ProxyCPU:   median(col(func(r Row) float64 { return r.ProxyCPU })),
		LoadCore:   median(col(func(r Row) float64 { return r.LoadCore })),
		CoreUsOp:   median(core),
		CoreSpread: spread(core),
		CoreVsBase: pairedRatio(rs, base, func(r Row) float64 { return r.CoreUsOp }),
		ProcUsOp:   median(col(func(r Row) float64 { return r.ProcUsOp })),
	}
	if s.CoreUsOp < 0 {
		s.CoreSpread = math.NaN() // not proxied: the core is idle
	}
	for _, r := range rs {
		s.Errors += r.Errors
	}
	s.LoadBounded = s.ProxyCPU >= 0 && s.ProxyCPU < proxyIdle && s.LoadCore > loadBusy
	return s
}

// median of vs; NaN for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is (max-min)/median: how far apart the rounds were.
func spread(vs []float64) float64 {
	m := median(vs)
	if len(vs) == 0 || m == 0 {
		return math.NaN()
	}
	return (slices.Max(vs) - slices.Min(vs)) / math.Abs(m)
}

// pairedRatio is the median over rounds of metric(target)/metric(base) taken
// in the same round, which cancels drifts of the shared machine between
// rounds. Rounds missing on either side, or with a non-positive metric, are
// skipped; NaN when none is left.
func pairedRatio(rs, base []Row, metric func(Row) float64) float64 {
	var ratios []float64
	for _, r := range rs {
		for _, b := range base {
			if b.Round == r.Round && metric(b) > 0 && metric(r) >= 0 {
				ratios = append(ratios, metric(r)/metric(b))
			}
		}
	}
	return median(ratios)
}

func markdown(rows []Row) string {
	scenarios, sums := summarize(rows)
	var b strings.Builder
	for _, sc := range scenarios {
		rate, perOp := unit(sc)
		ss := sums[sc]
		title := scenarioTitle[sc]
		if title == "" {
			title = sc
		}
		fmt.Fprintf(&b, "### %s: %s (median of %d rounds)\n\n", sc, title, ss[0].Rounds)
		fmt.Fprintf(&b, "| target | %s | spread | × %s | p50 µs | p99 µs | proxy CPU | load core | core %s | spread | × %s | proc %s | errors |\n",
			rate, baseline, perOp, baseline, perOp)
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, s := range ss {
			mark := ""
			if s.LoadBounded {
				mark = "*"
			}
			fmt.Fprintf(&b, "| %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
				s.Target, number(s.Value), mark, percent(s.Spread), ratio(s.VsBase),
				number(s.P50us), number(s.P99us), percent(s.ProxyCPU/100), percent(s.LoadCore/100),
				number(s.CoreUsOp), percent(s.CoreSpread), ratio(s.CoreVsBase), number(s.ProcUsOp), s.Errors)
		}
		b.WriteString("\n")
	}
	if len(scenarios) > 0 {
		fmt.Fprintf(&b, "`× %s`: median of the ratios measured in the same round. `spread`: (max - min) / median over rounds. "+
			"`proxy CPU`: CPU time of the proxy's processes / wall time. `core µs/op`: busy time of the proxy's core "+
			"(softirq included) per request, connection or MB; `proc µs/op`: the proxy's own CPU time per op (no softirq, "+
			"but blind to other work on the core). `*`: the load core was above %.0f%% busy while the proxy "+
			"used under %.0f%%: the figure is bounded by the load generator; compare core µs/op.\n",
			baseline, loadBusy, proxyIdle)
	}
	return b.String()
}

// number prints big figures with thousands separators and small ones with
// one decimal; "-" for a figure that does not apply.
func number(v float64) string {
	switch {
	case math.IsNaN(v) || v < 0:
		return "-"
	case v >= 100:
		s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func percent(v float64) string {
	if math.IsNaN(v) || v < 0 {
		return "-"
	}
	return strconv.FormatFloat(100*v, 'f', 0, 64) + "%"
}

func ratio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

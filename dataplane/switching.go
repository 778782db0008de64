package dataplane

import (
	"strings"

	"sluice.dev/sluice/config"
)

// switchBlock is a run of use_backend rules. A run in which every rule
// requires an exact host (the shape the Kubernetes translation gives every
// host rule) is indexed by host, so a request only evaluates the rules of
// its own host: routing cost stays flat with thousands of Ingresses. Order
// is kept within each host, so the first matching rule still wins.
type switchBlock struct {
	rules  []switchRule            // evaluated in order when byHost is nil
	byHost map[string][]switchRule // lowercased host -> its rules, in order
}

// minIndexedRun is the shortest run worth a map lookup.
const minIndexedRun = 8

// buildSwitching groups rules into blocks; each rule carries its
// requiredHosts. Indexed blocks may share rules' array.
func buildSwitching(rules []switchRule) []switchBlock {
	var blocks []switchBlock
	start := -1 // where the current run of host-restricted rules began
	flushRun := func(end int) {
		if start < 0 {
			return
		}
		run := rules[start:end:end]
		if len(run) < minIndexedRun {
			blocks = appendLinear(blocks, run...)
		} else {
			blocks = append(blocks, switchBlock{byHost: indexByHost(run)})
		}
		start = -1
	}
	for i, r := range rules {
		if r.hosts != nil {
			if start < 0 {
				start = i
			}
			continue
		}
		flushRun(i)
		blocks = appendLinear(blocks, r)
	}
	flushRun(len(rules))
	return blocks
}

// indexByHost maps each host to its rules, in order. In the common shape,
// every rule of one host and each host's rules in a row, a host's list is
// its stretch of run itself; otherwise the lists share one new array. With
// thousands of hosts, that is one allocation (or none) instead of one per
// host.
func indexByHost(run []switchRule) map[string][]switchRule {
	idx := make(map[string][]switchRule, len(run))
	for i := 0; i < len(run); {
		if len(run[i].hosts) != 1 {
			return indexByHostSpread(run)
		}
		h := run[i].hosts[0]
		j := i + 1
		for j < len(run) && len(run[j].hosts) == 1 && run[j].hosts[0] == h {
			j++
		}
		if _, again := idx[h]; again {
			return indexByHostSpread(run)
		}
		idx[h] = run[i:j:j]
		i = j
	}
	return idx
}

// indexByHostSpread is indexByHost for rules naming several hosts, or a
// host's rules apart from each other.
func indexByHostSpread(run []switchRule) map[string][]switchRule {
	count := make(map[string]int, len(run))
	total := 0
	for _, r := range run {
		for _, h := range r.hosts {
			count[h]++
			total++
		}
	}
	all := make([]switchRule, 0, total)
	idx := make(map[string][]switchRule, len(count))
	for _, r := range run {
		for _, h := range r.hosts {
			list, ok := idx[h]
			if !ok {
				// A full slice expression, so that appending to one
				// host's list can never spill into the next.
				n := len(all)
				all = all[:n+count[h]]
				list = all[n : n : n+count[h]]
			}
			idx[h] = append(list, r)
		}
	}
	return idx
}

func appendLinear(blocks []switchBlock, rs ...switchRule) []switchBlock {
	if n := len(blocks); n > 0 && blocks[n-1].byHost == nil {
		blocks[n-1].rules = append(blocks[n-1].rules, rs...)
		return blocks
	}
	return append(blocks, switchBlock{rules: append([]switchRule(nil), rs...)})
}

// requiredHosts returns the hosts a condition can only hold for: every OR
// branch must contain a non-negated exact `host` test. nil means the
// condition is not restricted to a set of hosts.
func requiredHosts(c *cond) []string {
	if c == nil || c.unless || len(c.or) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var hosts []string
	for _, and := range c.or {
		var branch []string
		for _, t := range and {
			if t.negate || len(t.group) != 1 {
				continue
			}
			m := t.group[0]
			if m.fetch != config.FetchHost || m.match != config.MatchStr || len(m.vals) == 0 {
				continue
			}
			branch = nil
			for _, v := range m.vals {
				branch = append(branch, strings.ToLower(strings.TrimSuffix(string(v), ".")))
			}
			break
		}
		if branch == nil {
			return nil
		}
		for _, h := range branch {
			if !seen[h] {
				seen[h] = true
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

// selectBackend returns the backend of the first use_backend rule whose
// condition holds, or nil.
func (fe *frontend) selectBackend(r *request) *backendRoute {
	for i := range fe.switching {
		blk := &fe.switching[i]
		rules := blk.rules
		if blk.byHost != nil {
			rules = blk.byHost[string(r.hostName())]
		}
		for j := range rules {
			if rules[j].cond.eval(r) {
				return rules[j].be
			}
		}
	}
	return nil
}

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
// requiredHosts.
func buildSwitching(rules []switchRule) []switchBlock {
	var blocks []switchBlock
	var run []switchRule
	var runHosts [][]string
	flushRun := func() {
		if len(run) == 0 {
			return
		}
		if len(run) < minIndexedRun {
			blocks = appendLinear(blocks, run...)
		} else {
			blocks = append(blocks, switchBlock{byHost: indexByHost(run, runHosts)})
		}
		run, runHosts = nil, nil
	}
	for _, r := range rules {
		if r.hosts != nil {
			run = append(run, r)
			runHosts = append(runHosts, r.hosts)
			continue
		}
		flushRun()
		blocks = appendLinear(blocks, r)
	}
	flushRun()
	return blocks
}

// indexByHost maps each host to its rules, in order. The lists share one
// array: with thousands of hosts, one allocation instead of one per host.
func indexByHost(run []switchRule, runHosts [][]string) map[string][]switchRule {
	count := make(map[string]int, len(run))
	total := 0
	for _, hosts := range runHosts {
		for _, h := range hosts {
			count[h]++
			total++
		}
	}
	all := make([]switchRule, 0, total)
	idx := make(map[string][]switchRule, len(count))
	for i, r := range run {
		for _, h := range runHosts[i] {
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

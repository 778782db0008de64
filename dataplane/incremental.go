package dataplane

import (
	"reflect"

	"sluice.dev/sluice/config"
)

// validate is cfg.Validate(), sped up when cfg is a change of the
// configuration that prev was compiled from: a backend or a use_backend
// condition that is the very value prev had was validated then, so only new
// values and the references between frontends and backends are checked. It
// is conservative: anything it cannot prove valid that way goes through
// cfg.Validate(), which also gives the error messages.
func validate(prev *Table, cfg *config.Config) error {
	if prev == nil || prev.cfg == nil || !validChange(prev, cfg) {
		return cfg.Validate()
	}
	return nil
}

// validChange reports whether cfg is valid, given that prev.cfg was, when
// cfg differs from it only in backends and in frontends' use_backend lists.
// False means "not proven", not "invalid".
func validChange(prev *Table, cfg *config.Config) bool {
	old := prev.cfg
	if len(cfg.Frontends) != len(old.Frontends) || !reflect.DeepEqual(cfg.Global, old.Global) {
		return false
	}
	backend, changed, kept, ok := backendsOf(prev, cfg)
	if !ok {
		return false
	}
	if len(changed) > 0 && (&config.Config{Global: cfg.Global, Backends: changed}).Validate() != nil {
		return false
	}
	prevFrontends := map[string]*frontend{}
	for _, fe := range prev.frontends {
		if fe != nil {
			prevFrontends[fe.name] = fe
		}
	}
	for i, f := range cfg.Frontends {
		if f == nil || old.Frontends[i] == nil || f.Name != old.Frontends[i].Name {
			return false
		}
		pf := prevFrontends[f.Name]
		if pf == nil || (pf.cfg != f && !sameButUseBackends(pf.cfg, f)) {
			return false
		}
		// The references: what backendRef checks.
		ref := func(name string) *config.Backend {
			if b := backend(name); b != nil && b.Mode == f.Mode {
				return b
			}
			return nil
		}
		if f.DefaultBackend != "" && ref(f.DefaultBackend) == nil {
			return false
		}
		// Rules at either end that are the previous ones, naming backends
		// that are the previous ones, were checked then.
		var head, tail int
		if kept != nil {
			head, tail = sameEnds(pf.cfg.UseBackends, f.UseBackends, kept)
		}
		var fresh []config.UseBackend
		var freshBackends []*config.Backend
		seen := map[string]bool{}
		for _, u := range f.UseBackends[head : len(f.UseBackends)-tail] {
			b := ref(u.Backend)
			if b == nil {
				return false
			}
			if _, ok := pf.conds[u.Cond]; ok || u.Cond == nil {
				continue
			}
			fresh = append(fresh, u)
			if !seen[b.Name] {
				seen[b.Name] = true
				freshBackends = append(freshBackends, b)
			}
		}
		if len(fresh) > 0 {
			// The new conditions, in the frontend they belong to (its
			// binds, ACLs and mode), with the backends they name.
			probe := *f
			probe.UseBackends = fresh
			probe.DefaultBackend = ""
			if (&config.Config{Global: cfg.Global, Frontends: []*config.Frontend{&probe}, Backends: freshBackends, Certificates: cfg.Certificates}).Validate() != nil {
				return false
			}
		}
	}
	return true
}

// sameEnds returns how many use_backend rules at the start (head) and at
// the end (tail) of nu are those of old, position for position: the same
// condition value and backend name, the backend being one that keep says
// is as it was.
func sameEnds(old, nu []config.UseBackend, keep func(name string) bool) (head, tail int) {
	same := func(a, b config.UseBackend) bool {
		return a.Cond == b.Cond && a.Backend == b.Backend && keep(b.Backend)
	}
	for head < len(old) && head < len(nu) && same(old[head], nu[head]) {
		head++
	}
	for tail < len(old)-head && tail < len(nu)-head && same(old[len(old)-1-tail], nu[len(nu)-1-tail]) {
		tail++
	}
	return head, tail
}

// backendsOf returns cfg's backend of a name, and the backends that are not
// prev's own values; false when a backend is nil or a name is taken twice.
// With names in strictly increasing order (as the Kubernetes translation
// gives them) and none of prev's gone, a name's backend is found among the
// changed ones, else in prev, without building an index of every name; kept
// then tells the names whose backend is prev's own value (else it is nil).
func backendsOf(prev *Table, cfg *config.Config) (backend func(string) *config.Backend, changed []*config.Backend, kept func(string) bool, ok bool) {
	sorted := true
	known := 0 // names of prev
	for i, b := range cfg.Backends {
		if b == nil {
			return nil, nil, nil, false
		}
		if i > 0 && cfg.Backends[i-1].Name >= b.Name {
			sorted = false
		}
		br := prev.backends[b.Name]
		if br != nil {
			known++
		}
		if br == nil || br.cfg != b {
			changed = append(changed, b)
		}
	}
	if sorted && known == len(prev.backends) {
		byName := make(map[string]*config.Backend, len(changed))
		for _, b := range changed {
			byName[b.Name] = b
		}
		return func(name string) *config.Backend {
			if b := byName[name]; b != nil {
				return b
			}
			if br := prev.backends[name]; br != nil {
				return br.cfg
			}
			return nil
		}, changed, func(name string) bool { return byName[name] == nil }, true
	}
	all := make(map[string]*config.Backend, len(cfg.Backends))
	for _, b := range cfg.Backends {
		if _, dup := all[b.Name]; dup {
			return nil, nil, nil, false
		}
		all[b.Name] = b
	}
	return func(name string) *config.Backend { return all[name] }, changed, nil, true
}

// sameButUseBackends reports whether two frontends differ at most in their
// use_backend rules and default backend.
func sameButUseBackends(a, b *config.Frontend) bool {
	x, y := *a, *b
	x.UseBackends, y.UseBackends = nil, nil
	x.DefaultBackend, y.DefaultBackend = "", ""
	return reflect.DeepEqual(&x, &y)
}

package dataplane

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/dataplane/backend"
)

// changer edits a configuration at random the way a controller does: every
// change builds new values for what it touches and shares the rest.
type changer struct {
	r    *rand.Rand
	seq  int
	cfg  *config.Config
	bind config.Bind
}

func (c *changer) backend(name string) *config.Backend {
	b := &config.Backend{Name: name, Mode: config.ModeHTTP, Retries: 3}
	if c.r.IntN(2) == 0 {
		b.Balance.Algorithm = config.BalanceLeastConn
	}
	for i := range c.r.IntN(3) {
		s := config.NewServer(fmt.Sprintf("s%d", i), "127.0.0.1", 1000+c.r.IntN(4))
		b.Servers = append(b.Servers, s)
	}
	if c.r.IntN(12) == 0 {
		// Invalid: a change the runtime must refuse whole.
		b.Servers = append(b.Servers, config.Server{Name: "bad", Host: "127.0.0.1", Port: 70000})
	}
	if c.r.IntN(12) == 0 {
		b.Mode = config.ModeTCP
	}
	return b
}

func (c *changer) cond() *config.Condition {
	c.seq++
	host := config.Term{Inline: &config.ACL{Fetch: config.FetchHost, Match: config.MatchStr, Values: []string{fmt.Sprintf("h%d.example", c.r.IntN(6))}}}
	path := config.Term{Inline: &config.ACL{Fetch: config.FetchPath, Match: config.MatchBeg, Values: []string{fmt.Sprintf("/p%d", c.r.IntN(3))}}}
	switch c.r.IntN(6) {
	case 0:
		return &config.Condition{Or: [][]config.Term{{path}}}
	case 1:
		return &config.Condition{Or: [][]config.Term{{host, {Name: "api"}}}}
	case 2:
		return &config.Condition{Or: [][]config.Term{{host}}}
	}
	return &config.Condition{Or: [][]config.Term{{host, path}}}
}

// step returns a new configuration: c.cfg with one change.
func (c *changer) step() string {
	old := c.cfg
	cfg := &config.Config{Global: old.Global, Frontends: append([]*config.Frontend(nil), old.Frontends...), Backends: append([]*config.Backend(nil), old.Backends...)}
	c.cfg = cfg
	fe := *cfg.Frontends[0]
	fe.UseBackends = append([]config.UseBackend(nil), fe.UseBackends...)
	name := fmt.Sprintf("b%d", c.r.IntN(12))
	switch c.r.IntN(8) {
	case 0, 1:
		for i, b := range cfg.Backends {
			if b.Name == name {
				cfg.Backends[i] = c.backend(name)
				return "replace backend " + name
			}
		}
		cfg.Backends = append(cfg.Backends, c.backend(name))
		return "add backend " + name
	case 2:
		for i, b := range cfg.Backends {
			if b.Name == name && name != "b0" {
				cfg.Backends = append(cfg.Backends[:i], cfg.Backends[i+1:]...)
				return "remove backend " + name
			}
		}
		return "nothing"
	case 3, 4:
		i := c.r.IntN(len(fe.UseBackends) + 1)
		fe.UseBackends = append(fe.UseBackends[:i], append([]config.UseBackend{{Backend: name, Cond: c.cond()}}, fe.UseBackends[i:]...)...)
		cfg.Frontends[0] = &fe
		return "insert use_backend " + name
	case 5:
		if len(fe.UseBackends) > 0 {
			i := c.r.IntN(len(fe.UseBackends))
			fe.UseBackends = append(fe.UseBackends[:i], fe.UseBackends[i+1:]...)
		}
		cfg.Frontends[0] = &fe
		return "remove use_backend"
	case 6:
		if len(fe.ACLs) == 0 || c.r.IntN(3) == 0 {
			fe.ACLs = []config.ACL{{Name: "api", Fetch: config.FetchPath, Match: config.MatchBeg, Values: []string{fmt.Sprintf("/api%d", c.r.IntN(3))}}}
		} else {
			fe.ACLs = nil
		}
		cfg.Frontends[0] = &fe
		return "frontend acls"
	case 7:
		fe.DefaultBackend = name
		fe.Timeouts.Client = time.Duration(c.r.IntN(3)) * time.Second
		cfg.Frontends[0] = &fe
		return "frontend default backend and timeout"
	}
	return "nothing"
}

// describe is what a table does with the probes, and its backends.
func describe(tb testing.TB, t *Table) string {
	var b strings.Builder
	fe := t.frontends[0]
	for h := range 7 {
		for _, p := range []string{"/p0", "/p1/x", "/p2", "/p3", "/api0", "/api1/x", "/api2"} {
			var r request
			r.reset(parseReq(tb, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: h%d.example\r\n\r\n", p, h)), netip.Addr{}, nil)
			name := "-"
			if be := fe.selectBackend(&r); be != nil {
				name = be.name
				if t.backends[be.name] != be {
					name += " (not this table's)"
				}
			}
			fmt.Fprintf(&b, "h%d%s -> %s\n", h, p, name)
		}
	}
	if fe.defaultBE != nil {
		fmt.Fprintf(&b, "default %s\n", fe.defaultBE.name)
	}
	fmt.Fprintf(&b, "timeouts %+v\n", fe.timeouts)
	fmt.Fprintf(&b, "%d backends\n", len(t.backends))
	for _, be := range t.cfg.Backends {
		br := t.backends[be.Name]
		fmt.Fprintf(&b, "backend %s mode %d balance %v:", br.name, br.mode, br.balance)
		for _, s := range br.pool.Servers() {
			fmt.Fprintf(&b, " %s=%s", s.Name, s.Addr)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestIncrementalEqualsFull: along random sequences of changes, validating
// and compiling against the previous table accepts and refuses exactly what
// a from-scratch validation does, and routes exactly as a table compiled
// from scratch does, while reusing the compiled backends that did not
// change, and retiring only the pools it replaced.
func TestIncrementalEqualsFull(t *testing.T) {
	m := NewMetrics(nopRegisterer{})
	bind := config.Bind{Host: "127.0.0.1", Port: 1}
	slots := map[string]int{bindKey(bind): 0}
	for seed := range uint64(30) {
		c := &changer{r: rand.New(rand.NewPCG(seed, 2))}
		c.cfg = &config.Config{
			Frontends: []*config.Frontend{{Name: "fe", Mode: config.ModeHTTP, Binds: []config.Bind{bind}, DefaultBackend: "b0"}},
			Backends:  []*config.Backend{{Name: "b0", Mode: config.ModeHTTP}},
		}
		reg := backend.NewRegistry(backend.RegistryOptions{IdleTimeout: -1})
		prev, _, err := compile(nil, c.cfg, reg, m, slots, 1)
		if err != nil {
			t.Fatal(err)
		}
		reused := 0
		for i := range 150 {
			committed := c.cfg
			what := c.step()
			cfg := c.cfg
			errInc, errFull := validate(prev, cfg), cfg.Validate()
			if fmt.Sprint(errInc) != fmt.Sprint(errFull) {
				t.Fatalf("seed %d step %d (%s): validation against the previous table: %v; from scratch: %v", seed, i, what, errInc, errFull)
			}
			if errFull != nil {
				c.cfg = committed // refused: the previous table stays
				continue
			}
			inc, swaps, err := compile(prev, cfg, reg, m, slots, 1)
			if err != nil {
				t.Fatalf("seed %d step %d (%s): %v", seed, i, what, err)
			}
			full, _, err := compile(nil, cfg, backend.NewRegistry(backend.RegistryOptions{IdleTimeout: -1}), m, slots, 1)
			if err != nil {
				t.Fatalf("seed %d step %d (%s): %v", seed, i, what, err)
			}
			if got, want := describe(t, inc), describe(t, full); got != want {
				t.Fatalf("seed %d step %d (%s): compiled against the previous table:\n%s\nfrom scratch:\n%s", seed, i, what, got, want)
			}
			for name, br := range inc.backends {
				if prev.backends[name] == br {
					reused++
				}
			}
			// Retiring the swapped pools leaves what sweeping would.
			reg.Retire(swaps)
			for _, p := range inc.pools() {
				for _, s := range p.Servers() {
					if s.State() == backend.StateRetired {
						t.Fatalf("seed %d step %d (%s): live server %s/%s retired", seed, i, what, s.Backend, s.Name)
					}
				}
			}
			n := reg.Len()
			reg.Sweep(inc.pools())
			if reg.Len() != n {
				t.Fatalf("seed %d step %d (%s): retiring the swapped pools kept %d servers that sweeping retires", seed, i, what, n-reg.Len())
			}
			prev = inc
		}
		if reused == 0 {
			t.Errorf("seed %d: no compiled backend was ever reused", seed)
		}
	}
}

// TestValidChangeRecheckedBackend: a use_backend rule the change did not
// touch is checked again when the backend it names changed, here to the
// wrong mode.
func TestValidChangeRecheckedBackend(t *testing.T) {
	bind := config.Bind{Host: "127.0.0.1", Port: 1}
	host := func(h string) *config.Condition {
		return &config.Condition{Or: [][]config.Term{{{Inline: &config.ACL{Fetch: config.FetchHost, Match: config.MatchStr, Values: []string{h}}}}}}
	}
	be := func(name string, mode config.Mode) *config.Backend {
		return &config.Backend{Name: name, Mode: mode, Servers: []config.Server{config.NewServer("s", "127.0.0.1", 1000)}}
	}
	fe := &config.Frontend{Name: "fe", Mode: config.ModeHTTP, Binds: []config.Bind{bind}, DefaultBackend: "b0",
		UseBackends: []config.UseBackend{{Backend: "b0", Cond: host("a")}, {Backend: "b1", Cond: host("b")}, {Backend: "b2", Cond: host("c")}}}
	b0, b2 := be("b0", config.ModeHTTP), be("b2", config.ModeHTTP)
	cfg := &config.Config{Frontends: []*config.Frontend{fe}, Backends: []*config.Backend{b0, be("b1", config.ModeHTTP), b2}}
	reg := backend.NewRegistry(backend.RegistryOptions{IdleTimeout: -1})
	defer reg.Close()
	prev, _, err := compile(nil, cfg, reg, NewMetrics(nopRegisterer{}), map[string]int{bindKey(bind): 0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	next := &config.Config{Frontends: []*config.Frontend{fe}, Backends: []*config.Backend{b0, be("b1", config.ModeTCP), b2}}
	if next.Validate() == nil {
		t.Fatal("the changed configuration is valid")
	}
	if validate(prev, next) == nil {
		t.Fatal("validation against the previous table accepts a rule naming a backend of the wrong mode")
	}
}

// TestValidChangeWithTLSBind: a new use_backend rule in a frontend whose
// bind names an in-memory certificate is proven valid against the previous
// table, without validating the whole configuration again.
func TestValidChangeWithTLSBind(t *testing.T) {
	plain, secure := config.Bind{Host: "127.0.0.1", Port: 1}, config.Bind{Host: "127.0.0.1", Port: 2, TLS: &config.BindTLS{Certificates: []string{"@site"}}}
	certs := map[string]*config.Certificate{"site": testCert(t, "site", "site.test")}
	host := func(h string) *config.Condition {
		return &config.Condition{Or: [][]config.Term{{{Inline: &config.ACL{Fetch: config.FetchHost, Match: config.MatchStr, Values: []string{h}}}}}}
	}
	b0 := &config.Backend{Name: "b0", Mode: config.ModeHTTP}
	fe := func(rules ...config.UseBackend) *config.Frontend {
		return &config.Frontend{Name: "fe", Mode: config.ModeHTTP, Binds: []config.Bind{plain, secure}, DefaultBackend: "b0", UseBackends: rules}
	}
	first := []config.UseBackend{{Backend: "b0", Cond: host("a")}}
	cfg := &config.Config{Certificates: certs, Frontends: []*config.Frontend{fe(first...)}, Backends: []*config.Backend{b0}}
	reg := backend.NewRegistry(backend.RegistryOptions{IdleTimeout: -1})
	defer reg.Close()
	prev, _, err := compile(nil, cfg, reg, NewMetrics(nopRegisterer{}), map[string]int{bindKey(plain): 0, bindKey(secure): 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	next := &config.Config{Certificates: certs, Frontends: []*config.Frontend{fe(append(first, config.UseBackend{Backend: "b0", Cond: host("b")})...)}, Backends: []*config.Backend{b0}}
	if !validChange(prev, next) {
		t.Error("a new rule in a frontend with a TLS bind took the full validation")
	}
}

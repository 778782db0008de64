package dataplane

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/config"
)

func hostTerm(h string) config.Term {
	return config.Term{Inline: &config.ACL{Fetch: config.FetchHost, Match: config.MatchStr, Values: []string{h}}}
}

func pathBeg(p string) config.Term {
	return config.Term{Inline: &config.ACL{Fetch: config.FetchPath, Match: config.MatchBeg, Values: []string{p}}}
}

// switchingFrontend compiles use_backend rules into a frontend whose
// backends are named after the rule index.
func switchingFrontend(t testing.TB, ubs []config.UseBackend) *frontend {
	t.Helper()
	backends := map[string]*backendRoute{}
	for _, ub := range ubs {
		backends[ub.Backend] = &backendRoute{name: ub.Backend}
	}
	fe, err := compileFrontend(&config.Frontend{Name: "fe", UseBackends: ubs}, backends, NewMetrics(nopRegisterer{}))
	if err != nil {
		t.Fatal(err)
	}
	return fe
}

// TestHostIndexKeepsOrder checks that indexing by host gives exactly what
// evaluating every rule in order gives, across index boundaries.
func TestHostIndexKeepsOrder(t *testing.T) {
	var ubs []config.UseBackend
	for i := 0; i < 20; i++ {
		h := fmt.Sprintf("h%d.example", i%5)
		ubs = append(ubs, config.UseBackend{Backend: fmt.Sprintf("r%d", i), Cond: &config.Condition{Or: [][]config.Term{{hostTerm(h), pathBeg(fmt.Sprintf("/p%d", i))}}}})
		if i == 12 {
			// A rule without a host breaks the run: it must still be
			// evaluated between the indexed rules around it.
			ubs = append(ubs, config.UseBackend{Backend: "nohost", Cond: &config.Condition{Or: [][]config.Term{{pathBeg("/p1")}}}})
		}
	}
	// A host rule with two branches on different hosts.
	ubs = append(ubs, config.UseBackend{Backend: "either", Cond: &config.Condition{Or: [][]config.Term{{hostTerm("A.example")}, {hostTerm("b.example")}}}})
	fe := switchingFrontend(t, ubs)
	indexed := 0
	for _, b := range fe.switching {
		if b.byHost != nil {
			indexed++
		}
	}
	if indexed != 2 {
		t.Fatalf("%d indexed blocks, want 2 (before and after the host-less rule)", indexed)
	}
	linear := func(r *request) string {
		for _, ub := range ubs {
			c, _ := fe.acls.compileCond(ub.Cond)
			if c.eval(r) {
				return ub.Backend
			}
		}
		return ""
	}
	for _, host := range []string{"h0.example", "H3.EXAMPLE:8080", "h4.example", "a.example", "b.example", "none.example"} {
		for _, path := range []string{"/p0", "/p1", "/p13", "/p14", "/p19", "/x"} {
			var r request
			r.reset(parseReq(t, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n"), netip.Addr{}, nil)
			want := linear(&r)
			got := ""
			if be := fe.selectBackend(&r); be != nil {
				got = be.name
			}
			if got != want {
				t.Errorf("%s%s: indexed routing chose %q, in-order evaluation %q", host, path, got, want)
			}
		}
	}
}

// TestHostIndexRuns checks the index of each host's rules in a row (the
// translation's shape), and of a run where a host comes back after others,
// against evaluating every rule in order.
func TestHostIndexRuns(t *testing.T) {
	for _, again := range []bool{false, true} {
		var ubs []config.UseBackend
		for i := 0; i < 24; i++ {
			h := fmt.Sprintf("h%d.example", i/3)
			ubs = append(ubs, config.UseBackend{Backend: fmt.Sprintf("r%d", i), Cond: &config.Condition{Or: [][]config.Term{{hostTerm(h), pathBeg(fmt.Sprintf("/p%d", i%3))}}}})
		}
		if again {
			ubs = append(ubs, config.UseBackend{Backend: "back", Cond: &config.Condition{Or: [][]config.Term{{hostTerm("h1.example")}}}})
		}
		fe := switchingFrontend(t, ubs)
		if len(fe.switching) != 1 || fe.switching[0].byHost == nil {
			t.Fatalf("again=%v: %d blocks, want one indexed", again, len(fe.switching))
		}
		for i := 0; i < 9; i++ {
			for _, path := range []string{"/p0", "/p1", "/p2", "/x"} {
				host := fmt.Sprintf("h%d.example", i)
				var r request
				r.reset(parseReq(t, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n"), netip.Addr{}, nil)
				want := ""
				for _, ub := range ubs {
					if c, _ := fe.acls.compileCond(ub.Cond); c.eval(&r) {
						want = ub.Backend
						break
					}
				}
				got := ""
				if be := fe.selectBackend(&r); be != nil {
					got = be.name
				}
				if got != want {
					t.Errorf("again=%v %s%s: indexed routing chose %q, in-order evaluation %q", again, host, path, got, want)
				}
			}
		}
	}
}

// BenchmarkRouteManyHosts routes one request among 10,000 host rules, the
// shape of 10,000 Ingresses.
func BenchmarkRouteManyHosts(b *testing.B) {
	var ubs []config.UseBackend
	for i := 0; i < 10000; i++ {
		ubs = append(ubs, config.UseBackend{Backend: fmt.Sprintf("b%d", i), Cond: &config.Condition{Or: [][]config.Term{{hostTerm(fmt.Sprintf("app%d.example.com", i)), pathBeg("/")}}}})
	}
	fe := switchingFrontend(b, ubs)
	var r request
	r.reset(parseReq(b, "GET /x HTTP/1.1\r\nHost: app9999.example.com\r\n\r\n"), netip.Addr{}, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.hostDone = false
		if fe.selectBackend(&r) == nil {
			b.Fatal("no route")
		}
	}
}

type nopRegisterer struct{}

func (nopRegisterer) Register(prometheus.Collector) error  { return nil }
func (nopRegisterer) MustRegister(...prometheus.Collector) {}
func (nopRegisterer) Unregister(prometheus.Collector) bool { return true }

package dataplane

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"sluice.dev/sluice/config"
)

// gathered indexes a registry's samples by name and labels, in the form
// `name{a="x",b="y"}` with labels in Prometheus's order.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Metric{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			k := mf.GetName() + "{"
			for i, lp := range m.Label {
				if i > 0 {
					k += ","
				}
				k += lp.GetName() + "=" + strconv.Quote(lp.GetValue())
			}
			out[k+"}"] = m
		}
	}
	return out
}

func counterAt(t *testing.T, ms map[string]*dto.Metric, key string) float64 {
	t.Helper()
	m := ms[key]
	if m == nil || m.Counter == nil {
		t.Fatalf("no counter %s", key)
	}
	return m.Counter.GetValue()
}

// TestBackendAndServerMetrics checks the series read from the live table:
// their values, that a backend recompiled with another server keeps its
// counts and those of the servers it keeps, and that a backend the table
// drops leaves the exposition.
func TestBackendAndServerMetrics(t *testing.T) {
	port := freePort(t)
	addrs := []string{rawBackend(t, smallBody), rawBackend(t, smallBody), rawBackend(t, smallBody)}
	backendWith := func(n int) *config.Backend {
		be := &config.Backend{Name: "app", Retries: 3}
		for i, a := range addrs[:n] {
			host, p, _ := net.SplitHostPort(a)
			pn, _ := strconv.Atoi(p)
			be.Servers = append(be.Servers, config.Server{Name: "s" + strconv.Itoa(i+1), Host: host, Port: pn, Weight: 1})
		}
		return be
	}
	cfgWith := func(backends ...*config.Backend) *config.Config {
		def := &config.Backend{Name: "other", Servers: []config.Server{{Name: "x", Host: "127.0.0.1", Port: 1, Weight: 1}}}
		return &config.Config{
			Frontends: []*config.Frontend{{Name: "fe", Binds: []config.Bind{{Host: "127.0.0.1", Port: port}}, DefaultBackend: backends[0].Name}},
			Backends:  append(backends, def),
		}
	}
	reg := prometheus.NewRegistry()
	rt := New(Options{Registerer: reg})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
	if err := rt.Apply(cfgWith(backendWith(2))); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, "127.0.0.1:"+strconv.Itoa(port), "END\n")
	for i := 0; i < 4; i++ {
		if err := c.do(); err != nil {
			t.Fatal(err)
		}
	}

	// A request is counted just after its response leaves: wait (a
	// bounded while) for the last one.
	ms := gathered(t, reg)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); ms = gathered(t, reg) {
		if counterAt(t, ms, `sluice_backend_http_requests_total{backend="app",code="2xx"}`) == 4 &&
			counterAt(t, ms, `sluice_backend_bytes_in_total{backend="app"}`) == float64(4*len(c.last)) &&
			ms[`sluice_backend_response_time_seconds{backend="app"}`].GetHistogram().GetSampleCount() == 4 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if got := counterAt(t, ms, `sluice_backend_http_requests_total{backend="app",code="2xx"}`); got != 4 {
		t.Errorf("backend 2xx = %v, want 4", got)
	}
	for _, code := range statusClasses {
		if code != "2xx" && counterAt(t, ms, `sluice_backend_http_requests_total{backend="app",code="`+code+`"}`) != 0 {
			t.Errorf("backend %s counted", code)
		}
	}
	for _, s := range []string{"s1", "s2"} {
		if got := counterAt(t, ms, `sluice_server_http_requests_total{backend="app",code="2xx",server="`+s+`"}`); got != 2 {
			t.Errorf("server %s 2xx = %v, want 2", s, got)
		}
	}
	if got := counterAt(t, ms, `sluice_backend_bytes_out_total{backend="app"}`); got != float64(4*len(c.req)) {
		t.Errorf("bytes out = %v, want %d", got, 4*len(c.req))
	}
	if got := counterAt(t, ms, `sluice_backend_bytes_in_total{backend="app"}`); got != float64(4*len(c.last)) {
		t.Errorf("bytes in = %v, want %d", got, 4*len(c.last))
	}
	h := ms[`sluice_backend_response_time_seconds{backend="app"}`].GetHistogram()
	if h.GetSampleCount() != 4 || len(h.Bucket) != len(respTimeBuckets) || h.Bucket[len(h.Bucket)-1].GetCumulativeCount() > 4 {
		t.Errorf("response time histogram = %v", h)
	}
	if counterAt(t, ms, `sluice_server_http_requests_total{backend="other",code="2xx",server="x"}`) != 0 {
		t.Error("idle backend counted")
	}

	// A third server: the backend is recompiled.
	if err := rt.Apply(cfgWith(backendWith(3))); err != nil {
		t.Fatal(err)
	}
	ms = gathered(t, reg)
	if got := counterAt(t, ms, `sluice_backend_http_requests_total{backend="app",code="2xx"}`); got != 4 {
		t.Errorf("after reload: backend 2xx = %v, want 4", got)
	}
	if got := counterAt(t, ms, `sluice_server_http_requests_total{backend="app",code="2xx",server="s1"}`); got != 2 {
		t.Errorf("after reload: s1 2xx = %v, want 2", got)
	}
	if got := counterAt(t, ms, `sluice_server_http_requests_total{backend="app",code="2xx",server="s3"}`); got != 0 {
		t.Errorf("after reload: s3 2xx = %v, want 0", got)
	}

	// The backend renamed: the old name's series go.
	renamed := backendWith(3)
	renamed.Name = "app2"
	if err := rt.Apply(cfgWith(renamed)); err != nil {
		t.Fatal(err)
	}
	ms = gathered(t, reg)
	if _, ok := ms[`sluice_backend_http_requests_total{backend="app",code="2xx"}`]; ok {
		t.Error("series of a dropped backend still exposed")
	}
	if counterAt(t, ms, `sluice_backend_http_requests_total{backend="app2",code="2xx"}`) != 0 {
		t.Error("new backend starts above zero")
	}
}

package dataplane

import (
	"math"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/dataplane/backend"
)

// Metrics are the dataplane's Prometheus series. Label handles are resolved
// when a table is compiled, so the request path only touches atomics.
//
// Per-backend and per-server series are counted in plain atomics on the
// compiled backends (backendMetrics, serverMetrics) and read by
// serverCollector at scrape time: with thousands of backends, a registered
// child per label set would cost far more memory than the counts it holds.
type Metrics struct {
	feRequests *prometheus.CounterVec
	feConns    *prometheus.CounterVec
	feCurConns *prometheus.GaugeVec
	feTLSFail  *prometheus.CounterVec
	feBytesIn  *prometheus.CounterVec
	feBytesOut *prometheus.CounterVec
	srvTrans   *prometheus.CounterVec
	reloads    *prometheus.CounterVec
	generation prometheus.Gauge
}

// statusClasses index the per-class counters: 1xx..5xx, and "other" for
// connections that ended without a response.
var statusClasses = [6]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}

func classIndex(status int) int {
	if status >= 100 && status < 600 {
		return status/100 - 1
	}
	return 5
}

// NewMetrics registers the dataplane's series on reg, but for those that
// serverCollector reads from the live table.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		feRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_frontend_http_requests_total", Help: "HTTP requests answered by a frontend, by status class.",
		}, []string{"frontend", "code"}),
		feConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_frontend_connections_total", Help: "Client connections accepted by a frontend.",
		}, []string{"frontend"}),
		feTLSFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_frontend_tls_handshake_failures_total", Help: "Client connections whose TLS handshake failed or timed out.",
		}, []string{"frontend"}),
		feCurConns: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_frontend_current_connections", Help: "Client connections open on a frontend.",
		}, []string{"frontend"}),
		feBytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_frontend_bytes_in_total", Help: "Bytes received from clients.",
		}, []string{"frontend"}),
		feBytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_frontend_bytes_out_total", Help: "Bytes sent to clients.",
		}, []string{"frontend"}),
		srvTrans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_server_transitions_total", Help: "Server state changes, by new state.",
		}, []string{"backend", "server", "state"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_reloads_total", Help: "Routing-table swaps, by result.",
		}, []string{"result"}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_table_generation", Help: "Generation of the routing table serving traffic.",
		}),
	}
	reg.MustRegister(m.feRequests, m.feConns, m.feCurConns, m.feTLSFail, m.feBytesIn, m.feBytesOut,
		m.srvTrans, m.reloads, m.generation)
	return m
}

// frontendMetrics are one frontend's resolved handles.
type frontendMetrics struct {
	requests [6]prometheus.Counter
	conns    prometheus.Counter
	curConns prometheus.Gauge
	tlsFail  prometheus.Counter
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
}

func (m *Metrics) frontend(name string) *frontendMetrics {
	fm := &frontendMetrics{
		conns:    m.feConns.WithLabelValues(name),
		curConns: m.feCurConns.WithLabelValues(name),
		tlsFail:  m.feTLSFail.WithLabelValues(name),
		bytesIn:  m.feBytesIn.WithLabelValues(name),
		bytesOut: m.feBytesOut.WithLabelValues(name),
	}
	for i, c := range statusClasses {
		fm.requests[i] = m.feRequests.WithLabelValues(name, c)
	}
	return fm
}

// counter is a Prometheus counter's value, read at scrape time.
type counter struct{ n atomic.Uint64 }

func (c *counter) Inc()         { c.n.Add(1) }
func (c *counter) Add(n uint64) { c.n.Add(n) }
func (c *counter) value() float64 {
	return float64(c.n.Load())
}

// respTimeBuckets are the upper bounds of sluice_backend_response_time_seconds.
var respTimeBuckets = [...]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// histogram counts observations per bucket (not cumulated; the last one is
// +Inf) and their sum, as float64 bits.
type histogram struct {
	counts [len(respTimeBuckets) + 1]atomic.Uint64
	sum    atomic.Uint64
}

func (h *histogram) Observe(v float64) {
	i := 0
	for i < len(respTimeBuckets) && v > respTimeBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// snapshot returns the count, the sum and the cumulative bucket counts. The
// count is that of the buckets, so a scrape racing an observation is still
// consistent in itself.
func (h *histogram) snapshot() (uint64, float64, map[float64]uint64) {
	buckets := make(map[float64]uint64, len(respTimeBuckets))
	var n uint64
	for i, ub := range respTimeBuckets {
		n += h.counts[i].Load()
		buckets[ub] = n
	}
	n += h.counts[len(respTimeBuckets)].Load()
	return n, math.Float64frombits(h.sum.Load()), buckets
}

// backendMetrics are one backend's counts. A backend recompiled under the
// same name keeps them (see compileBackend), so they only start again from
// zero when a table drops the backend.
type backendMetrics struct {
	requests [6]counter
	bytesIn  counter
	bytesOut counter
	respTime histogram
}

// serverMetrics are one server's counts, kept across recompilations of its
// backend as long as the server keeps its name.
type serverMetrics struct {
	requests [6]counter
}

// smallPool is the number of servers up to which a backend finds a server's
// counts by scanning its servers rather than through a map.
const smallPool = 8

// serverMetricsFor returns the counts of srv, one of be's servers.
func (be *backendRoute) serverMetricsFor(srv *backend.Server) *serverMetrics {
	if be.srvIndex != nil {
		if i, ok := be.srvIndex[srv]; ok {
			return be.srvMetrics[i]
		}
		return nil
	}
	for i, s := range be.pool.Servers() {
		if s == srv {
			return be.srvMetrics[i]
		}
	}
	return nil
}

// setServerMetrics gives be's servers their counts: those prev (the
// previous compilation of the backend, or nil) kept for a server of the
// same name, new ones for the others.
func (be *backendRoute) setServerMetrics(prev *backendRoute) {
	servers := be.pool.Servers()
	var byName map[string]*serverMetrics
	if prev != nil {
		ps := prev.pool.Servers()
		byName = make(map[string]*serverMetrics, len(ps))
		for i, s := range ps {
			byName[s.Name] = prev.srvMetrics[i]
		}
	}
	be.srvMetrics = make([]*serverMetrics, len(servers))
	for i, s := range servers {
		sm := byName[s.Name]
		if sm == nil {
			sm = &serverMetrics{}
		}
		be.srvMetrics[i] = sm
	}
	if len(servers) > smallPool {
		be.srvIndex = make(map[*backend.Server]int, len(servers))
		for i, s := range servers {
			be.srvIndex[s] = i
		}
	}
}

// serverCollector reads live server and queue state when Prometheus
// scrapes, so the request path pays nothing for these series.
type serverCollector struct{ rt *Runtime }

var (
	descServerUp = prometheus.NewDesc("sluice_server_up",
		"1 when the server may take traffic (health checks passing, not disabled), else 0.", []string{"backend", "server"}, nil)
	descServerActive = prometheus.NewDesc("sluice_server_current_requests",
		"Requests or TCP sessions in flight on the server.", []string{"backend", "server"}, nil)
	descServerChecks = prometheus.NewDesc("sluice_server_check_total",
		"Health-check results.", []string{"backend", "server", "result"}, nil)
	descBackendQueue = prometheus.NewDesc("sluice_backend_queue_length",
		"Requests waiting for a server slot (maxconn).", []string{"backend"}, nil)
	descBackendRequests = prometheus.NewDesc("sluice_backend_http_requests_total",
		"HTTP requests routed to a backend, by status class.", []string{"backend", "code"}, nil)
	descBackendBytesIn = prometheus.NewDesc("sluice_backend_bytes_in_total",
		"Bytes received from a backend's servers.", []string{"backend"}, nil)
	descBackendBytesOut = prometheus.NewDesc("sluice_backend_bytes_out_total",
		"Bytes sent to a backend's servers.", []string{"backend"}, nil)
	descBackendRespTime = prometheus.NewDesc("sluice_backend_response_time_seconds",
		"Time from sending a request to a server to receiving its response head.", []string{"backend"}, nil)
	descServerRequests = prometheus.NewDesc("sluice_server_http_requests_total",
		"HTTP requests sent to a server, by status class.", []string{"backend", "server", "code"}, nil)
)

func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descServerUp
	ch <- descServerActive
	ch <- descServerChecks
	ch <- descBackendQueue
	ch <- descBackendRequests
	ch <- descBackendBytesIn
	ch <- descBackendBytesOut
	ch <- descBackendRespTime
	ch <- descServerRequests
}

func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.rt.table.Load()
	for name, be := range t.backends {
		ch <- prometheus.MustNewConstMetric(descBackendQueue, prometheus.GaugeValue, float64(be.pool.QueueLen()), name)
		bm := be.metrics
		for i, code := range statusClasses {
			ch <- prometheus.MustNewConstMetric(descBackendRequests, prometheus.CounterValue, bm.requests[i].value(), name, code)
		}
		ch <- prometheus.MustNewConstMetric(descBackendBytesIn, prometheus.CounterValue, bm.bytesIn.value(), name)
		ch <- prometheus.MustNewConstMetric(descBackendBytesOut, prometheus.CounterValue, bm.bytesOut.value(), name)
		n, sum, buckets := bm.respTime.snapshot()
		ch <- prometheus.MustNewConstHistogram(descBackendRespTime, n, sum, buckets, name)
		for j, s := range be.pool.Servers() {
			sm := be.srvMetrics[j]
			for i, code := range statusClasses {
				ch <- prometheus.MustNewConstMetric(descServerRequests, prometheus.CounterValue, sm.requests[i].value(), name, s.Name, code)
			}
			up := 0.0
			if s.Up() {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descServerUp, prometheus.GaugeValue, up, name, s.Name)
			ch <- prometheus.MustNewConstMetric(descServerActive, prometheus.GaugeValue, float64(s.Active()), name, s.Name)
			st := s.CheckStats()
			ch <- prometheus.MustNewConstMetric(descServerChecks, prometheus.CounterValue, float64(st.Successes), name, s.Name, "success")
			ch <- prometheus.MustNewConstMetric(descServerChecks, prometheus.CounterValue, float64(st.Failures), name, s.Name, "failure")
		}
	}
}

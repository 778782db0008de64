package dataplane

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the dataplane's Prometheus series. Label handles are resolved
// when a table is compiled, so the request path only touches atomics.
type Metrics struct {
	feRequests  *prometheus.CounterVec
	feConns     *prometheus.CounterVec
	feCurConns  *prometheus.GaugeVec
	feBytesIn   *prometheus.CounterVec
	feBytesOut  *prometheus.CounterVec
	beRequests  *prometheus.CounterVec
	beBytesIn   *prometheus.CounterVec
	beBytesOut  *prometheus.CounterVec
	beRespTime  *prometheus.HistogramVec
	srvRequests *prometheus.CounterVec
	srvTrans    *prometheus.CounterVec
	reloads     *prometheus.CounterVec
	generation  prometheus.Gauge
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

// NewMetrics registers the dataplane's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		feRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_frontend_http_requests_total", Help: "HTTP requests answered by a frontend, by status class.",
		}, []string{"frontend", "code"}),
		feConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_frontend_connections_total", Help: "Client connections accepted by a frontend.",
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
		beRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_backend_http_requests_total", Help: "HTTP requests routed to a backend, by status class.",
		}, []string{"backend", "code"}),
		beBytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_backend_bytes_in_total", Help: "Bytes received from a backend's servers.",
		}, []string{"backend"}),
		beBytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_backend_bytes_out_total", Help: "Bytes sent to a backend's servers.",
		}, []string{"backend"}),
		beRespTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_backend_response_time_seconds",
			Help:    "Time from sending a request to a server to receiving its response head.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"backend"}),
		srvRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_server_http_requests_total", Help: "HTTP requests sent to a server, by status class.",
		}, []string{"backend", "server", "code"}),
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
	reg.MustRegister(m.feRequests, m.feConns, m.feCurConns, m.feBytesIn, m.feBytesOut,
		m.beRequests, m.beBytesIn, m.beBytesOut, m.beRespTime,
		m.srvRequests, m.srvTrans, m.reloads, m.generation)
	return m
}

// frontendMetrics are one frontend's resolved handles.
type frontendMetrics struct {
	requests [6]prometheus.Counter
	conns    prometheus.Counter
	curConns prometheus.Gauge
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
}

func (m *Metrics) frontend(name string) *frontendMetrics {
	fm := &frontendMetrics{
		conns:    m.feConns.WithLabelValues(name),
		curConns: m.feCurConns.WithLabelValues(name),
		bytesIn:  m.feBytesIn.WithLabelValues(name),
		bytesOut: m.feBytesOut.WithLabelValues(name),
	}
	for i, c := range statusClasses {
		fm.requests[i] = m.feRequests.WithLabelValues(name, c)
	}
	return fm
}

// backendMetrics are one backend's resolved handles.
type backendMetrics struct {
	requests [6]prometheus.Counter
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
	respTime prometheus.Observer
}

func (m *Metrics) backend(name string) *backendMetrics {
	bm := &backendMetrics{
		bytesIn:  m.beBytesIn.WithLabelValues(name),
		bytesOut: m.beBytesOut.WithLabelValues(name),
		respTime: m.beRespTime.WithLabelValues(name),
	}
	for i, c := range statusClasses {
		bm.requests[i] = m.beRequests.WithLabelValues(name, c)
	}
	return bm
}

// serverMetrics are one server's resolved handles.
type serverMetrics struct {
	requests [6]prometheus.Counter
}

func (m *Metrics) server(backend, server string) *serverMetrics {
	sm := &serverMetrics{}
	for i, c := range statusClasses {
		sm.requests[i] = m.srvRequests.WithLabelValues(backend, server, c)
	}
	return sm
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
)

func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descServerUp
	ch <- descServerActive
	ch <- descServerChecks
	ch <- descBackendQueue
}

func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.rt.table.Load()
	for name, be := range t.backends {
		ch <- prometheus.MustNewConstMetric(descBackendQueue, prometheus.GaugeValue, float64(be.pool.QueueLen()), name)
		for _, s := range be.pool.Servers() {
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

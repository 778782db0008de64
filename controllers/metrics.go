package controllers

import (
	"github.com/prometheus/client_golang/prometheus"

	"sluice.dev/sluice/controllers/translate"
)

// metrics are the controller's Prometheus series.
type metrics struct {
	syncs     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	objects   *prometheus.GaugeVec
	warnings  prometheus.Gauge
	lastApply prometheus.Gauge
	leader    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_controller_syncs_total", Help: "Translations of the cluster applied to the dataplane, by result.",
		}, []string{"result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_controller_sync_duration_seconds",
			Help:    "Time from reading the caches to the new table serving, by kind of sync (full, or endpoints only).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"kind"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_controller_objects", Help: "Objects seen in the last translation, by kind.",
		}, []string{"kind"}),
		warnings: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_controller_translation_errors", Help: "Warnings (objects or annotations not honored) in the last translation.",
		}),
		lastApply: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_controller_last_apply_timestamp_seconds", Help: "When a translation last went live.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_controller_leader", Help: "1 while this replica holds the Lease and writes status.",
		}),
	}
	reg.MustRegister(m.syncs, m.duration, m.objects, m.warnings, m.lastApply, m.leader)
	return m
}

func (m *metrics) observeSnapshot(s *translate.Snapshot) {
	m.objects.WithLabelValues("Ingress").Set(float64(len(s.Ingresses)))
	m.objects.WithLabelValues("IngressClass").Set(float64(len(s.IngressClasses)))
	m.objects.WithLabelValues("Service").Set(float64(len(s.Services)))
	m.objects.WithLabelValues("EndpointSlice").Set(float64(len(s.EndpointSlices)))
	m.objects.WithLabelValues("ConfigMap").Set(float64(len(s.ConfigMaps)))
	m.objects.WithLabelValues("Secret").Set(float64(len(s.Secrets)))
}

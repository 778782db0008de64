package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/controllers/translate"
)

// Applier takes a translated configuration live. The dataplane's Runtime is
// one; the controller never reaches into it otherwise.
type Applier interface {
	Apply(*config.Config) error
}

// Options configure the controller; they mirror `sluice controller`'s flags.
type Options struct {
	Translate translate.Options
	// WatchNamespace limits every namespaced watch to one namespace; empty
	// watches all.
	WatchNamespace string
	// PublishStatusAddress, when set, is written into every Ingress's
	// status; otherwise PublishService's addresses are.
	PublishStatusAddress string
	PublishService       types.NamespacedName
	// LeaderElect gates status writes on holding a Lease; every replica
	// serves traffic regardless.
	LeaderElect    bool
	LeaseNamespace string
	// Identity names this replica in the Lease; empty uses the hostname.
	Identity string

	Applier    Applier
	Registerer prometheus.Registerer
	Logger     logr.Logger
}

// Controller watches the cluster, translates it and hands the result to the
// Applier. Every change of a watched object enqueues the same key, so a
// burst of changes becomes one translation.
type Controller struct {
	opts    Options
	mgr     manager.Manager
	log     logr.Logger
	metrics *metrics
	events  *eventEmitter
	status  *statusWriter
	leader  *leaderElector

	ready atomic.Bool
	kick  chan event.GenericEvent
	store *store
	refs  *secretRefs // the Secrets the serving translation refers to
	// translator and last, the translation serving now, are Reconcile's
	// alone (MaxConcurrentReconciles is 1).
	translator *translate.Translator
	last       *translate.Result
	applied    atomic.Int64 // unix nanoseconds of the last successful apply
	// defaultCert is whether the last translation served
	// --default-ssl-certificate: nil before the first.
	defaultCert *bool
}

// syncKey is the only reconcile request: the whole cluster is one input.
var syncKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: "sluice"}}

// New builds a controller against the API server in cfg.
func New(cfg *rest.Config, o Options) (*Controller, error) {
	if o.Applier == nil {
		return nil, errors.New("controllers: no Applier")
	}
	if o.Translate.HTTPSAddr != "" && o.Translate.FallbackCertificate == nil {
		cert, err := SelfSigned(time.Now())
		if err != nil {
			return nil, err
		}
		o.Translate.FallbackCertificate = cert
	}
	if err := o.Translate.Validate(); err != nil {
		return nil, err
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.LeaseNamespace == "" {
		o.LeaseNamespace = "default"
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	refs := &secretRefs{}
	mgr, err := ctrl.NewManager(cfg, manager.Options{
		Scheme:                 scheme,
		Logger:                 o.Logger,
		Cache:                  cacheOptions(o, refs),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Leader election is ours (see leader.go): losing the Lease must
		// only stop status writes, never the process and its traffic.
		LeaderElection: false,
	})
	if err != nil {
		return nil, fmt.Errorf("controller manager: %w", err)
	}
	c := &Controller{
		opts:    o,
		mgr:     mgr,
		log:     o.Logger.WithName("controller"),
		metrics: newMetrics(o.Registerer),
		kick:    make(chan event.GenericEvent, 1),
		store:   newStore(),
		refs:    refs,

		translator: translate.NewTranslator(o.Translate),
	}
	c.events = newEventEmitter(mgr.GetEventRecorder("sluice"), scheme)
	c.leader = newLeaderElector(cfg, o, c.metrics, c.log)
	c.status = newStatusWriter(mgr.GetClient(), mgr.GetAPIReader(), o, c.leader, c.log)
	if err := c.setup(); err != nil {
		return nil, err
	}
	return c, nil
}

// cacheOptions keeps the informers to what translation reads: the watched
// namespace, of ConfigMaps only the TCP services one, of Secrets only TLS
// ones (see secrets.go), and of every object only the fields translation or
// status writing use (see transform.go).
func cacheOptions(o Options, refs *secretRefs) cache.Options {
	co := cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Service{}:            {Transform: trimService},
		&discoveryv1.EndpointSlice{}: {Transform: trimEndpointSlice},
		&corev1.Secret{}:             secretCache(o, refs),
	}, DefaultTransform: trimMeta}
	if o.WatchNamespace != "" {
		co.DefaultNamespaces = map[string]cache.Config{o.WatchNamespace: {}}
	}
	if cm := o.Translate.TCPServicesConfigMap; cm.Name != "" {
		co.ByObject[&corev1.ConfigMap{}] = cache.ByObject{
			Namespaces: map[string]cache.Config{cm.Namespace: {}},
			Field:      fields.OneTermEqualSelector("metadata.name", cm.Name),
		}
	}
	return co
}

func (c *Controller) setup() error {
	full := c.store.handler(false, nil)
	b := ctrl.NewControllerManagedBy(c.mgr).
		Named("sluice").
		WithOptions(controller.Options{MaxConcurrentReconciles: 1, SkipNameValidation: ptrTrue()}).
		Watches(&networkingv1.Ingress{}, c.store.handler(false, ingressMatters)).
		Watches(&networkingv1.IngressClass{}, full).
		Watches(&corev1.Service{}, full).
		Watches(&discoveryv1.EndpointSlice{}, c.store.handler(true, endpointsMatter)).
		Watches(&corev1.Secret{}, c.store.secretHandler(c.refs)).
		WatchesRawSource(source.Channel(c.kick, full))
	if c.opts.Translate.TCPServicesConfigMap.Name != "" {
		b = b.Watches(&corev1.ConfigMap{}, full)
	}
	if err := b.Complete(c); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	if err := c.mgr.Add(c.leader); err != nil {
		return err
	}
	return c.mgr.Add(c.status)
}

func ptrTrue() *bool { t := true; return &t }

// Start runs until ctx ends.
func (c *Controller) Start(ctx context.Context) error {
	// One translation at start, even in an empty cluster, so the table (and
	// readiness) does not wait for a first change.
	c.kick <- event.GenericEvent{Object: &corev1.ConfigMap{}}
	return c.mgr.Start(ctx)
}

// Ready reports whether the caches have synced and a table built from them
// is live.
func (c *Controller) Ready() bool { return c.ready.Load() }

// Reconcile translates the cluster and applies it. When only EndpointSlices
// changed since the last applied translation, only the backends of their
// Services are looked up again.
func (c *Controller) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	start := time.Now()
	snap, full, services := c.store.take()
	fail := func(err error) (reconcile.Result, error) {
		// Whatever was pending is still pending: next time, do it all.
		c.store.markFull()
		c.metrics.syncs.WithLabelValues("failure").Inc()
		return reconcile.Result{}, err
	}
	incremental := !full && c.last != nil
	kind := "full"
	if incremental {
		kind = "endpoints"
	}
	var res translate.Result
	if incremental {
		res = translate.RefreshEndpoints(*c.last, snap, services)
	} else {
		res = c.translator.Translate(snap)
		c.refs.store(res.Secrets)
		if missing := c.store.bareOf(res.Secrets); len(missing) > 0 {
			// Newly referenced: the cache kept only their identity.
			fetched, err := fetchSecrets(ctx, c.mgr.GetAPIReader(), missing)
			if err != nil {
				return fail(err)
			}
			snap = c.store.fill(snap, fetched)
			res = c.translator.Translate(snap)
		}
		c.checkDefaultCertificate(res.Config)
		c.metrics.observeSnapshot(snap)
		c.events.emit(ctx, res.Events)
		c.metrics.warnings.Set(float64(countWarnings(res.Events)))
	}
	if err := c.opts.Applier.Apply(res.Config); err != nil {
		// The previous table keeps serving; retry with backoff.
		c.log.Error(err, "applying the translated configuration")
		return fail(err)
	}
	c.last = &res
	now := time.Now()
	c.applied.Store(now.UnixNano())
	c.metrics.lastApply.Set(float64(now.UnixNano()) / 1e9)
	c.metrics.syncs.WithLabelValues("success").Inc()
	c.metrics.duration.WithLabelValues(kind).Observe(now.Sub(start).Seconds())
	c.ready.Store(true)
	if !incremental {
		c.status.update(res.Ingresses)
	}
	return reconcile.Result{}, nil
}

// checkDefaultCertificate logs when --default-ssl-certificate cannot be
// served (no object could carry an Event), and when it can again.
func (c *Controller) checkDefaultCertificate(cfg *config.Config) {
	def := c.opts.Translate.DefaultCertificate
	if def.Name == "" || c.opts.Translate.HTTPSAddr == "" {
		return
	}
	ok := cfg.Certificates[def.String()] != nil
	if c.defaultCert != nil && *c.defaultCert == ok {
		return
	}
	c.defaultCert = &ok
	if ok {
		c.log.Info("default certificate served", "secret", def.String())
	} else {
		c.log.Error(nil, "default certificate Secret missing, not of type kubernetes.io/tls, or invalid: serving a self-signed one", "secret", def.String())
	}
}

func countWarnings(evs []translate.Event) int {
	n := 0
	for _, e := range evs {
		if e.Type == translate.EventWarning {
			n++
		}
	}
	return n
}

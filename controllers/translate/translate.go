package translate

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/config"
)

// Defaults of the controller's flags, applied by Translate to empty Options fields.
const (
	DefaultIngressClass   = "sluice"
	DefaultControllerName = "sluice.dev/ingress-controller"
	DefaultTCPBindAddress = "0.0.0.0"
)

// Options are the controller flags that shape the translation.
type Options struct {
	IngressClass   string // --ingress-class
	ControllerName string // --controller-name
	// HTTPAddr is where the HTTP frontend listens, "host:port"; an empty host
	// means every address.
	HTTPAddr string
	// HTTPSAddr is where the HTTP frontend also listens with TLS, in the
	// form of HTTPAddr; empty means no HTTPS listener, and spec.tls is
	// then ignored (with a warning). The listener exists only while there
	// is a certificate to present: see DefaultCertificate.
	HTTPSAddr string
	// DefaultCertificate is the kubernetes.io/tls Secret presented to
	// clients whose SNI no Ingress certificate matches, and for the hosts
	// of a spec.tls entry without secretName; the zero value means none.
	DefaultCertificate types.NamespacedName
	// FallbackCertificate takes the default certificate's place when
	// DefaultCertificate is not set, missing or invalid: typically a
	// self-signed one made at start-up. It must not be modified once
	// given: like every certificate, it is compared by pointer.
	FallbackCertificate *config.Certificate
	// TCPBindAddress is the IP the TCP services listen on.
	TCPBindAddress string
	// TCPServicesConfigMap names the ingress-nginx style TCP services
	// ConfigMap; the zero value means none.
	TCPServicesConfigMap types.NamespacedName
}

func (o Options) withDefaults() Options {
	if o.IngressClass == "" {
		o.IngressClass = DefaultIngressClass
	}
	if o.ControllerName == "" {
		o.ControllerName = DefaultControllerName
	}
	if o.TCPBindAddress == "" {
		o.TCPBindAddress = DefaultTCPBindAddress
	}
	return o
}

// Validate reports Options that Translate cannot turn into listeners. The
// controller calls it once at start-up; Translate itself never fails.
func (o Options) Validate() error {
	http, err := parseHostPort(o.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http address %q: %w", o.HTTPAddr, err)
	}
	if o.HTTPSAddr != "" {
		https, err := parseHostPort(o.HTTPSAddr)
		if err != nil {
			return fmt.Errorf("https address %q: %w", o.HTTPSAddr, err)
		}
		if https.Port == http.Port && overlap(https.Host, http.Host) {
			return fmt.Errorf("https address %q: takes the port of the http address %q", o.HTTPSAddr, o.HTTPAddr)
		}
	}
	if k := o.DefaultCertificate; (k.Namespace == "") != (k.Name == "") {
		return fmt.Errorf("default certificate %q: want NAMESPACE/NAME", k.String())
	}
	if o.TCPBindAddress != "" {
		if _, err := netip.ParseAddr(o.TCPBindAddress); err != nil {
			return fmt.Errorf("tcp bind address %q: %w", o.TCPBindAddress, err)
		}
	}
	return nil
}

// Snapshot is what the informer caches hold.
type Snapshot struct {
	Ingresses      map[types.NamespacedName]*networkingv1.Ingress
	IngressClasses map[string]*networkingv1.IngressClass
	Services       map[types.NamespacedName]*corev1.Service
	// EndpointSlices are keyed by their own name; a Service has any number
	// of them, found through the label kubernetes.io/service-name.
	EndpointSlices map[types.NamespacedName]*discoveryv1.EndpointSlice
	ConfigMaps     map[types.NamespacedName]*corev1.ConfigMap
	// Secrets need only hold the ones a translation looks at, listed in
	// Result.Secrets; the others are never read.
	Secrets map[types.NamespacedName]*corev1.Secret
	// SlicesByService, when not nil, is EndpointSlices grouped by Service
	// (the namespace and the label), each list sorted by name, as
	// GroupSlices gives. A holder that keeps it up to date as slices come
	// and go spares every translation a pass over all of them. Neither the
	// map nor its lists may be modified once given.
	SlicesByService map[types.NamespacedName][]*discoveryv1.EndpointSlice
}

// NewSnapshot returns a Snapshot with every map made and empty.
func NewSnapshot() *Snapshot {
	return &Snapshot{
		Ingresses:      map[types.NamespacedName]*networkingv1.Ingress{},
		IngressClasses: map[string]*networkingv1.IngressClass{},
		Services:       map[types.NamespacedName]*corev1.Service{},
		EndpointSlices: map[types.NamespacedName]*discoveryv1.EndpointSlice{},
		ConfigMaps:     map[types.NamespacedName]*corev1.ConfigMap{},
		Secrets:        map[types.NamespacedName]*corev1.Secret{},
	}
}

// GroupSlices groups EndpointSlices by the Service they belong to, each
// list sorted by name: Snapshot.SlicesByService.
func GroupSlices(all map[types.NamespacedName]*discoveryv1.EndpointSlice) map[types.NamespacedName][]*discoveryv1.EndpointSlice {
	out := make(map[types.NamespacedName][]*discoveryv1.EndpointSlice, len(all))
	for _, es := range all {
		if k, ok := SliceService(es); ok {
			out[k] = append(out[k], es)
		}
	}
	for _, list := range out {
		slices.SortFunc(list, compareSlices)
	}
	return out
}

// SliceService is the Service an EndpointSlice belongs to, if it names one.
func SliceService(es *discoveryv1.EndpointSlice) (types.NamespacedName, bool) {
	if es == nil {
		return types.NamespacedName{}, false
	}
	svc := es.Labels[discoveryv1.LabelServiceName]
	return types.NamespacedName{Namespace: es.Namespace, Name: svc}, svc != ""
}

func compareSlices(a, b *discoveryv1.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) }

// ObjectRef names the object an Event is about.
type ObjectRef struct {
	Kind      string // "Ingress" or "ConfigMap"
	Namespace string
	Name      string
	UID       types.UID
}

// Event types, as in corev1.Event.
const (
	EventNormal  = corev1.EventTypeNormal
	EventWarning = corev1.EventTypeWarning
)

// Event is something the owner of an object should be told about, for
// example an annotation that could not be honored.
type Event struct {
	Object  ObjectRef
	Type    string // EventNormal or EventWarning
	Reason  string
	Message string
	// Annotation is the annotation key the event is about, if any: an
	// annotation with such an event was not honored as written.
	Annotation string
}

// Result is the outcome of a translation.
type Result struct {
	Config *config.Config
	// Events are sorted by object, then in the order the problems were met;
	// identical events are reported once.
	Events []Event
	// Ingresses are the Ingresses of our class, sorted; the controller
	// writes their status.
	Ingresses []types.NamespacedName
	// Secrets are the Secrets the translation looked at, sorted, whether
	// they exist or not: those named by spec.tls of the Ingresses of our
	// class, and Options.DefaultCertificate. None when Options.HTTPSAddr is
	// empty. A change to any other Secret cannot change the result.
	Secrets []types.NamespacedName

	// sources are, index for index with Config.Backends, the Service port
	// each was built from (nil for none), so RefreshEndpoints can find the
	// backends an EndpointSlice change touches.
	sources []*servicePort
}

// Names of the objects Translate creates itself.
const (
	HTTPFrontendName = "http"
	// NotFoundBackend answers 404 to requests that no rule matches when no
	// Ingress has a spec.defaultBackend. It has no '_', unlike every
	// backend named after a Service, so the names cannot collide.
	NotFoundBackend = "sluice-default-404"
)

// Translate builds the configuration for s. It never fails: an object it
// cannot honor, in whole or in part, is reported in Result.Events and the
// rest of the cluster is served as usual.
func Translate(s *Snapshot, o Options) Result {
	return NewTranslator(o).Translate(s)
}

func (t *translator) translate() Result {
	ours, dropped := t.ourIngresses()
	for _, e := range ours {
		t.addIngress(e.ing, e.p)
	}

	cfg := &config.Config{}
	cfg.Frontends = append(cfg.Frontends, t.httpFrontend(cfg))
	cfg.Frontends = append(cfg.Frontends, t.tcpFrontends()...)
	var sources []*servicePort
	cfg.Backends, sources = t.memo.sortedBackends(t.backendList)

	res := Result{Config: cfg, Events: t.events.sorted(), sources: sources}
	res.Ingresses = t.memo.ingressNames(ours, dropped)
	res.Secrets = t.secretNames()
	return res
}

// translator holds the state of one Translate call.
type translator struct {
	snap *Snapshot
	opts Options

	events eventLog
	// slices indexes EndpointSlices by the Service they belong to.
	slices map[types.NamespacedName][]*discoveryv1.EndpointSlice

	// routes are the claimed routes, in the order they were claimed; a
	// route's entry records which Ingress owns it, to detect conflicts.
	routes []*memoRoute
	// defaultOwner is the Ingress whose spec.defaultBackend is the frontend's.
	defaultOwner   *networkingv1.Ingress
	defaultBackend string

	// backendList are the memo entries of the translation's backends, in
	// the order they were added.
	backendList []*memoBackend

	// tls is what spec.tls asked for (see tls.go).
	tls tlsState
	// secretsSeen are the Secrets looked at, each once: Result.Secrets.
	secretsSeen []types.NamespacedName

	// memo holds what earlier translations built (see Translator).
	memo *memo
}

func newTranslator(s *Snapshot, o Options) *translator {
	if s == nil {
		s = &Snapshot{}
	}
	t := &translator{
		snap: s,
		opts: o,
		memo: newMemo(),
	}
	if t.slices = s.SlicesByService; t.slices == nil {
		t.slices = GroupSlices(s.EndpointSlices)
	}
	return t
}

// httpFrontend is the single HTTP listener that every Ingress rule shares,
// with its HTTPS twin when there is one; cfg gets the certificates.
func (t *translator) httpFrontend(cfg *config.Config) *config.Frontend {
	fe := &config.Frontend{
		Name:    HTTPFrontendName,
		Mode:    config.ModeHTTP,
		Options: config.Options{ForwardFor: true},
	}
	if b, err := parseHostPort(t.opts.HTTPAddr); err == nil {
		fe.Binds = []config.Bind{b}
	}
	if b, certs, ok := t.httpsBind(); ok {
		fe.Binds = append(fe.Binds, b)
		cfg.Certificates = certs
		if r := t.redirectRule(); r != nil {
			fe.HTTPRequest = []config.HTTPRequestRule{*r}
		}
	}
	fe.DefaultBackend = t.defaultBackend
	if fe.DefaultBackend == "" {
		fe.DefaultBackend = NotFoundBackend
		t.notFoundBackend()
	}
	fe.UseBackends = useBackends(t.memo.sortedRoutes(t.routes), fe.DefaultBackend, t.guard)
	return fe
}

// notFoundBackend adds the backend of NotFoundBackend.
func (t *translator) notFoundBackend() {
	t.reuseBackend(NotFoundBackend, servicePort{}, false, false, backendSettings{}, nil, func() *config.Backend {
		b := newBackend(NotFoundBackend, config.ModeHTTP)
		b.HTTPRequest = []config.HTTPRequestRule{{
			Action:      config.ActionReturn,
			Status:      404,
			ContentType: "text/plain",
			Body:        "404 Not Found",
		}}
		return b
	})
}

// newBackend returns a backend with the effective defaults the config parser
// would fold in, so a translated config means the same as its printed form.
// Redispatch is on: an endpoint that died but is still listed (its pod
// crashed, the slice not yet updated) must not fail every request sent its
// way; a failed connect retries on another endpoint.
func newBackend(name string, mode config.Mode) *config.Backend {
	return &config.Backend{Name: name, Mode: mode, Retries: 3, Options: config.Options{Redispatch: true}}
}

// parseHostPort reads "host:port" (host may be empty, "*" or an IP literal).
func parseHostPort(addr string) (config.Bind, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return config.Bind{}, err
	}
	if host == "*" {
		host = ""
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return config.Bind{}, fmt.Errorf("host %q is not an IP address", host)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return config.Bind{}, fmt.Errorf("port %q is not a number between 1 and 65535", port)
	}
	return config.Bind{Host: host, Port: n}, nil
}

func compareNamespacedName(a, b types.NamespacedName) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

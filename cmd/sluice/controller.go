package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"sluice.dev/sluice/controllers"
	"sluice.dev/sluice/controllers/translate"
	"sluice.dev/sluice/dataplane"
)

// controllerCmd serves the Ingresses of a cluster: controller-runtime caches
// feed the translation, whose output the in-process dataplane serves.
func controllerCmd(args []string) int {
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file; empty uses the in-cluster configuration")
	class := fs.String("ingress-class", translate.DefaultIngressClass, "name of the IngressClass this controller serves")
	controllerName := fs.String("controller-name", translate.DefaultControllerName, "spec.controller of that IngressClass")
	httpAddr := fs.String("http-addr", ":8080", "address of the HTTP listener")
	httpsAddr := fs.String("https-addr", ":8443", "address of the HTTPS listener; empty: none")
	metricsAddr := fs.String("metrics-addr", ":10254", "address of /metrics, /healthz, /readyz and /debug/config")
	tcpCM := fs.String("tcp-services-configmap", "", "NS/NAME of the TCP services ConfigMap (\"PORT\": \"ns/svc:port\")")
	tcpBind := fs.String("tcp-bind-address", translate.DefaultTCPBindAddress, "address the TCP services listen on")
	publishAddr := fs.String("publish-status-address", "", "address(es), comma-separated, written into Ingress status")
	publishSvc := fs.String("publish-service", "", "NS/NAME of the Service whose addresses are written into Ingress status")
	leaderElect := fs.Bool("leader-elect", true, "hold a Lease so that only one replica writes status (every replica serves)")
	watchNS := fs.String("watch-namespace", "", "watch only this namespace (default: all)")
	defaultCert := fs.String("default-ssl-certificate", "", "NS/NAME of the TLS Secret served to clients no Ingress has a certificate for (default: a self-signed one)")
	accessLog := fs.String("access-log", "-", "access log destination: - for stdout, a file path, or off")
	grace := fs.Duration("grace", 30*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *publishAddr != "" && *publishSvc != "" {
		fmt.Fprintln(os.Stderr, "sluice controller: --publish-status-address and --publish-service are exclusive")
		return 2
	}
	var cm, svc, defCert types.NamespacedName
	for _, f := range []struct {
		name, val string
		dst       *types.NamespacedName
	}{{"tcp-services-configmap", *tcpCM, &cm}, {"publish-service", *publishSvc, &svc}, {"default-ssl-certificate", *defaultCert, &defCert}} {
		if f.val == "" {
			continue
		}
		nn, err := parseNamespacedName(f.val)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sluice controller: --%s: %v\n", f.name, err)
			return 2
		}
		*f.dst = nn
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	restCfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sluice controller: cluster configuration: %v\n", err)
		return 1
	}
	restCfg.UserAgent = "sluice/" + version

	logOut, closeLog, err := openAccessLog(*accessLog)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sluice controller: --access-log: %v\n", err)
		return 2
	}
	defer closeLog()

	// One registry for everything: controller-runtime's (it already holds
	// the Go and process collectors, client, workqueue and cache metrics),
	// the controller's and the dataplane's.
	reg := ctrlmetrics.Registry
	rt := dataplane.New(dataplane.Options{Registerer: reg, AccessLog: logOut, Logger: logger})

	leaseNS := os.Getenv("POD_NAMESPACE")
	if leaseNS == "" {
		leaseNS = "default"
	}
	ctl, err := controllers.New(restCfg, controllers.Options{
		Translate: translate.Options{
			IngressClass:         *class,
			ControllerName:       *controllerName,
			HTTPAddr:             *httpAddr,
			HTTPSAddr:            *httpsAddr,
			DefaultCertificate:   defCert,
			TCPBindAddress:       *tcpBind,
			TCPServicesConfigMap: cm,
		},
		WatchNamespace:       *watchNS,
		PublishStatusAddress: *publishAddr,
		PublishService:       svc,
		LeaderElect:          *leaderElect,
		LeaseNamespace:       leaseNS,
		Identity:             os.Getenv("POD_NAME"),
		Applier:              rt,
		Registerer:           reg,
		Logger:               logr.FromSlogHandler(logger.Handler()),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "sluice controller: %v\n", err)
		return 1
	}
	admin, err := startAdmin(*metricsAddr, reg, rt, logger, ctl.Ready)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sluice controller: --metrics-addr: %v\n", err)
		return 1
	}
	admin.setReady(true)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ctl.Start(ctx) }()

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	stopped := false
	select {
	case s := <-sig:
		logger.Info("shutting down", "signal", s.String(), "grace", grace.String())
	case err := <-done:
		stopped = true
		if err != nil {
			logger.Error("controller stopped", "error", err)
		}
	}
	admin.setReady(false)
	cancel()
	if !stopped {
		// Let the controller release its Lease, so another replica takes
		// over status writes at once rather than after the Lease expires.
		select {
		case <-done:
		case <-time.After(*grace):
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), *grace)
	err = rt.Shutdown(sctx)
	scancel()
	admin.close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Error("shutdown", "error", err)
	}
	return 0
}

func parseNamespacedName(s string) (types.NamespacedName, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return types.NamespacedName{}, fmt.Errorf("%q is not NAMESPACE/NAME", s)
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

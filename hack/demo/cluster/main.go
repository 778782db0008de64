// Command demo-cluster shows sluice's main job without a cluster at hand. It
// starts a real etcd and kube-apiserver on 127.0.0.1, applies example.yaml
// (Ingresses, Services, EndpointSlices, a TCP services ConfigMap) with the
// TLS Secrets it names, issued by a CA made for the run, serves every
// endpoint of the example from this process on 127.0.0.x, and runs
// `sluice controller` against that cluster, over HTTP and HTTPS. It prints
// commands to try, and stops everything it started on Ctrl-C.
//
//	demo-cluster [flags]                               run the demo until Ctrl-C
//	demo-cluster -check [flags]                        run it, try every printed command, stop
//	demo-cluster scale [-control ADDR] SERVICE N       give a Service N endpoints
//	demo-cluster annotate [-control ADDR] INGRESS KEY=VALUE | KEY-
//
// The kube-apiserver and etcd binaries come from hack/controlplane/build.sh,
// which returns at once when they are already built.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"sluice.dev/sluice/test/controlplane"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "scale", "annotate":
			os.Exit(changeCmd(os.Args[1], os.Args[2:]))
		}
	}
	o := options{prog: progName(), out: os.Stdout}
	fs := flag.NewFlagSet("demo-cluster", flag.ContinueOnError)
	fs.StringVar(&o.sluice, "sluice", "bin/sluice", "the sluice binary (make build)")
	fs.StringVar(&o.controlPlaneBin, "controlplane-bin", "", "directory of kube-apiserver and etcd; empty runs "+controlplane.BuildScript+", which builds them once")
	fs.StringVar(&o.httpAddr, "http-addr", "127.0.0.1:8080", "sluice's HTTP listener (port 0: any free port)")
	fs.StringVar(&o.httpsAddr, "https-addr", "127.0.0.1:8443", "sluice's HTTPS listener (port 0: any free port)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:10254", "sluice's /metrics, /readyz and /debug/config (port 0: any free port)")
	fs.StringVar(&o.controlAddr, "control", defaultControlAddr, "where the demo takes scale and annotate (port 0: any free port)")
	fs.BoolVar(&o.check, "check", false, "try every printed command, report, and stop")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "bound on each wait: sluice ready, a change taking effect")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo-cluster: unexpected argument %q\n\n%s", fs.Arg(0), usage)
		os.Exit(2)
	}

	// SIGHUP too: closing the terminal should stop the demo as cleanly as
	// Ctrl-C does.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	go func() {
		<-ctx.Done()
		// A second Ctrl-C kills this process at once; the kernel then kills
		// the children it started (see sysProcAttr).
		stop()
	}()
	err := run(ctx, o)
	switch {
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, "demo-cluster: interrupted")
		os.Exit(130)
	case err != nil:
		fmt.Fprintf(os.Stderr, "demo-cluster: %v\n", err)
		os.Exit(1)
	}
}

const usage = `usage:
  demo-cluster [flags]                           run the demo until Ctrl-C
  demo-cluster -check [flags]                    run it, try every printed command, stop
  demo-cluster scale [-control ADDR] SERVICE N   give a Service N endpoints
  demo-cluster annotate [-control ADDR] INGRESS KEY=VALUE | KEY-

flags:
`

// progName is how the printed commands invoke this program.
func progName() string {
	if strings.Contains(os.Args[0], "go-build") {
		return "go run ./hack/demo/cluster"
	}
	return os.Args[0]
}

// ownSource is the source address of the demo's own requests.
var ownSource = netip.AddrFrom4([4]byte{127, 0, 0, 254})

// errInterrupted reports a signal before the demo was up.
var errInterrupted = errors.New("interrupted")

type options struct {
	prog            string // how to invoke this program, for printed commands
	sluice          string
	controlPlaneBin string
	httpAddr        string
	httpsAddr       string
	metricsAddr     string
	controlAddr     string
	check           bool
	timeout         time.Duration
	out             io.Writer
}

// demo is one run: what it started and the state scale changes.
type demo struct {
	opts        options
	out         io.Writer
	ex          *example
	httpAddr    string
	httpsAddr   string
	metricsAddr string
	controlAddr string
	workDir     string
	secrets     []*corev1.Secret // the TLS Secrets issued for the example
	fleet       *fleet
	cp          *controlplane.ControlPlane
	cs          kubernetes.Interface
	sluice      *process
	client      *http.Client

	mu   sync.Mutex  // serializes changes; guards ex.slices
	live atomic.Bool // the cluster and sluice are up: changes may come
}

func (d *demo) logf(format string, args ...any) {
	fmt.Fprintf(d.out, "demo-cluster: "+format+"\n", args...)
}

func run(ctx context.Context, o options) error {
	return newDemo(o).run(ctx)
}

func newDemo(o options) *demo {
	if o.timeout <= 0 {
		o.timeout = 30 * time.Second
	}
	return &demo{opts: o, out: o.out, fleet: newFleet()}
}

// run starts everything, then serves until ctx ends (or, with -check, tries
// every printed command), and stops what it started in reverse order. On
// failure the logs stay in the work directory, which the output names.
func (d *demo) run(ctx context.Context) (err error) {
	o := d.opts
	d.ex, err = decodeExample(exampleYAML)
	if err != nil {
		return fmt.Errorf("%s: %w", exampleFile, err)
	}
	if err := d.preflight(); err != nil {
		return err
	}

	var stops []func()
	started := false // anything at all
	stopControl := func() {}
	defer func() {
		stopControl()
		for _, stop := range slices.Backward(stops) {
			stop()
		}
		if d.workDir != "" && err != nil && !errors.Is(err, errInterrupted) {
			d.logf("logs kept in %s", d.workDir)
			return
		}
		if d.workDir != "" {
			_ = os.RemoveAll(d.workDir)
		}
		if started {
			d.logf("stopped everything it started")
		}
	}()

	ln, err := net.Listen("tcp", d.controlAddr)
	if err != nil {
		return fmt.Errorf("-control: %w", err)
	}
	control := d.serveControl(ln)
	started = true
	// Stopped before anything else, once a change under way is done, so that
	// no backend a change starts outlives the fleet.
	stopControl = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if control.Shutdown(ctx) != nil {
			_ = control.Close()
		}
	}

	var eps []endpoint
	for _, svc := range slices.Sorted(maps.Keys(d.ex.slices)) {
		e, err := endpointsOf(d.ex.slices[svc])
		if err != nil {
			return fmt.Errorf("%s: service %s: %w", exampleFile, svc, err)
		}
		eps = append(eps, e...)
	}
	if err := d.fleet.start(eps); err != nil {
		return err
	}
	stops = append(stops, func() { d.logf("stopped %d backends", d.fleet.stopAll()) })
	d.logf("%d backends listening: %s", len(eps), listEndpoints(eps))

	if d.workDir, err = os.MkdirTemp("", "sluice-demo-cluster-"); err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	if d.secrets, err = d.ex.issueSecrets(d.workDir, time.Now()); err != nil {
		return err
	}
	if err := d.startControlPlane(ctx); err != nil {
		return err
	}
	stops = append(stops, func() {
		d.cp.Stop()
		d.logf("stopped etcd and kube-apiserver")
	})
	if d.cs, err = kubernetes.NewForConfig(d.cp.RESTConfig); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, d.opts.timeout)
	err = d.ex.apply(actx, d.cs, d.cp.PutEndpointSlice, d.secrets)
	cancel()
	if err != nil {
		return err
	}
	d.logf("applied %s: %s", exampleFile, d.ex.summary())
	for _, s := range d.secrets {
		d.logf("created Secret %s/%s (kubernetes.io/tls) for %s, issued by the CA in %s",
			s.Namespace, s.Name, strings.Join(d.ex.tlsHosts(s.Name), ", "), filepath.Join(d.workDir, caFile))
	}

	d.client = &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			// The demo's own requests come from an address of their own, so
			// that the access log shown to the user leaves them out.
			DialContext: ownDialer().DialContext,
		},
		// As curl without -L: the redirect to HTTPS is what the user sees.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer d.client.CloseIdleConnections()
	err = d.startSluice(ctx)
	if d.sluice != nil { // started, ready or not
		stops = append(stops, func() {
			if err := d.sluice.stop(10 * time.Second); err != nil {
				d.logf("%v", err)
				return
			}
			d.logf("stopped sluice (PID %d)", d.sluice.cmd.Process.Pid)
		})
	}
	if err != nil {
		return err
	}
	if err := d.waitServing(ctx); err != nil {
		return err
	}
	d.live.Store(true)

	tries, err := d.tries(ctx)
	if err != nil {
		return err
	}
	changes := d.changes()
	if o.check {
		return d.check(ctx, tries, changes)
	}
	d.printBanner(tries, changes)
	select {
	case <-ctx.Done():
		fmt.Fprintln(d.out)
		d.logf("stopping")
		return nil
	case <-d.sluice.exited:
		return fmt.Errorf("%w\n%s", d.sluice.exitErr(), d.sluice.tail(30))
	}
}

// preflight checks what can be checked before anything starts, so that a
// taken port or a missing binary fails at once and clearly.
func (d *demo) preflight() error {
	if fi, err := os.Stat(d.opts.sluice); err != nil || fi.IsDir() {
		return fmt.Errorf("-sluice %s: not a binary (build it with `make build`)", d.opts.sluice)
	}
	addrs := []struct {
		flag string
		addr *string
		in   string
	}{
		{"-http-addr", &d.httpAddr, d.opts.httpAddr},
		{"-https-addr", &d.httpsAddr, d.opts.httpsAddr},
		{"-metrics-addr", &d.metricsAddr, d.opts.metricsAddr},
		{"-control", &d.controlAddr, d.opts.controlAddr},
	}
	seen := map[string]string{}
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a.in)
		if err != nil || !ap.Addr().Is4() || !ap.Addr().IsLoopback() {
			return fmt.Errorf("%s %q: want 127.x.y.z:PORT, as the demo stays on loopback", a.flag, a.in)
		}
		if *a.addr, err = freeAddr(a.in); err != nil {
			return fmt.Errorf("%s: %w", a.flag, err)
		}
		if other, dup := seen[*a.addr]; dup {
			return fmt.Errorf("%s and %s are both %s", other, a.flag, *a.addr)
		}
		seen[*a.addr] = a.flag
		if err := checkFree(*a.addr, a.flag); err != nil {
			return err
		}
	}
	for _, port := range d.ex.tcpPorts {
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		what := fmt.Sprintf("TCP service port %d (ConfigMap %s/%s)", port, namespace, tcpConfigMap)
		if other, dup := seen[addr]; dup {
			return fmt.Errorf("%s and %s are both %s", other, what, addr)
		}
		if err := checkFree(addr, what); err != nil {
			return err
		}
	}
	return nil
}

// startControlPlane starts etcd and kube-apiserver. A signal cannot cut
// controlplane.New short, so it waits for New to finish (its own wait is
// bounded) and then stops what New started.
func (d *demo) startControlPlane(ctx context.Context) error {
	bin := d.opts.controlPlaneBin
	if bin == "" {
		var err error
		if bin, err = buildControlPlane(ctx); err != nil {
			return err
		}
	}
	dir := filepath.Join(d.workDir, "controlplane")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("control plane directory: %w", err)
	}
	const ready = 60 * time.Second
	d.logf("starting etcd and kube-apiserver on 127.0.0.1 (at most %s)", ready)
	started := time.Now()
	type result struct {
		cp  *controlplane.ControlPlane
		err error
	}
	done := make(chan result, 1)
	go func() {
		cp, err := controlplane.New(controlplane.Options{BinDir: bin, Dir: dir, ReadyTimeout: ready})
		done <- result{cp, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		d.logf("interrupted: waiting for etcd and kube-apiserver to finish starting, to stop them")
		if r = <-done; r.err == nil {
			r.cp.Stop()
		}
		return errInterrupted
	}
	if r.err != nil {
		return fmt.Errorf("control plane: %w", r.err)
	}
	d.cp = r.cp
	d.logf("etcd and kube-apiserver ready in %s at %s", time.Since(started).Round(100*time.Millisecond), d.cp.URL)
	return nil
}

// buildControlPlane runs build.sh from the repository root, which builds
// the binaries once (minutes) and afterwards only names their directory.
func buildControlPlane(ctx context.Context) (string, error) {
	root, err := repoRoot()
	if err != nil {
		// Outside the repository: use the cache, and let controlplane.New
		// say how to fill it if it is empty.
		return controlplane.DefaultBinDir()
	}
	fmt.Fprintf(os.Stderr, "demo-cluster: %s (builds kube-apiserver and etcd once, in minutes; instant afterwards)\n", controlplane.BuildScript)
	cmd := exec.Command("bash", filepath.Join(root, controlplane.BuildScript))
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("%s: %w", controlplane.BuildScript, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-waited
		return "", errInterrupted
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", controlplane.BuildScript, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1], nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, controlplane.BuildScript)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found")
		}
		dir = parent
	}
}

// startSluice runs `sluice controller` against the control plane and waits
// until it reports ready.
func (d *demo) startSluice(ctx context.Context) error {
	args := []string{"controller",
		"--kubeconfig", d.cp.Kubeconfig,
		"--http-addr", d.httpAddr,
		"--https-addr", d.httpsAddr,
		"--metrics-addr", d.metricsAddr,
		"--tcp-services-configmap", namespace + "/" + tcpConfigMap,
		"--tcp-bind-address", "127.0.0.1",
		"--publish-status-address", "127.0.0.1",
		// One replica: no Lease to wait for before it writes status.
		"--leader-elect=false",
		"--grace", "3s",
		"--access-log", "-",
	}
	var echo io.Writer
	if !d.opts.check {
		echo = &prefixWriter{w: d.out, prefix: "access: ", skip: ownSource.String() + ":"}
	}
	p, err := startProcess("sluice", d.opts.sluice, args, filepath.Join(d.workDir, "sluice.log"), echo)
	if err != nil {
		return err
	}
	d.sluice = p
	d.logf("started sluice controller (PID %d); waiting until it is ready (at most %s)", p.cmd.Process.Pid, d.opts.timeout)
	return p.waitReady("http://"+d.metricsAddr+"/readyz", d.opts.timeout, ctx.Done())
}

// waitServing waits until the first route of the example answers, and the
// first TLS host over HTTPS with its own certificate: ready means caches
// synced, and this is the table actually serving.
func (d *demo) waitServing(ctx context.Context) error {
	err := d.eventually(ctx, "demo.local/ to answer 200", func() error {
		r, err := d.get(ctx, "demo.local", "/", "")
		if err != nil {
			return err
		}
		if r.code != http.StatusOK {
			return fmt.Errorf("status %d", r.code)
		}
		return nil
	})
	if host := d.ex.tlsHost(); err == nil && host != "" {
		err = d.eventually(ctx, "https://"+host+"/ to answer 200 with the certificate of its Secret", func() error {
			roots, err := readCA(d.workDir)
			if err != nil {
				return err
			}
			r, err := d.getTLS(ctx, host, "/", roots)
			if err != nil {
				return err
			}
			if r.code != http.StatusOK {
				return fmt.Errorf("status %d", r.code)
			}
			return nil
		})
	}
	if err != nil && !errors.Is(err, errInterrupted) {
		return fmt.Errorf("%w\n%s", err, d.sluice.tail(30))
	}
	return err
}

// eventually calls f until it succeeds, ctx ends or the timeout passes.
func (d *demo) eventually(ctx context.Context, what string, f func() error) error {
	deadline := time.Now().Add(d.opts.timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if serr := d.sluice.exitErr(); serr != nil {
			return fmt.Errorf("waiting for %s: %w\n%s", what, serr, d.sluice.tail(30))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: not after %s: %w", what, d.opts.timeout, err)
		}
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (ex *example) summary() string {
	counts := map[string]int{}
	var kinds []string
	for _, obj := range ex.objects {
		k := strings.SplitN(describe(obj), " ", 2)[0]
		if counts[k] == 0 {
			kinds = append(kinds, k)
		}
		counts[k]++
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", counts[k], k)
	}
	return strings.Join(parts, ", ")
}

func listEndpoints(eps []endpoint) string {
	parts := make([]string, len(eps))
	for i, ep := range eps {
		parts[i] = ep.name + " " + ep.addr.String()
	}
	return strings.Join(parts, ", ")
}

// Package scale measures the controller against a real API server with
// many Ingresses: start-up to ready, one Ingress change to serving, one
// EndpointSlice change to traffic following, resident memory, the CPU the
// controller spends per change, and failed requests on a route that never
// changes while all of that happens. It is a benchmark (`make bench-scale`),
// not a timed test.
package scale

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"sluice.dev/sluice/test/controlplane"
)

// BenchmarkControllerScale runs once per size; b.N is ignored (each size is
// one expensive measurement). Sizes: SLUICE_SCALE_SIZES, default
// "1,100,1000,10000"; changes per kind: SLUICE_SCALE_CHANGES, default 100.
func BenchmarkControllerScale(b *testing.B) {
	sizes := []int{1, 100, 1000, 10000}
	if v := os.Getenv("SLUICE_SCALE_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("SLUICE_SCALE_SIZES: bad size %q", f)
			}
			sizes = append(sizes, n)
		}
	}
	changes := 100
	if v := os.Getenv("SLUICE_SCALE_CHANGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("SLUICE_SCALE_CHANGES: bad count %q", v)
		}
		changes = n
	}
	bin := filepath.Join(b.TempDir(), "sluice")
	if out, err := exec.Command("go", "build", "-o", bin, "sluice.dev/sluice/cmd/sluice").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("ingresses=%d", n), func(b *testing.B) { measure(b, bin, n, changes) })
	}
}

func measure(b *testing.B, bin string, n, changes int) {
	cp := controlplane.Start(b, controlplane.Options{})
	cfg := rest.CopyConfig(cp.RESTConfig)
	cfg.QPS, cfg.Burst = 2000, 4000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	web := backendServer(b, "127.0.0.2", "web")
	moved := backendServer(b, "127.0.0.3", "moved")
	const ns = "scale"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	class := "sluice"
	if _, err := cs.NetworkingV1().IngressClasses().Create(ctx, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: class},
		Spec: networkingv1.IngressClassSpec{Controller: "sluice.dev/ingress-controller"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	fill := time.Now()
	parallel(b, n, func(i int) error { return createApp(ctx, cs, cp, ns, class, i, web) })
	if err := createStable(ctx, cs, cp, ns, class, web); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d Ingresses, Services and EndpointSlices created in %v", n, time.Since(fill).Round(time.Millisecond))

	httpAddr := freeAddr(b)
	admin := freeAddr(b)
	cmd := exec.Command(bin, "controller", "--kubeconfig", cp.Kubeconfig, "--http-addr", httpAddr, "--https-addr", freeAddr(b), "--metrics-addr", admin,
		"--access-log", "off", "--leader-elect=false", "--publish-status-address", "127.0.0.9")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &lockedWriter{w: &logs}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	wait(b, 5*time.Minute, "ready", func() bool { return get("http://"+admin+"/readyz", "") == 200 })
	ready := time.Since(start)
	wait(b, time.Minute, "the last Ingress to serve", func() bool { return get("http://"+httpAddr+"/", host(n-1)) == 200 })

	// A route that no change touches must answer 200 to every request from
	// here to the end, whatever the tables swapped under it.
	stable := startStableLoop("http://"+httpAddr+"/", stableHost)
	defer stable.stop()

	// One Ingress change at a time: a new host must serve.
	pid := cmd.Process.Pid
	var ingLat, epLat []time.Duration
	cpu0 := cpuTime(b, pid)
	for k := 0; k < changes; k++ {
		h := fmt.Sprintf("new-%d.example.com", k)
		t0 := time.Now()
		if _, err := cs.NetworkingV1().Ingresses(ns).Create(ctx, ingress(ns, class, fmt.Sprintf("new-%d", k), h, svcName(k%n)), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		wait(b, time.Minute, "a new Ingress to serve", func() bool { return get("http://"+httpAddr+"/", h) == 200 })
		ingLat = append(ingLat, time.Since(t0))
	}
	cpu1 := cpuTime(b, pid)
	// One EndpointSlice change at a time: traffic must follow.
	for k := 0; k < changes; k++ {
		target := moved
		if k%2 == 1 {
			target = web
		}
		i := k % n
		t0 := time.Now()
		if err := cp.PutEndpointSlice(ctx, slice(ns, svcName(i), target)); err != nil {
			b.Fatal(err)
		}
		wait(b, time.Minute, "traffic to follow an EndpointSlice", func() bool { return servedBy("http://"+httpAddr+"/", host(i)) == target.name })
		epLat = append(epLat, time.Since(t0))
	}
	cpu2 := cpuTime(b, pid)
	rss := rssMiB(pid)
	heap := metricMiB("http://"+admin+"/metrics", "go_memstats_heap_inuse_bytes")
	sent, failed := stable.stop()

	ingCPU := (cpu1 - cpu0).Seconds() * 1000 / float64(changes)
	epCPU := (cpu2 - cpu1).Seconds() * 1000 / float64(changes)
	b.ReportMetric(ready.Seconds(), "s-to-ready")
	b.ReportMetric(pct(ingLat, 50).Seconds()*1000, "ms-ingress-p50")
	b.ReportMetric(pct(ingLat, 99).Seconds()*1000, "ms-ingress-p99")
	b.ReportMetric(pct(epLat, 50).Seconds()*1000, "ms-endpoints-p50")
	b.ReportMetric(pct(epLat, 99).Seconds()*1000, "ms-endpoints-p99")
	b.ReportMetric(ingCPU, "cpu-ms/ingress-change")
	b.ReportMetric(epCPU, "cpu-ms/endpoints-change")
	b.ReportMetric(rss, "MiB-rss")
	b.ReportMetric(heap, "MiB-heap-inuse")
	b.ReportMetric(float64(failed), "stable-failures")
	fmt.Printf("scale n=%-6d ready=%-8v ingress p50=%-7v p99=%-7v endpoints p50=%-7v p99=%-7v cpu/change ingress=%.1fms endpoints=%.1fms rss=%.0fMiB heap=%.0fMiB stable=%d/%d failed\n",
		n, ready.Round(time.Millisecond), pct(ingLat, 50).Round(time.Millisecond), pct(ingLat, 99).Round(time.Millisecond),
		pct(epLat, 50).Round(time.Millisecond), pct(epLat, 99).Round(time.Millisecond), ingCPU, epCPU, rss, heap, failed, sent)
	if failed > 0 {
		b.Errorf("%d of %d requests to the stable route failed", failed, sent)
	}
}

const stableHost = "stable.example.com"

// stableLoop sends one request at a time to a route that never changes,
// with a short pause between requests so that it does not weigh on the
// controller's CPU figures. It is bounded in count and in time.
type stableLoop struct {
	done         chan struct{}
	finished     chan struct{}
	once         sync.Once
	sent, failed int
}

const (
	stableMaxRequests = 200_000
	stableMaxDuration = 30 * time.Minute
	stablePause       = 5 * time.Millisecond
)

func startStableLoop(url, h string) *stableLoop {
	l := &stableLoop{done: make(chan struct{}), finished: make(chan struct{})}
	// Its own client: keep-alive connections live across every table swap.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	go func() {
		defer close(l.finished)
		deadline := time.Now().Add(stableMaxDuration)
		for l.sent < stableMaxRequests && time.Now().Before(deadline) {
			select {
			case <-l.done:
				return
			case <-time.After(stablePause):
			}
			l.sent++
			req, _ := http.NewRequest("GET", url, nil)
			req.Host = h
			resp, err := c.Do(req)
			if err != nil {
				l.failed++
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				l.failed++
			}
		}
	}()
	return l
}

// stop ends the loop and returns how many requests it sent and how many
// failed (an error or a status other than 200).
func (l *stableLoop) stop() (sent, failed int) {
	l.once.Do(func() { close(l.done) })
	<-l.finished
	return l.sent, l.failed
}

// cpuTime is the user plus system CPU time the process has used so far.
func cpuTime(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis. utime and stime are fields 14 and 15.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		b.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func host(i int) string    { return fmt.Sprintf("app-%d.example.com", i) }
func svcName(i int) string { return fmt.Sprintf("svc-%d", i) }

func ingress(ns, class, name, h, svc string) *networkingv1.Ingress {
	pt := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{Host: h,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pt, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}
}

func slice(ns, svc string, be *server) *discoveryv1.EndpointSlice {
	ready := true
	name, proto, port := "http", corev1.ProtocolTCP, int32(be.port)
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{be.ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
}

func createApp(ctx context.Context, cs *kubernetes.Clientset, cp *controlplane.ControlPlane, ns, class string, i int, be *server) error {
	return createRoute(ctx, cs, cp, ns, class, fmt.Sprintf("app-%d", i), host(i), svcName(i), be)
}

func createStable(ctx context.Context, cs *kubernetes.Clientset, cp *controlplane.ControlPlane, ns, class string, be *server) error {
	return createRoute(ctx, cs, cp, ns, class, "stable", stableHost, "svc-stable", be)
}

// createRoute creates a Service, its EndpointSlice and an Ingress routing
// host to it.
func createRoute(ctx context.Context, cs *kubernetes.Clientset, cp *controlplane.ControlPlane, ns, class, name, h, svcName string, be *server) error {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: svcName, Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := cp.PutEndpointSlice(ctx, slice(ns, svcName, be)); err != nil {
		return err
	}
	_, err := cs.NetworkingV1().Ingresses(ns).Create(ctx, ingress(ns, class, name, h, svcName), metav1.CreateOptions{})
	return err
}

// parallel runs f(0..n-1) on 16 workers and fails on the first error.
func parallel(b *testing.B, n int, f func(int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || firstErr.Load() != nil {
					return
				}
				if err := f(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		b.Fatal(err)
	}
}

type server struct {
	name, ip string
	port     int
}

func backendServer(b *testing.B, ip, name string) *server {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Served-By", name)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return &server{name: name, ip: ip, port: ln.Addr().(*net.TCPAddr).Port}
}

var client = &http.Client{Timeout: 2 * time.Second}

func get(url, h string) int {
	req, _ := http.NewRequest("GET", url, nil)
	if h != "" {
		req.Host = h
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func servedBy(url, h string) string {
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = h
	resp, err := client.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	return resp.Header.Get("X-Served-By")
}

// wait polls cond every millisecond, for up to d.
func wait(b *testing.B, d time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}

func rssMiB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// metricMiB reads one gauge, in bytes, from a Prometheus text page.
func metricMiB(url, name string) float64 {
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v / (1 << 20)
		}
	}
	return 0
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

package chart

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"sluice.dev/sluice/test/support"
)

// controllerProc is `sluice controller` running as a release's pod would,
// out of cluster.
type controllerProc struct {
	t       testing.TB
	cmd     *exec.Cmd
	out     *support.SyncBuffer
	done    chan struct{}
	exitErr error
	// httpAddr and httpsAddr serve Ingress traffic; admin /metrics,
	// /healthz, /readyz.
	httpAddr, httpsAddr, admin string
	podName                    string
	// args is the whole command line, for messages.
	args []string
}

// podLocalFlags are the only flags the tests change from the chart's: the
// listen addresses, which in a pod are the pod's own and here must be
// free loopback ports, and the credentials, which in a pod come from the
// mounted ServiceAccount token.
var podLocalFlags = []string{"kubeconfig", "http-addr", "https-addr", "metrics-addr", "tcp-bind-address"}

// startController runs the Dockerfile-built binary with the container args
// and environment of the release's Deployment, authenticated as the pod's
// ServiceAccount by kubeconfig. extraEnv is added to the environment.
func startController(t testing.TB, k *kube, s scenario, r *release, extraEnv ...string) *controllerProc {
	t.Helper()
	d := get[*appsv1.Deployment](t, r, "Deployment", s.fullname)
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	if len(c.Command) != 0 {
		t.Fatalf("container command %q overrides the image's entrypoint", c.Command)
	}
	kubeconfig, _ := k.serviceAccountConfig(t, s.namespace, spec.ServiceAccountName)

	p := &controllerProc{
		t: t, out: &support.SyncBuffer{}, done: make(chan struct{}),
		httpAddr: support.FreeAddr(t), httpsAddr: support.FreeAddr(t), admin: support.FreeAddr(t),
		podName: d.Name + "-5d8f7c9b4-x2m7q",
	}
	p.args = append([]string{}, c.Args...)
	p.args = append(p.args,
		"--kubeconfig="+kubeconfig,
		"--http-addr="+p.httpAddr,
		"--https-addr="+p.httpsAddr,
		"--metrics-addr="+p.admin,
		"--tcp-bind-address=127.0.0.1",
	)
	env := []string{"PATH=/usr/bin:/bin"}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env = append(env, e.Name+"="+p.podName)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env = append(env, e.Name+"="+s.namespace)
		default:
			t.Fatalf("env %s: the test cannot provide %+v", e.Name, e.ValueFrom)
		}
	}
	env = append(env, extraEnv...)
	p.cmd = exec.Command(sluiceBinary(t), p.args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("sluice %s:\n%s", strings.Join(p.args, " "), p.out)
			var refused []string
			for _, e := range auditOf(t, "system:serviceaccount:"+s.namespace+":"+spec.ServiceAccountName, "sluice/") {
				if c := e.code(); c == 401 || c == 403 {
					refused = append(refused, e.String())
				}
			}
			t.Logf("requests refused to the controller: %q", refused)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !p.ready() {
		select {
		case <-p.done:
			t.Fatalf("sluice controller exited during start-up (%v):\n%s", p.exitErr, p.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice controller not ready after 60s:\n%s", p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

func (p *controllerProc) ready() bool {
	resp, err := http.Get("http://" + p.admin + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop sends SIGTERM, as the kubelet does after the pre-stop sleep, and
// waits up to grace for the drain to finish; it reports whether the process
// exited by itself, with status 0.
func (p *controllerProc) stop(grace time.Duration) bool {
	select {
	case <-p.done:
		return p.exitErr == nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr == nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// metric returns the value of the first series named name, or "".
func (p *controllerProc) metric(name string) string {
	resp, err := http.Get("http://" + p.admin + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			return line[strings.LastIndexByte(line, ' ')+1:]
		}
	}
	return ""
}

// get sends a request for host through the controller's HTTP listener and
// returns the status and body.
func (p *controllerProc) get(host, path string) (int, string, error) {
	req, err := http.NewRequest("GET", "http://"+p.httpAddr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body), err
}

// httpBackend serves "<name>\n" on ip, standing in for a Service's pod.
func httpBackend(t testing.TB, name, ip string) (addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, name)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// echoBackend echoes each connection's bytes back, on ip.
func echoBackend(t testing.TB, ip string) (addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// echoes dials addr, writes a line and reports whether it came back.
func echoes(addr, line string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return false
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && got == line+"\n"
}

func splitHostPort(t testing.TB, addr string) (string, int32) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, int32(n)
}

package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sluice.dev/sluice/test/controlplane"
	"sluice.dev/sluice/test/support"
)

// The demo flow end to end: a real control plane, the built sluice, every
// printed command tried. It uses the example's fixed backend ports
// (127.0.0.2-4:8001-8007) and TCP port 127.0.0.1:7007, so it fails, saying
// which port, while `make demo-cluster` runs on the same machine.

var (
	sluiceOnce sync.Once
	sluiceBin  string
	sluiceErr  error
)

// buildSluice builds the sluice under test once per test binary, so the
// demo never runs a stale bin/sluice.
func buildSluice(t *testing.T) string {
	t.Helper()
	sluiceOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-demo-cluster-test-")
		if err != nil {
			sluiceErr = err
			return
		}
		sluiceBin = filepath.Join(dir, "sluice")
		out, err := exec.Command("go", "build", "-o", sluiceBin, "sluice.dev/sluice/cmd/sluice").CombinedOutput()
		if err != nil {
			sluiceErr = errors.New("go build sluice: " + err.Error() + "\n" + string(out))
		}
	})
	if sluiceErr != nil {
		t.Fatal(sluiceErr)
	}
	return sluiceBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sluiceBin != "" {
		os.RemoveAll(filepath.Dir(sluiceBin))
	}
	os.Exit(code)
}

// testOptions has the demo pick free ports for sluice and its control
// address. Tests that fail before sluice starts pass any existing file as
// the sluice binary.
func testOptions(t *testing.T, out *support.SyncBuffer, check bool, sluice string) options {
	t.Helper()
	bin, err := controlplane.DefaultBinDir()
	if err != nil {
		t.Fatal(err)
	}
	return options{
		prog:            "demo-cluster",
		sluice:          sluice,
		controlPlaneBin: bin,
		httpAddr:        "127.0.0.1:0",
		httpsAddr:       "127.0.0.1:0",
		metricsAddr:     "127.0.0.1:0",
		controlAddr:     "127.0.0.1:0",
		check:           check,
		timeout:         20 * time.Second,
		out:             out,
	}
}

// assertStopped checks that nothing the demo started is left: its
// listeners, the backends', sluice, etcd, kube-apiserver, its directory.
// The test itself holds the addresses in held.
func assertStopped(t *testing.T, d *demo, held ...string) {
	t.Helper()
	addrs := []string{d.httpAddr, d.httpsAddr, d.metricsAddr, d.controlAddr, "127.0.0.1:7007"}
	for _, s := range d.ex.slices {
		eps, err := endpointsOf(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, ep := range eps {
			addrs = append(addrs, ep.addr.String())
		}
	}
	for _, a := range addrs {
		if slices.Contains(held, a) {
			continue
		}
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("%s still taken after the demo stopped: %v", a, err)
			continue
		}
		ln.Close()
	}
	if d.sluice != nil && d.sluice.exitErr() == nil {
		t.Errorf("sluice (PID %d) still running", d.sluice.cmd.Process.Pid)
	}
	if d.cp != nil {
		for _, u := range []string{d.cp.URL, d.cp.EtcdURL} {
			host := u[strings.Index(u, "://")+3:]
			if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still answers after the demo stopped", u)
			}
		}
	}
	if _, err := os.Stat(d.workDir); d.workDir != "" && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work directory %s left behind (%v)", d.workDir, err)
	}
	if n := len(d.fleet.running); n != 0 {
		t.Errorf("%d backends still running", n)
	}
}

// removeKept removes the directory a failed demo keeps for its logs,
// after logging the end of sluice's.
func removeKept(t *testing.T, d *demo) {
	t.Cleanup(func() {
		if d.workDir == "" {
			return
		}
		if _, err := os.Stat(d.workDir); err != nil {
			return
		}
		if d.sluice != nil {
			t.Log(d.sluice.tail(40))
		}
		os.RemoveAll(d.workDir)
	})
}

func TestCheck(t *testing.T) {
	var out support.SyncBuffer
	d := newDemo(testOptions(t, &out, true, buildSluice(t)))
	removeKept(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := d.run(ctx)
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatalf("demo -check: %v", err)
	}
	// Every printed command was tried and passed.
	oks := strings.Count(out.String(), "\nok   ")
	tries, changes := 0, len(d.changes())
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "ok   curl ") {
			tries++
		}
	}
	if strings.Contains(out.String(), "FAIL") || oks != tries+changes || tries < 11 || changes < 7 {
		t.Errorf("%d ok lines (%d tries, %d changes), want every try and change to pass", oks, tries, changes)
	}
	// Among them, those of HTTPS: the certificate of the Secret, verified
	// with the CA the demo wrote; the redirect of plain HTTP, and its
	// opt-out; the default certificate for a host without a Secret.
	_, port, _ := net.SplitHostPort(d.httpsAddr)
	for _, want := range []string{
		"ok   curl -s --cacert " + filepath.Join(d.workDir, caFile) + " --resolve secure.local:" + port + ":127.0.0.1 https://secure.local:" + port + "/\n",
		"ok   curl -s -i -H 'Host: secure.local' http://" + d.httpAddr + "/\n",
		"ok   curl -skv --resolve demo.local:" + port + ":127.0.0.1 https://demo.local:" + port + "/ 2>&1 | grep subject:\n",
		"ok   demo-cluster annotate -control " + d.controlAddr + " secure sluice.dev/ssl-redirect=false\n",
		"ok   demo-cluster annotate -control " + d.controlAddr + " secure sluice.dev/ssl-redirect-\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	assertStopped(t, d)
}

// TestInterrupt runs the demo as `make demo-cluster` does, waits for its
// banner, and cancels it as Ctrl-C does: it must stop everything and
// return no error.
func TestInterrupt(t *testing.T) {
	var out support.SyncBuffer
	d := newDemo(testOptions(t, &out, false, buildSluice(t)))
	removeKept(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.run(ctx) }()

	deadline := time.After(time.Minute)
	for !strings.Contains(out.String(), "Ctrl-C stops everything") {
		select {
		case err := <-done:
			t.Fatalf("demo returned before its banner: %v\n%s", err, out.String())
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("no banner after a minute:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	// The HTTPS commands have their own section, and the CA file they
	// name is there while the demo runs.
	ca := filepath.Join(d.workDir, caFile)
	for _, want := range []string{"\nOver HTTPS on " + d.httpsAddr + " ", " --cacert " + ca + " ", "created Secret demo/secure-local-tls"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := readCA(d.workDir); err != nil {
		t.Errorf("the printed CA certificate: %v", err)
	}
	// The printed kubectl-free command works against the running demo.
	msg, err := sendControl(context.Background(), d.controlAddr, "scale", []string{"web", "1"})
	if err != nil || !strings.Contains(msg, "1 endpoint(s): web-1 127.0.0.2:8001") {
		t.Errorf("scale web 1: %q, %v", msg, err)
	}
	if _, err := sendControl(context.Background(), d.controlAddr, "scale", []string{"nosuch", "1"}); err == nil || !strings.Contains(err.Error(), `no service "nosuch"`) {
		t.Errorf("scale nosuch 1: %v, want an error naming the service", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo after cancel: %v\n%s", err, out.String())
		}
	case <-time.After(45 * time.Second):
		t.Fatalf("demo still running 45s after cancel:\n%s", out.String())
	}
	for _, want := range []string{"stopped sluice (PID ", "stopped etcd and kube-apiserver", "stopped 5 backends", "stopped everything it started"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	assertStopped(t, d)
}

func TestPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, flag := range []string{"-http-addr", "-https-addr", "-metrics-addr", "-control"} {
		var out support.SyncBuffer
		o := testOptions(t, &out, true, self(t))
		switch flag {
		case "-http-addr":
			o.httpAddr = ln.Addr().String()
		case "-https-addr":
			o.httpsAddr = ln.Addr().String()
		case "-metrics-addr":
			o.metricsAddr = ln.Addr().String()
		case "-control":
			o.controlAddr = ln.Addr().String()
		}
		d := newDemo(o)
		err := d.run(context.Background())
		if err == nil || !strings.Contains(err.Error(), flag+": "+ln.Addr().String()+" is already in use") {
			t.Errorf("%s taken: error %v, want it to name the flag and the address", flag, err)
		}
		if d.workDir != "" || d.cp != nil {
			t.Errorf("%s taken: the demo started something (work dir %q)", flag, d.workDir)
		}
	}
}

func TestBackendPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.3:8003") // shop-2 in example.yaml
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out support.SyncBuffer
	d := newDemo(testOptions(t, &out, true, self(t)))
	err = d.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "backend shop-2: listen tcp 127.0.0.3:8003") {
		t.Fatalf("error %v, want one naming shop-2 and its address", err)
	}
	if d.cp != nil || d.workDir != "" {
		t.Error("the demo went on after the failure")
	}
	assertStopped(t, d, "127.0.0.3:8003")
}

func TestMissingSluice(t *testing.T) {
	var out support.SyncBuffer
	o := testOptions(t, &out, true, filepath.Join(t.TempDir(), "nosuch"))
	err := newDemo(o).run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("error %v, want a hint to run make build", err)
	}
}

// self is an existing file to pass as the sluice binary to a demo that must
// fail before it starts sluice.
func self(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// The HTTPS listener, as every other, stays on loopback: sluice's own
// default, :8443, would take every interface.
func TestHTTPSAddrLoopbackOnly(t *testing.T) {
	for _, addr := range []string{":8443", "0.0.0.0:8443", "[::1]:8443"} {
		var out support.SyncBuffer
		o := testOptions(t, &out, true, self(t))
		o.httpsAddr = addr
		d := newDemo(o)
		err := d.run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "-https-addr") || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("-https-addr %s: error %v, want one naming the flag and loopback", addr, err)
		}
		if d.workDir != "" || d.cp != nil {
			t.Errorf("-https-addr %s: the demo started something", addr)
		}
	}
}

// Package e2e runs the built sluice binary against real backends on
// 127.0.0.x and talks to it with real clients (Go's net/http, raw sockets
// and curl).
package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/test/support"
)

var sluiceBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sluiceBin = filepath.Join(dir, "sluice")
	args := []string{"build", "-o", sluiceBin}
	if os.Getenv("SLUICE_E2E_RACE") != "" {
		// The race detector inside the proxy, under real traffic.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "sluice.dev/sluice/cmd/sluice")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sluice:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopCluster()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running sluice.
type proc struct {
	t       testing.TB
	cmd     *exec.Cmd
	cfgPath string
	admin   string
	https   string // the controller's HTTPS address
	out     *support.SyncBuffer
	done    chan struct{}
}

// startSluice writes cfg to a file and runs `sluice run -f` on it, waiting
// until /readyz answers. extra are additional flags.
func startSluice(t testing.TB, cfg string, extra ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "sluice.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	admin := fmt.Sprintf("127.0.0.1:%d", support.FreePort(t))
	args := append([]string{"run", "-f", cfgPath, "--metrics-addr", admin, "--access-log", "off", "--grace", "5s"}, extra...)
	p := startProc(t, admin, args...)
	p.cfgPath = cfgPath
	return p
}

// startProc runs the sluice binary with args and waits until /readyz on
// admin answers 200.
func startProc(t testing.TB, admin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, admin: admin, out: &support.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(sluiceBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + p.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("sluice exited during start-up:\n%s", p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice not ready after 30s:\n%s", p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM to the process this test started and waits for it.
func (p *proc) stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	if out := p.out.String(); strings.Contains(out, "WARNING: DATA RACE") || strings.Contains(out, "panic:") {
		p.t.Errorf("sluice reported a data race or a panic:\n%s", out)
	}
}

// reload rewrites the config and sends SIGHUP.
func (p *proc) reload(cfg string) {
	p.t.Helper()
	if err := os.WriteFile(p.cfgPath, []byte(cfg), 0o644); err != nil {
		p.t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		p.t.Fatal(err)
	}
}

// generation reads sluice_table_generation from /metrics.
func (p *proc) generation() string {
	return p.metric("sluice_table_generation")
}

// metric returns the value of the first series whose line starts with name.
func (p *proc) metric(name string) string {
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

// waitFor polls cond every 20ms for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// backend is a real HTTP server on a 127.0.0.x address that names itself in
// every response and counts the TCP connections it accepted.
type backend struct {
	name  string
	addr  string
	srv   *http.Server
	ln    net.Listener
	conns atomic.Int64
	reqs  atomic.Int64
	mu    sync.Mutex
	last  *http.Request
}

func startBackend(t testing.TB, name, ip string, h http.HandlerFunc) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	return serveBackend(t, name, ln, h)
}

func serveBackend(t testing.TB, name string, ln net.Listener, h http.HandlerFunc) *backend {
	b := &backend{name: name, addr: ln.Addr().String(), ln: ln}
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.reqs.Add(1)
			b.mu.Lock()
			b.last = r.Clone(r.Context())
			b.mu.Unlock()
			w.Header().Set("X-Served-By", name)
			if h != nil {
				h(w, r)
				return
			}
			fmt.Fprintf(w, "%s %s", name, r.URL.Path)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				b.conns.Add(1)
			}
		},
	}
	go func() { _ = b.srv.Serve(ln) }()
	t.Cleanup(func() { b.close() })
	return b
}

func (b *backend) close() { _ = b.srv.Close() }

// restart listens again on the same address after close.
func (b *backend) restart(t testing.TB, h http.HandlerFunc) *backend {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", b.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	return serveBackend(t, b.name, ln, h)
}

func (b *backend) lastRequest() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// get sends a GET with client c and returns status, X-Served-By and body.
func get(t testing.TB, c *http.Client, url string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("X-Served-By"), string(body)
}

// rawExchange writes raw bytes on a fresh connection and returns everything
// the proxy answers until it closes or 2s pass.
func rawExchange(t testing.TB, addr, raw string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	return string(got)
}

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sluice.dev/sluice/test/support"
)

// TestReloadUnderLoadZeroFailures reloads the configuration repeatedly while
// a bounded request loop runs over keep-alive and fresh connections: not one
// request may fail.
func TestReloadUnderLoadZeroFailures(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	b := startBackend(t, "b", "127.0.0.3", nil)
	c := startBackend(t, "c", "127.0.0.4", nil)
	port := support.FreePort(t)
	extraPort := support.FreePort(t)
	configs := []string{
		seedConfig(port, []*backend{c}, []*backend{a, b}),
		seedConfig(port, []*backend{a}, []*backend{b, c}),
		// A second frontend appears, then goes away again.
		seedConfig(port, []*backend{c}, []*backend{a}) + fmt.Sprintf("\nfrontend extra\n    bind 127.0.0.1:%d\n    default_backend web-backend\n", extraPort),
		seedConfig(port, []*backend{b}, []*backend{a, b, c}),
	}
	p := startSluice(t, configs[0])

	const workers = 4
	const maxRequests = 4000
	stop := make(chan struct{})
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// Half the workers keep connections alive, half open one per request.
			tr := &http.Transport{DisableKeepAlives: w%2 == 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			for i := 0; sent.Load() < maxRequests; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := "/x"
				if i%2 == 0 {
					path = "/blog/x"
				}
				sent.Add(1)
				resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}(w)
	}
	deadline := time.After(30 * time.Second)
	for i := 1; i <= 12; i++ {
		time.Sleep(100 * time.Millisecond)
		p.reload(configs[i%len(configs)])
		want := fmt.Sprint(i + 1)
		waitFor(t, 5*time.Second, "generation "+want, func() bool { return p.generation() == want })
	}
	select {
	case <-deadline:
	case <-func() chan struct{} {
		ch := make(chan struct{})
		go func() {
			for sent.Load() < maxRequests {
				time.Sleep(10 * time.Millisecond)
			}
			close(ch)
		}()
		return ch
	}():
	}
	close(stop)
	wg.Wait()
	t.Logf("reload under load: %d requests, %d failed, 12 reloads", sent.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across reloads; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if sent.Load() < 500 {
		t.Fatalf("only %d requests ran", sent.Load())
	}
}

func TestReloadAddsAndRemovesListenersAndRejectsBadConfig(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	port := support.FreePort(t)
	extra := support.FreePort(t)
	base := seedConfig(port, nil, []*backend{a})
	p := startSluice(t, base)

	p.reload(base + fmt.Sprintf("\nfrontend extra\n    bind 127.0.0.1:%d\n    default_backend web-backend\n", extra))
	waitFor(t, 5*time.Second, "generation 2", func() bool { return p.generation() == "2" })
	if status, by, _ := get(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/", extra)); status != 200 || by != "a" {
		t.Fatalf("new listener: %d %q", status, by)
	}

	// A keep-alive connection on the listener about to go away.
	kc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", extra))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()

	p.reload(base)
	waitFor(t, 5*time.Second, "generation 3", func() bool { return p.generation() == "3" })
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", extra), time.Second); err == nil {
		t.Fatal("removed listener still accepts connections")
	}

	// A broken file is refused with its error; the old table keeps serving.
	p.reload(base + "\nbackend broken\n    server s1 not-an-address\n    bogus-keyword 1\n")
	waitFor(t, 5*time.Second, "the reload error in the log", func() bool {
		return strings.Contains(p.out.String(), "reload failed")
	})
	if !strings.Contains(p.out.String(), "bogus-keyword") {
		t.Errorf("reload error does not name the bad keyword:\n%s", p.out.String())
	}
	if p.generation() != "3" {
		t.Errorf("generation moved to %s on a bad config", p.generation())
	}
	if status, _, _ := get(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/", port)); status != 200 {
		t.Fatalf("after a bad reload: status %d", status)
	}
}

func TestWatchReloadsOnFileChange(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	b := startBackend(t, "b", "127.0.0.3", nil)
	port := support.FreePort(t)
	p := startSluice(t, seedConfig(port, nil, []*backend{a}), "--watch")
	if err := os.WriteFile(p.cfgPath, []byte(seedConfig(port, nil, []*backend{b})), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the new table", func() bool {
		_, by, _ := get(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/", port))
		return by == "b"
	})
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	slow := startBackend(t, "slow", "127.0.0.2", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(500 * time.Millisecond)
		fmt.Fprint(w, "done")
	})
	port := support.FreePort(t)
	p := startSluice(t, seedConfig(port, nil, []*backend{slow}))
	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			res <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{string(b), err}
	}()
	waitFor(t, 2*time.Second, "the request to reach the server", func() bool { return slow.reqs.Load() == 1 })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	r := <-res
	if r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request during shutdown: %q %v", r.body, r.err)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("sluice did not exit after SIGTERM")
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestMetricsAndAccessLog(t *testing.T) {
	a := startBackend(t, "a", "127.0.0.2", nil)
	port := support.FreePort(t)
	logPath := t.TempDir() + "/access.log"
	p := startSluice(t, seedConfig(port, []*backend{a}, []*backend{a}), "--access-log", logPath)
	for i := 0; i < 5; i++ {
		get(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/blog/%d", port, i))
	}
	get(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if got := p.metric(`sluice_frontend_http_requests_total{code="2xx",frontend="http"}`); got != "6" {
		t.Errorf("frontend 2xx = %q, want 6", got)
	}
	if got := p.metric(`sluice_backend_http_requests_total{backend="blog-backend",code="2xx"}`); got != "5" {
		t.Errorf("blog-backend 2xx = %q, want 5", got)
	}
	if got := p.metric(`sluice_server_http_requests_total{backend="web-backend",code="2xx",server="a"}`); got != "1" {
		t.Errorf("server a in web-backend 2xx = %q, want 1", got)
	}
	if got := p.metric(`sluice_reloads_total{result="success"}`); got != "1" {
		t.Errorf("reloads success = %q, want 1", got)
	}
	var logText string
	waitFor(t, 2*time.Second, "access log lines", func() bool {
		b, _ := os.ReadFile(logPath)
		logText = string(b)
		return strings.Count(logText, "\n") >= 6
	})
	if !strings.Contains(logText, ` http blog-backend/a `) || !strings.Contains(logText, `"GET /blog/3 HTTP/1.1"`) || !strings.Contains(logText, " 200 ") {
		t.Errorf("access log:\n%s", logText)
	}
	resp, err := http.Get("http://" + p.admin + "/debug/config")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "use_backend blog-backend if url_blog") {
		t.Errorf("/debug/config does not show the live table:\n%s", body)
	}
}

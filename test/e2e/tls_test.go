package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sluice.dev/sluice/test/support"
)

// TestRunTLS: `sluice run` terminates TLS with certificates from files,
// chosen by SNI, verified by curl; a reload picks up a renewed file; and
// `sluice check` names a certificate that does not load.
func TestRunTLS(t *testing.T) {
	ca := support.NewCA(t)
	web := startBackend(t, "web", "127.0.0.2", nil)
	dir := t.TempDir()
	write := func(name string, data ...[]byte) string {
		path := filepath.Join(dir, name)
		var all []byte
		for _, d := range data {
			all = append(all, d...)
		}
		if err := os.WriteFile(path, all, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caFile := write("ca.PEM", ca.PEM)
	defCert, defKey := ca.Issue(t, "default.example")
	write("default.pem", defCert, defKey)
	shopCert, shopKey := ca.Issue(t, "shop.example")
	write("shop.pem", shopCert) // the key beside it, as HAProxy loads it
	write("shop.pem.key", shopKey)

	port, tlsPort := support.FreePort(t), support.FreePort(t)
	cfg := fmt.Sprintf(`
frontend www
    mode http
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt %s/default.pem crt %s/shop.pem alpn h2,http/1.1
    option forwardfor
    http-request redirect scheme https code 301 unless { ssl_fc }
    default_backend web

backend web
    server w %s
`, port, tlsPort, dir, dir, web.addr)
	p := startSluice(t, cfg)

	curl := func(args ...string) (string, error) {
		out, err := exec.Command("curl", append([]string{"-sS", "--max-time", "5", "--cacert", caFile}, args...)...).CombinedOutput()
		return string(out), err
	}
	for _, host := range []string{"shop.example", "default.example"} {
		url := fmt.Sprintf("https://%s:%d/%s", host, tlsPort, host)
		out, err := curl("--resolve", fmt.Sprintf("%s:%d:127.0.0.1", host, tlsPort), url)
		if err != nil || out != "web /"+host {
			t.Errorf("curl %s: %q, %v", url, out, err)
		}
	}
	if proto := web.lastRequest().Header.Get("X-Forwarded-Proto"); proto != "https" {
		t.Errorf("X-Forwarded-Proto = %q", proto)
	}
	// ALPN: h2 is not offered, HTTP/1.1 is.
	out, err := curl("-o", "/dev/null", "-w", "%{http_version}", "--http2",
		"--resolve", fmt.Sprintf("shop.example:%d:127.0.0.1", tlsPort), fmt.Sprintf("https://shop.example:%d/", tlsPort))
	if err != nil || out != "1.1" {
		t.Errorf("curl --http2: HTTP version %q, %v", out, err)
	}
	// Plain HTTP is redirected.
	out, err = curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", "Host: shop.example",
		fmt.Sprintf("http://127.0.0.1:%d/p?q=1", port))
	if err != nil || out != "301 https://shop.example/p?q=1" {
		t.Errorf("plain HTTP: %q, %v", out, err)
	}

	// A renewed file is served after a reload.
	newCert, newKey := ca.Issue(t, "shop.example", "www.shop.example")
	write("shop.pem", newCert)
	write("shop.pem.key", newKey)
	p.reload(cfg)
	waitFor(t, 10*time.Second, "the renewed certificate", func() bool {
		cn, err := presented(fmt.Sprintf("127.0.0.1:%d", tlsPort), "www.shop.example")
		return err == nil && cn == "shop.example"
	})

	// check loads certificates as run does.
	bad := strings.Replace(cfg, dir+"/shop.pem", dir+"/missing.pem", 1)
	badPath := write("bad.cfg", []byte(bad))
	msg, err := exec.Command(sluiceBin, "check", "-f", badPath).CombinedOutput()
	if err == nil || !strings.Contains(string(msg), badPath+":5: frontend \"www\": bind 127.0.0.1:") || !strings.Contains(string(msg), "missing.pem") {
		t.Errorf("check with a missing certificate: %v\n%s", err, msg)
	}
	if msg, err := exec.Command(sluiceBin, "check", "-f", p.cfgPath).CombinedOutput(); err != nil || !strings.Contains(string(msg), "alpn h2 not offered") {
		t.Errorf("check of the good file: %v\n%s", err, msg)
	}
}

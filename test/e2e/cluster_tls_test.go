package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sluice.dev/sluice/test/support"
)

func (e *env) tlsSecret(name string, certPEM, keyPEM []byte) {
	e.t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}
	_, err := e.cs.CoreV1().Secrets(e.ns).Update(e.ctx, s, metav1.UpdateOptions{})
	if err != nil {
		_, err = e.cs.CoreV1().Secrets(e.ns).Create(e.ctx, s, metav1.CreateOptions{})
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// presented returns the common name of the certificate served for sni.
func presented(addr, sni string) (string, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// httpsClient verifies the server against ca and connects every host
// name to addr, as DNS pointing at the load balancer would.
func httpsClient(ca *support.CA, addr string) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: ca.Pool},
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func TestControllerTLS(t *testing.T) {
	e := newEnv(t, "tls")
	ca := support.NewCA(t)
	web := startBackend(t, "web", "127.0.0.2", nil)
	e.service("web", 80, "http", web)
	cert, key := ca.Issue(t, "secure.example")
	e.tlsSecret("secure-tls", cert, key)
	ing := withRules(&networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "secure", Namespace: e.ns},
		Spec: networkingv1.IngressSpec{IngressClassName: &e.class,
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"secure.example"}, SecretName: "secure-tls"}}},
	}, []rule{{"secure.example", "/", networkingv1.PathTypePrefix, "web", 80}})
	e.createIngress(ing)
	e.ingress("plain", map[string]string{}, rule{"plain.example", "/", networkingv1.PathTypePrefix, "web", 80})

	p, addr := e.controller("--leader-elect=false")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("controller output:\n%s", p.out.String())
		}
	})
	client := httpsClient(ca, p.https)
	waitFor(t, 10*time.Second, "HTTPS route", func() bool {
		resp, err := client.Get("https://secure.example/x")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	// The Go client verified the chain and the name; the backend was told.
	if code, by, body := get(t, client, "https://secure.example/hello"); code != 200 || by != "web" || body != "web /hello" {
		t.Errorf("HTTPS: %d from %q: %q", code, by, body)
	}
	if proto := web.lastRequest().Header.Get("X-Forwarded-Proto"); proto != "https" {
		t.Errorf("X-Forwarded-Proto = %q, want https", proto)
	}

	// curl, with the name resolved to the listener and the CA to verify.
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.PEM")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(p.https)
	out, err := exec.Command("curl", "-sS", "--max-time", "5", "--cacert", caFile,
		"--resolve", "secure.example:"+port+":127.0.0.1", "https://secure.example:"+port+"/curl").CombinedOutput()
	if err != nil || string(out) != "web /curl" {
		t.Errorf("curl over HTTPS: %q, %v", out, err)
	}

	// Plain HTTP to a TLS host is redirected; to other hosts it is served.
	// (The redirect is not followed: secure.example resolves nowhere.)
	plainReq, _ := http.NewRequest("GET", "http://"+addr+"/a?b=1", nil)
	plainReq.Host = "secure.example"
	noFollow := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(plainReq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 308 || resp.Header.Get("Location") != "https://secure.example/a?b=1" {
		t.Errorf("HTTP to a TLS host: %d Location %q, want 308 to https", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, by := hostGet(t, addr, "plain.example", "/"); code != 200 || by != "web" {
		t.Errorf("HTTP to a plain host: %d from %q", code, by)
	}
	// A host without a certificate gets the self-signed default, and is
	// still routed over HTTPS.
	if cn, err := presented(p.https, "plain.example"); err != nil || cn != "sluice default certificate" {
		t.Errorf("certificate for a host without one: %q, %v", cn, err)
	}

	// Renewing the Secret changes the certificate of new connections.
	cert2, key2 := ca.Issue(t, "secure.example", "renewed.secure.example")
	e.tlsSecret("secure-tls", cert2, key2)
	waitFor(t, 10*time.Second, "the renewed certificate", func() bool {
		c, err := tls.Dial("tcp", p.https, &tls.Config{ServerName: "secure.example", RootCAs: ca.Pool})
		if err != nil {
			return false
		}
		defer c.Close()
		return len(c.ConnectionState().PeerCertificates[0].DNSNames) == 2
	})

	// A TLS Secret no Ingress refers to costs no sync.
	before := p.metric(`sluice_controller_syncs_total{result="success"}`)
	other, otherKey := ca.Issue(t, "unrelated.example")
	e.tlsSecret("unrelated-tls", other, otherKey)
	time.Sleep(time.Second)
	if after := p.metric(`sluice_controller_syncs_total{result="success"}`); after != before {
		t.Errorf("an unreferenced Secret caused a sync: %s -> %s", before, after)
	}

	// A missing Secret: a Warning, the default certificate, the rest serving.
	broken := withRules(&networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: e.ns,
			Annotations: map[string]string{"sluice.dev/ssl-redirect": "false"}},
		Spec: networkingv1.IngressSpec{IngressClassName: &e.class,
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"late.example"}, SecretName: "late-tls"}}},
	}, []rule{{"late.example", "/", networkingv1.PathTypePrefix, "web", 80}})
	e.createIngress(broken)
	waitFor(t, 10*time.Second, "the missing Secret's Warning", func() bool {
		return strings.Contains(strings.Join(e.warningsAbout("broken"), "\n"), "TLSSecretNotFound")
	})
	if code, by := hostGet(t, addr, "late.example", "/"); code != 200 || by != "web" {
		t.Errorf("ssl-redirect \"false\": plain HTTP got %d from %q, want it served", code, by)
	}
	if code, _, _ := get(t, client, "https://secure.example/still"); code != 200 {
		t.Errorf("other TLS hosts after a broken one: %d", code)
	}
	// Creating it later is picked up: the Secret is now referenced.
	late, lateKey := ca.Issue(t, "late.example")
	e.tlsSecret("late-tls", late, lateKey)
	waitFor(t, 10*time.Second, "the late Secret", func() bool {
		cn, err := presented(p.https, "late.example")
		return err == nil && cn == "late.example"
	})

	// The controller's debug view names the certificates it serves.
	dbg, err := http.Get("http://" + p.admin + "/debug/config")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(dbg.Body)
	dbg.Body.Close()
	if !strings.Contains(string(text), "ssl crt @sluice-fallback crt @tls/secure-tls") {
		t.Errorf("/debug/config does not show the TLS bind:\n%s", text)
	}
}

func TestControllerDefaultCertificate(t *testing.T) {
	e := newEnv(t, "tls-default")
	ca := support.NewCA(t)
	web := startBackend(t, "web", "127.0.0.2", nil)
	e.service("web", 80, "http", web)
	e.ingress("site", nil, rule{"site.example", "/", networkingv1.PathTypePrefix, "web", 80})
	cert, key := ca.Issue(t, "default.example")
	e.tlsSecret("default-tls", cert, key)

	p, _ := e.controller("--leader-elect=false", "--default-ssl-certificate", e.ns+"/default-tls")
	for _, sni := range []string{"", "site.example"} {
		sni := sni
		waitFor(t, 10*time.Second, "the default certificate for SNI "+sni, func() bool {
			cn, err := presented(p.https, sni)
			return err == nil && cn == "default.example"
		})
	}
	// Served over HTTPS with it, without a redirect on plain HTTP (no
	// Ingress asked for TLS).
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "site.example"}}}
	req, _ := http.NewRequest("GET", "https://"+p.https+"/d", nil)
	req.Host = "site.example"
	resp, err := insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "web /d" {
		t.Errorf("HTTPS with the default certificate: %d %q", resp.StatusCode, body)
	}
}

// A --default-ssl-certificate that does not exist is logged, and the
// self-signed certificate is served in its place.
func TestControllerMissingDefaultCertificate(t *testing.T) {
	e := newEnv(t, "tls-nodefault")
	web := startBackend(t, "web", "127.0.0.2", nil)
	e.service("web", 80, "http", web)
	e.ingress("site", nil, rule{"site.example", "/", networkingv1.PathTypePrefix, "web", 80})
	p, _ := e.controller("--leader-elect=false", "--default-ssl-certificate", e.ns+"/nowhere-tls")
	waitFor(t, 10*time.Second, "the self-signed certificate", func() bool {
		cn, err := presented(p.https, "site.example")
		return err == nil && cn == "sluice default certificate"
	})
	waitFor(t, 10*time.Second, "the log line", func() bool {
		return strings.Contains(p.out.String(), "default certificate Secret missing") && strings.Contains(p.out.String(), e.ns+"/nowhere-tls")
	})
}

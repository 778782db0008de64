package chart

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sluice.dev/sluice/test/support"
)

// tlsSecret creates a kubernetes.io/tls Secret with a certificate for
// names.
func (k *kube) tlsSecret(t testing.TB, ca *support.CA, ns, name string, names ...string) {
	t.Helper()
	certPEM, keyPEM := ca.Issue(t, names...)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}
	if _, err := k.cs.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatalf("TLS Secret %s/%s: %v", ns, name, err)
	}
}

// tlsIngress creates an Ingress of class routing host to service port 80,
// with host in spec.tls with the certificate of Secret secret.
func (k *kube) tlsIngress(t testing.TB, ns, name, class, host, service, secret string) {
	t.Helper()
	ing := ingressObject(ns, name, class, host, service)
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: secret}}
	if _, err := k.cs.NetworkingV1().Ingresses(ns).Create(context.Background(), ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitServesTLS waits for host to be served over HTTPS, the certificate
// verified for host against ca as a browser would.
func (p *controllerProc) waitServesTLS(t testing.TB, ca *support.CA, host, body string) {
	t.Helper()
	waitFor(t, 20*time.Second, host+" to be served over HTTPS", func() bool {
		code, got, err := p.getTLS(ca, host)
		return err == nil && code == 200 && got == body
	})
}

func (p *controllerProc) getTLS(ca *support.CA, host string) (int, string, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: ca.Pool, ServerName: host},
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, p.httpsAddr)
			},
		},
	}
	resp, err := client.Get("https://" + host + "/")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), err
}

// waitPresents waits for the HTTPS listener to present, to a client asking
// for sni, the certificate whose common name is cn.
func (p *controllerProc) waitPresents(t testing.TB, sni, cn string) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("the certificate %q for SNI %s", cn, sni), func() bool {
		got, err := p.presented(sni)
		return err == nil && got == cn
	})
}

// presented returns the common name of the certificate presented for sni.
func (p *controllerProc) presented(sni string) (string, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	// Which certificate comes back is the question, not whether it is
	// trusted: the default one is not issued for sni.
	c, err := tls.DialWithDialer(d, "tcp", p.httpsAddr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

package translate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/config"
)

// pemPair is a certificate and its key, in PEM.
type pemPair struct{ crt, key []byte }

var (
	testCertsMu sync.Mutex
	testCerts   = map[string]pemPair{}
)

// testCert returns a self-signed ECDSA P-256 certificate for the given DNS
// names, made once per list of names; with cn set, names[0] is the common
// name and there are no subject alternative names.
func testCert(t testing.TB, cn bool, names ...string) pemPair {
	t.Helper()
	id := strings.Join(names, ",")
	if cn {
		id = "cn:" + id
	}
	testCertsMu.Lock()
	defer testCertsMu.Unlock()
	if p, ok := testCerts[id]; ok {
		return p
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(len(testCerts) + 1)),
		Subject:      pkix.Name{Organization: []string{"sluice tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if cn {
		tmpl.Subject.CommonName = names[0]
	} else {
		tmpl.DNSNames = names
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := pemPair{
		crt: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}
	testCerts[id] = p
	return p
}

// secret builds a Secret of the given type and data, at resourceVersion 1.
func secret(ns, name string, typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-secret-" + ns + "-" + name), ResourceVersion: "1"},
		Type:       typ,
		Data:       data,
	}
}

// tlsSecret is a valid kubernetes.io/tls Secret for the given names.
func tlsSecret(t testing.TB, ns, name string, names ...string) *corev1.Secret {
	p := testCert(t, false, names...)
	return secret(ns, name, corev1.SecretTypeTLS, map[string][]byte{corev1.TLSCertKey: p.crt, corev1.TLSPrivateKeyKey: p.key})
}

// fallbackCert is what the controller would generate at start-up.
func fallbackCert(t testing.TB) *config.Certificate {
	p := testCert(t, true, "sluice fallback")
	return &config.Certificate{CertPEM: p.crt, KeyPEM: p.key}
}

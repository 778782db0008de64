package translate

import (
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/config"
	"sluice.dev/sluice/test/support"
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
	var p pemPair
	if cn {
		p.crt, p.key = support.SelfSigned(t, names[0])
	} else {
		p.crt, p.key = support.SelfSigned(t, "", names...)
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

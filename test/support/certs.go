package support

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync/atomic"
	"testing"
	"time"
)

// Test certificates are made afresh (ECDSA P-256, a few milliseconds) so
// that no key lives in the repository.

// CA issues server certificates that a test's clients trust.
type CA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	Pool   *x509.CertPool // for tls.Config.RootCAs
	PEM    []byte         // the CA certificate, for curl --cacert
	serial atomic.Int64
}

// NewCA makes a certificate authority valid for a day.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	ca := &CA{cert: cert, key: key, Pool: x509.NewCertPool(), PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	ca.Pool.AddCert(cert)
	ca.serial.Store(1)
	return ca
}

// Issue returns a server certificate for names and its key, in PEM. The
// first name is the common name too, by which tests tell certificates apart.
func (ca *CA) Issue(tb testing.TB, names ...string) (certPEM, keyPEM []byte) {
	tb.Helper()
	return makeCert(tb, ca.serial.Add(1), names[0], names, ca.cert, ca.key)
}

// SelfSigned returns a self-signed server certificate and its key, in PEM,
// with common name cn (none when empty) and names as subject alternative
// names (none when there are none).
func SelfSigned(tb testing.TB, cn string, names ...string) (certPEM, keyPEM []byte) {
	tb.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		tb.Fatal(err)
	}
	return makeCert(tb, serial.Int64(), cn, names, nil, nil)
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

// makeCert signs with parent and its key, or self-signs when parent is nil.
func makeCert(tb testing.TB, serial int64, cn string, names []string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) ([]byte, []byte) {
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"sluice tests"}}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

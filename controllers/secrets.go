package controllers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"sluice.dev/sluice/config"
)

// TLS Secrets. The API server sends only Secrets of type kubernetes.io/tls
// (a field selector): the controller never sees the cluster's other
// Secrets. Of those, the cache keeps the certificate and key of the ones
// the serving translation refers to (an Ingress's spec.tls, or
// --default-ssl-certificate) and of the others only their identity; only a
// referenced Secret triggers a sync when it changes. A Secret that becomes
// referenced is read once from the API server (see fetchSecrets).

// secretCache is the Secrets' entry in the cache options: TLS Secrets only,
// in the watched namespace plus the default certificate's, trimmed.
func secretCache(o Options, refs *secretRefs) cache.ByObject {
	by := cache.ByObject{
		Field:     fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)),
		Transform: refs.trimSecret,
	}
	if o.WatchNamespace != "" {
		by.Namespaces = map[string]cache.Config{o.WatchNamespace: {}}
		if def := o.Translate.DefaultCertificate; def.Namespace != "" {
			by.Namespaces[def.Namespace] = cache.Config{}
		}
	}
	return by
}

// trimSecret keeps a TLS Secret's identity and type, and its certificate
// and key when a translation refers to it.
func (r *secretRefs) trimSecret(in any) (any, error) {
	s, ok := in.(*corev1.Secret)
	if !ok {
		return trimMeta(in)
	}
	return trimTLS(s, r.has(keyOf(s))), nil
}

func trimTLS(s *corev1.Secret, withData bool) *corev1.Secret {
	out := &corev1.Secret{TypeMeta: s.TypeMeta, ObjectMeta: trimmedMeta(s.ObjectMeta), Type: s.Type}
	if !withData {
		return out
	}
	for _, k := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
		if v, ok := s.Data[k]; ok {
			if out.Data == nil {
				out.Data = make(map[string][]byte, 2)
			}
			out.Data[k] = v
		}
	}
	return out
}

// secretRefs is the set of Secrets the serving translation looked at. It
// is read by the informers' goroutines and replaced by Reconcile.
type secretRefs struct {
	set atomic.Pointer[map[types.NamespacedName]bool]
}

func (r *secretRefs) store(names []types.NamespacedName) {
	m := make(map[types.NamespacedName]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	r.set.Store(&m)
}

func (r *secretRefs) has(k types.NamespacedName) bool {
	m := r.set.Load()
	return m != nil && (*m)[k]
}

// matters reports whether a change to o can change the translation.
func (r *secretRefs) matters(o client.Object) bool { return r.has(keyOf(o)) }

// bulkFetch is how many Secrets are read one by one; beyond it (at start,
// say), one list of every TLS Secret costs less than as many requests.
const bulkFetch = 8

// fetchSecrets reads the given TLS Secrets from the API server, through
// list requests only (by name or in bulk), which is all the RBAC grants.
func fetchSecrets(ctx context.Context, r client.Reader, names []types.NamespacedName) ([]*corev1.Secret, error) {
	want := make(map[types.NamespacedName]bool, len(names))
	namespaces := map[string]bool{}
	for _, n := range names {
		want[n] = true
		namespaces[n.Namespace] = true
	}
	tlsType := fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS))
	var out []*corev1.Secret
	list := func(ns string, sel fields.Selector) error {
		var l corev1.SecretList
		if err := r.List(ctx, &l, client.InNamespace(ns), client.MatchingFieldsSelector{Selector: sel}); err != nil {
			return fmt.Errorf("listing TLS Secrets in %q: %w", ns, err)
		}
		for i := range l.Items {
			if s := &l.Items[i]; want[keyOf(s)] {
				out = append(out, trimTLS(s, true))
			}
		}
		return nil
	}
	if len(names) <= bulkFetch {
		for _, n := range names {
			sel := fields.AndSelectors(tlsType, fields.OneTermEqualSelector("metadata.name", n.Name))
			if err := list(n.Namespace, sel); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for ns := range namespaces {
		if err := list(ns, tlsType); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SelfSigned makes the certificate served when no default certificate is
// configured (or it is unusable), as other controllers do: TLS works on
// every host at once, and clients see plainly that it is not a real one.
func SelfSigned(now time.Time) (*config.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "sluice default certificate", Organization: []string{"sluice"}},
		DNSNames:              []string{"sluice.invalid"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate key: %w", err)
	}
	return &config.Certificate{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}, nil
}

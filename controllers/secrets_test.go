package controllers

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"sluice.dev/sluice/test/controlplane"
)

func tlsSecretObj(name, rv string, withData bool) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv,
			Annotations: map[string]string{lastApplied: "{}"}},
		Type: corev1.SecretTypeTLS,
	}
	if withData {
		s.Data = map[string][]byte{corev1.TLSCertKey: []byte("crt"), corev1.TLSPrivateKeyKey: []byte("key"), "ca.crt": []byte("ca")}
	}
	return s
}

// The cache keeps a Secret's certificate and key only when a translation
// refers to it, and never anything else of it.
func TestTrimSecret(t *testing.T) {
	refs := &secretRefs{}
	in := tlsSecretObj("a", "1", true)
	out, _ := refs.trimSecret(in)
	if s := out.(*corev1.Secret); s.Data != nil || s.Name != "a" || s.Type != corev1.SecretTypeTLS || s.Annotations != nil {
		t.Errorf("before any translation: kept %v (annotations %v)", s.Data, s.Annotations)
	}
	refs.store([]types.NamespacedName{{Namespace: "ns", Name: "a"}})
	out, _ = refs.trimSecret(in)
	if s := out.(*corev1.Secret); len(s.Data) != 2 || string(s.Data[corev1.TLSCertKey]) != "crt" || s.Data["ca.crt"] != nil {
		t.Errorf("referenced: kept %v, want tls.crt and tls.key only", s.Data)
	}
	if out, _ := refs.trimSecret(tlsSecretObj("b", "1", true)); out.(*corev1.Secret).Data != nil {
		t.Error("an unreferenced Secret kept its data")
	}
	if !refs.matters(in) || refs.matters(tlsSecretObj("b", "1", true)) {
		t.Error("matters disagrees with the referenced set")
	}
}

// Secrets held without data stay out of snapshots until filled, and a
// fill does not overwrite what the cache delivered with data meanwhile.
func TestStoreBareSecrets(t *testing.T) {
	s := newStore()
	a, b := types.NamespacedName{Namespace: "ns", Name: "a"}, types.NamespacedName{Namespace: "ns", Name: "b"}
	s.file(tlsSecretObj("a", "1", false), false)
	s.file(tlsSecretObj("b", "1", false), false)
	snap, _, _ := s.take()
	if len(snap.Secrets) != 0 {
		t.Fatalf("bare Secrets in the snapshot: %v", snap.Secrets)
	}
	if got := s.bareOf([]types.NamespacedName{a, b, {Namespace: "ns", Name: "c"}}); !slices.Equal(got, []types.NamespacedName{a, b}) {
		t.Fatalf("bareOf = %v", got)
	}
	// b arrives with its data before the fetched copy is filed.
	newer := tlsSecretObj("b", "2", true)
	s.file(newer, false)
	filled := s.fill(snap, []*corev1.Secret{tlsSecretObj("a", "1", true), tlsSecretObj("b", "1", true)})
	if filled.Secrets[a] == nil || filled.Secrets[a].Data == nil || filled.Secrets[b] != newer {
		t.Errorf("filled snapshot: a %v, b %v (want the cache's newer b)", filled.Secrets[a], filled.Secrets[b])
	}
	if len(snap.Secrets) != 0 {
		t.Error("fill modified the snapshot it was given")
	}
	if got := s.bareOf([]types.NamespacedName{a, b}); len(got) != 0 {
		t.Errorf("still bare after fill: %v", got)
	}
	// Deleted while fetched: not brought back.
	s.file(tlsSecretObj("c", "1", false), false)
	s.file(tlsSecretObj("c", "1", false), true)
	if got := s.fill(snap, []*corev1.Secret{tlsSecretObj("c", "1", true)}); got.Secrets[types.NamespacedName{Namespace: "ns", Name: "c"}] != nil {
		t.Error("a Secret deleted during the fetch came back")
	}
}

func TestSelfSigned(t *testing.T) {
	c, err := SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if cn := pair.Leaf.Subject.CommonName; cn != "sluice default certificate" || time.Until(pair.Leaf.NotAfter) < 300*24*time.Hour {
		t.Errorf("CN %q, expires %v", cn, pair.Leaf.NotAfter)
	}
}

// fetchSecrets reads Secrets by name, and in bulk beyond bulkFetch, with
// list requests only; other types and unrequested Secrets are left out.
func TestFetchSecretsAgainstAPIServer(t *testing.T) {
	cp := controlplane.Start(t, controlplane.Options{})
	cs, err := kubernetes.NewForConfig(cp.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cp.RESTConfig, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{"f1", "f2"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var all []types.NamespacedName
	for i := 0; i < 2*bulkFetch; i++ {
		s := tlsSecretObj(fmt.Sprintf("s%02d", i), "", true)
		s.Namespace = []string{"f1", "f2"}[i%2]
		s.Annotations = nil
		if _, err := cs.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		all = append(all, keyOf(s))
	}
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "f1", Name: "opaque"}, Data: map[string][]byte{"tls.crt": []byte("x")}}
	if _, err := cs.CoreV1().Secrets("f1").Create(ctx, opaque, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]types.NamespacedName{
		all[:2], // one by one
		append(all[1:bulkFetch+2], keyOf(opaque)), // in bulk; the Opaque one is not a TLS Secret
	} {
		got, err := fetchSecrets(ctx, c, want)
		if err != nil {
			t.Fatal(err)
		}
		var names []types.NamespacedName
		for _, s := range got {
			if len(s.Data) != 2 || s.Data["ca.crt"] != nil {
				t.Errorf("%v: data %v, want tls.crt and tls.key", keyOf(s), s.Data)
			}
			names = append(names, keyOf(s))
		}
		slices.SortFunc(names, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
		exp := slices.DeleteFunc(slices.Clone(want), func(n types.NamespacedName) bool { return n.Name == "opaque" })
		slices.SortFunc(exp, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
		if !slices.Equal(names, exp) {
			t.Errorf("fetched %v, want %v", names, exp)
		}
	}
}

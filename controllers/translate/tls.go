package translate

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"sluice.dev/sluice/config"
)

// FallbackCertificateName names Options.FallbackCertificate in
// Config.Certificates. A Secret's certificate is named NAMESPACE/NAME,
// which always holds a '/', so the two cannot collide.
const FallbackCertificateName = "sluice-fallback"

// acmeChallengePath is where ACME HTTP-01 challenges are answered. The
// challenge is fetched over plain HTTP, and typically before the
// certificate exists, so it is never redirected to HTTPS.
const acmeChallengePath = "/.well-known/acme-challenge/"

// parsedTLS is one spec.tls entry.
type parsedTLS struct {
	hosts []hostMatch
	// secret is in the Ingress's namespace; an empty Name means the
	// default certificate.
	secret types.NamespacedName
	// ms is the memo entry of secret that the last translation of the
	// Ingress used (see parsedPath.route).
	ms *memoSecret
}

// parseTLS reads spec.tls; a host that is not a DNS name (or a wildcard) is
// reported and left out.
func parseTLS(ing *networkingv1.Ingress, ref ObjectRef, events *eventLog) []parsedTLS {
	if len(ing.Spec.TLS) == 0 {
		return nil
	}
	out := make([]parsedTLS, 0, len(ing.Spec.TLS))
	for i, e := range ing.Spec.TLS {
		var pt parsedTLS
		if e.SecretName != "" {
			pt.secret = types.NamespacedName{Namespace: ing.Namespace, Name: e.SecretName}
		}
		for j, h := range e.Hosts {
			hm, err := parseHost(h)
			if err == nil && hm.kind == hostAny {
				err = errors.New("empty host")
			}
			if err != nil {
				events.warn(ref, ReasonInvalidHost, "spec.tls[%d].hosts[%d] %q: %v; host ignored", i, j, h, err)
				continue
			}
			pt.hosts = append(pt.hosts, hm)
		}
		out = append(out, pt)
	}
	return out
}

// tlsState is what the Ingresses' spec.tls asked for in one translation.
// Both lists keep repeats: making them sets would cost every translation a
// map, while the memo compares them with the previous translation's.
type tlsState struct {
	// certs are the usable Secrets of spec.tls in the order the Ingresses
	// were added (oldest first).
	certs []*memoSecret
	// redirect are the hosts whose plain HTTP requests go to HTTPS.
	redirect []hostMatch
}

// addTLS takes in an Ingress's spec.tls: its Secrets' certificates, and
// its hosts for the redirect to HTTPS.
func (t *translator) addTLS(p *parsedIngress) {
	if t.opts.HTTPSAddr == "" {
		t.events.warn(p.ref, ReasonTLSDisabled,
			"spec.tls is ignored: sluice has no HTTPS listener, so its hosts are served over plain HTTP only")
		return
	}
	for i := range p.tls {
		e := &p.tls[i]
		if e.secret.Name != "" {
			t.addSecret(p.ref, e)
		}
		if !p.set.noSSLRedirect {
			t.tls.redirect = append(t.tls.redirect, e.hosts...)
		}
	}
}

// addSecret lists the certificate of a spec.tls entry, and warns about
// hosts of the entry that it does not cover.
func (t *translator) addSecret(ref ObjectRef, e *parsedTLS) {
	ms := t.secretCached(e.secret, &e.ms)
	if ms.prob != nil {
		t.events.warn(ref, ms.prob.reason, "%s; its hosts get the default certificate", ms.prob.message)
		return
	}
	t.tls.certs = append(t.tls.certs, ms)
	for _, h := range e.hosts {
		if !certCovers(ms.names, h) {
			names := "none"
			if len(ms.names) > 0 {
				names = strings.Join(ms.names, ", ")
			}
			t.events.warn(ref, ReasonTLSHostMismatch,
				"host %s is not covered by the certificate of Secret %s (names: %s); clients asking for it get the default certificate",
				h.name, ms.name, names)
		}
	}
}

// certCovers reports whether a certificate with the given names (lowercase)
// is valid for host h. A wildcard name covers exactly one more label, in
// the leftmost position, as in RFC 6125 and browsers: *.foo.com covers
// bar.foo.com, not foo.com nor a.bar.foo.com. A wildcard host is covered
// only by the same wildcard name, since no other covers all its names.
func certCovers(names []string, h hostMatch) bool {
	for _, n := range names {
		if n == h.name {
			return true
		}
		// A wildcard host is never covered this way: its extra label
		// would be "*." and more.
		if strings.HasPrefix(n, "*.") && (hostMatch{kind: hostWildcard, name: n}).covers(h.name) {
			return true
		}
	}
	return false
}

// httpsBind is the HTTPS listener and the certificates it presents: first
// the default certificate (Options.DefaultCertificate when usable, else
// Options.FallbackCertificate), then those of spec.tls, each once. The
// first is what clients whose SNI no certificate matches get. Without any
// certificate there is no listener.
//
// While the list stays the same, the TLS settings and the certificate map
// are the previous translation's values.
func (t *translator) httpsBind() (config.Bind, map[string]*config.Certificate, bool) {
	if t.opts.HTTPSAddr == "" {
		return config.Bind{}, nil, false
	}
	b, err := parseHostPort(t.opts.HTTPSAddr)
	if err != nil {
		// Options.Validate reports it.
		return config.Bind{}, nil, false
	}
	m := t.memo
	l := certList{prev: m.certs}
	if k := t.opts.DefaultCertificate; k.Name != "" {
		if ms := t.secret(k); ms.cert != nil {
			ms.listed = m.gen
			l.add(namedCert{ms.name, ms.cert})
		}
	}
	if fb := t.opts.FallbackCertificate; l.n == 0 && fb != nil && len(fb.CertPEM) > 0 && len(fb.KeyPEM) > 0 {
		l.add(namedCert{FallbackCertificateName, fb})
	}
	for _, ms := range t.tls.certs {
		if ms.listed != m.gen {
			ms.listed = m.gen
			l.add(namedCert{ms.name, ms.cert})
		}
	}
	if list, changed := l.done(); changed {
		m.certs = list
		// A renewed certificate changes the map only.
		if len(list) == 0 || !sameNames(m.bindTLS, list) {
			m.bindTLS = nil
		}
		m.certMap = nil
		if len(list) > 0 {
			if m.bindTLS == nil {
				m.bindTLS = &config.BindTLS{Certificates: make([]string, len(list))}
				for i, c := range list {
					m.bindTLS.Certificates[i] = config.CertRefPrefix + c.name
				}
			}
			m.certMap = make(map[string]*config.Certificate, len(list))
			for _, c := range list {
				m.certMap[c.name] = c.cert
			}
		}
	}
	if m.bindTLS == nil {
		return config.Bind{}, nil, false
	}
	b.TLS = m.bindTLS
	return b, m.certMap, true
}

// sameNames reports whether b names the certificates of list, in order.
func sameNames(b *config.BindTLS, list []namedCert) bool {
	if b == nil || len(b.Certificates) != len(list) {
		return false
	}
	for i, crt := range b.Certificates {
		if name, _ := config.CertRef(crt); name != list[i].name {
			return false
		}
	}
	return true
}

// namedCert is a certificate under its name in Config.Certificates.
type namedCert struct {
	name string
	cert *config.Certificate
}

// certList builds a list of certificates, allocating only once it departs
// from prev, the previous translation's.
type certList struct {
	prev []namedCert
	n    int // the entries added; while out is nil, prev[:n] are they
	out  []namedCert
}

func (l *certList) add(c namedCert) {
	if l.out == nil && l.n < len(l.prev) && l.prev[l.n] == c {
		l.n++
		return
	}
	if l.out == nil {
		l.out = append(make([]namedCert, 0, len(l.prev)+1), l.prev[:l.n]...)
	}
	l.out = append(l.out, c)
	l.n++
}

// done returns the list, and whether it differs from prev.
func (l *certList) done() ([]namedCert, bool) {
	if l.out == nil {
		return l.prev[:l.n], l.n != len(l.prev)
	}
	return l.out, true
}

// redirectRule sends plain HTTP requests for the TLS hosts to HTTPS, with
// 308 so that the method and body are kept; nil when there is no such host.
// ACME HTTP-01 challenges stay on plain HTTP. While the hosts stay the
// same, the rule is the previous translation's.
func (t *translator) redirectRule() *config.HTTPRequestRule {
	m := t.memo
	// The hosts are the previous ones when each is one of them and they
	// are as many; every host met is stamped with the translation.
	same, distinct := true, 0
	for _, h := range t.tls.redirect {
		i, ok := m.redirectHosts[h]
		if !ok {
			same = false
			break
		}
		if m.redirectSeen[i] != m.gen {
			m.redirectSeen[i] = m.gen
			distinct++
		}
	}
	if same && distinct == len(m.redirectHosts) {
		return m.redirect
	}
	m.redirectHosts = make(map[hostMatch]int, len(t.tls.redirect))
	for _, h := range t.tls.redirect {
		if _, ok := m.redirectHosts[h]; !ok {
			m.redirectHosts[h] = len(m.redirectHosts)
		}
	}
	m.redirectSeen = make([]uint64, len(m.redirectHosts))
	m.redirect = newRedirectRule(m.redirectHosts)
	return m.redirect
}

// newRedirectRule is the redirect of the given hosts to HTTPS: exact hosts
// and wildcards, each sorted, in one alternative each.
func newRedirectRule(hosts map[hostMatch]int) *config.HTTPRequestRule {
	if len(hosts) == 0 {
		return nil
	}
	var exact, wildcards []hostMatch
	for h := range hosts {
		if h.kind == hostExact {
			exact = append(exact, h)
		} else {
			wildcards = append(wildcards, h)
		}
	}
	plain := config.Term{Negate: true, Inline: &config.ACL{Fetch: config.FetchSSLFC, Match: config.MatchBool}}
	acme := config.Term{Negate: true, Inline: &config.ACL{Fetch: config.FetchPath, Match: config.MatchBeg, Values: []string{acmeChallengePath}}}
	c := &config.Condition{}
	for _, list := range [][]hostMatch{exact, wildcards} {
		if len(list) == 0 {
			continue
		}
		slices.SortFunc(list, func(a, b hostMatch) int { return strings.Compare(a.name, b.name) })
		acl := &config.ACL{Fetch: config.FetchHost, Match: config.MatchStr}
		if list[0].kind == hostWildcard {
			acl.Match = config.MatchReg
		}
		for _, h := range list {
			acl.Values = append(acl.Values, hostTerm(h).Inline.Values...)
		}
		c.Or = append(c.Or, []config.Term{plain, {Inline: acl}, acme})
	}
	return &config.HTTPRequestRule{
		Action:   config.ActionRedirect,
		Redirect: &config.Redirect{Kind: config.RedirectScheme, Value: "https", Code: 308},
		Cond:     c,
	}
}

// secretNames returns the Secrets looked at, sorted: the previous
// translation's slice when they are the same, since results share it.
// seen are the keys looked at, each once.
func (t *translator) secretNames() []types.NamespacedName {
	m := t.memo
	if len(t.secretsSeen) == len(m.secretList) && !slices.ContainsFunc(m.secretList, func(k types.NamespacedName) bool {
		e := m.secrets[k]
		return e == nil || e.gen != m.gen
	}) {
		return m.secretList
	}
	names := slices.Clone(t.secretsSeen)
	slices.SortFunc(names, compareNamespacedName)
	m.secretList = names
	return names
}

// memoSecret is what a Secret holds as a certificate: the certificate and
// the names it serves, or the problem that makes it unusable.
type memoSecret struct {
	gen      uint64
	replaced bool           // by a newer entry for the Secret
	listed   uint64         // the last translation whose HTTPS bind listed it
	name     string         // NAMESPACE/NAME, its name in Config.Certificates
	secret   *corev1.Secret // nil: not found
	cert     *config.Certificate
	names    []string
	prob     *problem
}

// secret returns what the Secret k holds, parsed once per content: while
// the Secret is the same object, or a new one with the same type,
// certificate and key, the entry, and so its *config.Certificate, is the
// previous translation's, which spares the dataplane parsing it again.
func (t *translator) secret(k types.NamespacedName) *memoSecret {
	return t.secretCached(k, nil)
}

// secretCached is secret, with *cached (when not nil) the entry it
// returned before to this caller, as in resolveCached.
func (t *translator) secretCached(k types.NamespacedName, cached **memoSecret) *memoSecret {
	m := t.memo
	var e *memoSecret
	if cached != nil && *cached != nil && m.current((*cached).gen, (*cached).replaced) {
		e = *cached
	} else {
		e = m.secrets[k]
	}
	if e == nil || e.gen != m.gen {
		t.secretsSeen = append(t.secretsSeen, k)
		s := t.snap.Secrets[k]
		if e == nil || !e.holds(s) {
			if e != nil {
				e.replaced = true
			}
			e = parseSecret(k, s)
			m.secrets[k] = e
		}
		e.secret = s
		m.stamp(&e.gen, usedSecrets)
	}
	if cached != nil {
		*cached = e
	}
	return e
}

// holds reports whether s has what the entry was made from. The content
// decides, not the UID and resourceVersion: a cache may hold a Secret
// without its data and then the same version with it, and a new version
// of the same content (a label changed) needs no parsing.
func (e *memoSecret) holds(s *corev1.Secret) bool {
	old := e.secret
	switch {
	case old == s:
		return true
	case old == nil || s == nil:
		return false
	}
	return s.Type == old.Type &&
		bytes.Equal(s.Data[corev1.TLSCertKey], old.Data[corev1.TLSCertKey]) &&
		bytes.Equal(s.Data[corev1.TLSPrivateKeyKey], old.Data[corev1.TLSPrivateKeyKey])
}

// parseSecret reads a kubernetes.io/tls Secret. The certificate shares the
// Secret's bytes, which no one modifies.
func parseSecret(k types.NamespacedName, s *corev1.Secret) *memoSecret {
	e := &memoSecret{name: k.String(), secret: s}
	fail := func(reason, format string, args ...any) *memoSecret {
		e.prob = &problem{reason: reason, message: fmt.Sprintf(format, args...)}
		return e
	}
	if s == nil {
		return fail(ReasonTLSSecretNotFound, "Secret %s not found (it must be of type %s)", k, corev1.SecretTypeTLS)
	}
	if s.Type != corev1.SecretTypeTLS {
		typ := s.Type
		if typ == "" {
			typ = corev1.SecretTypeOpaque
		}
		return fail(ReasonTLSSecretNotFound, "Secret %s is of type %s: a TLS Secret must be of type %s", k, typ, corev1.SecretTypeTLS)
	}
	crt, key := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	for _, f := range []struct {
		name string
		data []byte
	}{{corev1.TLSCertKey, crt}, {corev1.TLSPrivateKeyKey, key}} {
		if len(f.data) == 0 {
			return fail(ReasonInvalidTLSSecret, "Secret %s has no %s", k, f.name)
		}
	}
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return fail(ReasonInvalidTLSSecret, "Secret %s: %v", k, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		// Only with GODEBUG x509keypairleaf=0.
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fail(ReasonInvalidTLSSecret, "Secret %s: %v", k, err)
		}
	}
	e.names = certNames(leaf)
	e.cert = &config.Certificate{CertPEM: crt, KeyPEM: key}
	return e
}

// certNames are the names a certificate serves, as the dataplane reads
// them: its DNS subject alternative names, else its common name; lowercase,
// without a final dot.
func certNames(leaf *x509.Certificate) []string {
	names := leaf.DNSNames
	if len(names) == 0 && leaf.Subject.CommonName != "" {
		names = []string{leaf.Subject.CommonName}
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(strings.TrimSuffix(n, "."))
	}
	return out
}

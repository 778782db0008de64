package dataplane

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sluice.dev/sluice/config"
)

// TLS termination. A bind with `ssl` gets a tlsBind in each table: its
// certificates indexed by name for SNI. Listeners keep one tls.Config for
// their life (session ticket keys must outlive reloads), which hands each
// handshake the tls.Config of the table current at that moment: a reload
// swaps certificates with the routes, in the same atomic store.

// tlsBind is the compiled TLS side of one listener in one table.
type tlsBind struct {
	src   *config.BindTLS
	certs []*loadedCert // in crt order; certs[0] is the default
	// exact and wildcard index the certificates by their names (lowercase);
	// wildcard is keyed by what follows "*." in the name.
	exact    map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate
	config   *tls.Config
	// fromFiles is set when a certificate was read from disk: a reload
	// reads it again, so a renewed file is picked up.
	fromFiles bool
}

// loadedCert is a parsed certificate and the names it serves.
type loadedCert struct {
	src   *config.Certificate // nil when read from a file
	cert  *tls.Certificate
	names []string
}

// pick returns the certificate for a client's SNI: an exact name, then a
// wildcard covering exactly one label, then the first certificate.
func (b *tlsBind) pick(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if name := hello.ServerName; name != "" {
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		if c := b.exact[name]; c != nil {
			return c, nil
		}
		if i := strings.IndexByte(name, '.'); i > 0 {
			if c := b.wildcard[name[i+1:]]; c != nil {
				return c, nil
			}
		}
	}
	return b.certs[0].cert, nil
}

// offeredALPN is what the bind negotiates: mode http speaks HTTP/1.x only,
// whatever the list says (the parser has warned); mode tcp offers the list.
func offeredALPN(mode config.Mode, alpn []string) []string {
	if mode != config.ModeHTTP {
		return alpn
	}
	var out []string
	for _, p := range alpn {
		if config.HTTPALPN(p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []string{"http/1.1"}
	}
	return out
}

// compileTLS builds the TLS side of a bind, reusing prev (the same
// listener's in the previous table) when nothing it was built from
// changed, and otherwise every in-memory certificate prev had parsed.
func compileTLS(prev *tlsBind, mode config.Mode, b *config.BindTLS, certs map[string]*config.Certificate) (*tlsBind, error) {
	if prev != nil && !prev.fromFiles && sameTLS(prev, mode, b, certs) {
		return prev, nil
	}
	var parsed map[*config.Certificate]*loadedCert
	if prev != nil {
		parsed = make(map[*config.Certificate]*loadedCert, len(prev.certs))
		for _, c := range prev.certs {
			if c.src != nil {
				parsed[c.src] = c
			}
		}
	}
	tb := &tlsBind{
		src:      b,
		exact:    map[string]*tls.Certificate{},
		wildcard: map[string]*tls.Certificate{},
	}
	for _, crt := range b.Certificates {
		loaded, err := loadCrt(crt, certs, parsed)
		if err != nil {
			return nil, fmt.Errorf("crt %q: %w", crt, err)
		}
		if _, ok := config.CertRef(crt); !ok {
			tb.fromFiles = true
		}
		tb.certs = append(tb.certs, loaded...)
	}
	if len(tb.certs) == 0 {
		return nil, errors.New("no certificate")
	}
	for _, c := range tb.certs {
		for _, n := range c.names {
			idx, key := tb.exact, n
			if strings.HasPrefix(n, "*.") {
				idx, key = tb.wildcard, n[2:]
			}
			if _, taken := idx[key]; !taken {
				idx[key] = c.cert
			}
		}
	}
	tb.config = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     offeredALPN(mode, b.ALPN),
		GetCertificate: tb.pick,
	}
	return tb, nil
}

// sameTLS reports whether prev was built from what b and certs say now.
func sameTLS(prev *tlsBind, mode config.Mode, b *config.BindTLS, certs map[string]*config.Certificate) bool {
	if prev.src != b && (!slices.Equal(prev.src.Certificates, b.Certificates) || !slices.Equal(prev.src.ALPN, b.ALPN)) {
		return false
	}
	if !slices.Equal(prev.config.NextProtos, offeredALPN(mode, b.ALPN)) || len(prev.certs) != len(b.Certificates) {
		return false
	}
	for i, crt := range b.Certificates {
		name, _ := config.CertRef(crt)
		if certs[name] != prev.certs[i].src {
			return false
		}
	}
	return true
}

// loadCrt loads one crt argument: an in-memory certificate, a PEM file, or
// every PEM file of a directory.
func loadCrt(crt string, certs map[string]*config.Certificate, parsed map[*config.Certificate]*loadedCert) ([]*loadedCert, error) {
	if name, ok := config.CertRef(crt); ok {
		src := certs[name]
		if src == nil {
			return nil, errors.New("no such in-memory certificate")
		}
		if c := parsed[src]; c != nil {
			return []*loadedCert{c}, nil
		}
		c, err := parseCert(src.CertPEM, src.KeyPEM)
		if err != nil {
			return nil, err
		}
		c.src = src
		return []*loadedCert{c}, nil
	}
	st, err := os.Stat(crt)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		c, err := loadCertFile(crt)
		if err != nil {
			return nil, err
		}
		return []*loadedCert{c}, nil
	}
	entries, err := os.ReadDir(crt)
	if err != nil {
		return nil, err
	}
	var out []*loadedCert
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || !certFileName(e.Name()) {
			continue
		}
		c, err := loadCertFile(filepath.Join(crt, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("directory holds no certificate")
	}
	return out, nil
}

// certFileName skips, in a crt directory, the files HAProxy loads beside
// a certificate rather than as one.
func certFileName(name string) bool {
	switch filepath.Ext(name) {
	case ".key", ".ocsp", ".issuer", ".sctl":
		return false
	}
	return true
}

// loadCertFile reads a PEM file holding a chain and its key; as in HAProxy,
// a file without a key takes it from FILE.key.
func loadCertFile(path string) (*loadedCert, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key := pem
	if !bytes.Contains(pem, []byte("PRIVATE KEY-----")) {
		if key, err = os.ReadFile(path + ".key"); err != nil {
			return nil, fmt.Errorf("no private key in the file, and %w", err)
		}
	}
	return parseCert(pem, key)
}

// parseCert parses a chain and key and reads the names the leaf serves.
func parseCert(certPEM, keyPEM []byte) (*loadedCert, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
		cert.Leaf = leaf
	}
	return &loadedCert{cert: &cert, names: certNames(leaf)}, nil
}

// certNames are the DNS names a certificate serves, lowercased: its subject
// alternative names, or its common name when it has none (as HAProxy).
func certNames(leaf *x509.Certificate) []string {
	names := leaf.DNSNames
	if len(names) == 0 && leaf.Subject.CommonName != "" {
		names = []string{leaf.Subject.CommonName}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.ToLower(strings.TrimSuffix(n, ".")))
	}
	return out
}

// CheckTLS loads every certificate cfg's binds name, as Apply would,
// without listening: `sluice check` reports a missing or broken file.
func CheckTLS(cfg *config.Config) error {
	var errs []error
	for _, f := range cfg.Frontends {
		for _, b := range f.Binds {
			if b.TLS == nil {
				continue
			}
			if _, err := compileTLS(nil, f.Mode, b.TLS, cfg.Certificates); err != nil {
				errs = append(errs, bindError(f, b, err))
			}
		}
	}
	return errors.Join(errs...)
}

func bindError(f *config.Frontend, b config.Bind, err error) error {
	if p := b.Pos.String(); p != "" {
		return fmt.Errorf("%s: frontend %q: bind %s: %w", p, f.Name, b.Addr(), err)
	}
	return fmt.Errorf("frontend %q: bind %s: %w", f.Name, b.Addr(), err)
}

// listenerTLS is the tls.Config a listener keeps for its life: each
// handshake gets the certificates of the table current at that moment,
// while session ticket keys stay the listener's.
func (rt *Runtime) listenerTLS(slot int) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			if tb := rt.table.Load().tlsAt(slot); tb != nil {
				return tb.config, nil
			}
			return nil, errors.New("the bind no longer terminates TLS")
		},
	}
}

func (t *Table) tlsAt(slot int) *tlsBind {
	if slot < len(t.tls) {
		return t.tls[slot]
	}
	return nil
}

// handshake terminates TLS on a client connection, within timeout client
// as HAProxy bounds it, and returns what the routing rules see of it.
func handshake(conn net.Conn, cfg *tls.Config, timeout time.Duration) (*tls.Conn, tlsInfo, error) {
	tc := tls.Server(conn, cfg)
	_ = tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		return nil, tlsInfo{}, err
	}
	_ = tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	return tc, tlsInfo{on: true, sni: []byte(strings.ToLower(st.ServerName))}, nil
}

// tlsInfo is what a client connection's TLS means to mode http: ssl_fc,
// ssl_fc_sni and X-Forwarded-Proto.
type tlsInfo struct {
	on  bool
	sni []byte
}

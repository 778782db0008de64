// Package controlplane runs a real Kubernetes control plane, etcd and
// kube-apiserver, for sluice's integration and e2e tests.
//
// The binaries are built from Go modules by hack/controlplane/build.sh and
// cached under ${SLUICE_CACHE:-$HOME/.cache/sluice}/controlplane/<version>.
// Both processes listen on 127.0.0.1 only, on ports picked at start, and keep
// all their state in one temporary directory. There is no controller-manager
// and no scheduler: objects are stored and served, but nothing reconciles
// them (no pods for Deployments, no default ServiceAccount per namespace, no
// namespace finalization).
package controlplane

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubernetesVersion is the version of kube-apiserver the harness runs. It
// must match hack/controlplane/versions.sh, which a test checks.
const KubernetesVersion = "v1.37.2"

// BuildScript is the command, relative to the repository root, that builds
// the binaries the harness needs.
const BuildScript = "hack/controlplane/build.sh"

// ServiceClusterIPRange is the range kube-apiserver allocates Service
// ClusterIPs from. The addresses are only ever data: nothing routes them.
const ServiceClusterIPRange = "10.96.0.0/16"

// Options tune a control plane. The zero value is ready to use.
type Options struct {
	// BinDir holds kube-apiserver and etcd. Empty means the directory
	// build.sh writes to.
	BinDir string
	// Dir receives certificates, etcd's data and the logs. Empty means a new
	// temporary directory, removed by Stop.
	Dir string
	// ReadyTimeout bounds how long Start waits for etcd and then
	// kube-apiserver to become ready. Zero means 90 seconds, which leaves
	// room for a loaded 2-core machine.
	ReadyTimeout time.Duration
	// APIServerFlags are appended to kube-apiserver's command line; a later
	// flag overrides an earlier one.
	APIServerFlags []string
}

// ControlPlane is a running etcd and kube-apiserver.
type ControlPlane struct {
	// URL is kube-apiserver's https address.
	URL string
	// Kubeconfig is the path of a kubeconfig file for the admin identity.
	Kubeconfig string
	// RESTConfig authenticates as the admin identity, a member of
	// system:masters. Copy it before changing it (rest.CopyConfig).
	RESTConfig *rest.Config
	// EtcdURL is etcd's client address (plain http on loopback).
	EtcdURL string
	// Dir holds certificates, etcd's data and the logs etcd.log and
	// kube-apiserver.log.
	Dir string
	// CAFile is the CA that signed kube-apiserver's serving certificate and
	// that it trusts for client certificates.
	CAFile string

	readyTimeout time.Duration
	removeDir    bool
	etcd         *process
	apiserver    *process
	etcdClient   *clientv3.Client
	readyClient  *http.Client
}

// Start starts a control plane in t.TempDir and stops it when t's cleanups
// run. If the binaries are missing it fails t with the command that builds
// them.
func Start(t testing.TB, opts Options) *ControlPlane {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	cp, err := New(opts)
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(cp.Stop)
	return cp
}

// New starts a control plane. It is Start for callers without a testing.TB,
// such as TestMain; the caller must call Stop.
func New(opts Options) (cp *ControlPlane, err error) {
	binDir, err := binDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	apiserverBin := filepath.Join(binDir, "kube-apiserver")
	etcdBin := filepath.Join(binDir, "etcd")
	for _, bin := range []string{apiserverBin, etcdBin} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("%s is missing (%w); build it with: %s", bin, err, buildCommand())
		}
	}

	cp = &ControlPlane{Dir: opts.Dir, readyTimeout: opts.ReadyTimeout}
	if cp.readyTimeout == 0 {
		cp.readyTimeout = 90 * time.Second
	}
	if cp.Dir == "" {
		if cp.Dir, err = os.MkdirTemp("", "sluice-controlplane-"); err != nil {
			return nil, fmt.Errorf("control plane directory: %w", err)
		}
		cp.removeDir = true
	}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()

	pki, err := newPKI(cp.Dir)
	if err != nil {
		return cp, fmt.Errorf("certificates: %w", err)
	}
	cp.CAFile = pki.caFile

	ports, err := freePorts(3)
	if err != nil {
		return cp, err
	}
	etcdClientURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	etcdPeerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	cp.EtcdURL = etcdClientURL
	cp.URL = "https://127.0.0.1:" + strconv.Itoa(ports[2])

	cp.etcd = &process{
		name:    "etcd",
		path:    etcdBin,
		logPath: filepath.Join(cp.Dir, "etcd.log"),
		args: []string{
			"--name=sluice-test",
			"--data-dir=" + filepath.Join(cp.Dir, "etcd"),
			"--listen-client-urls=" + etcdClientURL,
			"--advertise-client-urls=" + etcdClientURL,
			"--listen-peer-urls=" + etcdPeerURL,
			"--initial-advertise-peer-urls=" + etcdPeerURL,
			"--initial-cluster=sluice-test=" + etcdPeerURL,
			"--initial-cluster-state=new",
			// Test data need not survive a power cut, and fsync dominates
			// etcd's latency on shared disks.
			"--unsafe-no-fsync",
			"--log-level=warn",
		},
	}

	cp.apiserver = &process{
		name:    "kube-apiserver",
		path:    apiserverBin,
		logPath: filepath.Join(cp.Dir, "kube-apiserver.log"),
		args: append([]string{
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[2]),
			"--etcd-servers=" + etcdClientURL,
			"--tls-cert-file=" + pki.servingCert,
			"--tls-private-key-file=" + pki.servingKey,
			"--client-ca-file=" + pki.caFile,
			"--service-account-issuer=" + cp.URL,
			"--service-account-key-file=" + pki.saPublicKey,
			"--service-account-signing-key-file=" + pki.saSigningKey,
			"--service-cluster-ip-range=" + ServiceClusterIPRange,
			"--authorization-mode=RBAC",
			// The "kubernetes" Service's endpoints would carry 127.0.0.1,
			// which the API refuses for endpoints.
			"--endpoint-reconciler-type=none",
			"--profiling=false",
			"--v=1",
		}, opts.APIServerFlags...),
	}

	cp.RESTConfig = &rest.Config{
		Host: cp.URL,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   pki.caPEM,
			CertData: pki.adminCertPEM,
			KeyData:  pki.adminKeyPEM,
		},
		QPS:   -1, // tests drive the API harder than a client-side limiter allows
		Burst: -1,
	}
	cp.Kubeconfig = filepath.Join(cp.Dir, "admin.kubeconfig")
	if err := writeKubeconfig(cp.Kubeconfig, cp.URL, pki); err != nil {
		return cp, err
	}
	if cp.readyClient, err = readyClient(pki); err != nil {
		return cp, err
	}

	started := time.Now()
	deadline := started.Add(cp.readyTimeout)
	if err := cp.etcd.start(); err != nil {
		return cp, err
	}
	if err := cp.waitEtcd(deadline); err != nil {
		return cp, err
	}
	if cp.etcdClient, err = clientv3.New(clientv3.Config{
		Endpoints:   []string{etcdClientURL},
		DialTimeout: 5 * time.Second,
		// The client logs every retry; errors reach callers anyway.
		Logger: zap.NewNop(),
	}); err != nil {
		return cp, fmt.Errorf("etcd client: %w", err)
	}
	if err := cp.StartAPIServer(); err != nil {
		return cp, err
	}
	return cp, nil
}

// Stop stops kube-apiserver and etcd, the processes this control plane
// started and no others, and removes the directory New created. It is safe
// to call more than once.
func (c *ControlPlane) Stop() {
	if c.apiserver != nil {
		_ = c.apiserver.stop(15 * time.Second)
	}
	if c.etcdClient != nil {
		_ = c.etcdClient.Close()
		c.etcdClient = nil
	}
	if c.etcd != nil {
		_ = c.etcd.stop(10 * time.Second)
	}
	if c.removeDir {
		_ = os.RemoveAll(c.Dir)
		c.removeDir = false
	}
}

// StopAPIServer stops kube-apiserver gracefully and leaves etcd running, so
// that clients can be tested against an API server that goes away.
func (c *ControlPlane) StopAPIServer() error {
	if err := c.apiserver.stop(15 * time.Second); err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	return nil
}

// StartAPIServer starts kube-apiserver, on the same port and with the same
// certificates as before, and waits until it reports ready.
func (c *ControlPlane) StartAPIServer() error {
	if err := c.apiserver.start(); err != nil {
		return err
	}
	if err := c.waitAPIServer(time.Now().Add(c.readyTimeout)); err != nil {
		// A half-started API server is of no use to a test, and leaving it
		// would make the next StartAPIServer fail as "already running".
		_ = c.apiserver.stop(5 * time.Second)
		return err
	}
	return nil
}

// Logs returns the last n lines of both processes' logs.
func (c *ControlPlane) Logs(n int) string {
	return c.etcd.tail(n) + "\n" + c.apiserver.tail(n)
}

func (c *ControlPlane) waitEtcd(deadline time.Time) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return c.poll(deadline, c.etcd, func() error {
		resp, err := client.Get(c.EtcdURL + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/health: %s", resp.Status)
		}
		return nil
	})
}

func (c *ControlPlane) waitAPIServer(deadline time.Time) error {
	return c.poll(deadline, c.apiserver, func() error {
		resp, err := c.readyClient.Get(c.URL + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	})
}

// poll calls ready until it succeeds, p exits, or deadline passes. Its error
// carries the end of both logs, which is where the reason usually is.
func (c *ControlPlane) poll(deadline time.Time, p *process, ready func() error) error {
	const logLines = 40
	var last error
	for {
		if last = ready(); last == nil {
			return nil
		}
		if err := p.exitErr(); err != nil {
			return fmt.Errorf("%w before it was ready (last check: %v)\n%s", err, last, c.Logs(logLines))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w\n%s", p.name, c.readyTimeout, last, c.Logs(logLines))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// DefaultBinDir is where build.sh puts the binaries.
func DefaultBinDir() (string, error) {
	cache := os.Getenv("SLUICE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("binary directory: %w", err)
		}
		cache = filepath.Join(home, ".cache", "sluice")
	}
	return filepath.Join(cache, "controlplane", KubernetesVersion), nil
}

func binDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return DefaultBinDir()
}

// buildCommand names build.sh by its absolute path when the repository can
// be found from the working directory, so the message can be pasted as is.
func buildCommand() string {
	if root, err := repoRoot(); err == nil {
		return filepath.Join(root, BuildScript)
	}
	return BuildScript + " (from the repository root)"
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, BuildScript)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found above the working directory")
		}
		dir = parent
	}
}

// freePorts reserves n distinct loopback ports by listening on them all at
// once, then releases them for the processes to bind. Another process could
// take one in between; on a test machine that is rare enough to accept.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a loopback port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func readyClient(p *pki) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.caPEM) {
		return nil, errors.New("CA certificate does not parse")
	}
	cert, err := tls.X509KeyPair(p.adminCertPEM, p.adminKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("admin key pair: %w", err)
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
		},
	}, nil
}

func writeKubeconfig(path, server string, p *pki) error {
	const name = "sluice-test"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos[adminUser] = &clientcmdapi.AuthInfo{ClientCertificateData: p.adminCertPEM, ClientKeyData: p.adminKeyPEM}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: adminUser}
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

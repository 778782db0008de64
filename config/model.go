package config

import (
	"net"
	"strconv"
	"time"
)

// Config is a whole routing configuration: the output of the parser, the
// output of the Kubernetes translation, and the input of the dataplane's
// compiler. Defaults sections are already folded into every proxy, so each
// Frontend and Backend carries its complete, effective settings.
type Config struct {
	Global    Global
	Frontends []*Frontend
	Backends  []*Backend
	// Certificates are certificates held in memory, by name, for
	// configurations built in code: a bind names one with `crt @NAME`. The
	// Kubernetes translation makes one per TLS Secret. A configuration file
	// cannot define them, so the printer writes only the references.
	Certificates map[string]*Certificate
}

// Certificate is a certificate chain and its private key, in PEM. Like
// backends, a Certificate is compared by pointer across reloads: the same
// pointer means the same content, and its parsed form is reused.
type Certificate struct {
	CertPEM []byte
	KeyPEM  []byte
}

// CertRefPrefix starts a crt argument that names Config.Certificates
// instead of a file: `crt @default/example-tls`.
const CertRefPrefix = "@"

// CertRef returns the in-memory certificate name a crt argument refers to.
func CertRef(crt string) (name string, ok bool) {
	if len(crt) > len(CertRefPrefix) && crt[:len(CertRefPrefix)] == CertRefPrefix {
		return crt[len(CertRefPrefix):], true
	}
	return "", false
}

// Pos is where a statement was written. The zero Pos means the object was
// built in code (for example by the Kubernetes translation).
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.File == "" && p.Line == 0 {
		return ""
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Global holds process-wide settings.
type Global struct {
	Pos Pos
	// MaxConn bounds the number of concurrent client connections across all
	// frontends; 0 means no limit.
	MaxConn int
}

// Mode selects the engine a proxy runs on.
type Mode int

const (
	ModeHTTP Mode = iota // the zero value, as `mode http` is what most configs mean
	ModeTCP
)

// Timeouts are HAProxy's `timeout` family. A zero value means "not set"; the
// dataplane then applies its own default (documented in the README).
type Timeouts struct {
	Connect       time.Duration
	Client        time.Duration
	Server        time.Duration
	HTTPRequest   time.Duration
	HTTPKeepAlive time.Duration
	Queue         time.Duration
	Tunnel        time.Duration
	Check         time.Duration
}

// Options are the `option` switches shared by frontends and backends.
type Options struct {
	ForwardFor      bool // option forwardfor: add X-Forwarded-For/-Proto/-Host
	HTTPServerClose bool // option http-server-close: no keep-alive towards servers
	Redispatch      bool // option redispatch: a retry may go to another server
	HTTPLog         bool // option httplog (access log format)
	TCPLog          bool // option tcplog
}

// Bind is one listening address of a frontend.
type Bind struct {
	Pos Pos
	// Host is an IP literal, or "" for every address (written `*` or empty).
	Host string
	Port int
	// TLS terminates TLS on this address; nil means plain TCP.
	TLS *BindTLS
}

// Addr returns the address in the form net.Listen expects.
func (b Bind) Addr() string { return net.JoinHostPort(b.Host, strconv.Itoa(b.Port)) }

// BindTLS is the TLS part of a bind line: `ssl crt CERT [crt CERT...]
// [alpn LIST]`. As in HAProxy, the certificate whose names (subject
// alternative names, else common name) match the client's SNI is
// presented, the first one listed when none does or the client sends no
// SNI; an earlier certificate wins a name two of them share.
type BindTLS struct {
	// Certificates are the crt arguments in order: a PEM file holding a
	// chain and its key (or the key in FILE.key beside it), a directory of
	// such files, or @NAME for Config.Certificates[NAME].
	Certificates []string
	// ALPN lists the protocols offered in TLS; only http/1.1 is spoken
	// (mode http), and nil offers it alone.
	ALPN []string
}

// Frontend is a `frontend` (or the front half of a `listen`).
type Frontend struct {
	Pos      Pos
	Name     string
	Mode     Mode
	Binds    []Bind
	ACLs     []ACL
	Timeouts Timeouts
	Options  Options
	MaxConn  int

	HTTPRequest  []HTTPRequestRule
	HTTPResponse []HTTPResponseRule
	// UseBackends are evaluated in order; the first whose condition holds wins.
	UseBackends    []UseBackend
	DefaultBackend string
}

// Backend is a `backend` (or the back half of a `listen`).
type Backend struct {
	Pos      Pos
	Name     string
	Mode     Mode
	Balance  Balance
	Servers  []Server
	Cookie   *Cookie // nil: no cookie persistence
	Check    HTTPCheck
	Timeouts Timeouts
	Options  Options
	Retries  int // retries on connect failure; HAProxy's default is 3
	// DynamicCookieKey is the secret behind `cookie ... dynamic` values
	// (`dynamic-cookie-key`).
	DynamicCookieKey string
	ACLs             []ACL

	HTTPRequest  []HTTPRequestRule
	HTTPResponse []HTTPResponseRule
}

// BalanceAlgorithm names a `balance` algorithm.
type BalanceAlgorithm int

const (
	BalanceRoundRobin BalanceAlgorithm = iota // roundrobin (default)
	BalanceStaticRR                           // static-rr
	BalanceLeastConn                          // leastconn
	BalanceFirst                              // first
	BalanceSource                             // source
	BalanceURI                                // uri
	BalanceURLParam                           // url_param NAME
	BalanceHdr                                // hdr(NAME)
	BalanceRandom                             // random
)

// Balance is a backend's `balance` line.
type Balance struct {
	Algorithm BalanceAlgorithm
	// Param is the url_param name or the header name of hdr(NAME).
	Param string
}

// Server is one `server` line.
type Server struct {
	Pos      Pos
	Name     string
	Host     string // IP literal or DNS name
	Port     int
	Weight   int // 0..256; HAProxy's default is 1
	Check    bool
	Inter    time.Duration // check interval; default 2s
	Rise     int           // default 2
	Fall     int           // default 3
	Cookie   string        // value for cookie persistence
	Backup   bool
	Disabled bool
	MaxConn  int // 0: no limit
	// CheckPort, when set, sends health checks to this port instead of Port.
	CheckPort int
}

// Addr returns host:port.
func (s Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// CookieMode is the way a persistence cookie is handled.
type CookieMode int

const (
	CookieInsert  CookieMode = iota // insert: the proxy adds its own cookie
	CookieRewrite                   // rewrite: the server sets it, the proxy rewrites its value
	CookiePrefix                    // prefix: the proxy prefixes the server's own cookie
)

// Cookie is a backend's `cookie` line.
type Cookie struct {
	Pos      Pos
	Name     string
	Mode     CookieMode
	Indirect bool
	NoCache  bool
	Preserve bool
	HTTPOnly bool
	Secure   bool
	Dynamic  bool
	Domains  []string
	MaxIdle  time.Duration
	MaxLife  time.Duration
	// Attrs are extra attributes appended verbatim to an inserted cookie
	// (`attr "SameSite=Strict"`). An Attr starting with "Path=" replaces the
	// default path=/.
	Attrs []string
}

// HTTPCheck is `option httpchk` and its `http-check expect`.
type HTTPCheck struct {
	Enabled bool   // option httpchk
	Method  string // default OPTIONS
	URI     string // default /
	// Version is the HTTP version of the check request, "HTTP/1.0" or
	// "HTTP/1.1"; "" means HTTP/1.0, HAProxy's default.
	Version string
	// Host is the Host header of the check request; "" sends none. It comes
	// from HAProxy's `option httpchk GET / "HTTP/1.1\r\nHost: example.com"` idiom.
	Host string
	// ExpectStatus is the status a healthy server answers; 0 means any 2xx or 3xx.
	ExpectStatus int
}

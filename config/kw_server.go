package config

import (
	"fmt"
	"strings"
	"time"
)

// HAProxy's defaults for server health checks.
const (
	defaultInter = 2 * time.Second
	defaultRise  = 2
	defaultFall  = 3
	maxWeight    = 256
)

// NewServer returns a server with HAProxy's defaults (weight 1, inter 2s,
// rise 2, fall 3), as the parser would build it from `server NAME HOST:PORT`.
// Configurations built in code should start from it.
func NewServer(name, host string, port int) Server {
	return Server{Name: name, Host: host, Port: port, Weight: 1, Inter: defaultInter, Rise: defaultRise, Fall: defaultFall}
}

var serverKeywords = []keyword{
	{inBackend | inListen, "server", parseServer},
	{beSide, "default-server", parseDefaultServer},
}

// knownServerOptions are HAProxy server options that sluice does not
// implement; anything else is a typo.
var knownServerOptions = map[string]bool{
	"addr": true, "agent-addr": true, "agent-check": true, "agent-inter": true,
	"agent-port": true, "agent-send": true, "allow-0rtt": true, "alpn": true,
	"ca-file": true, "check-alpn": true, "check-proto": true, "check-send-proxy": true,
	"check-sni": true, "check-ssl": true, "check-via-socks4": true, "check-reuse-pool": true,
	"check-pool-conn-name": true, "ciphers": true, "ciphersuites": true,
	"client-sigalgs": true, "crl-file": true, "crt": true, "curves": true,
	"downinter": true, "error-limit": true, "fastinter": true, "force-sslv3": true,
	"force-tlsv10": true, "force-tlsv11": true, "force-tlsv12": true, "force-tlsv13": true,
	"guid": true, "hash-key": true, "id": true, "init-addr": true, "init-state": true,
	"log-bufsize": true, "log-proto": true, "max-reuse": true, "maxqueue": true,
	"minconn": true, "namespace": true, "no-check-ssl": true, "no-send-proxy": true,
	"no-send-proxy-v2": true, "no-ssl": true, "no-ssl-reuse": true, "no-sslv3": true,
	"no-tls-tickets": true, "no-tlsv10": true, "no-tlsv11": true, "no-tlsv12": true,
	"no-tlsv13": true, "no-verifyhost": true, "non-stick": true, "npn": true,
	"observe": true, "on-error": true, "on-marked-down": true, "on-marked-up": true,
	"pool-conn-name": true, "pool-low-conn": true, "pool-max-conn": true,
	"pool-purge-delay": true, "proto": true, "proxy-v2-options": true, "redir": true,
	"resolve-net": true, "resolve-opts": true, "resolve-prefer": true, "resolvers": true,
	"send-proxy": true, "send-proxy-v2": true, "send-proxy-v2-ssl": true,
	"send-proxy-v2-ssl-cn": true, "set-proxy-v2-tlv-fmt": true, "shard": true,
	"sigalgs": true, "slowstart": true, "sni": true, "socks4": true, "source": true,
	"ssl": true, "ssl-max-ver": true, "ssl-min-ver": true, "ssl-reuse": true,
	"stick": true, "strict-maxconn": true, "tcp-ut": true, "tfo": true,
	"tls-tickets": true, "track": true, "usesrc": true, "verify": true,
	"verifyhost": true, "ws": true,
}

func parseServer(_ *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) < 2 {
		return fmt.Errorf("expects a name and an address: server NAME HOST:PORT [options]")
	}
	srv := *s.server
	srv.Pos, srv.Name = st.pos, args[0]
	if !validName(srv.Name) {
		return fmt.Errorf("invalid server name %q: use letters, digits, '-', '_', '.' and ':'", srv.Name)
	}
	host, port, err := parseServerAddr(args[1])
	if err != nil {
		return fmt.Errorf("server %q: %w", srv.Name, err)
	}
	srv.Host, srv.Port = host, port
	if err := parseServerOptions(&srv, args[2:], false); err != nil {
		return fmt.Errorf("server %q: %w", srv.Name, err)
	}
	s.be.Servers = append(s.be.Servers, srv)
	return nil
}

func parseDefaultServer(_ *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) == 0 {
		return fmt.Errorf("expects server options")
	}
	next := *s.server
	if err := parseServerOptions(&next, args, true); err != nil {
		return err
	}
	*s.server = next
	return nil
}

// parseServerAddr reads HOST:PORT, where HOST is an IP literal (IPv6 with
// or without brackets) or a DNS name.
func parseServerAddr(a string) (string, int, error) {
	if at := strings.Index(a, "@"); at >= 0 {
		switch prefix := a[:at]; prefix {
		case "ipv4", "ipv6", "tcp", "tcp4", "tcp6":
			a = a[at+1:]
		default:
			return "", 0, fmt.Errorf("address family %q is not supported by sluice", prefix+"@")
		}
	}
	if strings.HasPrefix(a, "/") {
		return "", 0, fmt.Errorf("UNIX socket %q is not supported by sluice", a)
	}
	host, port, err := splitHostPort(a)
	if err != nil {
		return "", 0, err
	}
	if port == "" {
		return "", 0, fmt.Errorf("missing port in address %q (forwarding to the client's destination port is not supported)", a)
	}
	if strings.HasPrefix(port, "+") || strings.HasPrefix(port, "-") {
		return "", 0, fmt.Errorf("port offsets are not supported by sluice (in %q)", a)
	}
	n, err := parsePort(port)
	if err != nil {
		return "", 0, err
	}
	if err := checkHost(host); err != nil {
		return "", 0, err
	}
	return host, n, nil
}

// parseServerOptions applies `server` and `default-server` options to srv.
func parseServerOptions(srv *Server, args []string, isDefault bool) error {
	for i := 0; i < len(args); i++ {
		opt := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("option %q needs a value", opt)
			}
			i++
			return args[i], nil
		}
		switch opt {
		case "check":
			srv.Check = true
		case "no-check":
			srv.Check = false
		case "backup":
			srv.Backup = true
		case "no-backup":
			srv.Backup = false
		case "disabled":
			srv.Disabled = true
		case "enabled":
			srv.Disabled = false
		case "weight", "rise", "fall", "maxconn", "port":
			v, err := value()
			if err != nil {
				return err
			}
			if err := setServerNumber(srv, opt, v); err != nil {
				return err
			}
		case "inter":
			v, err := value()
			if err != nil {
				return err
			}
			d, err := ParseDuration(v)
			if err != nil {
				return fmt.Errorf("inter: %w", err)
			}
			if d <= 0 {
				return fmt.Errorf("inter must be greater than 0")
			}
			srv.Inter = d
		case "cookie":
			if isDefault {
				return fmt.Errorf("option \"cookie\" cannot be set on default-server: each server needs its own value")
			}
			v, err := value()
			if err != nil {
				return err
			}
			if err := checkCookieValue(v); err != nil {
				return err
			}
			srv.Cookie = v
		default:
			if knownServerOptions[opt] {
				return fmt.Errorf("server option %q is not supported by sluice", opt)
			}
			return fmt.Errorf("unknown server option %q", opt)
		}
	}
	return nil
}

func setServerNumber(srv *Server, opt, v string) error {
	n, err := parseCount(v)
	if err != nil {
		return fmt.Errorf("%s: %w", opt, err)
	}
	switch opt {
	case "weight":
		if n > maxWeight {
			return fmt.Errorf("weight %d is out of range 0..%d", n, maxWeight)
		}
		srv.Weight = n
	case "rise", "fall":
		if n < 1 {
			return fmt.Errorf("%s must be at least 1", opt)
		}
		if opt == "rise" {
			srv.Rise = n
		} else {
			srv.Fall = n
		}
	case "maxconn":
		srv.MaxConn = n
	case "port":
		if n < 1 || n > 65535 {
			return fmt.Errorf("port %d is out of range 1..65535", n)
		}
		srv.CheckPort = n
	}
	return nil
}

// checkCookieValue rejects what cannot appear in a cookie value.
func checkCookieValue(v string) error {
	if v == "" {
		return fmt.Errorf("empty cookie value")
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return fmt.Errorf("invalid character %q in cookie value %q", c, v)
		}
	}
	return nil
}

package config

import (
	"fmt"
	"net/netip"
	"strings"
)

var bindKeywords = []keyword{
	{inFrontend | inListen, "bind", parseBind},
}

// knownBindOptions are HAProxy bind options that sluice does not implement;
// anything else is a typo.
var knownBindOptions = map[string]bool{
	"name": true, "accept-netscaler-cip": true, "accept-proxy": true, "allow-0rtt": true,
	"backlog": true, "ca-file": true, "ca-ignore-err": true, "ca-sign-file": true,
	"ca-sign-pass": true, "ca-verify-file": true, "ciphers": true, "ciphersuites": true,
	"client-sigalgs": true, "crl-file": true, "crt-ignore-err": true, "crt-list": true,
	"curves": true, "defer-accept": true, "ecdhe": true, "expose-fd": true,
	"force-sslv3": true, "force-tlsv10": true, "force-tlsv11": true, "force-tlsv12": true,
	"force-tlsv13": true, "generate-certificates": true, "gid": true, "group": true,
	"guid-prefix": true, "id": true, "idle-ping": true, "interface": true, "ktls": true,
	"label": true, "level": true, "maxconn": true, "mode": true, "mss": true,
	"namespace": true, "nbconn": true, "nice": true, "no-alpn": true, "no-ca-names": true,
	"no-sslv3": true, "no-tls-tickets": true, "no-tlsv10": true, "no-tlsv11": true,
	"no-tlsv12": true, "no-tlsv13": true, "npn": true, "prefer-client-ciphers": true,
	"process": true, "proto": true, "quic-cc-algo": true, "quic-force-retry": true,
	"quic-socket": true, "severity-output": true, "shards": true, "sigalgs": true,
	"ssl-max-ver": true, "ssl-min-ver": true, "strict-sni": true, "tcp-ut": true,
	"tfo": true, "thread": true, "tls-ticket-keys": true, "transparent": true,
	"uid": true, "user": true, "v4v6": true, "v6only": true, "verify": true,
	"default-crt": true, "ocsp-update": true,
}

func parseBind(_ *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) == 0 {
		return fmt.Errorf("missing address")
	}
	binds, err := parseBindAddrs(args[0])
	if err != nil {
		return err
	}
	tls, err := parseBindOptions(args[1:])
	if err != nil {
		return err
	}
	for _, b := range binds {
		b.Pos = st.pos
		if tls != nil {
			b.TLS = &BindTLS{
				Certificates: append([]string(nil), tls.Certificates...),
				ALPN:         append([]string(nil), tls.ALPN...),
			}
			if len(b.TLS.ALPN) == 0 {
				b.TLS.ALPN = nil
			}
		}
		s.fe.Binds = append(s.fe.Binds, b)
	}
	return nil
}

// parseBindOptions reads the TLS options sluice implements: `ssl`, `crt FILE`
// (several allowed) and `alpn LIST`.
func parseBindOptions(args []string) (*BindTLS, error) {
	var (
		ssl  bool
		tls  BindTLS
		alpn bool
	)
	for i := 0; i < len(args); i++ {
		switch opt := args[i]; opt {
		case "ssl":
			ssl = true
		case "crt", "alpn":
			if i+1 >= len(args) || args[i+1] == "" {
				return nil, fmt.Errorf("bind option %q needs a value", opt)
			}
			i++
			if opt == "crt" {
				if _, ok := CertRef(args[i]); ok {
					return nil, fmt.Errorf("crt %q: certificates in memory (@NAME) only come from configurations built in code; crt-store sections are not supported by sluice", args[i])
				}
				tls.Certificates = append(tls.Certificates, args[i])
				continue
			}
			if alpn {
				return nil, fmt.Errorf("bind option \"alpn\" given twice")
			}
			alpn = true
			for _, proto := range strings.Split(args[i], ",") {
				if proto == "" {
					return nil, fmt.Errorf("empty protocol in alpn list %q", args[i])
				}
				tls.ALPN = append(tls.ALPN, proto)
			}
		default:
			if knownBindOptions[opt] {
				return nil, fmt.Errorf("bind option %q is not supported by sluice", opt)
			}
			return nil, fmt.Errorf("unknown bind option %q", opt)
		}
	}
	switch {
	case !ssl && len(tls.Certificates) > 0:
		return nil, fmt.Errorf("bind option \"crt\" needs \"ssl\" on the same line")
	case !ssl && alpn:
		return nil, fmt.Errorf("bind option \"alpn\" needs \"ssl\" on the same line (ALPN is negotiated in TLS)")
	case ssl && len(tls.Certificates) == 0:
		return nil, fmt.Errorf("bind option \"ssl\" needs at least one \"crt FILE\"")
	case !ssl:
		return nil, nil
	}
	return &tls, nil
}

// parseBindAddrs reads a bind address list: ADDR:PORT[,ADDR:PORT...], where
// ADDR is empty or * for every address, an IPv4 literal, or an IPv6 literal
// with or without brackets. The ipv4@ and ipv6@ prefixes restrict an empty
// address to one family.
func parseBindAddrs(list string) ([]Bind, error) {
	var binds []Bind
	for _, a := range strings.Split(list, ",") {
		b, err := parseBindAddr(a)
		if err != nil {
			return nil, err
		}
		binds = append(binds, b)
	}
	return binds, nil
}

func parseBindAddr(a string) (Bind, error) {
	family := ""
	if at := strings.Index(a, "@"); at >= 0 {
		switch prefix := a[:at]; prefix {
		case "ipv4", "tcp4":
			family = "4"
		case "ipv6", "tcp6":
			family = "6"
		case "tcp":
		default:
			return Bind{}, fmt.Errorf("address family %q is not supported by sluice (in %q)", prefix+"@", a)
		}
		a = a[at+1:]
	}
	if strings.HasPrefix(a, "/") {
		return Bind{}, fmt.Errorf("UNIX socket %q is not supported by sluice", a)
	}
	host, port, err := splitHostPort(a)
	if err != nil {
		return Bind{}, err
	}
	if port == "" {
		return Bind{}, fmt.Errorf("missing port in bind address %q", a)
	}
	if strings.Contains(port, "-") {
		return Bind{}, fmt.Errorf("port ranges are not supported by sluice (in %q)", a)
	}
	n, err := parsePort(port)
	if err != nil {
		return Bind{}, err
	}
	if host == "*" {
		host = ""
	}
	if host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.Zone() != "" {
			return Bind{}, fmt.Errorf("bind address %q is not an IP address (host names are not resolved)", host)
		}
		if family == "4" && !ip.Is4() || family == "6" && !ip.Is6() {
			return Bind{}, fmt.Errorf("address %q does not belong to the requested family", a)
		}
		host = ip.String()
	} else if family == "4" {
		host = "0.0.0.0"
	} else if family == "6" {
		host = "::"
	}
	return Bind{Host: host, Port: n}, nil
}

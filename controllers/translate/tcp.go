package translate

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"sluice.dev/sluice/config"
)

// tcpService is one entry of the TCP services ConfigMap.
type tcpService struct {
	port   int // the port to listen on
	target servicePort
}

// errProxyProtocol marks the :PROXY suffixes, refused with their own reason.
var errProxyProtocol = errors.New("the PROXY protocol is not supported yet")

// tcpFrontends serves the TCP services ConfigMap, ingress-nginx's format:
// each key is a port to listen on, each value "NAMESPACE/SERVICE:PORT" (PORT
// a number or a port name of the Service). Every entry becomes a mode tcp
// frontend on Options.TCPBindAddress with a backend of its own; a bad entry
// is reported and skipped.
func (t *translator) tcpFrontends() []*config.Frontend {
	key := t.opts.TCPServicesConfigMap
	if key.Name == "" {
		return nil
	}
	cm := t.snap.ConfigMaps[key]
	if cm == nil {
		return nil
	}
	ref := refOf("ConfigMap", cm)
	httpBind, httpErr := parseHostPort(t.opts.HTTPAddr)
	// The HTTPS port is kept even while there is no certificate to serve
	// it with, so that a TCP service cannot take it and lose it later.
	httpsBind, httpsErr := parseHostPort(t.opts.HTTPSAddr)

	var services []tcpService
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		svc, err := parseTCPService(k, cm.Data[k])
		switch {
		case errors.Is(err, errProxyProtocol):
			t.events.warn(ref, ReasonProxyProtocol, "key %q: %v; entry ignored", k, err)
			continue
		case err != nil:
			t.events.warn(ref, ReasonInvalidTCPService, "key %q: %v; entry ignored", k, err)
			continue
		}
		if httpErr == nil && svc.port == httpBind.Port && overlap(httpBind.Host, t.opts.TCPBindAddress) {
			t.events.warn(ref, ReasonPortConflict, "key %q: port %d is the HTTP port; entry ignored", k, svc.port)
			continue
		}
		if httpsErr == nil && svc.port == httpsBind.Port && overlap(httpsBind.Host, t.opts.TCPBindAddress) {
			t.events.warn(ref, ReasonPortConflict, "key %q: port %d is the HTTPS port; entry ignored", k, svc.port)
			continue
		}
		services = append(services, svc)
	}
	slices.SortFunc(services, func(a, b tcpService) int { return cmp.Compare(a.port, b.port) })

	var out []*config.Frontend
	for _, svc := range services {
		servers, prob := t.resolve(svc.target)
		if prob != nil {
			t.events.warn(ref, prob.reason, "key %q: %s; connections to port %d are closed", strconv.Itoa(svc.port), prob.message, svc.port)
		}
		name := fmt.Sprintf("tcp_%d", svc.port)
		// Five '_'-separated parts: no HTTP backend name has that many.
		backend, _ := t.tcpBackend(fmt.Sprintf("%s_%s_%s_%s", name, svc.target.namespace, svc.target.service, svc.target.port), svc.target, servers)
		out = append(out, &config.Frontend{
			Name:           name,
			Mode:           config.ModeTCP,
			Binds:          []config.Bind{{Host: t.opts.TCPBindAddress, Port: svc.port}},
			DefaultBackend: backend.Name,
		})
	}
	return out
}

// parseTCPService reads one ConfigMap entry: key "9000", value
// "ns/svc:port", optionally followed by ":PROXY" (decode) and ":PROXY"
// (encode), either possibly empty.
func parseTCPService(key, value string) (tcpService, error) {
	port, err := strconv.Atoi(key)
	if err != nil || port < 1 || port > 65535 || strconv.Itoa(port) != key {
		return tcpService{}, errors.New("the key must be a port number between 1 and 65535")
	}
	fields := strings.Split(strings.TrimSpace(value), ":")
	if len(fields) < 2 || len(fields) > 4 {
		return tcpService{}, fmt.Errorf("value %q is not NAMESPACE/SERVICE:PORT", value)
	}
	for _, f := range fields[2:] {
		switch f {
		case "":
		case "PROXY":
			return tcpService{}, errProxyProtocol
		default:
			return tcpService{}, fmt.Errorf("value %q: %q is not PROXY", value, f)
		}
	}
	ns, svc, ok := strings.Cut(fields[0], "/")
	if !ok {
		return tcpService{}, fmt.Errorf("value %q is not NAMESPACE/SERVICE:PORT", value)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return tcpService{}, fmt.Errorf("namespace %q: %s", ns, errs[0])
	}
	if errs := validation.IsDNS1035Label(svc); len(errs) > 0 {
		return tcpService{}, fmt.Errorf("service %q: %s", svc, errs[0])
	}
	sp := fields[1]
	if n, err := strconv.Atoi(sp); err == nil {
		if n < 1 || n > 65535 || strconv.Itoa(n) != sp {
			return tcpService{}, fmt.Errorf("service port %q is not between 1 and 65535", sp)
		}
	} else if errs := validation.IsValidPortName(sp); len(errs) > 0 {
		return tcpService{}, fmt.Errorf("service port %q: %s", sp, errs[0])
	}
	return tcpService{port: port, target: servicePort{namespace: ns, service: svc, port: sp}}, nil
}

// overlap reports whether listeners on hosts a and b (IP literals, "" for
// every address) would fight over one port.
func overlap(a, b string) bool {
	if a == "" || b == "" || a == b {
		return true
	}
	aa, errA := netip.ParseAddr(a)
	ba, errB := netip.ParseAddr(b)
	if errA != nil || errB != nil {
		return false
	}
	return aa.IsUnspecified() || ba.IsUnspecified() || aa == ba
}

package translate

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"sluice.dev/sluice/config"
)

// servicePort is a reference to one port of a Service, the port written as
// in the reference (a number or a port name).
type servicePort struct {
	namespace, service, port string
}

// backendFamily is every backend built for one Service port in one
// translation: the first, with the plain name, and those of other settings.
type backendFamily struct {
	first     backendSettings
	firstName string
	// more maps each other set of backend settings to its backend.
	more map[backendSettings]string
}

// backendName names the backend for a Service port and a set of settings.
//
// The first Ingress (the oldest) to route to a Service port gets the plain
// name NAMESPACE_SERVICE_PORT. An Ingress whose annotations ask for other
// settings (affinity, balance, timeouts) cannot share that backend, so it
// gets NAMESPACE_SERVICE_PORT_INGRESS, shared in turn by later Ingresses with
// the same settings. The plain name thus stays put while Ingresses come and
// go, and with it the dataplane's health state and pooled connections.
// Kubernetes names never contain '_', so these names cannot collide with each
// other or with the backends Translate creates itself.
func (t *translator) backendName(sp servicePort, e *memoResolved, bs backendSettings, ingress string) string {
	f := &e.fam
	if e.famGen != t.memo.gen {
		e.famGen = t.memo.gen
		if f.firstName == "" {
			f.firstName = sp.namespace + "_" + sp.service + "_" + sp.port
		}
		f.first, f.more = bs, nil
		return f.firstName
	}
	if bs == f.first {
		return f.firstName
	}
	if name, ok := f.more[bs]; ok {
		return name
	}
	if f.more == nil {
		f.more = map[backendSettings]string{}
	}
	name := f.firstName + "_" + ingress
	f.more[bs] = name
	return name
}

type problem struct {
	reason, message string
}

// resolved is what resolve found for one Service port.
type resolved struct {
	servers []config.Server
	prob    *problem
}

func (t *translator) lookup(sp servicePort) ([]config.Server, *problem) {
	key := types.NamespacedName{Namespace: sp.namespace, Name: sp.service}
	svc := t.snap.Services[key]
	if svc == nil {
		return nil, &problem{ReasonServiceNotFound, fmt.Sprintf("Service %s not found", key)}
	}

	var port *corev1.ServicePort
	number, byNumber := 0, false
	if n, err := strconv.Atoi(sp.port); err == nil {
		number, byNumber = n, true
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (byNumber && int(p.Port) == number) || (!byNumber && p.Name == sp.port) {
			port = p
			break
		}
	}

	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		// An ExternalName Service often lists no ports: a number is then
		// taken as the port of the external name itself.
		switch {
		case port != nil:
			number = int(port.Port)
		case !byNumber:
			return nil, &problem{ReasonServicePortNotFound, fmt.Sprintf("Service %s has no port named %s", key, sp.port)}
		}
		if !validHost(svc.Spec.ExternalName) {
			return nil, &problem{ReasonServiceNotFound, fmt.Sprintf("ExternalName Service %s has no valid spec.externalName", key)}
		}
		return []config.Server{newServer(svc.Spec.ExternalName, number)}, nil
	}

	if port == nil {
		return nil, &problem{ReasonServicePortNotFound, fmt.Sprintf("Service %s has no port %s", key, sp.port)}
	}
	if port.Protocol != "" && port.Protocol != corev1.ProtocolTCP {
		return nil, &problem{ReasonServicePortNotFound, fmt.Sprintf("port %s of Service %s is %s, not TCP", sp.port, key, port.Protocol)}
	}

	// EndpointSlices name their ports after the Service's ports and carry
	// the resolved target port, so a named targetPort needs no Pod lookup.
	var servers []config.Server
	seen := map[string]bool{}
	for _, es := range t.slices[key] {
		if es.AddressType == discoveryv1.AddressTypeIPv4 || es.AddressType == discoveryv1.AddressTypeIPv6 || es.AddressType == discoveryv1.AddressTypeFQDN {
			target := slicePort(es, port.Name)
			if target == 0 {
				continue
			}
			for _, ep := range es.Endpoints {
				if !ready(ep) || len(ep.Addresses) == 0 || !validAddress(es.AddressType, ep.Addresses[0]) {
					continue
				}
				// The addresses of one endpoint are fungible; the
				// API lets consumers use the first one only.
				s := newServer(ep.Addresses[0], target)
				if !seen[s.Name] {
					seen[s.Name] = true
					servers = append(servers, s)
				}
			}
		}
	}
	slices.SortFunc(servers, compareServers)
	return servers, nil
}

// slicePort is the target port of the Service port named name in one
// EndpointSlice, or 0 if the slice does not carry it.
func slicePort(es *discoveryv1.EndpointSlice, name string) int {
	for _, p := range es.Ports {
		pname := ""
		if p.Name != nil {
			pname = *p.Name
		}
		if pname != name || p.Port == nil {
			continue
		}
		if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
			continue
		}
		if *p.Port > 0 && *p.Port <= 65535 {
			return int(*p.Port)
		}
	}
	return 0
}

// validAddress and validHost guard the config against an address the API
// server should have refused: one bad endpoint must not invalidate everyone's
// routes.
func validAddress(t discoveryv1.AddressType, h string) bool {
	if t == discoveryv1.AddressTypeFQDN {
		return validHost(h)
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Zone() == "" && a.Is4() == (t == discoveryv1.AddressTypeIPv4)
}

func validHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	return len(validation.IsDNS1123Subdomain(strings.TrimSuffix(h, "."))) == 0
}

// ready is the EndpointSlice notion of an endpoint that takes new traffic:
// ready unknown counts as ready, terminating never does.
func ready(ep discoveryv1.Endpoint) bool {
	c := ep.Conditions
	return (c.Ready == nil || *c.Ready) && (c.Terminating == nil || !*c.Terminating)
}

// newServer builds a server named after its address, so the name of an
// endpoint, and the dataplane state attached to it, survive every update
// that does not replace the endpoint itself.
func newServer(host string, port int) config.Server {
	return config.NewServer(serverName(host, port), host, port)
}

// serverName is host:port, without the brackets of an IPv6 address so the
// name stays within the characters config names allow. The port is what
// follows the last colon, so the name is still unique.
func serverName(host string, port int) string {
	return host + ":" + strconv.Itoa(port)
}

// compareServers sorts by address (numerically for IPs), then by port.
func compareServers(a, b config.Server) int {
	aa, errA := netip.ParseAddr(a.Host)
	ba, errB := netip.ParseAddr(b.Host)
	if errA == nil && errB == nil {
		return cmp.Or(aa.Compare(ba), cmp.Compare(a.Port, b.Port))
	}
	return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Port, b.Port))
}

// cookieValue is a server's persistence cookie: a short hash of its address,
// so a client stays with its endpoint whatever other endpoints come and go.
func cookieValue(s config.Server) string {
	sum := sha256.Sum256([]byte(net.JoinHostPort(s.Host, strconv.Itoa(s.Port))))
	return hex.EncodeToString(sum[:6])
}

// setCookies gives every server its cookie value. Two servers of a backend
// sharing 48 bits of hash is unlikely but not impossible; the later one
// (in server order) then takes the whole hash.
func setCookies(servers []config.Server) {
	used := map[string]bool{}
	for i := range servers {
		v := cookieValue(servers[i])
		if used[v] {
			sum := sha256.Sum256([]byte(net.JoinHostPort(servers[i].Host, strconv.Itoa(servers[i].Port))))
			v = hex.EncodeToString(sum[:])
		}
		used[v] = true
		servers[i].Cookie = v
	}
}

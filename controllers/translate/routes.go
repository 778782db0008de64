package translate

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"sluice.dev/sluice/config"
)

// hostKind orders hosts by precedence: an exact host beats a wildcard, which
// beats a rule without host.
type hostKind int

const (
	hostExact hostKind = iota
	hostWildcard
	hostAny
)

// hostMatch is the host part of an Ingress rule, lowercased.
type hostMatch struct {
	kind hostKind
	name string // "foo.com", "*.foo.com", or "" for any host
}

func (h hostMatch) String() string {
	if h.kind == hostAny {
		return "any host"
	}
	return "host " + h.name
}

// pathKind orders paths of equal length: Exact beats Prefix beats a regular
// expression.
type pathKind int

const (
	pathExact pathKind = iota
	pathPrefix
	pathRegex
)

func (k pathKind) String() string {
	switch k {
	case pathExact:
		return "Exact"
	case pathPrefix:
		return "Prefix"
	default:
		return "regex"
	}
}

// pathMatch is the path part of an Ingress rule in normal form.
type pathMatch struct {
	kind pathKind
	// value is the exact path; the prefix without trailing slashes ("" for
	// "/", which matches every path); or the anchored regular expression.
	value string
}

// routeKey is what two Ingresses must not both claim.
type routeKey struct {
	host hostMatch
	path pathMatch
}

func (k routeKey) String() string {
	v := k.path.value
	if k.path.kind == pathPrefix && v == "" {
		v = "/"
	}
	return fmt.Sprintf("%s path %s (%s)", k.host, v, k.path.kind)
}

// parseHost reads an Ingress rule host: a DNS name, or "*." and a DNS name.
func parseHost(h string) (hostMatch, error) {
	if h == "" {
		return hostMatch{kind: hostAny}, nil
	}
	h = strings.ToLower(h)
	name, kind := h, hostExact
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		name, kind = rest, hostWildcard
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return hostMatch{}, errors.New(errs[0])
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return hostMatch{}, errors.New("must be a DNS name, not an IP address")
	}
	return hostMatch{kind: kind, name: h}, nil
}

// covers reports whether a wildcard host covers the exact name h: exactly
// one label more, as the Ingress specification says.
func (h hostMatch) covers(name string) bool {
	if h.kind != hostWildcard {
		return false
	}
	label, ok := strings.CutSuffix(name, h.name[1:])
	return ok && label != "" && !strings.Contains(label, ".")
}

// parsePath reads an Ingress path. ImplementationSpecific is Prefix, unless
// the Ingress asks for regular expressions, which then apply to Prefix and
// ImplementationSpecific paths alike (Exact stays exact).
func parsePath(p networkingv1.HTTPIngressPath, regex bool) (pathMatch, error) {
	pt := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pt = *p.PathType
	}
	path := p.Path
	switch pt {
	case networkingv1.PathTypeExact:
		if err := checkPath(pt, path); err != nil {
			return pathMatch{}, err
		}
		return pathMatch{kind: pathExact, value: path}, nil
	case networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific:
		if regex {
			if !strings.HasPrefix(path, "^") {
				path = "^" + path
			}
			if _, err := regexp.Compile(path); err != nil {
				return pathMatch{}, fmt.Errorf("path %q is not a valid regular expression: %w", p.Path, err)
			}
			if path == "^/" {
				// The catch-all of a regex Ingress is the catch-all of
				// any other: it must take part in conflicts as one.
				return pathMatch{kind: pathPrefix}, nil
			}
			return pathMatch{kind: pathRegex, value: path}, nil
		}
		if path == "" && pt == networkingv1.PathTypeImplementationSpecific {
			path = "/"
		}
		if err := checkPath(pt, path); err != nil {
			return pathMatch{}, err
		}
		return pathMatch{kind: pathPrefix, value: strings.TrimRight(path, "/")}, nil
	default:
		return pathMatch{}, fmt.Errorf("unknown pathType %q", pt)
	}
}

// checkPath refuses a literal path that no request can have: one not
// starting with / or holding a character RFC 3986 does not allow in a path
// (a request carries those percent-encoded). Such paths are most often
// regular expressions written for ingress-nginx's use-regex.
func checkPath(pt networkingv1.PathType, path string) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%s path %q must start with /", pt, path)
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("/-._~!$&'()*+,;=:@", c) >= 0:
		case c == '%' && i+2 < len(path) && isHex(path[i+1]) && isHex(path[i+2]):
			i += 2
		default:
			return fmt.Errorf("%s path %q holds %q, which a request path cannot; for a regular expression, set %spath-regex: \"true\"",
				pt, path, path[i:i+1], annotationPrefix)
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// compareRoutes orders routes so that the first match is the one the
// Ingress specification picks: hosts by precedence (then by name, which
// does not matter since two hosts of one kind never match the same request),
// then the longest path, then Exact before Prefix.
func compareRoutes(a, b routeKey) int {
	return cmp.Or(
		cmp.Compare(a.host.kind, b.host.kind),
		cmp.Compare(a.host.name, b.host.name),
		cmp.Compare(len(b.path.value), len(a.path.value)),
		cmp.Compare(a.path.kind, b.path.kind),
		cmp.Compare(a.path.value, b.path.value),
	)
}

// useBackends turns the routes into the frontend's ordered use_backend list.
//
// The dataplane takes the first use_backend whose condition holds, but an
// Ingress host owns its requests: once a request's host matches an exact
// host, no wildcard or host-less rule may serve it, even when none of that
// host's paths match (nginx server blocks and Envoy virtual hosts behave the
// same way). So after the paths of a host that a later rule could also
// match, a guard sends the rest of that host to the default backend.
//
// routes are sorted by compareRoutes; guard gives the condition of a
// host's guard, the same condition for the same host.
func useBackends(routes []*memoRoute, defaultBackend string, guard func(hostMatch) *config.Condition) []config.UseBackend {
	var wildcards []hostMatch
	anyHost := false
	for _, r := range routes {
		switch r.key.host.kind {
		case hostWildcard:
			if len(wildcards) == 0 || wildcards[len(wildcards)-1] != r.key.host {
				wildcards = append(wildcards, r.key.host)
			}
		case hostAny:
			anyHost = true
		}
	}
	shadowed := func(h hostMatch) bool {
		switch h.kind {
		case hostExact:
			return anyHost || slices.ContainsFunc(wildcards, func(w hostMatch) bool { return w.covers(h.name) })
		case hostWildcard:
			return anyHost
		}
		return false
	}

	if len(routes) == 0 {
		return nil
	}
	out := make([]config.UseBackend, 0, len(routes))
	for i := 0; i < len(routes); {
		host := routes[i].key.host
		catchAll := false
		for ; i < len(routes) && routes[i].key.host == host; i++ {
			r := routes[i]
			out = append(out, config.UseBackend{Backend: r.backend, Cond: r.c})
			catchAll = catchAll || (r.key.path.kind == pathPrefix && r.key.path.value == "")
		}
		if !catchAll && shadowed(host) {
			out = append(out, config.UseBackend{Backend: defaultBackend, Cond: guard(host)})
		}
	}
	return out
}

// condition is host AND path, the path being one or two alternatives.
// A Prefix path /foo is `{ path /foo } || { path_beg /foo/ }`: element-wise,
// so /foo, /foo/ and /foo/bar match and /foobar does not.
func (k routeKey) condition() *config.Condition {
	var alts []config.ACL
	switch k.path.kind {
	case pathExact:
		alts = []config.ACL{{Fetch: config.FetchPath, Match: config.MatchStr, Values: []string{k.path.value}}}
	case pathPrefix:
		if k.path.value != "" {
			alts = []config.ACL{
				{Fetch: config.FetchPath, Match: config.MatchStr, Values: []string{k.path.value}},
				{Fetch: config.FetchPath, Match: config.MatchBeg, Values: []string{k.path.value + "/"}},
			}
		}
	case pathRegex:
		alts = []config.ACL{{Fetch: config.FetchPath, Match: config.MatchReg, Values: []string{k.path.value}}}
	}

	if len(alts) == 0 {
		if k.host.kind == hostAny {
			return nil
		}
		return &config.Condition{Or: [][]config.Term{{hostTerm(k.host)}}}
	}
	c := &config.Condition{}
	for _, acl := range alts {
		var and []config.Term
		if k.host.kind != hostAny {
			and = append(and, hostTerm(k.host))
		}
		and = append(and, config.Term{Inline: &acl})
		c.Or = append(c.Or, and)
	}
	return c
}

// hostTerm matches the request's host name (lowercased, port stripped by the
// fetch). A wildcard is a regular expression rather than a suffix match
// because it must cover exactly one label.
func hostTerm(h hostMatch) config.Term {
	acl := &config.ACL{Fetch: config.FetchHost, Match: config.MatchStr, Values: []string{h.name}}
	if h.kind == hostWildcard {
		acl.Match = config.MatchReg
		acl.Values = []string{"^[^.]+" + regexp.QuoteMeta(h.name[1:]) + "$"}
	}
	return config.Term{Inline: acl}
}

// Package translate turns the Kubernetes objects a controller watches
// (Ingresses, IngressClasses, Services, EndpointSlices, ConfigMaps) into a
// sluice routing configuration. It is a pure function: no client, no cache,
// no clock. The same Snapshot always gives the same Result, byte for byte once
// printed, so configurations can be diffed and golden-tested.
//
// # What an Ingress becomes
//
// Every Ingress of our class shares one HTTP frontend, "http", bound to
// Options.HTTPAddr with option forwardfor. Each host+path of a rule is one
// use_backend line, whose condition is built from inline ACLs:
//
//   - exact host foo.com: { host foo.com } (the host fetch is lowercased and
//     has no port, so "Foo.COM:8080" matches);
//   - wildcard *.foo.com: { host_reg ^[^.]+\.foo\.com$ }, exactly one label;
//   - no host: no host term;
//   - Exact /a: { path /a };
//   - Prefix /a (and ImplementationSpecific, and /a/): { path /a } ||
//     { path_beg /a/ }, element-wise; Prefix / has no path term;
//   - with sluice.dev/path-regex: "true", Prefix and ImplementationSpecific
//     paths are RE2 expressions anchored at the start ({ path_reg ^/a }), and
//     Exact paths stay exact. A literal path holding characters a request
//     path cannot hold (such as "|" or "[") is refused with a hint to set it.
//
// The dataplane takes the first matching use_backend, so the list is sorted
// by precedence: exact hosts, then wildcards, then no host; within a host the
// longest path first (a regular expression counts its own length), Exact
// before Prefix before regex at equal length. A host owns its requests: when
// a wildcard or host-less rule could also match a host that has no catch-all
// path, a last line sends the host's unmatched requests to the default
// backend rather than letting them fall through, as nginx server blocks and
// Envoy virtual hosts do.
//
// Conflicts (the same host and normalized path and match kind claimed twice)
// go to the oldest Ingress (creationTimestamp, then namespace/name); the
// others get a PathConflict Warning. So does spec.defaultBackend
// (DefaultBackendConflict). Without any, the default backend is
// NotFoundBackend, which answers 404.
//
// # Backends
//
// A backend is one Service port: NAMESPACE_SERVICE_PORT, PORT as written in
// the Ingress (number or name). Its servers are the ready, non-terminating
// endpoints of every EndpointSlice of the Service (the slice port named like
// the Service port gives the target port), named host:port; an ExternalName
// Service is one server, its DNS name. A missing Service or port leaves the
// backend without servers (503 on its routes only) and warns the Ingress.
//
// Annotations that shape a backend (affinity, cookie, balance, timeouts)
// make Ingresses that disagree on them need distinct backends: the oldest
// Ingress's settings keep the plain name, any other set of settings gets
// NAMESPACE_SERVICE_PORT_INGRESS after the oldest Ingress that asked for it.
// Server cookie values are a hash of the endpoint address, so they survive
// any change to the other endpoints.
//
// # TCP services
//
// Each entry "PORT": "NAMESPACE/SERVICE:PORT" of the TCP services ConfigMap
// is a mode tcp frontend tcp_PORT on Options.TCPBindAddress with the backend
// tcp_PORT_NAMESPACE_SERVICE_PORT. The :PROXY suffixes are refused for now.
package translate

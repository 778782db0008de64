// Package translate turns the Kubernetes objects a controller watches
// (Ingresses, IngressClasses, Services, EndpointSlices, ConfigMaps, Secrets) into a
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
// # TLS
//
// With Options.HTTPSAddr set, the HTTP frontend has a second bind there,
// with TLS, serving the same routes. Its certificates are the default
// certificate, then those of the kubernetes.io/tls Secrets (tls.crt,
// tls.key, in the Ingress's namespace) that spec.tls entries name, each
// once, oldest Ingress first as for route conflicts. The dataplane presents
// the certificate whose names match the client's SNI, the default one when
// none does or the client sends no SNI.
//
// The default certificate is the Secret Options.DefaultCertificate
// (--default-ssl-certificate) when it is usable, else
// Options.FallbackCertificate, named FallbackCertificateName. No Event
// reports a default Secret that is missing or invalid, as no object could
// carry it; Result.Secrets lists it, so the controller can check it.
// Without either, the oldest Ingress's certificate comes first; without
// any certificate at all there is no HTTPS bind (nor redirect), which
// again only the configuration shows. A spec.tls entry without secretName
// asks for the default certificate.
//
// A Secret that is missing or not of type kubernetes.io/tls
// (TLSSecretNotFound) or invalid (InvalidTLSSecret), and a host of the
// entry its certificate does not cover (TLSHostMismatch), are reported on
// the Ingress; those hosts get the default certificate. A certificate
// covers its names (subject alternative names, else common name) exactly,
// and a wildcard *.foo.com covers exactly one more label (bar.foo.com,
// and the Ingress host *.foo.com). Each Secret is parsed once per content:
// an unchanged Secret keeps its *config.Certificate, which the dataplane
// recognises. Without Options.HTTPSAddr, spec.tls is ignored, with a
// TLSDisabled warning.
//
// Plain HTTP requests for the hosts of spec.tls are redirected to HTTPS by
// one rule, as ingress-nginx does, wildcards matched as in routes:
//
//	http-request redirect scheme https code 308 if !{ ssl_fc } { host HOSTS } !{ path_beg /.well-known/acme-challenge/ } || ...
//
// 308 keeps the method and body; ACME HTTP-01 challenges stay on plain
// HTTP, for cert-manager. An Ingress keeps its TLS hosts out of the rule
// with sluice.dev/ssl-redirect: "false" (or the nginx.ingress.kubernetes.io
// one); a host listed by another Ingress that does not opt out is still
// redirected, and a wildcard redirects every name it covers.
//
// # TCP services
//
// Each entry "PORT": "NAMESPACE/SERVICE:PORT" of the TCP services ConfigMap
// is a mode tcp frontend tcp_PORT on Options.TCPBindAddress with the backend
// tcp_PORT_NAMESPACE_SERVICE_PORT. The :PROXY suffixes are refused for now,
// and so are the HTTP and HTTPS ports.
package translate

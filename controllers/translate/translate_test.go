package translate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"sluice.dev/sluice/config"
)

// http404 is the tail every config without an Ingress default backend ends with.
const http404 = `backend sluice-default-404
  mode http
  http-request return status 404 content-type "text/plain" string "404 Not Found"
`

// web is a Service with one ready endpoint, used wherever the endpoints do
// not matter.
func web(ns, name string) []runtime.Object {
	return []runtime.Object{
		service(ns, name, "80"),
		slice(ns, name, name+"-1", []string{"8080"}, "10.0.0.1"),
	}
}

func objs(groups ...any) []runtime.Object {
	var out []runtime.Object
	for _, g := range groups {
		switch g := g.(type) {
		case runtime.Object:
			out = append(out, g)
		case []runtime.Object:
			out = append(out, g...)
		default:
			panic("objs: bad argument")
		}
	}
	return out
}

func TestTranslate(t *testing.T) {
	cases := []struct {
		name   string
		objs   []runtime.Object
		want   string // dump of the config
		events string
	}{
		{
			name: "no ingress: every request gets 404",
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  default_backend sluice-default-404
				` + http404,
		},
		{
			name: "simple fanout (Kubernetes docs)",
			objs: objs(
				ing("default", "simple-fanout-example", 0, rule("foo.bar.com",
					prefix("/foo", "service1", 4200),
					prefix("/bar", "service2", 8080))),
				service("default", "service1", "4200"),
				slice("default", "service1", "service1-abc", []string{"4200"}, "10.0.0.1"),
				service("default", "service2", "8080"),
				slice("default", "service2", "service2-abc", []string{"8080"}, "10.0.0.2"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_service2_8080 if { host foo.bar.com } { path /bar } || { host foo.bar.com } { path_beg /bar/ }
				  use_backend default_service1_4200 if { host foo.bar.com } { path /foo } || { host foo.bar.com } { path_beg /foo/ }
				  default_backend sluice-default-404
				backend default_service1_4200
				  mode http
				  server 10.0.0.1:4200 10.0.0.1:4200
				backend default_service2_8080
				  mode http
				  server 10.0.0.2:8080 10.0.0.2:8080
				` + http404,
		},
		{
			name: "name based virtual hosting with a catch-all rule (Kubernetes docs)",
			objs: objs(
				ing("default", "name-virtual-host-ingress-no-third-host", 0,
					rule("first.bar.com", prefix("/", "service1", 80)),
					rule("second.bar.com", prefix("/", "service2", 80)),
					rule("", prefix("/", "service3", 80))),
				web("default", "service1"), web("default", "service2"), web("default", "service3"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_service1_80 if { host first.bar.com }
				  use_backend default_service2_80 if { host second.bar.com }
				  use_backend default_service3_80
				  default_backend sluice-default-404
				backend default_service1_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_service2_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_service3_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				` + http404,
		},
		{
			name: "wildcard host (Kubernetes docs)",
			objs: objs(
				ing("default", "ingress-wildcard-host", 0,
					rule("foo.bar.com", prefix("/bar", "service1", 80)),
					rule("*.foo.com", prefix("/foo", "service2", 80))),
				web("default", "service1"), web("default", "service2"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_service1_80 if { host foo.bar.com } { path /bar } || { host foo.bar.com } { path_beg /bar/ }
				  use_backend default_service2_80 if { host_reg ^[^.]+\.foo\.com$ } { path /foo } || { host_reg ^[^.]+\.foo\.com$ } { path_beg /foo/ }
				  default_backend sluice-default-404
				backend default_service1_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_service2_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				` + http404,
		},
		{
			name: "hosts are exclusive: a host's unmatched paths do not fall through to wildcard or host-less rules",
			objs: objs(
				ing("default", "a", 0, rule("", prefix("/static", "c", 80))),
				ing("default", "b", 1, rule("*.foo.com", prefix("/", "b", 80))),
				ing("default", "c", 2,
					rule("API.foo.com", prefix("/v1", "a", 80)),
					rule("www.foo.com", prefix("/", "a", 80))),
				web("default", "a"), web("default", "b"), web("default", "c"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_a_80 if { host api.foo.com } { path /v1 } || { host api.foo.com } { path_beg /v1/ }
				  use_backend sluice-default-404 if { host api.foo.com }
				  use_backend default_a_80 if { host www.foo.com }
				  use_backend default_b_80 if { host_reg ^[^.]+\.foo\.com$ }
				  use_backend default_c_80 if { path /static } || { path_beg /static/ }
				  default_backend sluice-default-404
				backend default_a_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_b_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_c_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				` + http404,
		},
		{
			name: "precedence whatever the order of rules and Ingresses",
			objs: objs(
				ing("default", "old", 0, rule("",
					prefix("/", "root", 80),
					prefix("/api/v1/", "api", 80))),
				ing("default", "new", 5,
					rule("foo.com",
						prefix("/", "root", 80),
						prefix("/api", "api", 80),
						exact("/api", "exact", 80),
						implSpecific("/api/v1", "api", 80),
						exact("/api/v1/users", "exact", 80)),
					rule("*.foo.com", exact("/", "exact", 80))),
				web("default", "root"), web("default", "api"), web("default", "exact"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_exact_80 if { host foo.com } { path /api/v1/users }
				  use_backend default_api_80 if { host foo.com } { path /api/v1 } || { host foo.com } { path_beg /api/v1/ }
				  use_backend default_exact_80 if { host foo.com } { path /api }
				  use_backend default_api_80 if { host foo.com } { path /api } || { host foo.com } { path_beg /api/ }
				  use_backend default_root_80 if { host foo.com }
				  use_backend default_exact_80 if { host_reg ^[^.]+\.foo\.com$ } { path / }
				  use_backend sluice-default-404 if { host_reg ^[^.]+\.foo\.com$ }
				  use_backend default_api_80 if { path /api/v1 } || { path_beg /api/v1/ }
				  use_backend default_root_80
				  default_backend sluice-default-404
				backend default_api_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_exact_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_root_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				` + http404,
		},
		{
			name: "path conflicts: the oldest Ingress wins, then namespace/name",
			objs: objs(
				ing("default", "young", 10, rule("foo.com",
					prefix("/x/", "young", 80), // same as /x once the slash is dropped
					exact("/x", "young", 80),   // another pathType: no conflict
					prefix("/y", "young", 80))),
				ing("default", "old", 1, rule("foo.com",
					implSpecific("/x", "old", 80), // ImplementationSpecific is Prefix
					prefix("/x", "old", 80))),     // conflicts with itself
				ing("default", "twin", 10, rule("foo.com", prefix("/y", "twin", 80))),
				web("default", "old"), web("default", "young"), web("default", "twin"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_young_80 if { host foo.com } { path /x }
				  use_backend default_old_80 if { host foo.com } { path /x } || { host foo.com } { path_beg /x/ }
				  use_backend default_twin_80 if { host foo.com } { path /y } || { host foo.com } { path_beg /y/ }
				  default_backend sluice-default-404
				backend default_old_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_twin_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_young_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				` + http404,
			events: `
				Ingress default/old Warning PathConflict: spec.rules[0].http.paths[1]: host foo.com path /x (Prefix) is already routed by an earlier path of this Ingress; path ignored
				Ingress default/young Warning PathConflict: spec.rules[0].http.paths[0]: host foo.com path /x (Prefix) is already routed by the older Ingress default/old; path ignored
				Ingress default/young Warning PathConflict: spec.rules[0].http.paths[2]: host foo.com path /y (Prefix) is already routed by the older Ingress default/twin; path ignored
				`,
		},
		{
			name: "default backend: the oldest Ingress's wins",
			objs: objs(
				ing("default", "b", 2, defaultBackend("b", 80)),
				ing("default", "a", 1, defaultBackend("a", "http"), rule("foo.com", prefix("/", "b", 80))),
				service("default", "a", "http:80"),
				slice("default", "a", "a-1", []string{"http:8080"}, "10.0.0.1"),
				web("default", "b"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_b_80 if { host foo.com }
				  default_backend default_a_http
				backend default_a_http
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_b_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				`,
			events: `
				Ingress default/b Warning DefaultBackendConflict: spec.defaultBackend ignored: the default backend is already set by the older Ingress default/a
				`,
		},
		{
			name: "default backend is also where a host's unmatched paths go",
			objs: objs(
				ing("default", "a", 1, defaultBackend("a", 80),
					rule("foo.com", prefix("/api", "b", 80)),
					rule("", prefix("/", "b", 80))),
				web("default", "a"), web("default", "b"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_b_80 if { host foo.com } { path /api } || { host foo.com } { path_beg /api/ }
				  use_backend default_a_80 if { host foo.com }
				  use_backend default_b_80
				  default_backend default_a_80
				backend default_a_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_b_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				`,
		},
		{
			name: "ports by number and by name, target ports through the slices",
			objs: objs(
				ing("default", "ports", 0, rule("foo.com",
					prefix("/num", "multi", 80),
					prefix("/name", "multi", "http"),
					prefix("/metrics", "multi", "metrics"),
					prefix("/single", "single", 8000))),
				service("default", "multi", "http:80/web", "metrics:9000/9090"),
				slice("default", "multi", "multi-a", []string{"http:8080", "metrics:9090"}, "10.0.0.1"),
				slice("default", "multi", "multi-b", []string{"http:8081", "metrics:9090"}, "10.0.0.2"),
				service("default", "single", "8000/http"),
				slice("default", "single", "single-a", []string{"3000"}, "10.0.1.1"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_multi_metrics if { host foo.com } { path /metrics } || { host foo.com } { path_beg /metrics/ }
				  use_backend default_single_8000 if { host foo.com } { path /single } || { host foo.com } { path_beg /single/ }
				  use_backend default_multi_http if { host foo.com } { path /name } || { host foo.com } { path_beg /name/ }
				  use_backend default_multi_80 if { host foo.com } { path /num } || { host foo.com } { path_beg /num/ }
				  default_backend sluice-default-404
				backend default_multi_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				  server 10.0.0.2:8081 10.0.0.2:8081
				backend default_multi_http
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				  server 10.0.0.2:8081 10.0.0.2:8081
				backend default_multi_metrics
				  mode http
				  server 10.0.0.1:9090 10.0.0.1:9090
				  server 10.0.0.2:9090 10.0.0.2:9090
				backend default_single_8000
				  mode http
				  server 10.0.1.1:3000 10.0.1.1:3000
				` + http404,
		},
		{
			name: "only ready endpoints that are not terminating, from every slice of the Service",
			objs: objs(
				ing("default", "eps", 0, rule("", prefix("/", "web", 80))),
				service("default", "web", "80"),
				slice("default", "web", "web-a", []string{"8080"},
					"10.0.0.10", "10.0.0.2", "10.0.0.3!notready", "10.0.0.4!terminating", "10.0.0.5!unknown", "10.0.0.6!terminating-ready",
					"10.0.0.300", "fd00::9"), // not IPv4 addresses: the API server would have refused them
				slice("default", "web", "web-b", []string{"8080"}, "10.0.0.2", "10.0.0.1"), // a duplicate during a slice migration
				slice("default", "web", "web-v6", []string{"8080"}, "fd00::1"),
				slice("default", "other", "other-a", []string{"8080"}, "10.9.9.9"), // another Service's
				slice("other", "web", "web-a", []string{"8080"}, "10.9.9.8"),       // another namespace's
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_web_80
				  default_backend sluice-default-404
				backend default_web_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				  server 10.0.0.2:8080 10.0.0.2:8080
				  server 10.0.0.5:8080 10.0.0.5:8080
				  server 10.0.0.10:8080 10.0.0.10:8080
				  server fd00::1:8080 [fd00::1]:8080
				` + http404,
		},
		{
			name: "ExternalName Services: one server, the DNS name",
			objs: objs(
				ing("default", "ext", 0, rule("foo.com",
					prefix("/named", "ext", "https"),
					prefix("/numbered", "ext", 443),
					prefix("/portless", "bare", 8443),
					prefix("/badname", "bare", "https"))),
				externalName("default", "ext", "api.example.com", "https:443"),
				externalName("default", "bare", "bare.example.com."),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_ext_443 if { host foo.com } { path /numbered } || { host foo.com } { path_beg /numbered/ }
				  use_backend default_bare_8443 if { host foo.com } { path /portless } || { host foo.com } { path_beg /portless/ }
				  use_backend default_bare_https if { host foo.com } { path /badname } || { host foo.com } { path_beg /badname/ }
				  use_backend default_ext_https if { host foo.com } { path /named } || { host foo.com } { path_beg /named/ }
				  default_backend sluice-default-404
				backend default_bare_8443
				  mode http
				  server bare.example.com.:8443 bare.example.com.:8443
				backend default_bare_https
				  mode http
				backend default_ext_443
				  mode http
				  server api.example.com:443 api.example.com:443
				backend default_ext_https
				  mode http
				  server api.example.com:443 api.example.com:443
				` + http404,
			events: `
				Ingress default/ext Warning ServicePortNotFound: Service default/bare has no port named https; routes to it answer 503
				`,
		},
		{
			name: "only TCP ports; FQDN slices; an ExternalName without a valid name",
			objs: objs(
				ing("default", "proto", 0, rule("foo.com",
					prefix("/dns", "dns", 53),
					prefix("/mixed", "mixed", 80),
					prefix("/fqdn", "fqdn", 80),
					prefix("/ext", "badext", 80))),
				udp(service("default", "dns", "53")),
				service("default", "mixed", "80"),
				udpSlice(slice("default", "mixed", "mixed-udp", []string{"8080"}, "10.0.0.8")),
				slice("default", "mixed", "mixed-tcp", []string{"8080"}, "10.0.0.9"),
				fqdnSlice(slice("default", "fqdn", "fqdn-1", []string{"8080"}, "db.example.com", "bad_name!unknown")),
				service("default", "fqdn", "80"),
				externalName("default", "badext", "not a host", "80"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_mixed_80 if { host foo.com } { path /mixed } || { host foo.com } { path_beg /mixed/ }
				  use_backend default_fqdn_80 if { host foo.com } { path /fqdn } || { host foo.com } { path_beg /fqdn/ }
				  use_backend default_dns_53 if { host foo.com } { path /dns } || { host foo.com } { path_beg /dns/ }
				  use_backend default_badext_80 if { host foo.com } { path /ext } || { host foo.com } { path_beg /ext/ }
				  default_backend sluice-default-404
				backend default_badext_80
				  mode http
				backend default_dns_53
				  mode http
				backend default_fqdn_80
				  mode http
				  server db.example.com:8080 db.example.com:8080
				backend default_mixed_80
				  mode http
				  server 10.0.0.9:8080 10.0.0.9:8080
				` + http404,
			events: `
				Ingress default/proto Warning ServicePortNotFound: port 53 of Service default/dns is UDP, not TCP; routes to it answer 503
				Ingress default/proto Warning ServiceNotFound: ExternalName Service default/badext has no valid spec.externalName; routes to it answer 503
				`,
		},
		{
			name: "missing Service or port: that route has no servers, the rest is untouched",
			objs: objs(
				ing("default", "partial", 0, rule("foo.com",
					prefix("/gone", "gone", 80),
					prefix("/gone-again", "gone", 80),
					prefix("/noport", "web", 81),
					prefix("/down", "down", 80),
					prefix("/", "web", 80))),
				web("default", "web"),
				service("default", "down", "80"),
				slice("default", "down", "down-a", []string{"8080"}, "10.0.0.7!notready"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_gone_80 if { host foo.com } { path /gone-again } || { host foo.com } { path_beg /gone-again/ }
				  use_backend default_web_81 if { host foo.com } { path /noport } || { host foo.com } { path_beg /noport/ }
				  use_backend default_down_80 if { host foo.com } { path /down } || { host foo.com } { path_beg /down/ }
				  use_backend default_gone_80 if { host foo.com } { path /gone } || { host foo.com } { path_beg /gone/ }
				  use_backend default_web_80 if { host foo.com }
				  default_backend sluice-default-404
				backend default_down_80
				  mode http
				backend default_gone_80
				  mode http
				backend default_web_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				backend default_web_81
				  mode http
				` + http404,
			events: `
				Ingress default/partial Warning ServiceNotFound: Service default/gone not found; routes to it answer 503
				Ingress default/partial Warning ServicePortNotFound: Service default/web has no port 81; routes to it answer 503
				`,
		},
		{
			name: "what cannot be routed is reported and skipped",
			objs: objs(
				ing("default", "odd", 0,
					withTLS("cert", "foo.com"),
					rule("registry.<your domain>", prefix("/", "web", 80)),
					rule("10.1.2.3", prefix("/", "web", 80)),
					rule("foo.com",
						networkingv1.HTTPIngressPath{Path: "/res", PathType: ptr(networkingv1.PathTypePrefix),
							Backend: networkingv1.IngressBackend{Resource: &corev1TypedRef}},
						prefix("relative", "web", 80),
						exact("", "web", 80),
						pathOf("Glob", "/x", "web", 80),
						prefix("/bad-svc", "Web_Server", 80),
						prefix("/no-port", "web", 0),
						prefix("/ok", "web", 80)),
					rule("bar.com")), // a host without http: nothing to route
				web("default", "web"),
			),
			want: `
				frontend http
				  mode http
				  bind :8080
				  option forwardfor
				  use_backend default_web_80 if { host foo.com } { path /ok } || { host foo.com } { path_beg /ok/ }
				  default_backend sluice-default-404
				backend default_web_80
				  mode http
				  server 10.0.0.1:8080 10.0.0.1:8080
				` + http404,
			events: `
				Ingress default/odd Warning TLSDisabled: spec.tls is ignored: sluice has no HTTPS listener, so its hosts are served over plain HTTP only
				Ingress default/odd Warning InvalidHost: spec.rules[0].host "registry.<your domain>": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'); rule ignored
				Ingress default/odd Warning InvalidHost: spec.rules[1].host "10.1.2.3": must be a DNS name, not an IP address; rule ignored
				Ingress default/odd Warning InvalidBackend: spec.rules[2].http.paths[0]: resource backends (StorageBucket static-assets) are not supported; ignored
				Ingress default/odd Warning InvalidPath: spec.rules[2].http.paths[1]: Prefix path "relative" must start with /; path ignored
				Ingress default/odd Warning InvalidPath: spec.rules[2].http.paths[2]: Exact path "" must start with /; path ignored
				Ingress default/odd Warning InvalidPath: spec.rules[2].http.paths[3]: unknown pathType "Glob"; path ignored
				Ingress default/odd Warning InvalidBackend: spec.rules[2].http.paths[4]: service name "Web_Server": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?'); ignored
				Ingress default/odd Warning InvalidBackend: spec.rules[2].http.paths[5]: service "web" has no valid port; ignored
				`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Translate(snap(tc.objs...), testOptions)
			checkValid(t, res.Config)
			if got, want := dump(res.Config), trimIndent(tc.want); got != want {
				t.Errorf("config:\n%s\n%s", got, diff(got, want))
			}
			if got, want := eventLines(res.Events), trimIndent(tc.events); got != want {
				t.Errorf("events:\n%s\n%s", got, diff(got, want))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestOurIngresses(t *testing.T) {
	legacy := func(c string) ingOpt {
		return func(i *networkingv1.Ingress) {
			i.Spec.IngressClassName = nil
			annotate(annotationLegacyClass, c)(i)
		}
	}
	// Every Ingress carries an unknown sluice.dev/ annotation: one that is
	// not ours must not produce its event.
	unknown := annotate("sluice.dev/nonsense", "1")
	all := []runtime.Object{
		ing("default", "by-name", 0, unknown),
		ing("default", "by-legacy-annotation", 0, unknown, legacy("sluice")),
		ing("default", "no-class", 0, unknown, noClass()),
		ing("default", "other-class", 0, unknown, className_("nginx")),
		ing("default", "other-legacy", 0, unknown, legacy("nginx")),
		ing("default", "field-wins", 0, unknown, legacy("sluice"), className_("nginx")),
	}
	cases := []struct {
		name  string
		class runtime.Object // nil: no IngressClass at all
		opts  Options
		want  string
	}{
		{"our class", ingressClass("sluice", DefaultControllerName, false), Options{},
			"by-legacy-annotation by-name"},
		{"our class is the default", ingressClass("sluice", DefaultControllerName, true), Options{},
			"by-legacy-annotation by-name no-class"},
		{"is-default-class must be exactly true", &networkingv1.IngressClass{
			ObjectMeta: metav1ObjectMeta("sluice", networkingv1.AnnotationIsDefaultIngressClass, "yes"),
			Spec:       networkingv1.IngressClassSpec{Controller: DefaultControllerName}}, Options{},
			"by-legacy-annotation by-name"},
		{"class of another controller", ingressClass("sluice", "k8s.io/ingress-nginx", true), Options{}, ""},
		{"no IngressClass", nil, Options{}, ""},
		{"flags name another class", ingressClass("nginx", "example.com/ctrl", false),
			Options{IngressClass: "nginx", ControllerName: "example.com/ctrl"},
			"field-wins other-class other-legacy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(all...)
			delete(s.IngressClasses, DefaultIngressClass)
			if tc.class != nil {
				c := tc.class.(*networkingv1.IngressClass)
				s.IngressClasses[c.Name] = c
			}
			o := tc.opts
			o.HTTPAddr = ":8080"
			res := Translate(s, o)
			var names []string
			for _, n := range res.Ingresses {
				names = append(names, n.Name)
			}
			if got := strings.Join(names, " "); got != tc.want {
				t.Errorf("ours = %q, want %q", got, tc.want)
			}
			if len(res.Events) != len(res.Ingresses) {
				t.Errorf("events for %d Ingresses, want %d:\n%s", len(res.Events), len(res.Ingresses), eventLines(res.Events))
			}
			for _, e := range res.Events {
				if e.Reason != ReasonUnknownAnnotation || !strings.Contains(tc.want, e.Object.Name) {
					t.Errorf("unexpected event %+v", e)
				}
				if e.Object.UID == "" || e.Object.Kind != "Ingress" {
					t.Errorf("event object %+v lacks kind or UID", e.Object)
				}
			}
		})
	}
}

func udp(s *corev1.Service) *corev1.Service {
	for i := range s.Spec.Ports {
		s.Spec.Ports[i].Protocol = corev1.ProtocolUDP
	}
	return s
}

func udpSlice(es *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	for i := range es.Ports {
		es.Ports[i].Protocol = ptr(corev1.ProtocolUDP)
	}
	return es
}

func fqdnSlice(es *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	es.AddressType = discoveryv1.AddressTypeFQDN
	return es
}

// Two servers whose short cookie values collide still get distinct ones.
func TestCookieCollision(t *testing.T) {
	servers := []config.Server{newServer("10.0.0.1", 80), newServer("10.0.0.1", 80), newServer("10.0.0.2", 80)}
	setCookies(servers)
	if len(servers[0].Cookie) != 12 || len(servers[2].Cookie) != 12 {
		t.Errorf("short cookies: %q %q", servers[0].Cookie, servers[2].Cookie)
	}
	if servers[1].Cookie == servers[0].Cookie || !strings.HasPrefix(servers[1].Cookie, servers[0].Cookie) || len(servers[1].Cookie) != 64 {
		t.Errorf("colliding cookie %q for %q", servers[1].Cookie, servers[0].Cookie)
	}
}

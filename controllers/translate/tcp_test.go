package translate

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// httpOnly is the dump of the HTTP side when no Ingress exists.
const httpOnly = `frontend http
  mode http
  bind :8080
  option forwardfor
  default_backend sluice-default-404
`

func TestTCPServices(t *testing.T) {
	tcpCM := types.NamespacedName{Namespace: "ingress", Name: "tcp-services"}
	services := objs(
		service("default", "web", "http:80"),
		slice("default", "web", "web-1", []string{"http:8080"}, "10.0.0.2", "10.0.0.1"),
		service("db", "postgres", "5432/pg"),
		slice("db", "postgres", "postgres-1", []string{"5433"}, "10.0.1.1", "10.0.1.2!terminating"),
	)
	cases := []struct {
		name   string
		opts   Options
		objs   []runtime.Object
		want   string // the dump after the HTTP frontend
		events string
	}{
		{
			name: "ports by number and by name, sorted by port",
			opts: Options{TCPServicesConfigMap: tcpCM},
			objs: objs(services, configMap("ingress", "tcp-services",
				"9000", "default/web:80",
				"10000", "default/web:http",
				"5432", "db/postgres:5432")),
			want: `
				frontend tcp_5432
				  mode tcp
				  bind 0.0.0.0:5432
				  default_backend tcp_5432_db_postgres_5432
				frontend tcp_9000
				  mode tcp
				  bind 0.0.0.0:9000
				  default_backend tcp_9000_default_web_80
				frontend tcp_10000
				  mode tcp
				  bind 0.0.0.0:10000
				  default_backend tcp_10000_default_web_http
				` + http404 + `backend tcp_10000_default_web_http
				  mode tcp
				  server 10.0.0.1:8080 10.0.0.1:8080
				  server 10.0.0.2:8080 10.0.0.2:8080
				backend tcp_5432_db_postgres_5432
				  mode tcp
				  server 10.0.1.1:5433 10.0.1.1:5433
				backend tcp_9000_default_web_80
				  mode tcp
				  server 10.0.0.1:8080 10.0.0.1:8080
				  server 10.0.0.2:8080 10.0.0.2:8080
				`,
		},
		{
			name: "bad entries are reported, the others served",
			opts: Options{TCPServicesConfigMap: tcpCM},
			objs: objs(services, configMap("ingress", "tcp-services",
				"abc", "default/web:80",
				"0", "default/web:80",
				"70000", "default/web:80",
				"09000", "default/web:80",
				"9001", "default/web:80:PROXY",
				"9002", "default/web:80::PROXY",
				"9003", "web:80",
				"9004", "default/web",
				"9005", "default/web:80:FOO",
				"9006", "default/Web:80",
				"9007", "default/web:99999",
				"9008", "default/gone:80",
				"9009", "default/web:81",
				"9010", " default/web:http: \r",
				"8080", "default/web:80",
			)),
			want: `
				frontend tcp_9008
				  mode tcp
				  bind 0.0.0.0:9008
				  default_backend tcp_9008_default_gone_80
				frontend tcp_9009
				  mode tcp
				  bind 0.0.0.0:9009
				  default_backend tcp_9009_default_web_81
				frontend tcp_9010
				  mode tcp
				  bind 0.0.0.0:9010
				  default_backend tcp_9010_default_web_http
				` + http404 + `backend tcp_9008_default_gone_80
				  mode tcp
				backend tcp_9009_default_web_81
				  mode tcp
				backend tcp_9010_default_web_http
				  mode tcp
				  server 10.0.0.1:8080 10.0.0.1:8080
				  server 10.0.0.2:8080 10.0.0.2:8080
				`,
			events: `
				ConfigMap ingress/tcp-services Warning InvalidTCPService: key "0": the key must be a port number between 1 and 65535; entry ignored
				ConfigMap ingress/tcp-services Warning InvalidTCPService: key "09000": the key must be a port number between 1 and 65535; entry ignored
				ConfigMap ingress/tcp-services Warning InvalidTCPService: key "70000": the key must be a port number between 1 and 65535; entry ignored
				ConfigMap ingress/tcp-services Warning PortConflict: key "8080": port 8080 is the HTTP port; entry ignored
				ConfigMap ingress/tcp-services Warning ProxyProtocolNotSupported: key "9001": the PROXY protocol is not supported yet; entry ignored
				ConfigMap ingress/tcp-services Warning ProxyProtocolNotSupported: key "9002": the PROXY protocol is not supported yet; entry ignored
				ConfigMap ingress/tcp-services Warning InvalidTCPService: key "9003": value "web:80" is not NAMESPACE/SERVICE:PORT; entry ignored
				ConfigMap ingress/tcp-services Warning InvalidTCPService: key "9004": value "default/web" is not NAMESPACE/SERVICE:PORT; entry ignored
				ConfigMap ingress/tcp-services Warning InvalidTCPService: key "9005": value "default/web:80:FOO": "FOO" is not PROXY; entry ignored
				ConfigMap ingress/tcp-services Warning InvalidTCPService: key "9006": service "Web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?'); entry ignored
				ConfigMap ingress/tcp-services Warning InvalidTCPService: key "9007": service port "99999" is not between 1 and 65535; entry ignored
				ConfigMap ingress/tcp-services Warning InvalidTCPService: key "abc": the key must be a port number between 1 and 65535; entry ignored
				ConfigMap ingress/tcp-services Warning ServiceNotFound: key "9008": Service default/gone not found; connections to port 9008 are closed
				ConfigMap ingress/tcp-services Warning ServicePortNotFound: key "9009": Service default/web has no port 81; connections to port 9009 are closed
				`,
		},
		{
			name: "no ConfigMap configured: an existing one is not read",
			objs: objs(services, configMap("ingress", "tcp-services", "9000", "default/web:80")),
		},
		{
			name: "configured but absent",
			opts: Options{TCPServicesConfigMap: tcpCM},
			objs: services,
		},
		{
			name: "bind address, and the HTTP port free on another address",
			opts: Options{TCPServicesConfigMap: tcpCM, TCPBindAddress: "127.0.0.1", HTTPAddr: "127.0.0.2:8080"},
			objs: objs(services, configMap("ingress", "tcp-services", "8080", "default/web:80")),
			want: `
				frontend tcp_8080
				  mode tcp
				  bind 127.0.0.1:8080
				  default_backend tcp_8080_default_web_80
				` + http404 + `backend tcp_8080_default_web_80
				  mode tcp
				  server 10.0.0.1:8080 10.0.0.1:8080
				  server 10.0.0.2:8080 10.0.0.2:8080
				`,
		},
		{
			name: "the HTTP port on all addresses conflicts with any TCP address",
			opts: Options{TCPServicesConfigMap: tcpCM, TCPBindAddress: "127.0.0.1"},
			objs: objs(services, configMap("ingress", "tcp-services", "8080", "default/web:80")),
			events: `
				ConfigMap ingress/tcp-services Warning PortConflict: key "8080": port 8080 is the HTTP port; entry ignored
				`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.HTTPAddr == "" {
				tc.opts.HTTPAddr = ":8080"
			}
			res := Translate(snap(tc.objs...), tc.opts)
			checkValid(t, res.Config)
			got := dump(res.Config)
			head := strings.Replace(httpOnly, ":8080", tc.opts.HTTPAddr, 1)
			rest, ok := strings.CutPrefix(got, head)
			if !ok {
				t.Fatalf("the HTTP frontend changed:\n%s", got)
			}
			want := trimIndent(tc.want)
			if tc.want == "" {
				want = http404
			}
			if rest != want {
				t.Errorf("config:\n%s\n%s", rest, diff(rest, want))
			}
			if got, want := eventLines(res.Events), trimIndent(tc.events); got != want {
				t.Errorf("events:\n%s\n%s", got, diff(got, want))
			}
			for _, e := range res.Events {
				if e.Object.UID != "uid-cm-tcp-services" {
					t.Errorf("event on %+v", e.Object)
				}
			}
		})
	}
}

func TestParseTCPService(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		want       tcpService
		err        string
	}{
		{"1", "a/b:1", tcpService{1, servicePort{"a", "b", "1"}}, ""},
		{"65535", "a/b:http-alt", tcpService{65535, servicePort{"a", "b", "http-alt"}}, ""},
		{"22", "a/b:22:", tcpService{22, servicePort{"a", "b", "22"}}, ""},
		{"22", "a/b:22::", tcpService{22, servicePort{"a", "b", "22"}}, ""},
		{"22", "a/b:22:PROXY:", tcpService{}, "PROXY"},
		{"22", "a/b:22:PROXY:PROXY", tcpService{}, "PROXY"},
		{"22", "a/b:22:::", tcpService{}, "not NAMESPACE"},
		{"22", "a/b:022", tcpService{}, "not between"},
		{"22", "a/b:0", tcpService{}, "not between"},
		{"22", "a/b:-1", tcpService{}, "service port"},
		{"22", "a/b:Http", tcpService{}, "service port"},
		{"22", "A/b:22", tcpService{}, "namespace"},
		{"22", "/b:22", tcpService{}, "namespace"},
		{"22", "a/:22", tcpService{}, "service"},
		{"22", "a/b/c:22", tcpService{}, "service"},
		{"+22", "a/b:22", tcpService{}, "key"},
		{" 22", "a/b:22", tcpService{}, "key"},
		{"", "a/b:22", tcpService{}, "key"},
	} {
		got, err := parseTCPService(tc.key, tc.value)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("%q: %q = %+v, %v; want %+v", tc.key, tc.value, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: %q = %+v, %v; want an error about %s", tc.key, tc.value, got, err, tc.err)
		}
	}
}

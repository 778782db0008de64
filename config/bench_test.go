package config

import (
	"fmt"
	"strings"
	"testing"
)

// mediumConfig is a configuration the size of a busy ingress: one frontend
// routing 100 hosts with path rules to 100 backends of 5 servers each.
func mediumConfig() []byte {
	var b strings.Builder
	b.WriteString("global\n    maxconn 50000\n\ndefaults\n    mode http\n    timeout connect 5s\n")
	b.WriteString("    timeout client 30s\n    timeout server 30s\n    option forwardfor\n\n")
	b.WriteString("frontend http\n    bind :80\n    bind :443 ssl crt /certs/default.pem alpn h2,http/1.1\n")
	for i := range 100 {
		fmt.Fprintf(&b, "    acl host_%d hdr(host) -i app%d.example.com\n", i, i)
		fmt.Fprintf(&b, "    acl api_%d path_beg /api/v%d /internal/%d\n", i, i, i)
	}
	for i := range 100 {
		fmt.Fprintf(&b, "    use_backend svc_%d_api if host_%d api_%d || { hdr(x-route) -m str svc-%d }\n", i, i, i, i)
		fmt.Fprintf(&b, "    use_backend svc_%d if host_%d\n", i, i)
	}
	b.WriteString("    default_backend svc_0\n")
	for i := range 100 {
		for _, suffix := range []string{"", "_api"} {
			fmt.Fprintf(&b, "\nbackend svc_%d%s\n    balance leastconn\n    option httpchk GET /healthz\n", i, suffix)
			fmt.Fprintf(&b, "    cookie SRV insert indirect nocache\n")
			for s := range 5 {
				fmt.Fprintf(&b, "    server pod-%d 10.%d.%d.%d:8080 check inter 5s cookie p%d\n", s, i/250, i%250, s+1, s)
			}
		}
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	src := mediumConfig()
	if _, _, err := Parse("medium.cfg", src); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse("medium.cfg", src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrint(b *testing.B) {
	c, _, err := Parse("medium.cfg", mediumConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.String()
	}
}

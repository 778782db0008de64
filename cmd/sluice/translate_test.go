package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sluice.dev/sluice/config"
)

const translateInput = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: theirs
  annotations:
    nginx.ingress.kubernetes.io/affinity: cookie
    nginx.ingress.kubernetes.io/rewrite-target: /
    sluice.dev/session-cookie-max-age: soon
spec:
  ingressClassName: nginx
  rules:
  - host: a.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ours, namespace: shop}
spec:
  ingressClassName: sluice
  rules:
  - host: b.example.com
    http: {paths: [{path: /api, pathType: Exact, backend: {service: {name: api, port: {number: 8080}}}}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: tcp, namespace: sluice}
data: {"9000": "default/web:80"}
`

func runTranslate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := translateCmd(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTranslateCmd(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "in.yaml")
	if err := os.WriteFile(file, []byte(translateInput), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string // lines the output must hold
		not  []string // and must not
	}{
		{
			name: "classes as the controller sees them",
			args: []string{"-f", file, "--https-addr", ""},
			want: []string{
				"# read: Ingress 2, Service 1, ConfigMap 1",
				"# not read (the controller does not watch these kinds): Pod 1",
				"# Ingress shop/ours: served",
				"#   Warning ServiceNotFound: Service shop/api not found; routes to it answer 503",
				`# Ingress default/theirs: not served: class "nginx" is not --ingress-class "sluice" (--any-class translates it anyway)`,
				"# ConfigMap sluice/tcp: not read (--tcp-services-configmap sluice/tcp serves it as TCP services)",
				"use_backend shop_api_8080 if { host b.example.com } { path /api }",
				"# table: 1 use_backend rules, default_backend sluice-default-404, 0 TCP listeners, 2 backends (1 without servers), 0 servers",
			},
			not: []string{"a.example.com", "ssl"},
		},
		{
			name: "any class, TCP services, annotations honored and not",
			args: []string{"-f", dir, "--any-class", "--tcp-services-configmap", "sluice/tcp", "--http-addr", ":80"},
			want: []string{
				"# Ingress default/theirs: served",
				"#   annotations honored: nginx.ingress.kubernetes.io/affinity=cookie",
				"#   Warning UnsupportedAnnotation: annotation nginx.ingress.kubernetes.io/rewrite-target is an ingress-nginx feature sluice does not implement; ignored",
				"# ConfigMap sluice/tcp: TCP services",
				"bind 0.0.0.0:9000",
				"bind :8443 ssl crt @sluice-fallback",
				"use_backend default_web_80 if { host a.example.com }",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runTranslate(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !containsLine(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output holds %q:\n%s", n, out)
				}
			}
			// Without HTTPS (whose certificates live in memory, named
			// @NS/NAME) the output is a config file sluice run loads: the
			// report is comments.
			if strings.Contains(out, " ssl ") {
				return
			}
			if _, _, err := config.Parse("translated", []byte(out)); err != nil {
				t.Errorf("output does not parse as a config: %v", err)
			}
		})
	}
}

func containsLine(out, line string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

func TestTranslateCmdErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("kind: Service\nmetadata: {name: a}\n---\nkind: Ingress\nmetadata: {name: b}\nspec: {rules: 3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{nil, 2, "-f FILE is required"},
		{[]string{"-f", bad, "extra"}, 2, "-f FILE is required"},
		{[]string{"-f", filepath.Join(dir, "missing.yaml")}, 1, "no such file"},
		{[]string{"-f", bad}, 1, "bad.yaml: document 2: Ingress: "},
		{[]string{"-f", bad, "--tcp-services-configmap", "tcp"}, 2, `--tcp-services-configmap: "tcp" is not NAMESPACE/NAME`},
		{[]string{"-f", bad, "--http-addr", "80"}, 2, "http address"},
	} {
		code, out, errOut := runTranslate(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.err)
		}
		if out != "" {
			t.Errorf("%v: printed %q on a failure", tc.args, out)
		}
	}
}

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// try is one command the demo prints, with the check that proves it does
// what its note says; -check runs the checks.
type try struct {
	// section heads the banner's list of commands from this try on, when
	// set.
	section string
	cmd     string
	note    string
	check   func(ctx context.Context) error
}

// change is one subcommand the demo prints; -check sends it to the demo,
// then waits until check passes.
type change struct {
	args  []string // after the program's name
	note  string
	check func(ctx context.Context) error
}

// response is what the checks look at in an answer.
type response struct {
	code     int
	servedBy string
	location string
	cookies  []*http.Cookie
	body     string
	cert     *x509.Certificate // the server's, over HTTPS
}

func (r response) cookie(name string) string {
	for _, c := range r.cookies {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// get sends GET path to sluice with the given Host header, and cookie
// ("NAME=VALUE") when not empty, as the printed curl commands do.
func (d *demo) get(ctx context.Context, host, path, cookie string) (response, error) {
	return d.fetch(ctx, d.client, "http://"+d.httpAddr+path, host, cookie)
}

// getTLS sends GET path to sluice's HTTPS listener for host, in SNI and
// Host, as curl --resolve does. It verifies the certificate against roots,
// or, when roots is nil, accepts any, as curl -k does.
func (d *demo) getTLS(ctx context.Context, host, path string, roots *x509.CertPool) (response, error) {
	_, port, err := net.SplitHostPort(d.httpsAddr)
	if err != nil {
		return response{}, err
	}
	dialer := ownDialer()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, d.httpsAddr)
		},
		TLSClientConfig: &tls.Config{ServerName: host, RootCAs: roots, InsecureSkipVerify: roots == nil},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: d.client.Timeout, Transport: tr, CheckRedirect: d.client.CheckRedirect}
	return d.fetch(ctx, client, "https://"+net.JoinHostPort(host, port)+path, "", "")
}

// fetch sends GET url with client, with the given Host header and cookie
// ("NAME=VALUE") when not empty.
func (d *demo) fetch(ctx context.Context, client *http.Client, url, host, cookie string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return response{}, err
	}
	if host != "" {
		req.Host = host
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	what := "GET " + req.Host + req.URL.RequestURI()
	resp, err := client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return response{}, fmt.Errorf("%s: %w", what, err)
	}
	r := response{
		code:     resp.StatusCode,
		servedBy: resp.Header.Get("X-Served-By"),
		location: resp.Header.Get("Location"),
		cookies:  resp.Cookies(),
		body:     string(body),
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.cert = resp.TLS.PeerCertificates[0]
	}
	return r, nil
}

// ownDialer dials from the demo's own source address (see ownSource).
func ownDialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: ownSource.AsSlice()}}
}

// servedBy sends n requests and returns the servers that answered, sorted
// and without repeats; any status but 200 is an error.
func (d *demo) servedBy(ctx context.Context, host, path, cookie string, n int) ([]string, error) {
	var names []string
	for range n {
		r, err := d.get(ctx, host, path, cookie)
		if err != nil {
			return nil, err
		}
		if r.code != http.StatusOK {
			return nil, fmt.Errorf("%s%s: status %d, want 200", host, path, r.code)
		}
		names = append(names, r.servedBy)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// names lists the endpoint names of a Service of the example.
func (d *demo) names(svc string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	eps, _ := endpointsOf(d.ex.slices[svc])
	var out []string
	for _, ep := range eps {
		out = append(out, ep.name)
	}
	slices.Sort(out)
	return out
}

// tries are the commands to try against the running demo. The sticky
// cookie command carries a real cookie value, so it asks sluice for one.
func (d *demo) tries(ctx context.Context) ([]try, error) {
	h := "http://" + d.httpAddr
	first, err := d.get(ctx, "shop.local", "/", "")
	if err != nil {
		return nil, err
	}
	cookie := first.cookie("SLUICEID")
	if first.code != http.StatusOK || cookie == "" {
		return nil, fmt.Errorf("shop.local/: status %d, cookie SLUICEID %q: want 200 and a cookie", first.code, cookie)
	}
	pinned := first.servedBy

	web := d.names("web")
	out := []try{
		{
			cmd:  "curl -s -H 'Host: demo.local' " + h + "/",
			note: strings.Join(web, " and ") + " in turn",
			check: func(ctx context.Context) error {
				got, err := d.servedBy(ctx, "demo.local", "/", "", 2*len(web))
				if err != nil {
					return err
				}
				if !slices.Equal(got, web) {
					return fmt.Errorf("served by %v, want %v", got, web)
				}
				return nil
			},
		},
		{
			cmd:  "curl -s -H 'Host: demo.local' " + h + "/api/orders",
			note: "api-1: the longer path /api wins",
			check: func(ctx context.Context) error {
				r, err := d.get(ctx, "demo.local", "/api/orders", "")
				if err != nil {
					return err
				}
				if r.code != http.StatusOK || r.servedBy != "api-1" || !strings.Contains(r.body, "request: GET /api/orders") {
					return fmt.Errorf("status %d from %q, body %q: want 200 from api-1 for GET /api/orders", r.code, r.servedBy, r.body)
				}
				return nil
			},
		},
		{
			cmd:  "curl -s -i -H 'Host: shop.local' " + h + "/",
			note: "Set-Cookie: SLUICEID=... (sluice.dev/affinity: cookie)",
			check: func(ctx context.Context) error {
				r, err := d.get(ctx, "shop.local", "/", "")
				if err != nil {
					return err
				}
				if r.code != http.StatusOK || r.cookie("SLUICEID") == "" {
					return fmt.Errorf("status %d, cookies %v: want 200 and SLUICEID", r.code, r.cookies)
				}
				return nil
			},
		},
		{
			cmd:  "curl -s -b SLUICEID=" + cookie + " -H 'Host: shop.local' " + h + "/",
			note: "always " + pinned + ", while it is up",
			check: func(ctx context.Context) error {
				got, err := d.servedBy(ctx, "shop.local", "/", "SLUICEID="+cookie, 6)
				if err != nil {
					return err
				}
				if !slices.Equal(got, []string{pinned}) {
					return fmt.Errorf("served by %v, want only %s", got, pinned)
				}
				return nil
			},
		},
		{
			cmd:  "curl -s -H 'Host: other.local' " + h + "/",
			note: "404 Not Found: no rule for that host",
			check: func(ctx context.Context) error {
				r, err := d.get(ctx, "other.local", "/", "")
				if err != nil {
					return err
				}
				if r.code != http.StatusNotFound {
					return fmt.Errorf("status %d, want 404", r.code)
				}
				return nil
			},
		},
	}
	for _, port := range d.ex.tcpPorts {
		svc := d.ex.tcpServices[port]
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		names := d.names(svc)
		out = append(out, try{
			cmd:  "curl -s --max-time 1 telnet://" + addr + " <<< hello",
			note: "\"" + strings.Join(names, "|") + ": hello\", through the TCP service",
			check: func(ctx context.Context) error {
				line, err := echo(ctx, addr, "hello")
				if err != nil {
					return err
				}
				name, text, _ := strings.Cut(line, ": ")
				if !slices.Contains(names, name) || text != "hello" {
					return fmt.Errorf("answer %q, want \"NAME: hello\" from one of %v", line, names)
				}
				return nil
			},
		})
	}
	m := "http://" + d.metricsAddr
	out = append(out,
		try{
			cmd:  "curl -s " + m + "/debug/config",
			note: "the routing table sluice built from the cluster",
			check: func(ctx context.Context) error {
				cfg, err := d.liveConfig(ctx)
				if err != nil {
					return err
				}
				wants := []string{"frontend http", "backend demo_web_80", "backend demo_shop_80"}
				for _, t := range d.ex.tls {
					wants = append(wants, "crt @"+namespace+"/"+t.secret)
				}
				for _, want := range wants {
					if !strings.Contains(cfg, want) {
						return fmt.Errorf("no %q in:\n%s", want, cfg)
					}
				}
				return nil
			},
		},
		try{
			cmd:  "curl -s " + m + "/metrics | grep 'sluice_server_http_requests_total.*2xx'",
			note: "answers per server",
			check: func(ctx context.Context) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, m+"/metrics", nil)
				if err != nil {
					return err
				}
				resp, err := d.client.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				if want := `sluice_server_http_requests_total{backend="demo_web_80",code="2xx"`; !strings.Contains(string(body), want) {
					return fmt.Errorf("no %s in /metrics", want)
				}
				return nil
			},
		},
	)
	if host := d.ex.tlsHost(); host != "" {
		https, err := d.httpsTries(host)
		if err != nil {
			return nil, err
		}
		out = append(out, https...)
	}
	return out, nil
}

// defaultCertCN is the subject of the certificate sluice makes for itself
// when --default-ssl-certificate names none.
const defaultCertCN = "sluice default certificate"

// httpsTries are the commands that show TLS termination: host has a
// certificate of its own, issued by the demo's CA; demo.local has none.
func (d *demo) httpsTries(host string) ([]try, error) {
	ip, port, err := net.SplitHostPort(d.httpsAddr)
	if err != nil {
		return nil, fmt.Errorf("-https-addr: %w", err)
	}
	ca := filepath.Join(d.workDir, caFile)
	names := d.names(d.ex.serviceOf(host))
	const other = "demo.local"
	curl := func(opts, h string) string {
		return fmt.Sprintf("curl %s --resolve %s:%s:%s https://%s:%s/", opts, h, port, ip, h, port)
	}
	return []try{
		{
			section: fmt.Sprintf("Over HTTPS on %s (the certificate is chosen by SNI among the Secrets of spec.tls):", d.httpsAddr),
			cmd:     curl("-s --cacert "+ca, host),
			note:    strings.Join(names, "|") + ", over TLS that curl verified with ca.pem; X-Forwarded-Proto: https",
			check: func(ctx context.Context) error {
				roots, err := readCA(d.workDir)
				if err != nil {
					return err
				}
				r, err := d.getTLS(ctx, host, "/", roots)
				if err != nil {
					return err
				}
				if r.code != http.StatusOK || !slices.Contains(names, r.servedBy) || !strings.Contains(r.body, "X-Forwarded-Proto: https\n") {
					return fmt.Errorf("status %d from %q, body %q: want 200 from one of %v, with X-Forwarded-Proto: https", r.code, r.servedBy, r.body, names)
				}
				return nil
			},
		},
		{
			cmd:  "curl -s -i -H 'Host: " + host + "' http://" + d.httpAddr + "/",
			note: "308 to https://" + host + "/: plain HTTP for a host of spec.tls is redirected",
			check: func(ctx context.Context) error {
				r, err := d.get(ctx, host, "/", "")
				if err != nil {
					return err
				}
				if want := "https://" + host + "/"; r.code != http.StatusPermanentRedirect || r.location != want {
					return fmt.Errorf("status %d, Location %q: want 308 to %s", r.code, r.location, want)
				}
				return nil
			},
		},
		{
			cmd:  curl("-skv", other) + " 2>&1 | grep subject:",
			note: "CN=" + defaultCertCN + ": no Secret for " + other + ", so sluice's self-signed one (hence -k)",
			check: func(ctx context.Context) error {
				r, err := d.getTLS(ctx, other, "/", nil)
				if err != nil {
					return err
				}
				if r.code != http.StatusOK || r.cert == nil || r.cert.Subject.CommonName != defaultCertCN {
					var cn string
					if r.cert != nil {
						cn = r.cert.Subject.CommonName
					}
					return fmt.Errorf("status %d, certificate CN %q: want 200 and CN %q", r.code, cn, defaultCertCN)
				}
				return nil
			},
		},
	}, nil
}

// echo sends one line to a TCP echo service and returns the answer.
func echo(ctx context.Context, addr, line string) (string, error) {
	var dialer net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := dialer.DialContext(dctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\n", line); err != nil {
		return "", fmt.Errorf("%s: %w", addr, err)
	}
	answer, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("%s: %w", addr, err)
	}
	return strings.TrimSuffix(answer, "\n"), nil
}

// changes are the subcommands the demo suggests, in an order where each
// check holds after the changes before it.
func (d *demo) changes() []change {
	web := d.names("web")
	shop := d.names("shop")
	next := fmt.Sprintf("web-%d", len(web)+1)
	out := []change{
		{
			args: []string{"scale", "web", fmt.Sprint(len(web) + 1)},
			note: next + " joins the rotation",
			check: func(ctx context.Context) error {
				got, err := d.servedBy(ctx, "demo.local", "/", "", 2*(len(web)+1))
				if err != nil {
					return err
				}
				if !slices.Contains(got, next) {
					return fmt.Errorf("served by %v, want %s among them", got, next)
				}
				return nil
			},
		},
		{
			args: []string{"scale", "api", "0"},
			note: "demo.local/api answers 503: no endpoint left",
			check: func(ctx context.Context) error {
				r, err := d.get(ctx, "demo.local", "/api", "")
				if err != nil {
					return err
				}
				if r.code != http.StatusServiceUnavailable {
					return fmt.Errorf("status %d from %q, want 503", r.code, r.servedBy)
				}
				return nil
			},
		},
		{
			args: []string{"scale", "api", "1"},
			note: "and back",
			check: func(ctx context.Context) error {
				got, err := d.servedBy(ctx, "demo.local", "/api", "", 1)
				if err != nil {
					return err
				}
				if !slices.Equal(got, []string{"api-1"}) {
					return fmt.Errorf("served by %v, want api-1", got)
				}
				return nil
			},
		},
		{
			args: []string{"annotate", "shop", "sluice.dev/affinity-"},
			note: "no more cookie: " + strings.Join(shop, " and ") + " take turns",
			check: func(ctx context.Context) error {
				var got []string
				for range 2 * len(shop) {
					r, err := d.get(ctx, "shop.local", "/", "")
					if err != nil {
						return err
					}
					if c := r.cookie("SLUICEID"); c != "" {
						return fmt.Errorf("still sets SLUICEID=%s", c)
					}
					got = append(got, r.servedBy)
				}
				slices.Sort(got)
				if got = slices.Compact(got); !slices.Equal(got, shop) {
					return fmt.Errorf("served by %v, want %v", got, shop)
				}
				return nil
			},
		},
		{
			args: []string{"annotate", "shop", "sluice.dev/affinity=cookie"},
			note: "the cookie is back",
			check: func(ctx context.Context) error {
				r, err := d.get(ctx, "shop.local", "/", "")
				if err != nil {
					return err
				}
				if r.cookie("SLUICEID") == "" {
					return errors.New("no SLUICEID cookie")
				}
				return nil
			},
		},
	}
	if len(d.ex.tls) > 0 {
		t := d.ex.tls[0]
		host := t.hosts[0]
		plain := func(want int) func(ctx context.Context) error {
			return func(ctx context.Context) error {
				r, err := d.get(ctx, host, "/", "")
				if err != nil {
					return err
				}
				if r.code != want {
					return fmt.Errorf("http://%s/: status %d, want %d", host, r.code, want)
				}
				return nil
			}
		}
		out = append(out,
			change{
				args:  []string{"annotate", t.ingress, "sluice.dev/ssl-redirect=false"},
				note:  "plain HTTP to " + host + " is served, not redirected",
				check: plain(http.StatusOK),
			},
			change{
				args:  []string{"annotate", t.ingress, "sluice.dev/ssl-redirect-"},
				note:  "redirected to HTTPS again",
				check: plain(http.StatusPermanentRedirect),
			},
		)
	}
	return out
}

// changeCommand is how a user runs c against this demo.
func (d *demo) changeCommand(c change) string {
	args := c.args
	if d.controlAddr != defaultControlAddr {
		args = slices.Concat(args[:1], []string{"-control", d.controlAddr}, args[1:])
	}
	return d.opts.prog + " " + strings.Join(args, " ")
}

// check tries every printed command, then every change, and reports each.
func (d *demo) check(ctx context.Context, tries []try, changes []change) error {
	failed := 0
	report := func(cmd string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(d.out, "FAIL %s\n     %v\n", cmd, err)
			return
		}
		fmt.Fprintf(d.out, "ok   %s\n", cmd)
	}
	for _, t := range tries {
		err := t.check(ctx)
		if ctx.Err() != nil {
			return errInterrupted
		}
		report(t.cmd, err)
	}
	// Each change builds on the ones before: stop at the first failure.
	for _, c := range changes {
		cmd := d.changeCommand(c)
		_, err := sendControl(ctx, d.controlAddr, c.args[0], c.args[1:])
		if err == nil {
			err = d.eventually(ctx, c.note, func() error { return c.check(ctx) })
		}
		if errors.Is(err, errInterrupted) || ctx.Err() != nil {
			return errInterrupted
		}
		report(cmd, err)
		if err != nil {
			break
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed; sluice's log: %s", failed, d.sluice.logPath)
	}
	fmt.Fprintf(d.out, "all %d checks passed\n", len(tries)+len(changes))
	return nil
}

// printBanner tells the user what to try.
func (d *demo) printBanner(tries []try, changes []change) {
	w := d.out
	// Each section aligns its own comments: one long command should not
	// push every other comment off the screen.
	section := func(cmds, notes []string) {
		width := 0
		for _, c := range cmds {
			width = max(width, len(c))
		}
		for i, c := range cmds {
			fmt.Fprintf(w, "  %-*s  # %s\n", width, c, notes[i])
		}
	}
	var cmds, notes []string
	heading := fmt.Sprintf("sluice serves %s from a real kube-apiserver; try:", exampleFile)
	for i, t := range tries {
		if t.section != "" {
			if i > 0 {
				fmt.Fprintf(w, "\n%s\n\n", heading)
				section(cmds, notes)
				cmds, notes = nil, nil
			}
			heading = t.section
		}
		cmds, notes = append(cmds, t.cmd), append(notes, t.note)
	}
	fmt.Fprintf(w, "\n%s\n\n", heading)
	section(cmds, notes)
	cmds, notes = nil, nil
	for _, c := range changes {
		cmds, notes = append(cmds, d.changeCommand(c)), append(notes, c.note)
	}
	fmt.Fprintf(w, "\nChange the cluster; sluice follows at once, without a reload:\n\n")
	section(cmds, notes)
	fmt.Fprintf(w, `
With kubectl (EndpointSlices on 127.0.0.x only change through scale: the API
server refuses loopback addresses):

  export KUBECONFIG=%s
  kubectl -n %s get ingress,services,endpointslices,secrets
  kubectl -n %s annotate ingress site sluice.dev/load-balance=leastconn

Work directory: %s (sluice.log, controlplane/, ca.pem).
Ctrl-C stops everything.

`, d.cp.Kubeconfig, namespace, namespace, d.workDir)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// The running demo takes changes over HTTP on its control address, so that
// `demo-cluster scale` can start and stop backends in the demo's process,
// and write EndpointSlices through its etcd connection.

// defaultControlAddr is where the demo listens for scale and annotate.
const defaultControlAddr = "127.0.0.1:10255"

// errStarting answers changes that arrive before the cluster is up.
var errStarting = errors.New("the demo is still starting; try again once it prints its commands")

// badRequest marks errors in what the user asked, answered 400.
type badRequest struct{ error }

// controlRequest turns the arguments of a change subcommand into a control
// request: the demo and the check both go through it.
func controlRequest(cmd string, args []string) (path string, form url.Values, err error) {
	switch cmd {
	case "scale":
		if len(args) != 2 {
			return "", nil, errors.New("usage: scale SERVICE REPLICAS")
		}
		if _, err := strconv.Atoi(args[1]); err != nil {
			return "", nil, fmt.Errorf("replicas %q is not a number", args[1])
		}
		return "/scale", url.Values{"service": {args[0]}, "replicas": {args[1]}}, nil
	case "annotate":
		if len(args) != 2 {
			return "", nil, errors.New("usage: annotate INGRESS KEY=VALUE | KEY-")
		}
		form := url.Values{"ingress": {args[0]}}
		if key, value, ok := strings.Cut(args[1], "="); ok {
			form.Set("key", key)
			form.Set("value", value)
		} else if key, ok := strings.CutSuffix(args[1], "-"); ok {
			form.Set("key", key)
			form.Set("remove", "true")
		} else {
			return "", nil, fmt.Errorf("%q is neither KEY=VALUE nor KEY-", args[1])
		}
		if form.Get("key") == "" {
			return "", nil, fmt.Errorf("%q: empty annotation key", args[1])
		}
		return "/annotate", form, nil
	}
	return "", nil, fmt.Errorf("unknown change %q", cmd)
}

// sendControl asks the demo at addr for a change and returns its answer.
func sendControl(ctx context.Context, addr, cmd string, args []string) (string, error) {
	path, form, err := controlRequest(cmd, args)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("no demo answers on %s (is `make demo-cluster` running?): %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", fmt.Errorf("read the demo's answer: %w", err)
	}
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(msg)
	}
	return msg, nil
}

// changeCmd is the scale and annotate subcommands.
func changeCmd(cmd string, args []string) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	addr := fs.String("control", defaultControlAddr, "control address of the running demo")
	fs.Usage = func() {
		switch cmd {
		case "scale":
			fmt.Fprintln(fs.Output(), "usage: demo-cluster scale [-control ADDR] SERVICE REPLICAS")
		default:
			fmt.Fprintln(fs.Output(), "usage: demo-cluster annotate [-control ADDR] INGRESS KEY=VALUE | KEY-")
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	msg, err := sendControl(context.Background(), *addr, cmd, fs.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo-cluster %s: %v\n", cmd, err)
		return 1
	}
	fmt.Println(msg)
	return 0
}

// serveControl answers the change subcommands on ln until Close.
func (d *demo) serveControl(ln net.Listener) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /scale", func(w http.ResponseWriter, r *http.Request) {
		if !d.live.Load() {
			d.answer(w, "", errStarting)
			return
		}
		n, err := strconv.Atoi(r.FormValue("replicas"))
		if err != nil {
			d.answer(w, "", badRequest{fmt.Errorf("replicas %q is not a number", r.FormValue("replicas"))})
			return
		}
		msg, err := d.scale(r.Context(), r.FormValue("service"), n)
		d.answer(w, msg, err)
	})
	mux.HandleFunc("POST /annotate", func(w http.ResponseWriter, r *http.Request) {
		if !d.live.Load() {
			d.answer(w, "", errStarting)
			return
		}
		msg, err := d.annotate(r.Context(), r.FormValue("ingress"), r.FormValue("key"), r.FormValue("value"), r.FormValue("remove") == "true")
		d.answer(w, msg, err)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv
}

func (d *demo) answer(w http.ResponseWriter, msg string, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.As(err, new(badRequest)):
			code = http.StatusBadRequest
		case errors.Is(err, errStarting):
			code = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), code)
		fmt.Fprintf(d.out, "change refused: %v\n", err)
		return
	}
	fmt.Fprintln(w, msg)
	fmt.Fprintf(d.out, "changed: %s\n", msg)
}

// scale gives a Service n endpoints: new backends start before the slice
// names them, and old ones stop once sluice has dropped them, so that no
// request meets a closed port.
func (d *demo) scale(ctx context.Context, svc string, n int) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.ex.slices[svc]
	if old == nil {
		names := make([]string, 0, len(d.ex.slices))
		for name := range d.ex.slices {
			names = append(names, name)
		}
		slices.Sort(names)
		return "", badRequest{fmt.Errorf("no service %q (there are %s)", svc, strings.Join(names, ", "))}
	}
	next, err := scaled(old, n)
	if err != nil {
		return "", badRequest{err}
	}
	oldEps, err := endpointsOf(old)
	if err != nil {
		return "", err
	}
	newEps, err := endpointsOf(next)
	if err != nil {
		return "", err
	}
	added, removed := missing(newEps, oldEps), missing(oldEps, newEps)
	if err := d.fleet.start(added); err != nil {
		return "", err
	}
	if err := d.cp.PutEndpointSlice(ctx, next); err != nil {
		d.fleet.stop(added)
		return "", fmt.Errorf("service %s: %w", svc, err)
	}
	d.ex.slices[svc] = next
	d.drained(ctx, removed)
	d.fleet.stop(removed)

	var b strings.Builder
	fmt.Fprintf(&b, "service %s/%s: %d endpoint(s)", namespace, svc, len(newEps))
	for i, ep := range newEps {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s %s", sep, ep.name, ep.addr)
	}
	return b.String(), nil
}

// drained waits, a few seconds at most, until sluice's live configuration
// no longer names any of eps.
func (d *demo) drained(ctx context.Context, eps []endpoint) {
	if len(eps) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for {
		cfg, err := d.liveConfig(ctx)
		if err == nil && !slices.ContainsFunc(eps, func(ep endpoint) bool { return hasWord(cfg, ep.addr.String()) }) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// liveConfig is sluice's routing table, as a config file.
func (d *demo) liveConfig(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.metricsAddr+"/debug/config", nil)
	if err != nil {
		return "", err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/debug/config: %s", resp.Status)
	}
	return string(body), nil
}

// annotate sets or removes one annotation of an Ingress of the demo.
func (d *demo) annotate(ctx context.Context, ing, key, value string, remove bool) (string, error) {
	if ing == "" || key == "" {
		return "", badRequest{errors.New("an Ingress and an annotation key are required")}
	}
	ingresses := d.cs.NetworkingV1().Ingresses(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := ingresses.Get(ctx, ing, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if remove {
			delete(obj.Annotations, key)
		} else {
			if obj.Annotations == nil {
				obj.Annotations = map[string]string{}
			}
			obj.Annotations[key] = value
		}
		_, err = ingresses.Update(ctx, obj, metav1.UpdateOptions{})
		return err
	})
	switch {
	case apierrors.IsNotFound(err):
		return "", badRequest{fmt.Errorf("no ingress %s/%s", namespace, ing)}
	case apierrors.IsInvalid(err):
		return "", badRequest{err}
	case err != nil:
		return "", fmt.Errorf("ingress %s/%s: %w", namespace, ing, err)
	}
	if remove {
		return fmt.Sprintf("ingress %s/%s: %s removed", namespace, ing, key), nil
	}
	return fmt.Sprintf("ingress %s/%s: %s=%s", namespace, ing, key, value), nil
}

// hasWord reports whether a line of cfg has addr as a word.
func hasWord(cfg, addr string) bool {
	for _, line := range strings.Split(cfg, "\n") {
		if slices.Contains(strings.Fields(line), addr) {
			return true
		}
	}
	return false
}

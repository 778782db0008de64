package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sluice.dev/sluice/dataplane"
)

// adminServer serves the operator's endpoints: /metrics, /healthz (the
// process is alive), /readyz (the routing table is live and the process is
// not draining) and /debug/config (the live table as a config file).
type adminServer struct {
	srv      *http.Server
	ready    atomic.Bool
	draining atomic.Bool
	// readyFunc, when set, must also hold for /readyz to answer 200.
	readyFunc func() bool
}

func startAdmin(addr string, reg prometheus.Gatherer, rt *dataplane.Runtime, logger *slog.Logger, readyFunc func() bool) (*adminServer, error) {
	a := &adminServer{readyFunc: readyFunc}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.isReady() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/debug/config", func(w http.ResponseWriter, _ *http.Request) {
		cfg := rt.Table().Config()
		if cfg == nil {
			http.Error(w, "no configuration loaded yet", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(cfg.String()))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			logger.Error("admin server", "error", err)
		}
	}()
	return a, nil
}

func (a *adminServer) setReady(v bool) { a.ready.Store(v) }

func (a *adminServer) isReady() bool {
	return a.ready.Load() && (a.readyFunc == nil || a.readyFunc())
}

func (a *adminServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = a.srv.Shutdown(ctx)
}

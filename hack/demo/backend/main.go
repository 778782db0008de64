// Command demo-backend serves small HTTP backends for demos and tests: each
// listener answers with its own name, the request it saw and the headers
// the proxy added, so routing and balancing are visible with curl.
//
//	demo-backend 127.0.0.1:9101=blog1 127.0.0.1:9102=blog2
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: demo-backend ADDR=NAME...")
		os.Exit(2)
	}
	var servers []*http.Server
	for _, arg := range os.Args[1:] {
		addr, name, ok := strings.Cut(arg, "=")
		if !ok || addr == "" || name == "" {
			log.Fatalf("argument %q: want ADDR=NAME", arg)
		}
		srv := &http.Server{Addr: addr, Handler: handler(name), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				log.Fatalf("%s: %v", name, err)
			}
		}()
		log.Printf("%s listening on %s", name, addr)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(ctx)
	}
}

func handler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", name)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "server: %s\nrequest: %s %s\n", name, r.Method, r.URL.RequestURI())
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Forwarded-") || k == "Cookie" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
		}
	})
}

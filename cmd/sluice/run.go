package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"sluice.dev/sluice/dataplane"
)

// runCmd serves a config file until SIGTERM/SIGINT. SIGHUP, or a change of
// the file with --watch, loads the file again and swaps the routing table
// without dropping anything; a bad file is rejected and the old table stays.
func runCmd(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	file := fs.String("f", "", "config file to serve")
	watch := fs.Bool("watch", false, "reload when the config file changes")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics, /healthz, /readyz and /debug/config on this address (e.g. 127.0.0.1:9100)")
	accessLog := fs.String("access-log", "-", "access log destination: - for stdout, a file path, or off")
	grace := fs.Duration("grace", 30*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(os.Stderr, "sluice run: -f FILE is required")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	cfg, warnings, err := loadConfig(*file)
	for _, w := range warnings {
		logger.Warn(fmt.Sprint(w))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	logOut, closeLog, err := openAccessLog(*accessLog)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sluice run: --access-log: %v\n", err)
		return 2
	}
	defer closeLog()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rt := dataplane.New(dataplane.Options{Registerer: reg, AccessLog: logOut, Logger: logger})
	if err := rt.Apply(cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var admin *adminServer
	if *metricsAddr != "" {
		admin, err = startAdmin(*metricsAddr, reg, rt, logger, nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sluice run: --metrics-addr: %v\n", err)
			return 1
		}
		admin.setReady(true)
	}

	reload := func(why string) {
		cfg, warnings, err := loadConfig(*file)
		for _, w := range warnings {
			logger.Warn(fmt.Sprint(w))
		}
		if err == nil {
			err = rt.Apply(cfg)
		}
		if err != nil {
			logger.Error("reload failed, previous configuration keeps serving", "trigger", why, "error", err)
			return
		}
		logger.Info("reloaded", "trigger", why, "generation", rt.Table().Generation())
	}

	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	var changed <-chan struct{}
	if *watch {
		changed = watchFile(*file, 500*time.Millisecond)
	}
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				reload("SIGHUP")
				continue
			}
			logger.Info("shutting down", "signal", s.String(), "grace", grace.String())
			if admin != nil {
				admin.setReady(false)
			}
			ctx, cancel := context.WithTimeout(context.Background(), *grace)
			err := rt.Shutdown(ctx)
			cancel()
			if admin != nil {
				admin.close()
			}
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				logger.Error("shutdown", "error", err)
			}
			return 0
		case <-changed:
			reload("file changed")
		}
	}
}

func openAccessLog(dest string) (io.Writer, func(), error) {
	switch dest {
	case "off", "":
		return nil, func() {}, nil
	case "-":
		return os.Stdout, func() {}, nil
	}
	f, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { _ = f.Close() }, nil
}

// watchFile reports changes of a file's size, modification time or inode
// (editors often replace files), polling at the given interval.
func watchFile(path string, every time.Duration) <-chan struct{} {
	ch := make(chan struct{}, 1)
	stat := func() (os.FileInfo, bool) {
		fi, err := os.Stat(path)
		return fi, err == nil
	}
	go func() {
		last, _ := stat()
		for range time.Tick(every) {
			fi, ok := stat()
			if !ok {
				continue
			}
			if last == nil || fi.Size() != last.Size() || !fi.ModTime().Equal(last.ModTime()) || !os.SameFile(fi, last) {
				last = fi
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch
}

// Command tcpload drives the benchmark's TCP scenarios: each of -c workers
// loops connect, ask the backend for -size bytes, read them to EOF, close,
// until -d has passed or -n transfers have started. It prints one line:
//
//	RESULT ops=N secs=S bytes=B p50_us=P p99_us=Q errors=E short=F
//
// where ops counts complete transfers, p50/p99 are per-transfer times and
// short counts transfers that ended early. Large transfers are spliced to
// /dev/null so the load core does not copy the payload.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Below this, one read syscall per transfer is cheaper than splice's pipe.
const spliceMin = 1 << 20

func main() {
	addr := flag.String("addr", "127.0.0.1:19600", "proxy (or backend) address")
	conns := flag.Int("c", 4, "concurrent workers")
	size := flag.Int64("size", 64<<20, "bytes per transfer")
	dur := flag.Duration("d", 10*time.Second, "stop starting transfers after this")
	limit := flag.Int64("n", 10_000_000, "stop after this many transfers")
	flag.Parse()
	if *conns < 1 || *conns > 1000 || *size < 0 || *dur <= 0 || *dur > 10*time.Minute || *limit < 1 {
		log.Fatal("tcpload: need 1 <= -c <= 1000, -size >= 0, 0 < -d <= 10m, -n >= 1")
	}

	var (
		started atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		all     []time.Duration
		total   stats
	)
	begin := time.Now()
	stop := begin.Add(*dur)
	// A transfer that has not finished this long after the end is counted
	// as an error rather than holding the run open.
	hard := stop.Add(30 * time.Second)
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker{addr: *addr, size: *size, deadline: hard}
			for time.Now().Before(stop) && started.Add(1) <= *limit {
				w.transfer()
			}
			w.close()
			mu.Lock()
			defer mu.Unlock()
			all = append(all, w.times...)
			total.add(w.stats)
		}()
	}
	wg.Wait()
	secs := time.Since(begin).Seconds()
	slices.Sort(all)
	if total.firstErr != nil {
		fmt.Fprintf(os.Stderr, "first error: %v\n", total.firstErr)
	}
	fmt.Printf("RESULT ops=%d secs=%.3f bytes=%d p50_us=%d p99_us=%d errors=%d short=%d\n",
		total.ok, secs, total.bytes, percentile(all, 50).Microseconds(),
		percentile(all, 99).Microseconds(), total.errors, total.short)
}

type stats struct {
	ok, errors, short, bytes int64
	firstErr                 error
}

func (s *stats) add(o stats) {
	s.ok += o.ok
	s.errors += o.errors
	s.short += o.short
	s.bytes += o.bytes
	if s.firstErr == nil {
		s.firstErr = o.firstErr
	}
}

type worker struct {
	addr     string
	size     int64
	deadline time.Time
	devNull  *os.File // per worker: splices into one file would serialise
	buf      []byte
	times    []time.Duration
	stats
}

func (w *worker) transfer() {
	t0 := time.Now()
	n, err := w.fetch()
	w.bytes += n
	switch {
	case err != nil:
		w.errors++
		if w.firstErr == nil {
			w.firstErr = err
		}
	case n != w.size:
		w.short++
		if w.firstErr == nil {
			w.firstErr = fmt.Errorf("got %d of %d bytes", n, w.size)
		}
	default:
		w.ok++
		w.times = append(w.times, time.Since(t0))
	}
}

func (w *worker) fetch() (int64, error) {
	c, err := net.DialTimeout("tcp", w.addr, 5*time.Second)
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if err := c.SetDeadline(w.deadline); err != nil {
		return 0, fmt.Errorf("deadline: %w", err)
	}
	if _, err := io.WriteString(c, strconv.FormatInt(w.size, 10)+"\n"); err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	if w.size >= spliceMin {
		if w.devNull == nil {
			if w.devNull, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0); err != nil {
				return 0, fmt.Errorf("open %s: %w", os.DevNull, err)
			}
		}
		// *os.File.ReadFrom a TCP socket is splice(2) on Linux.
		n, err := w.devNull.ReadFrom(c)
		if err != nil {
			return n, fmt.Errorf("read: %w", err)
		}
		return n, nil
	}
	if w.buf == nil {
		w.buf = make([]byte, 64<<10)
	}
	var n int64
	for {
		m, err := c.Read(w.buf)
		n += int64(m)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read: %w", err)
		}
	}
}

func (w *worker) close() {
	if w.devNull != nil {
		w.devNull.Close()
	}
}

// percentile of sorted durations, nearest rank; 0 for none.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

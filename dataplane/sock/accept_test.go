package sock

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A client whose request is there and whose answer fits the send queue is
// served without the connection joining the poller.
func TestListenedStaysOffPoller(t *testing.T) {
	c, peer := listened(t)
	if _, err := peer.Write([]byte("GET")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	var n int
	for i := 0; i < 1000 && n == 0; i++ { // loopback delivery is not instant
		n = c.ReadNow(buf)
		if n == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if string(buf[:n]) != "GET" {
		t.Fatalf("ReadNow = %q", buf[:n])
	}
	if _, err := c.Write([]byte("200")); err != nil {
		t.Fatal(err)
	}
	if c.s != nil {
		t.Fatal("the connection joined the poller without waiting")
	}
	if _, err := io.ReadFull(peer, buf[:3]); err != nil || string(buf[:3]) != "200" {
		t.Fatalf("peer read %q, %v", buf[:3], err)
	}
	// The first wait puts it there.
	go peer.Write([]byte("more"))
	if n, err := c.Read(buf); err != nil || n == 0 {
		t.Fatalf("Read = %d, %v", n, err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	c.Read(buf) // waits: nothing more was sent
	if c.s == nil {
		t.Fatal("a connection that waited is not on the poller")
	}
}

// A deadline asked for off the poller holds once the connection waits.
func TestListenedPendingDeadline(t *testing.T) {
	c, _ := listened(t)
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	_, err := c.Read(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read = %v, want a timeout", err)
	}
	if d := time.Since(start); d < 20*time.Millisecond || d > 5*time.Second {
		t.Fatalf("timed out after %v, want about 30ms", d)
	}
}

// Interrupt wakes a reader waiting on the poller; Abort ends a reader
// whether the connection is on the poller or not.
func TestInterruptAndAbort(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			c, _ := k.pair(t)
			errs := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 8))
				errs <- err
			}()
			time.Sleep(20 * time.Millisecond) // let it wait
			c.Interrupt()
			select {
			case err := <-errs:
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Fatalf("interrupted Read = %v, want a timeout", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Interrupt did not wake the reader")
			}

			c2, _ := k.pair(t)
			go func() {
				_, err := c2.Read(make([]byte, 8))
				errs <- err
			}()
			time.Sleep(20 * time.Millisecond)
			c2.Abort()
			select {
			case err := <-errs:
				if err != io.EOF {
					t.Fatalf("Read after Abort = %v, want EOF", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Abort did not end the reader")
			}
		})
	}
}

func TestListenerClosed(t *testing.T) {
	l := newListener(t)
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept on a closed listener = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a waiting Accept")
	}
	// The port is free again: the Listener held the only descriptor.
	ln2, err := net.Listen("tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("listen again on %s: %v", l.Addr(), err)
	}
	ln2.Close()
}

// Accepted connections have Nagle off, inherited or set.
func TestListenedNoDelay(t *testing.T) {
	c, _ := listened(t)
	for range 2 {
		var v int
		err := c.control(func(fd int) (err error) {
			v, err = syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
			return err
		})
		if err != nil || v == 0 {
			t.Fatalf("TCP_NODELAY = %d, %v; want on", v, err)
		}
		c, _ = listened(t)
	}
}

// An Interrupt that comes before the owner first waits is not lost.
func TestInterruptBeforeWait(t *testing.T) {
	c, _ := listened(t)
	c.SetReadDeadline(time.Now().Add(time.Hour))
	c.Interrupt()
	start := time.Now()
	_, err := c.Read(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read after Interrupt = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("interrupted Read returned after %v", d)
	}
}

// Interrupt and Abort from other goroutines while the owner serves and
// closes connections off the poller: no data race (go test -race), and no
// shutdown of a descriptor number reused after Close.
func TestAbortRacesClose(t *testing.T) {
	l := newListener(t)
	defer l.Close()
	// A bystander whose descriptor number a closed Conn's may be given to.
	for i := range 200 {
		peer, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := l.AcceptConn()
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex // the tracking a server keeps: no Abort after untrack
		live := true
		done := make(chan struct{})
		go func() {
			defer close(done)
			mu.Lock()
			defer mu.Unlock()
			if live {
				if i%2 == 0 {
					c.Interrupt()
				} else {
					c.Abort()
				}
			}
		}()
		peer.Write([]byte("x"))
		c.Read(make([]byte, 1))
		c.Write([]byte("y"))
		mu.Lock()
		live = false
		mu.Unlock()
		c.Close()
		<-done
		c.Abort() // after Close: nothing
		Put(c)
		peer.Close()
	}
}

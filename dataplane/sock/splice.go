package sock

import (
	"io"
	"sync"
	"syscall"
)

// Bulk streams between two Conns move through a pipe with splice(2): the
// bytes go from one socket's receive queue to the other's send queue
// without being copied through user space.

// ReadFrom copies src to c until EOF, splicing when src is a Conn.
func (c *Conn) ReadFrom(src io.Reader) (int64, error) {
	if s, ok := src.(*Conn); ok {
		return splice(c, s)
	}
	return io.Copy(writerOnly{c}, src)
}

// WriteTo copies c to dst until EOF, splicing when dst is a Conn.
func (c *Conn) WriteTo(dst io.Writer) (int64, error) {
	if d, ok := dst.(*Conn); ok {
		return splice(d, c)
	}
	return io.Copy(dst, readerOnly{c})
}

// writerOnly and readerOnly hide ReadFrom and WriteTo from io.Copy, which
// would call back into them.
type writerOnly struct{ io.Writer }

type readerOnly struct{ io.Reader }

// pipeSize is asked of every pipe: one call moves up to this much. The
// system may grant less (pipe-max-size); the pipe then keeps its size.
const pipeSize = 1 << 20

type pipe struct{ r, w int }

// Pipes are kept for the next bulk stream, up to maxFreePipes of them;
// each holds two descriptors.
const maxFreePipes = 32

var pipes struct {
	sync.Mutex
	free []pipe
}

func getPipe() (pipe, error) {
	pipes.Lock()
	if n := len(pipes.free); n > 0 {
		p := pipes.free[n-1]
		pipes.free = pipes.free[:n-1]
		pipes.Unlock()
		return p, nil
	}
	pipes.Unlock()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		return pipe{}, err
	}
	_, _ = fcntl(fds[0], syscall.F_SETPIPE_SZ, pipeSize)
	return pipe{r: fds[0], w: fds[1]}, nil
}

// putPipe keeps p for reuse; only an empty pipe may be kept.
func putPipe(p pipe, empty bool) {
	if empty {
		pipes.Lock()
		if len(pipes.free) < maxFreePipes {
			pipes.free = append(pipes.free, p)
			pipes.Unlock()
			return
		}
		pipes.Unlock()
	}
	syscall.Close(p.r)
	syscall.Close(p.w)
}

func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// splice copies src to dst until src's EOF. Deadlines on either side
// apply as to Read and Write.
func splice(dst, src *Conn) (int64, error) {
	// Splicing waits on both sides in turn; a stream long enough to be
	// spliced will wait anyway.
	if err := src.Register(); err != nil {
		return 0, err
	}
	if err := dst.Register(); err != nil {
		return 0, err
	}
	p, err := getPipe()
	if err != nil {
		return io.Copy(writerOnly{dst}, readerOnly{src})
	}
	var written int64
	var inPipe int
	var errno syscall.Errno
	fill := func(fd uintptr) bool {
		for {
			n, err := syscall.Splice(int(fd), nil, p.w, nil, pipeSize, spliceNonblock)
			switch err {
			case nil:
				inPipe, errno = int(n), 0
				return true
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				inPipe, errno = 0, err.(syscall.Errno)
				return true
			}
		}
	}
	drain := func(fd uintptr) bool {
		for inPipe > 0 {
			n, err := syscall.Splice(p.r, nil, int(fd), nil, inPipe, spliceNonblock)
			switch err {
			case nil:
				inPipe -= int(n)
				written += n
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				errno = err.(syscall.Errno)
				return true
			}
		}
		return true
	}
	for {
		if err := src.rc.Read(fill); err != nil {
			putPipe(p, true)
			return written, src.opError("read", err)
		}
		if errno != 0 {
			putPipe(p, true)
			if errno == syscall.EINVAL && written == 0 {
				// Not a pair splice can join: copy through user space.
				return io.Copy(writerOnly{dst}, readerOnly{src})
			}
			return written, src.opError("read", errno)
		}
		if inPipe == 0 {
			putPipe(p, true)
			return written, nil
		}
		err := dst.rc.Write(drain)
		if err == nil && errno != 0 {
			err = errno
		}
		if err != nil {
			putPipe(p, inPipe == 0)
			return written, dst.opError("write", err)
		}
	}
}

// spliceNonblock: a splice never waits; the poller does.
const spliceNonblock = 0x2 // SPLICE_F_NONBLOCK

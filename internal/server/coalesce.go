package server

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// Go's HTTP/2 server flushes its connection's buffer whenever its queue of
// frames is empty, and a handler hands it a response's frames one at a time
// (headers, data, trailers, and the window updates of the request's body),
// each waiting for the last: under load nearly every frame became a write
// system call of its own, about 3 per unary call. A coalescing connection
// takes each write into memory and leaves the system call to a goroutine of
// its own, which first yields once so that the frames other goroutines are
// about to write join the same call. An idle server adds no delay (nothing
// else is ready to run); a busy one makes fewer, larger writes.

// coalesceMax is how many bytes a connection holds before a Write waits for
// them to be written: a client that reads nothing holds up its writers as
// before, not the server's memory.
const coalesceMax = 256 << 10

// closeDrain bounds how long Close waits for the held bytes to be written.
const closeDrain = 5 * time.Second

// coalescingListener's connections coalesce their writes.
type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &coalescingConn{Conn: c}
	cc.done = sync.NewCond(&cc.mu)
	return cc, nil
}

// coalescingConn holds the bytes written to it until its writer goroutine
// (running while writing is set) writes them in one system call. A failed
// write fails every later Write with the same error.
type coalescingConn struct {
	net.Conn
	mu      sync.Mutex
	done    *sync.Cond // a system call ended, or the writer stopped
	held    []byte
	spare   []byte
	writing bool
	err     error
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && len(c.held) >= coalesceMax {
		c.done.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	c.held = append(c.held, p...)
	if !c.writing {
		c.writing = true
		go c.writeHeld()
	}
	return len(p), nil
}

// writeHeld writes what is held, in as few system calls as it can, until
// nothing is.
func (c *coalescingConn) writeHeld() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.held) > 0 && c.err == nil {
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
		buf := c.held
		c.held = c.spare[:0]
		c.mu.Unlock()
		_, err := c.Conn.Write(buf)
		c.mu.Lock()
		// The written buffer is the next one to fill, unless a burst made it
		// too big to keep (held has the other).
		c.spare = nil
		if cap(buf) <= coalesceMax {
			c.spare = buf[:0]
		}
		if err != nil {
			c.err = err
		}
		c.done.Broadcast()
	}
	c.writing = false
	c.done.Broadcast()
}

// drain waits for the held bytes to be written, for at most closeDrain.
func (c *coalescingConn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing {
		// A client that reads nothing must not hold up the close.
		_ = c.Conn.SetWriteDeadline(time.Now().Add(closeDrain))
	}
	for c.writing {
		c.done.Wait()
	}
}

func (c *coalescingConn) Close() error {
	c.drain()
	return c.Conn.Close()
}

// CloseWrite is the connection's half-close (what net/http does before it
// closes an HTTP/1 connection), after the held bytes.
func (c *coalescingConn) CloseWrite() error {
	c.drain()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

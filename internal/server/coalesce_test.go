package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// coalescingPair is a coalescing connection of a loopback TCP listener and
// the client's end of it.
func coalescingPair(t *testing.T) (*coalescingConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := coalescingListener{ln}.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server.(*coalescingConn), client
}

// TestCoalescingConnKeepsEachWriteWhole: writes from many goroutines all
// arrive, each in one piece, and Close sends what is held before it closes.
func TestCoalescingConnKeepsEachWriteWhole(t *testing.T) {
	t.Parallel()
	server, client := coalescingPair(t)
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				msg := fmt.Sprintf("<%d:%04d:%s>", w, i, bytes.Repeat([]byte{'x'}, i%300))
				if _, err := server.Write([]byte(msg)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	wg.Wait()
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	b := <-got
	next := make([]int, writers)
	for len(b) > 0 {
		var w, i int
		if _, err := fmt.Sscanf(string(b), "<%d:%04d:", &w, &i); err != nil {
			t.Fatalf("a write was split or mixed with another: %.40q", b)
		}
		want := fmt.Sprintf("<%d:%04d:%s>", w, i, bytes.Repeat([]byte{'x'}, i%300))
		if !bytes.HasPrefix(b, []byte(want)) || i != next[w] {
			t.Fatalf("writer %d: got %.40q, want its write %d whole", w, b, next[w])
		}
		next[w]++
		b = b[len(want):]
	}
	for w, n := range next {
		if n != each {
			t.Errorf("writer %d: %d writes arrived, want %d", w, n, each)
		}
	}
}

// countingConn counts its writes, and write number blockOn (the first when
// 0) waits for release.
type countingConn struct {
	net.Conn
	writes  atomic.Int32
	blockOn int32
	release chan struct{}
}

func (c *countingConn) Write(p []byte) (int, error) {
	if c.writes.Add(1) == max(c.blockOn, 1) {
		<-c.release
	}
	return c.Conn.Write(p)
}

// TestCoalescingConnJoinsWrites: what is written while a system call is under
// way goes out together in the next one.
func TestCoalescingConnJoinsWrites(t *testing.T) {
	t.Parallel()
	server, client := coalescingPair(t)
	counting := &countingConn{Conn: server.Conn, release: make(chan struct{})}
	server.Conn = counting
	const n = 100
	for i := range n {
		if _, err := server.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	close(counting.release)
	got := make([]byte, n)
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if got[i] != byte(i) {
			t.Fatalf("byte %d is %d: out of order", i, got[i])
		}
	}
	if w := counting.writes.Load(); w > 2 {
		t.Errorf("%d writes made %d system calls; want the ones held during the first to go out in one", n, w)
	}
}

// TestCoalescingConnReportsAFailedWrite: once a write fails, later writes fail.
func TestCoalescingConnReportsAFailedWrite(t *testing.T) {
	t.Parallel()
	server, _ := coalescingPair(t)
	server.Conn.Close()
	var err error
	for range 1000 {
		if _, err = server.Write([]byte("after close")); err != nil {
			break
		}
		server.drain()
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after the connection failed: %v, want %v", err, net.ErrClosed)
	}
}

// TestCoalescingConnBigBursts: after a small write, bursts bigger than a
// connection holds (its writers wait) arrive whole and in order, buffer after
// buffer.
func TestCoalescingConnBigBursts(t *testing.T) {
	t.Parallel()
	server, client := coalescingPair(t)
	counting := &countingConn{Conn: server.Conn, blockOn: 2, release: make(chan struct{})}
	server.Conn = counting
	if _, err := server.Write([]byte("small")); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 5)
	if _, err := io.ReadFull(client, small); err != nil || string(small) != "small" {
		t.Fatalf("the small write: %q, %v", small, err)
	}
	const chunk, n = 100 << 10, 40
	go func() {
		for i := range n {
			if _, err := server.Write(bytes.Repeat([]byte{byte(i)}, chunk)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	// Release the first system call once the writer waits for room.
	for {
		server.mu.Lock()
		full := len(server.held) >= coalesceMax
		server.mu.Unlock()
		if full {
			break
		}
		runtime.Gosched()
	}
	close(counting.release)
	got := make([]byte, chunk*n)
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if want := byte(i / chunk); got[i] != want {
			t.Fatalf("byte %d is %d, want %d (from write %d)", i, got[i], want, want)
		}
	}
}

// gatedConn's writes each wait for a token on gate, after saying on entered
// that they wait.
type gatedConn struct {
	net.Conn
	entered chan struct{}
	gate    chan struct{}
}

func (c *gatedConn) Write(p []byte) (int, error) {
	c.entered <- struct{}{}
	<-c.gate
	return c.Conn.Write(p)
}

// TestCoalescingConnReusesNoBufferInFlight: what is written while a buffer
// bigger than a connection keeps is in a system call, and then while that
// next buffer is, never lands in a buffer being written.
func TestCoalescingConnReusesNoBufferInFlight(t *testing.T) {
	t.Parallel()
	server, client := coalescingPair(t)
	gated := &gatedConn{Conn: server.Conn, entered: make(chan struct{}), gate: make(chan struct{})}
	server.Conn = gated
	var want []byte
	write := func(p []byte) {
		t.Helper()
		want = append(want, p...)
		if _, err := server.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	write(bytes.Repeat([]byte{'m'}, 150<<10)) // a buffer the connection keeps
	<-gated.entered
	gated.gate <- struct{}{}
	server.drain()
	write([]byte("a"))
	<-gated.entered // "a" in flight
	write(bytes.Repeat([]byte{'b'}, 300<<10))
	gated.gate <- struct{}{}
	<-gated.entered // the 300 KiB in flight: too big to keep
	write([]byte("x"))
	gated.gate <- struct{}{}
	<-gated.entered // "x" in flight
	write([]byte("y"))
	gated.gate <- struct{}{}
	<-gated.entered // "y" in flight
	gated.gate <- struct{}{}
	server.drain()
	go func() {
		for range gated.entered {
			gated.gate <- struct{}{}
		}
	}()
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("read %d bytes ending %q, want %d ending %q", len(b), b[max(len(b)-3, 0):], len(want), want[len(want)-3:])
	}
}

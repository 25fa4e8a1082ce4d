package servertest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP load balancer for tests: each new connection goes to the next
// of its backends, round robin. Taking a backend out of rotation leaves its open
// connections alone, as a load balancer draining a server does.
type Proxy struct {
	Addr string // host:port clients dial

	ln       net.Listener
	mu       sync.Mutex
	backends []string
	next     int
}

// NewProxy listens on a loopback port until the test ends.
func NewProxy(t testing.TB, backends ...string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), ln: ln, backends: backends}
	t.Cleanup(func() { _ = ln.Close() })
	go p.serve()
	return p
}

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return "http://" + p.Addr }

// SetBackends replaces the rotation.
func (p *Proxy) SetBackends(backends ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = backends
}

func (p *Proxy) pick() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.backends) == 0 {
		return ""
	}
	p.next = (p.next + 1) % len(p.backends)
	return p.backends[p.next]
}

func (p *Proxy) serve() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(conn)
	}
}

func (p *Proxy) forward(conn net.Conn) {
	defer conn.Close()
	target := p.pick()
	if target == "" {
		return
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Pass the half-close on, so each side sees the other finish.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, conn)
	go pipe(conn, up)
	<-done
	<-done
}

package servertest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP load balancer for tests: each new connection goes to the next
// of its backends, round robin. Taking a backend out of rotation leaves its open
// connections alone, as a load balancer draining a server does; cutting the
// proxy closes its port and every connection, as a network failure does.
type Proxy struct {
	Addr string // host:port clients dial

	mu       sync.Mutex
	ln       net.Listener // nil while cut
	conns    map[net.Conn]bool
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
	p := &Proxy{Addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]bool{}, backends: backends}
	t.Cleanup(p.Cut)
	go p.serve(ln)
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

// Cut closes the port and every forwarded connection.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// Restore listens on the proxy's port again.
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", p.Addr)
		if err == nil {
			p.mu.Lock()
			p.ln = ln
			p.mu.Unlock()
			go p.serve(ln)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy port %s: %v", p.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
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

func (p *Proxy) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go p.forward(ln, conn)
	}
}

// track records a forwarded pair, unless the proxy was cut meanwhile.
func (p *Proxy) track(ln net.Listener, conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != ln {
		return false
	}
	for _, c := range conns {
		p.conns[c] = true
	}
	return true
}

func (p *Proxy) forward(ln net.Listener, down net.Conn) {
	defer down.Close()
	target := p.pick()
	if target == "" {
		return
	}
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if !p.track(ln, down, up) {
		return
	}
	defer func() {
		p.mu.Lock()
		delete(p.conns, down)
		delete(p.conns, up)
		p.mu.Unlock()
	}()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Pass the half-close on, so each side sees the other finish.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, down)
	go pipe(down, up)
	<-done
	<-done
}

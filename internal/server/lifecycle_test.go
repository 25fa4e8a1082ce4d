package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server"
	"github.com/switchyard/switchyard/internal/store"
)

// served is a server from server.New, serving on a loopback listener.
type served struct {
	srv      *server.Server
	addr     string
	serveErr chan error
}

// serveOn starts a server on the SQLite file in dataDir and serves it on ln.
func serveOn(t *testing.T, dataDir string, ln net.Listener) *served {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{Store: store.Config{DataDir: dataDir}, Engine: fastEngine})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	s := &served{srv: srv, addr: ln.Addr().String(), serveErr: make(chan error, 1)}
	go func() { s.serveErr <- srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return s
}

func listenLoopback(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	return ln
}

// TestServerShutdown: Shutdown ends an open Listen stream with unavailable
// (so the worker reconnects elsewhere), returns nil within its context, ends
// Serve with nil, closes the store and releases the port; a second server on
// the same SQLite file and port then starts, keeps the first one's data and
// creates no second admin token.
func TestServerShutdown(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	first := serveOn(t, dataDir, listenLoopback(t, "127.0.0.1:0"))
	token := first.srv.CreatedAdminToken()
	if !strings.HasPrefix(token, "sy_") {
		t.Fatalf("first start created admin token %q; want one starting sy_", token)
	}
	a := newAPIToken("http://"+first.addr, grpcProtocol(), token)
	ctx := context.Background()
	pushed, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "shutdown.before"}))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := a.workers.RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "w", Actions: []string{"a"}}))
	if err != nil {
		t.Fatal(err)
	}
	listen, err := a.workers.Listen(ctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: reg.Msg.GetWorkerId()}))
	if err != nil {
		t.Fatal(err)
	}
	if !listen.Receive() || !(listen.Msg().GetKeepalive() != nil) {
		t.Fatalf("first message of the Listen stream: %v, %v; want a keep-alive", listen.Msg(), listen.Err())
	}
	listenEnded := make(chan error, 1)
	go func() {
		for listen.Receive() {
		}
		listenEnded <- listen.Err()
	}()

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := first.srv.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v; want nil", err)
	}
	if sctx.Err() != nil {
		t.Fatalf("Shutdown returned after its context ended: %v", sctx.Err())
	}
	err = <-listenEnded
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "the server is shutting down; reconnect") {
		t.Fatalf("Listen stream at shutdown ended with %v; want unavailable: the server is shutting down; reconnect", err)
	}
	if err := <-first.serveErr; err != nil {
		t.Fatalf("Serve after Shutdown: %v; want nil", err)
	}
	if err := first.srv.Store().Ping(ctx); err == nil {
		t.Fatal("store answers a ping after Shutdown; want it closed")
	}
	if err := first.srv.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v; want nil, as the first", err)
	}

	second := serveOn(t, dataDir, listenLoopback(t, first.addr))
	if created := second.srv.CreatedAdminToken(); created != "" {
		t.Fatalf("restart created admin token %q; want none", created)
	}
	b := newAPIToken("http://"+second.addr, grpcProtocol(), token)
	got, err := b.events.GetEvent(ctx, connect.NewRequest(&switchyardv1.GetEventRequest{Id: pushed.Msg.GetEvent().GetId()}))
	if err != nil || got.Msg.GetEvent().GetKey() != "shutdown.before" {
		t.Fatalf("event after restart: %v, %v; want key shutdown.before", got, err)
	}
}

// TestServerShutdownDeadline: a call still in flight when Shutdown's context
// ends is cut; Shutdown returns the context's error, and the port and the
// store are released all the same.
func TestServerShutdownDeadline(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := serveOn(t, dataDir, listenLoopback(t, "127.0.0.1:0"))
	// A call whose body never ends. The server's 100 Continue says that the
	// handler has begun to read it.
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /switchyard.v1.EventService/PushEvent HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", s.addr, s.srv.CreatedAdminToken())
	answer := bufio.NewReader(conn)
	if line, err := answer.ReadString('\n'); err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("answer to the call's headers: %q, %v; want HTTP/1.1 100 Continue", line, err)
	}
	if blank, err := answer.ReadString('\n'); err != nil || blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q, %v; want the blank line", blank, err)
	}
	if _, err := io.WriteString(conn, `{"key":"in.flight",`); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := s.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a call in flight: %v; want %v", err, context.DeadlineExceeded)
	}
	if rest, _ := io.ReadAll(answer); len(rest) != 0 {
		t.Fatalf("the call in flight was answered %q; want its connection closed without an answer", rest)
	}
	if err := s.srv.Store().Ping(context.Background()); err == nil {
		t.Fatal("store answers a ping after Shutdown; want it closed")
	}
	if err := <-s.serveErr; err != nil {
		t.Fatalf("Serve after Shutdown: %v; want nil", err)
	}
	second := serveOn(t, dataDir, listenLoopback(t, s.addr))
	if err := second.srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown of the second server: %v; want nil", err)
	}
}

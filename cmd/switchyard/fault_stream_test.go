package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/sdk"
)

// TestFaultSilentStream puts an HTTP/2 proxy between one of two workers and
// the server, and makes it stop forwarding what the server sends on Listen
// streams while it still forwards every unary call (heartbeats among them)
// both ways: the worker's connection stays up and its heartbeats succeed, but
// it receives nothing. The assignments the server sends it meanwhile move to
// the other worker within seconds, not after their five-minute lease.
func TestFaultSilentStream(t *testing.T) {
	t.Parallel()
	srv, direct := startFaultServer(t, time.Second)
	proxy := newSilencingProxy(t, srv.URL)
	behind := sdk.NewClient(proxy.URL, sdk.WithToken(servertest.AdminToken))
	ctx := context.Background()
	if _, err := direct.PutWorkflow(ctx, &switchyardv1.WorkflowSpec{Name: "silenced", OnEvents: []string{"silenced.start"},
		Tasks: []*switchyardv1.TaskSpec{{Name: "work", Action: "silenced.work"}}}); err != nil {
		t.Fatalf("put workflow: %v", err)
	}
	var ranMu sync.Mutex
	ranBy := map[string]string{} // task id -> worker
	handler := func(worker string) sdk.TaskFunc {
		return func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
			ranMu.Lock()
			ranBy[task.ID] = worker
			ranMu.Unlock()
			time.Sleep(100 * time.Millisecond)
			return nil, nil
		}
	}
	// Through the proxy alone first, so that it is known to forward streams.
	startWorkers(t, "behind", nil, 8, handler("behind-0"), []string{"silenced.work"}, behind)
	if ids := pushEvents(t, direct, "silenced.start", 3); waitSucceeded(t, direct, "silenced", ids, time.Now().Add(30*time.Second)) != len(ids) {
		t.Fatalf("runs through the proxy did not all succeed within 30s, before any fault")
	}
	startWorkers(t, "direct", nil, 4, handler("direct-0"), []string{"silenced.work"}, direct)
	activeWorker(t, direct, "direct-0")

	proxy.silence()
	silenced := time.Now()
	runIDs := pushEvents(t, direct, "silenced.start", 16) // more than the direct worker's slots, so the silenced one gets some
	const bound = 10 * time.Second
	done := waitSucceeded(t, direct, "silenced", runIDs, silenced.Add(bound))
	recovery := time.Since(silenced)
	moved := proxy.swallowedAssignments()
	// The worker's heartbeats pass the proxy all along.
	for deadline := time.Now().Add(5 * time.Second); proxy.passed("Heartbeat") == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("figures: assignments_swallowed=%d swallowed=%v unary_passed_while_silent=%v runs=%d succeeded=%d after=%s (bound %s)",
		len(moved), proxy.swallowedKinds(), proxy.passedCounts(), len(runIDs), done, recovery.Round(time.Millisecond), bound)
	if len(moved) == 0 {
		t.Fatalf("the server sent the silenced worker no assignment: nothing was tested")
	}
	if n := proxy.passed("Heartbeat"); n == 0 {
		t.Errorf("no heartbeat passed the proxy while the stream was silenced, want some: the fault is a stream that dies while unary calls pass")
	}
	if done != len(runIDs) {
		t.Fatalf("%d of %d runs SUCCEEDED %s after the stream was silenced, want all: the silenced worker's assignments wait for their lease", done, len(runIDs), bound)
	}
	ranMu.Lock()
	defer ranMu.Unlock()
	for id := range moved {
		if ranBy[id] != "direct-0" {
			t.Errorf("task %s, sent to the silenced worker, ran on %q, want direct-0", id, ranBy[id])
		}
	}
}

// silencingProxy is an HTTP/2 (h2c) reverse proxy in front of one server. Once
// silenced, it goes on reading what the server sends on Listen streams but
// forwards none of it, not even a stream's end, while every other call passes
// both ways: a proxy that silently lost a stream while the connection and
// other calls work.
type silencingProxy struct {
	URL    string
	silent atomic.Bool

	mu        sync.Mutex
	swallowed map[string]int      // messages swallowed, by kind
	moved     map[string]struct{} // task ids of the assignments swallowed
	unary     map[string]int      // calls forwarded while silent, by method
}

func newSilencingProxy(t *testing.T, target string) *silencingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &silencingProxy{swallowed: map[string]int{}, moved: map[string]struct{}{}, unary: map[string]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport:      servertest.HTTP2Client().Transport,
		FlushInterval:  -1,
		ModifyResponse: p.modify,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{Handler: rp, Protocols: protocols}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	p.URL = "http://" + ln.Addr().String()
	return p
}

// silence stops forwarding the Listen streams' responses, open and new.
func (p *silencingProxy) silence() { p.silent.Store(true) }

func (p *silencingProxy) modify(res *http.Response) error {
	method := res.Request.URL.Path[strings.LastIndex(res.Request.URL.Path, "/")+1:]
	if method == "Listen" {
		res.Body = &silencedBody{ReadCloser: res.Body, p: p, ctx: res.Request.Context(), gzip: res.Header.Get("Grpc-Encoding") == "gzip"}
		return nil
	}
	if p.silent.Load() {
		p.mu.Lock()
		p.unary[method]++
		p.mu.Unlock()
	}
	return nil
}

func (p *silencingProxy) passed(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unary[method]
}

func (p *silencingProxy) passedCounts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.unary)
}

func (p *silencingProxy) swallowedKinds() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.swallowed)
}

func (p *silencingProxy) swallowedAssignments() map[string]struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.moved)
}

// swallow records one gRPC message of a Listen stream that was not forwarded.
func (p *silencingProxy) swallow(compressed bool, msg []byte) {
	kind := "unreadable"
	var m switchyardv1.ListenResponse
	if compressed {
		zr, err := gzip.NewReader(bytes.NewReader(msg))
		if err == nil {
			msg, err = io.ReadAll(zr)
		}
		if err != nil {
			msg = nil
		}
	}
	if msg != nil && proto.Unmarshal(msg, &m) == nil {
		switch {
		case m.GetAssignment() != nil:
			kind = "assignment"
		case m.GetCancellation() != nil:
			kind = "cancellation"
		case m.GetKeepalive() != nil:
			kind = "keepalive"
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.swallowed[kind]++
	if a := m.GetAssignment(); a != nil {
		p.moved[a.GetTaskId()] = struct{}{}
	}
}

// silencedBody is a Listen stream's response body as the proxy forwards it:
// all of it until the proxy is silenced, nothing after.
type silencedBody struct {
	io.ReadCloser
	p    *silencingProxy
	ctx  context.Context // the client's request
	gzip bool            // messages flagged compressed are gzip
	buf  []byte          // what arrived of the gRPC message being read
}

func (b *silencedBody) Read(out []byte) (int, error) {
	for {
		n, err := b.ReadCloser.Read(out)
		silent := b.p.silent.Load()
		b.frames(out[:n], silent)
		if !silent {
			return n, err
		}
		if err != nil {
			// The server ended the stream; the worker hears nothing of that
			// either, until it gives up on the stream itself.
			<-b.ctx.Done()
			return 0, b.ctx.Err()
		}
	}
}

// frames splits what arrived into gRPC messages (a flags byte, a 4-byte
// length, the message) and records those that end while silent.
func (b *silencedBody) frames(data []byte, silent bool) {
	b.buf = append(b.buf, data...)
	for len(b.buf) >= 5 {
		size := int(binary.BigEndian.Uint32(b.buf[1:5]))
		if len(b.buf) < 5+size {
			return
		}
		flags, msg := b.buf[0], bytes.Clone(b.buf[5:5+size])
		b.buf = b.buf[5+size:]
		if silent {
			b.p.swallow(flags&1 == 1 && b.gzip, msg)
		}
	}
}

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
// it receives nothing on its stream. The assignments the server sent into the
// silence run within seconds, not after their five-minute lease:
//
//   - "open stream": the proxy silences the stream open at the fault and
//     forwards the streams opened after it, as when a middlebox lost one
//     stream. The tasks run, on either worker.
//   - "every stream": the proxy silences every Listen stream from the fault
//     on, as a proxy that never forwards a server stream does (the worker
//     heartbeats but receives nothing). The tasks move to the other worker.
func TestFaultSilentStream(t *testing.T) {
	t.Parallel()
	for _, every := range []bool{false, true} {
		name := map[bool]string{false: "open stream", true: "every stream"}[every]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			silentStream(t, every)
		})
	}
}

func silentStream(t *testing.T, every bool) {
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

	proxy.silence(every)
	silenced := time.Now()
	runIDs := pushEvents(t, direct, "silenced.start", 16) // more than the direct worker's slots, so the silenced one gets some
	const bound = 10 * time.Second
	done := waitSucceeded(t, direct, "silenced", runIDs, silenced.Add(bound))
	recovery := time.Since(silenced)
	swallowed := proxy.swallowedAssignments()
	// The worker's heartbeats pass the proxy all along.
	for deadline := time.Now().Add(5 * time.Second); proxy.passed("Heartbeat") == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	ranMu.Lock()
	defer ranMu.Unlock()
	moved := 0
	for id := range swallowed {
		if ranBy[id] == "direct-0" {
			moved++
		}
	}
	t.Logf("figures: silenced=%s assignments_swallowed=%d moved_to_other_worker=%d swallowed=%v unary_passed_while_silent=%v runs=%d succeeded=%d after=%s (bound %s)",
		map[bool]string{false: "open stream", true: "every stream"}[every], len(swallowed), moved, proxy.swallowedKinds(), proxy.passedCounts(), len(runIDs), done, recovery.Round(time.Millisecond), bound)
	if len(swallowed) == 0 {
		t.Fatalf("the server sent the silenced worker no assignment: nothing was tested")
	}
	if n := proxy.passed("Heartbeat"); n == 0 {
		t.Errorf("no heartbeat passed the proxy while the stream was silenced, want some: the fault is a stream that dies while unary calls pass")
	}
	if done != len(runIDs) {
		t.Fatalf("%d of %d runs SUCCEEDED %s after the stream was silenced, want all: the silenced worker's assignments wait for their lease", done, len(runIDs), bound)
	}
	if every && moved != len(swallowed) {
		t.Errorf("%d of the %d tasks sent to the silenced worker ran on the other worker, want all (the silenced one receives nothing)", moved, len(swallowed))
	}
}

// silencingProxy is an HTTP/2 (h2c) reverse proxy in front of one server. It
// can silence Listen streams: it goes on reading what the server sends on them
// but forwards none of it, not even a stream's end, while every other call
// passes both ways, as a proxy that silently lost a stream while the
// connection and other calls work.
type silencingProxy struct {
	URL     string
	faulted atomic.Bool // silence was called

	mu         sync.Mutex
	open       map[*silencedBody]struct{} // the Listen streams open now
	silenceNew bool                       // new Listen streams start silenced
	swallowed  map[string]int             // messages swallowed, by kind
	assigned   map[string]struct{}        // task ids of the assignments swallowed
	unary      map[string]int             // calls forwarded since the fault, by method
}

func newSilencingProxy(t *testing.T, target string) *silencingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &silencingProxy{open: map[*silencedBody]struct{}{}, swallowed: map[string]int{}, assigned: map[string]struct{}{}, unary: map[string]int{}}
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

// silence stops forwarding what the server sends on the Listen streams open
// now and, when every is true, on those opened later.
func (p *silencingProxy) silence(every bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faulted.Store(true)
	p.silenceNew = every
	for b := range p.open {
		b.silent.Store(true)
	}
}

func (p *silencingProxy) modify(res *http.Response) error {
	method := res.Request.URL.Path[strings.LastIndex(res.Request.URL.Path, "/")+1:]
	if method == "Listen" {
		b := &silencedBody{ReadCloser: res.Body, p: p, ctx: res.Request.Context(), gzip: res.Header.Get("Grpc-Encoding") == "gzip"}
		p.mu.Lock()
		b.silent.Store(p.silenceNew)
		p.open[b] = struct{}{}
		p.mu.Unlock()
		res.Body = b
		return nil
	}
	if p.faulted.Load() {
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
	return maps.Clone(p.assigned)
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
		p.assigned[a.GetTaskId()] = struct{}{}
	}
}

// silencedBody is a Listen stream's response body as the proxy forwards it:
// all of it until the proxy silences it, nothing after.
type silencedBody struct {
	io.ReadCloser
	silent atomic.Bool
	p      *silencingProxy
	ctx    context.Context // the client's request
	gzip   bool            // messages flagged compressed are gzip
	buf    []byte          // what arrived of the gRPC message being read
}

func (b *silencedBody) Read(out []byte) (int, error) {
	for {
		n, err := b.ReadCloser.Read(out)
		silent := b.silent.Load()
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

// Close forgets the stream and closes the server's side of it.
func (b *silencedBody) Close() error {
	b.p.mu.Lock()
	delete(b.p.open, b)
	b.p.mu.Unlock()
	return b.ReadCloser.Close()
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

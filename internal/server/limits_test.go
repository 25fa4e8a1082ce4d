package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/service"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// bombLimit is the message limit of the zip bomb test's server, and
// bombInflated how far its zip bomb inflates: 256 times that.
const (
	bombLimit    = 1 << 20
	bombInflated = 256 * bombLimit
)

// zipBomb is a gzip stream of bombInflated zero bytes, about 1/1000 of that:
// one compressed MiB of zeros repeated (gzip readers read concatenated members
// as one stream).
var zipBomb = sync.OnceValue(func() []byte {
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Close()
	return bytes.Repeat(member.Bytes(), bombInflated>>20)
})

// bombCompressor is a "gzip" compressor for connect clients that sends the zip
// bomb whatever the message.
type bombCompressor struct{ w io.Writer }

func (c *bombCompressor) Write(p []byte) (int, error) { return len(p), nil }
func (c *bombCompressor) Close() error                { _, err := c.w.Write(zipBomb()); return err }
func (c *bombCompressor) Reset(w io.Writer)           { c.w = w }

// TestZipBombEveryProtocol sends a compressed PushEvent of a few hundred KiB
// that inflates to 256 times the message limit, over every protocol: each gets
// resource_exhausted, saying the limit was passed while inflating (the server
// stopped there instead of inflating the rest), and nothing is stored. A small
// compressed push is still accepted everywhere.
func TestZipBombEveryProtocol(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{MaxRequestBytes: bombLimit})
	if n := len(zipBomb()); n > bombLimit/2 {
		t.Fatalf("the zip bomb is %d bytes, want a small body", n)
	}
	ctx := context.Background()
	wantMsg := fmt.Sprintf("message is larger than %d bytes after decompression", bombLimit)
	for _, p := range servertest.Protocols() {
		c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
		var err error
		if p.REST {
			err = restGzip(ctx, c, "/v1/events", zipBomb())
		} else {
			bomb := connect.WithAcceptCompression("gzip",
				func() connect.Decompressor { return &gzip.Reader{} },
				func() connect.Compressor { return &bombCompressor{} })
			cl := connect.NewClient[rawMessage, switchyardv1.PushEventResponse](p.HTTP, c.url+switchyardv1connect.EventServicePushEventProcedure,
				c.options(bomb, connect.WithSendCompression("gzip"), connect.WithCodec(&rawCodec{name: codecName(p), body: []byte("{}")}))...)
			_, err = cl.CallUnary(ctx, connect.NewRequest(&rawMessage{}))
		}
		if connect.CodeOf(err) != connect.CodeResourceExhausted || errMessage(err) != wantMsg {
			t.Errorf("%s: zip bomb got %v (code %s), want resource_exhausted %q", p.Name, err, connect.CodeOf(err), wantMsg)
		}
		if p.REST {
			// A route with a path variable, which the transcoder must decode.
			err := restGzip(ctx, c, "/v1/workflows/bombed:run", zipBomb())
			if connect.CodeOf(err) != connect.CodeResourceExhausted || errMessage(err) != wantMsg {
				t.Errorf("%s: zip bomb to RunWorkflow got %v (code %s), want resource_exhausted %q", p.Name, err, connect.CodeOf(err), wantMsg)
			}
		}

		// A small compressed request is fine.
		small := &switchyardv1.PushEventRequest{Key: "gzip.ok", Payload: mustStruct(map[string]any{"text": strings.Repeat("compressible ", 200)})}
		if p.REST {
			body, _ := protojson.Marshal(small)
			var zb bytes.Buffer
			zw := gzip.NewWriter(&zb)
			_, _ = zw.Write(body)
			_ = zw.Close()
			err = restGzip(ctx, c, "/v1/events", zb.Bytes())
		} else {
			_, err = switchyardv1connect.NewEventServiceClient(p.HTTP, c.url, c.options(connect.WithSendGzip())...).PushEvent(ctx, connect.NewRequest(small))
		}
		if err != nil {
			t.Errorf("%s: a small gzip push: %v", p.Name, err)
		}
	}
	n, err := srv.Store.DB().NewSelect().Model((*store.Event)(nil)).Where("key <> ?", "gzip.ok").Count(ctx)
	if err != nil || n != 0 {
		t.Errorf("%d events stored besides the small pushes (err %v), want 0", n, err)
	}
}

func codecName(p servertest.Protocol) string {
	if isJSON(p) {
		return "json"
	}
	return "proto"
}

// restGzip posts a gzip-encoded JSON body to a REST route; a refusal is
// returned as a *connect.Error built from the google.rpc.Status body.
func restGzip(ctx context.Context, c client, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.proto.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		return nil
	}
	st := &status.Status{}
	if err := protojson.Unmarshal(data, st); err != nil {
		return fmt.Errorf("HTTP %d: %q", res.StatusCode, data)
	}
	if want := restStatus[connect.Code(st.GetCode())]; want != 0 && want != res.StatusCode {
		return fmt.Errorf("code %d came with HTTP %d, want %d", st.GetCode(), res.StatusCode, want)
	}
	return connect.NewError(connect.Code(st.GetCode()), errors.New(st.GetMessage()))
}

// startHTTP serves h with NewHTTPServer and limits on a loopback port.
func startHTTP(t *testing.T, h http.Handler, limits server.HTTPLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewHTTPServer(ln.Addr().String(), h, slog.New(slog.DiscardHandler), limits)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// waitClosed reads conn until the server closes it; it fails the test if the
// server has not closed it within a generous guard time.
func waitClosed(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open", what)
	}
}

// TestSlowHeadersAreCut: a client that trickles its request headers (slowloris)
// is disconnected once ReadHeaderTimeout has passed, however steadily it sends.
func TestSlowHeadersAreCut(t *testing.T) {
	t.Parallel()
	addr := startHTTP(t, http.NotFoundHandler(), server.HTTPLimits{ReadHeaderTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		header := "POST /v1/events HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Slow: a\r\n", 1000)
		for i := range len(header) {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{header[i]}); err != nil {
				return
			}
		}
	}()
	waitClosed(t, conn, "trickled headers")
}

// TestIdleConnectionsAreClosed: a keep-alive HTTP/1.1 connection and an h2c
// connection without streams are closed after IdleTimeout.
func TestIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	addr := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }),
		server.HTTPLimits{IdleTimeout: 200 * time.Millisecond})

	t.Run("http1", func(t *testing.T) {
		t.Parallel()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Close {
			t.Fatalf("first response %d (close %v), want 200 on a kept-alive connection", res.StatusCode, res.Close)
		}
		waitClosed(t, conn, "idle keep-alive connection")
	})

	t.Run("h2c", func(t *testing.T) {
		t.Parallel()
		conn, fr := dialH2C(t, addr)
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			f, err := fr.ReadFrame()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server kept an idle h2c connection open")
			}
			if err != nil {
				t.Fatalf("connection ended without GOAWAY: %v", err)
			}
			if _, ok := f.(*http2.GoAwayFrame); ok {
				return
			}
		}
	})
}

// dialH2C opens an h2c connection with prior knowledge and sends the client
// preface and empty settings.
func dialH2C(t *testing.T, addr string) (net.Conn, *http2.Framer) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return conn, fr
}

// serverMaxStreams reads the server's first SETTINGS frame and returns its
// SETTINGS_MAX_CONCURRENT_STREAMS.
func serverMaxStreams(t *testing.T, fr *http2.Framer) uint32 {
	t.Helper()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read server settings: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			v, ok := sf.Value(http2.SettingMaxConcurrentStreams)
			if !ok {
				t.Fatal("the server sets no SETTINGS_MAX_CONCURRENT_STREAMS")
			}
			return v
		}
	}
}

// TestHTTP2StreamsPerConnection: the production server announces at most 250
// concurrent streams per HTTP/2 connection, and a server refuses a stream
// opened past its limit.
func TestHTTP2StreamsPerConnection(t *testing.T) {
	t.Parallel()
	t.Run("announced", func(t *testing.T) {
		t.Parallel()
		srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
		conn, fr := dialH2C(t, strings.TrimPrefix(srv.URL, "http://"))
		defer conn.Close()
		if got := serverMaxStreams(t, fr); got != server.DefaultMaxConcurrentStreams {
			t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want %d", got, server.DefaultMaxConcurrentStreams)
		}
	})
	t.Run("enforced", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		defer close(release)
		addr := startHTTP(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }), server.HTTPLimits{MaxConcurrentStreams: 2})
		conn, fr := dialH2C(t, addr)
		defer conn.Close()
		if got := serverMaxStreams(t, fr); got != 2 {
			t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want 2", got)
		}
		if err := fr.WriteSettingsAck(); err != nil {
			t.Fatal(err)
		}
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", addr}, {":path", "/"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		for _, id := range []uint32{1, 3, 5} {
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("no RST_STREAM for the third stream: %v", err)
			}
			if rst, ok := f.(*http2.RSTStreamFrame); ok {
				if rst.StreamID != 5 || (rst.ErrCode != http2.ErrCodeRefusedStream && rst.ErrCode != http2.ErrCodeProtocol) {
					t.Fatalf("RST_STREAM on stream %d with %v, want stream 5 refused", rst.StreamID, rst.ErrCode)
				}
				return
			}
		}
	})
}

// TestListenStreamsPerToken: one token may hold MaxListenStreamsPerToken
// Listen streams on a server; the next gets resource_exhausted naming the
// limit, while a worker's reconnect (which replaces its stream), another
// token, and the same token after a stream closed are admitted.
func TestListenStreamsPerToken(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], manyStreamsOptions)
	a := newAPI(srv.URL, grpcProtocol())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	register := func(a *api) string {
		res, err := a.workers.RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "w", Actions: []string{"limit.test"}}))
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		return res.Msg.GetWorkerId()
	}
	// listen opens a stream and waits for its first message (or its error).
	listen := func(ctx context.Context, a *api, id string) (*connect.ServerStreamForClient[switchyardv1.ListenResponse], error) {
		s, err := a.workers.Listen(ctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: id}))
		if err != nil {
			return nil, err
		}
		if !s.Receive() {
			return nil, s.Err()
		}
		return s, nil
	}
	ids := make([]string, service.MaxListenStreamsPerToken+1)
	cancels := make([]context.CancelFunc, len(ids))
	for i := range ids {
		ids[i] = register(a)
	}
	for i := range service.MaxListenStreamsPerToken {
		var sctx context.Context
		sctx, cancels[i] = context.WithCancel(ctx)
		if _, err := listen(sctx, a, ids[i]); err != nil {
			t.Fatalf("listen %d: %v", i, err)
		}
	}
	last := ids[service.MaxListenStreamsPerToken]
	_, err := listen(ctx, a, last)
	wantMsg := fmt.Sprintf("this token already holds %d Listen streams on this server, the limit per token; close one first", service.MaxListenStreamsPerToken)
	if connect.CodeOf(err) != connect.CodeResourceExhausted || errMessage(err) != wantMsg {
		t.Fatalf("listen past the limit: %v; want resource_exhausted %q", err, wantMsg)
	}

	if _, err := listen(ctx, a, ids[0]); err != nil {
		t.Fatalf("a worker's second stream (replacing its first): %v", err)
	}

	other := "sy_limits_other_token"
	tok := &store.Token{ID: "limits-other", TenantID: store.DefaultTenant, Name: "other", Role: auth.RoleAdmin, TokenHash: engine.TokenHash(other), CreatedAt: store.TimeMicros(1)}
	if err := srv.Store.Write(ctx, func(ctx context.Context, q store.Q) error { return q.TokenInsert(ctx, tok) }); err != nil {
		t.Fatal(err)
	}
	b := newAPIToken(srv.URL, grpcProtocol(), other)
	if _, err := listen(ctx, b, register(b)); err != nil {
		t.Fatalf("another token's stream: %v", err)
	}

	cancels[1]()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := listen(ctx, a, last)
		if err == nil {
			break
		}
		if connect.CodeOf(err) != connect.CodeResourceExhausted || time.Now().After(deadline) {
			t.Fatalf("listen after a stream closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// manyStreamsOptions give a server with many streams open time to answer: each
// stream reads the database now and then, and on a busy test machine the
// single SQLite connection can be taken for longer than the default wait.
var manyStreamsOptions = servertest.Options{Store: store.Config{AcquireTimeout: time.Minute}}

// TestWatchRunStreamsPerToken: one token may hold MaxWatchStreamsPerToken
// WatchRun streams on a server; the next gets resource_exhausted.
func TestWatchRunStreamsPerToken(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], manyStreamsOptions)
	a := newAPI(srv.URL, grpcProtocol())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "waits", Tasks: []*switchyardv1.TaskSpec{task("t", "nobody.serves.this")}})
	run, err := a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "waits"}))
	if err != nil {
		t.Fatal(err)
	}
	watch := func() error {
		s, err := a.runs.WatchRun(ctx, connect.NewRequest(&switchyardv1.WatchRunRequest{Id: run.Msg.GetRunId()}))
		if err != nil {
			return err
		}
		if !s.Receive() {
			return s.Err()
		}
		return nil
	}
	for i := range service.MaxWatchStreamsPerToken {
		if err := watch(); err != nil {
			t.Fatalf("watch %d: %v", i, err)
		}
	}
	err = watch()
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(errMessage(err), fmt.Sprintf("%d WatchRun streams", service.MaxWatchStreamsPerToken)) {
		t.Fatalf("watch past the limit: %v; want resource_exhausted naming the limit", err)
	}
}

// quotesMoreThan reports whether text holds more than n consecutive
// characters of secret.
func quotesMoreThan(text, secret string, n int) bool {
	for i := 0; i+n < len(secret); i++ {
		if strings.Contains(text, secret[i:i+n+1]) {
			return true
		}
	}
	return false
}

// TestRejectedSecretsAreNotEchoed pushes requests carrying a long token-like
// secret where it breaks a rule (a metadata key, a mistyped JSON value, a CEL
// filter, the bearer token itself) over every protocol: each is refused, and
// neither the error (message and details) nor anything the server logged holds
// more than service.MaxQuoted characters of the secret.
func TestRejectedSecretsAreNotEchoed(t *testing.T) {
	t.Parallel()
	logs := &servertest.LogSink{}
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{
		Logger: logs.Logger(slog.LevelDebug),
	})
	secret := engine.NewTokenSecret() + engine.NewTokenSecret()[3:] + engine.NewTokenSecret()[3:]
	ctx := context.Background()
	for _, p := range servertest.Protocols() {
		c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
		badFilter := &switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{Name: "leaky",
			EventTriggers: []*switchyardv1.EventTrigger{{Key: "a", Filter: "payload.token == '" + secret + "' &&"}},
			Tasks:         []*switchyardv1.TaskSpec{task("t", "a")}}}
		cases := map[string]error{}
		_, cases["metadata key"] = c.push(ctx, &switchyardv1.PushEventRequest{Key: "a", Metadata: map[string]string{secret: "v"}})
		if isJSON(p) {
			cases["mistyped value"] = c.pushRaw(ctx, []byte(`{"key":"a","priority":"`+secret+`"}`))
			cases["unquoted value"] = c.pushRaw(ctx, []byte(`{"key":"a","priority":`+secret+`}`))
		}
		if p.REST {
			body, _ := protojson.Marshal(badFilter)
			cases["filter"] = c.rawCall(ctx, "", "/v1/workflows", body)
		} else {
			_, cases["filter"] = unary[switchyardv1.PutWorkflowRequest, switchyardv1.PutWorkflowResponse](ctx, c, switchyardv1connect.WorkflowServicePutWorkflowProcedure, badFilter)
		}
		_, cases["token"] = c.withToken(secret).push(ctx, &switchyardv1.PushEventRequest{Key: "a"})
		for name, err := range cases {
			if err == nil {
				t.Errorf("%s: %s: accepted, want a refusal", p.Name, name)
				continue
			}
			if text := errorText(err); quotesMoreThan(text, secret, service.MaxQuoted) {
				t.Errorf("%s: %s: the error quotes more than %d characters of the secret: %s", p.Name, name, service.MaxQuoted, text)
			}
		}
	}
	if quotesMoreThan(logs.String(), secret, service.MaxQuoted) {
		t.Errorf("the server logged more than %d characters of the secret:\n%s", service.MaxQuoted, logs.String())
	}
}

// errorText is everything an error carries to the client: its message and its
// details.
func errorText(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err.Error()
	}
	text := ce.Message()
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			b, _ := protojson.Marshal(v)
			text += "\n" + string(b)
		} else {
			text += "\n" + string(d.Bytes())
		}
	}
	return text
}

// TestWorkerLabelLimits: worker labels are bounded like event metadata.
func TestWorkerLabelLimits(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	a := newAPI(srv.URL, grpcProtocol())
	for name, labels := range map[string]map[string]string{
		"long key":   {strings.Repeat("k", 129): "v"},
		"empty key":  {"": "v"},
		"long value": {"k": strings.Repeat("v", 1025)},
	} {
		_, err := a.workers.RegisterWorker(context.Background(), connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "w", Actions: []string{"a"}, Labels: labels}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.HasPrefix(strings.Join(violationFields(err), ","), "labels") {
			t.Errorf("%s: %v; want invalid_argument naming labels", name, err)
		}
	}
}

// TestHTTPServerDefaults: the production server bounds headers and idle
// connections, and reads no request or response against a whole-request clock
// (streams last as long as they are needed).
func TestHTTPServerDefaults(t *testing.T) {
	t.Parallel()
	s := server.NewHTTPServer("127.0.0.1:0", http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if s.ReadHeaderTimeout != 10*time.Second || s.IdleTimeout != 2*time.Minute || s.MaxHeaderBytes != 64<<10 ||
		s.ReadTimeout != 0 || s.WriteTimeout != 0 {
		t.Errorf("timeouts: read header %v, idle %v, max header bytes %d, read %v, write %v; want 10s, 2m, 65536, none, none",
			s.ReadHeaderTimeout, s.IdleTimeout, s.MaxHeaderBytes, s.ReadTimeout, s.WriteTimeout)
	}
	if h := s.HTTP2; h == nil || h.MaxConcurrentStreams != 250 || h.SendPingTimeout != time.Minute || h.PingTimeout != 20*time.Second {
		t.Errorf("HTTP/2 config %+v; want 250 streams, a ping after 1m of silence, 20s to answer", h)
	}
}

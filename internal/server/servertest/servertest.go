// Package servertest runs real Switchyard servers for tests and benchmarks: the
// production handler and http.Server on a loopback listener, over a migrated
// store, with clients for every protocol.
package servertest

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/http2"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// AdminToken is the admin token of the default tenant on every test server.
const AdminToken = "sy_test_admin_token"

// TestSecretKey seals webhook secrets on test servers.
var TestSecretKey = []byte("0123456789abcdef0123456789abcdef")

// Options adjust a test server.
type Options struct {
	// Store overrides the store config (DatabaseURL and DataDir are filled in).
	Store store.Config
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Engine sets the engine's intervals (Store and Logger are filled in).
	Engine engine.Config
	// TracerProvider, when set, records the spans of the server, its engine
	// and its store (it replaces theirs in Store and Engine); nil leaves them
	// to the OpenTelemetry global.
	TracerProvider trace.TracerProvider
	// Propagator reads the callers' trace context; nil means the
	// OpenTelemetry global.
	Propagator propagation.TextMapPropagator
	// TLS serves HTTPS (HTTP/2 and HTTP/1.1, chosen by ALPN) with a
	// certificate for 127.0.0.1 issued by [TestCA]; the URL is then https://.
	TLS bool
	// MaxRequestBytes overrides the server's [server.MaxRequestBytes] when
	// positive.
	MaxRequestBytes int64
	// RateLimits are the rate limits of each role's tokens; nil makes every
	// role's limit [Unlimited], so that tests and benchmarks measure the
	// server rather than the limiter. Tenants' own limits apply either way.
	RateLimits map[string]auth.Rate
	// CORSOrigins are the browser origins the server allows besides its own.
	CORSOrigins []string
	// Dashboard is served as the web dashboard; nil serves none.
	Dashboard fs.FS
}

// Server is a running test server.
type Server struct {
	URL   string
	Store *store.Store
	// Health answers the server's health probes.
	Health *server.Health
	// MaxConns is the pool size, for tests that exhaust the pool.
	MaxConns int
	// Stop shuts the server down as SIGTERM would (health first, then draining)
	// and closes its store; it also runs when the test ends.
	Stop func()
}

// Start runs a server on eng until the test ends: the production assembly
// ([server.New]) on a loopback listener.
func Start(t testing.TB, eng storetest.Engine, opts Options) *Server {
	t.Helper()
	if opts.TracerProvider != nil {
		opts.Store.TracerProvider, opts.Engine.TracerProvider = opts.TracerProvider, opts.TracerProvider
	}
	if opts.Engine.SecretKey == nil {
		opts.Engine.SecretKey = TestSecretKey
	}
	cfg := server.Config{
		Store:      eng.Config(t, opts.Store),
		AdminToken: AdminToken,
		Engine:     opts.Engine,
		Handler: server.HandlerConfig{
			TracerProvider:  opts.TracerProvider,
			Propagator:      opts.Propagator,
			RateLimits:      rateLimits(opts.RateLimits),
			MaxRequestBytes: opts.MaxRequestBytes,
			CORSOrigins:     opts.CORSOrigins,
			Dashboard:       opts.Dashboard,
		},
		Logger: opts.Logger,
	}
	scheme := "http"
	if opts.TLS {
		var err error
		if cfg.TLS, err = serverTLS(); err != nil {
			t.Fatal(err)
		}
		scheme = "https"
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Shutdown(context.Background())
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	t.Cleanup(stop)
	maxConns := opts.Store.MaxConns
	if !srv.Store().Postgres() {
		maxConns = 1
	} else if maxConns == 0 {
		maxConns = 16
	}
	return &Server{URL: scheme + "://" + ln.Addr().String(), Store: srv.Store(), Health: srv.Health(), MaxConns: maxConns, Stop: stop}
}

// Unlimited is a rate limit no test reaches.
var Unlimited = auth.Rate{PerSecond: 1_000_000_000, Burst: 1_000_000_000}

// rateLimits returns limits, or Unlimited for every role when it is nil.
func rateLimits(limits map[string]auth.Rate) map[string]auth.Rate {
	if limits != nil {
		return limits
	}
	out := make(map[string]auth.Rate)
	for _, role := range auth.Roles {
		out[role] = Unlimited
	}
	return out
}

// HoldPool takes every pooled database connection until release is called, so
// that calls meanwhile find the pool exhausted.
func (s *Server) HoldPool(t testing.TB) (release func()) {
	t.Helper()
	var conns []interface{ Close() error }
	for range s.MaxConns {
		c, err := s.Store.DB().Conn(context.Background())
		if err != nil {
			t.Fatalf("hold pool: %v", err)
		}
		conns = append(conns, c)
	}
	return func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
}

// HTTP1Client speaks HTTP/1.1.
func HTTP1Client() *http.Client {
	return &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: false, MaxIdleConnsPerHost: 64}}
}

// HTTP2Client speaks unencrypted HTTP/2 with prior knowledge (h2c), as gRPC
// clients do.
func HTTP2Client() *http.Client {
	return &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// Protocol is one way a client reaches the API.
type Protocol struct {
	// Name is such as "grpc/h2" or "connect-json/h1", or "grpc/h2+tls" over
	// HTTPS.
	Name string
	// TLS is true for the protocols of [ProtocolsTLS], which need a server
	// started with [Options].TLS.
	TLS bool
	// REST is true for the transcoded REST routes, which take plain HTTP JSON
	// requests rather than a Connect client.
	REST bool
	// HTTP is the client to use.
	HTTP *http.Client
	// Options configure a connect client for this protocol (nil for REST).
	Options []connect.ClientOption
}

// Protocols returns every protocol over every HTTP version it runs on.
func Protocols() []Protocol {
	h1, h2 := HTTP1Client(), HTTP2Client()
	return []Protocol{
		{Name: "connect-json/h1", HTTP: h1, Options: []connect.ClientOption{connect.WithProtoJSON()}},
		{Name: "connect-json/h2", HTTP: h2, Options: []connect.ClientOption{connect.WithProtoJSON()}},
		{Name: "connect-proto/h1", HTTP: h1},
		{Name: "connect-proto/h2", HTTP: h2},
		{Name: "grpc/h2", HTTP: h2, Options: []connect.ClientOption{connect.WithGRPC()}},
		{Name: "grpc-web/h1", HTTP: h1, Options: []connect.ClientOption{connect.WithGRPCWeb()}},
		{Name: "grpc-web/h2", HTTP: h2, Options: []connect.ClientOption{connect.WithGRPCWeb()}},
		{Name: "rest/h1", REST: true, HTTP: h1},
		{Name: "rest/h2", REST: true, HTTP: h2},
	}
}

// BearerInterceptor adds an Authorization header to every call and stream a
// client makes (none for an empty token).
func BearerInterceptor(token string) connect.Interceptor { return bearer(token) }

type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b != "" {
			req.Header().Set("Authorization", "Bearer "+string(b))
		}
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if b != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		}
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// ErrNoCode marks a REST call that failed before any HTTP response.
var ErrNoCode = errors.New("no response")

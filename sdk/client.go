package sdk

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/http2"

	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
)

// Client calls a Switchyard server. Its methods are thin typed wrappers over the
// generated clients that add retries and idempotency keys; the generated
// clients themselves are at hand through [Client.Events], [Client.Workflows],
// [Client.Runs], [Client.Workers], [Client.Durable] and [Client.Admin] (with the token, but
// without retries).
// A Client is safe for concurrent use.
type Client struct {
	events    switchyardv1connect.EventServiceClient
	workflows switchyardv1connect.WorkflowServiceClient
	runs      switchyardv1connect.RunServiceClient
	workers   switchyardv1connect.WorkerServiceClient
	admin     switchyardv1connect.AdminServiceClient
	webhooks  switchyardv1connect.WebhookServiceClient
	limits    switchyardv1connect.RateLimitServiceClient
	durable   switchyardv1connect.DurableServiceClient
	retry     RetryPolicy
	tracer    trace.Tracer // for the attempts of workers over the client
}

// NewClient returns a client of the server at baseURL, such as
// "http://127.0.0.1:8080". Without [WithHTTPClient], http:// URLs are reached
// over unencrypted HTTP/2 with prior knowledge (h2c), which every protocol and
// gRPC in particular can use, and https:// URLs over TLS with HTTP/2
// negotiated by ALPN, trusting the system's CAs unless [WithTLSConfig] says
// otherwise.
func NewClient(baseURL string, opts ...Option) *Client {
	var cfg clientConfig
	for _, o := range opts {
		o.applyToClient(&cfg)
	}
	baseURL = strings.TrimRight(baseURL, "/")
	hc := cfg.httpClient
	if hc == nil {
		hc = defaultHTTPClient(baseURL, cfg.tlsConfig)
	}
	interceptors := []connect.Interceptor{bearer(cfg.token)}
	if t := cfg.tracingInterceptor(); t != nil {
		interceptors = append([]connect.Interceptor{t}, interceptors...)
	}
	copts := []connect.ClientOption{connect.WithInterceptors(interceptors...)}
	switch cfg.protocol {
	case ProtocolGRPC:
		copts = append(copts, connect.WithGRPC())
	case ProtocolGRPCWeb:
		copts = append(copts, connect.WithGRPCWeb())
	case ProtocolConnect:
	}
	return &Client{
		events:    switchyardv1connect.NewEventServiceClient(hc, baseURL, copts...),
		workflows: switchyardv1connect.NewWorkflowServiceClient(hc, baseURL, copts...),
		runs:      switchyardv1connect.NewRunServiceClient(hc, baseURL, copts...),
		workers:   switchyardv1connect.NewWorkerServiceClient(hc, baseURL, copts...),
		admin:     switchyardv1connect.NewAdminServiceClient(hc, baseURL, copts...),
		webhooks:  switchyardv1connect.NewWebhookServiceClient(hc, baseURL, copts...),
		limits:    switchyardv1connect.NewRateLimitServiceClient(hc, baseURL, copts...),
		durable:   switchyardv1connect.NewDurableServiceClient(hc, baseURL, copts...),
		retry:     cfg.retry.withDefaults(),
		tracer:    cfg.tracer(),
	}
}

// Events returns the generated EventService client.
func (c *Client) Events() switchyardv1connect.EventServiceClient { return c.events }

// Workflows returns the generated WorkflowService client.
func (c *Client) Workflows() switchyardv1connect.WorkflowServiceClient { return c.workflows }

// Runs returns the generated RunService client.
func (c *Client) Runs() switchyardv1connect.RunServiceClient { return c.runs }

// Workers returns the generated WorkerService client.
func (c *Client) Workers() switchyardv1connect.WorkerServiceClient { return c.workers }

// Admin returns the generated AdminService client, which manages tenants and
// tokens; only admin tokens may call it.
func (c *Client) Admin() switchyardv1connect.AdminServiceClient { return c.admin }

// Webhooks returns the generated WebhookService client, which manages the
// endpoints that take events from other services' webhooks; only admin tokens
// may call it.
func (c *Client) Webhooks() switchyardv1connect.WebhookServiceClient { return c.webhooks }

// RateLimits returns the generated RateLimitService client, which declares
// the rate limits tasks consume from.
func (c *Client) RateLimits() switchyardv1connect.RateLimitServiceClient { return c.limits }

// Durable returns the generated DurableService client, through which a
// running attempt records steps, waits and spawns child runs; a [Worker]'s
// tasks call it through [Task.Step], [Task.Sleep], [Task.WaitForEvent] and the
// like.
func (c *Client) Durable() switchyardv1connect.DurableServiceClient { return c.durable }

// pingInterval is how long an HTTP/2 connection may stay silent before the
// client pings it, so that a dead connection under a long stream is noticed.
const pingInterval = 30 * time.Second

// defaultHTTPClient returns an HTTP/2 client for baseURL: h2c for http://, TLS
// with tlsConfig (nil for the defaults) otherwise, offering h2 and http/1.1 by
// ALPN.
func defaultHTTPClient(baseURL string, tlsConfig *tls.Config) *http.Client {
	if strings.HasPrefix(baseURL, "http://") {
		return &http.Client{Transport: &http2.Transport{
			AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
			ReadIdleTimeout: pingInterval,
			PingTimeout:     15 * time.Second,
		}}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ForceAttemptHTTP2 = true
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig.Clone()
	}
	if h2, err := http2.ConfigureTransports(t); err == nil {
		h2.ReadIdleTimeout = pingInterval
		h2.PingTimeout = 15 * time.Second
	}
	return &http.Client{Transport: t}
}

// bearer returns an interceptor that sets `Authorization: Bearer token` on every
// unary call and every stream; an empty token sets nothing.
func bearer(token string) connect.Interceptor {
	return bearerInterceptor{header: "Bearer " + token, set: token != ""}
}

type bearerInterceptor struct {
	header string
	set    bool
}

func (b bearerInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b.set {
			req.Header().Set("Authorization", b.header)
		}
		return next(ctx, req)
	}
}

func (b bearerInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if b.set {
			conn.RequestHeader().Set("Authorization", b.header)
		}
		return conn
	}
}

func (b bearerInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

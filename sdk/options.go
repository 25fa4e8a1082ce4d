package sdk

import (
	"crypto/tls"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Protocol is the wire protocol a [Client] speaks. Every Switchyard server
// serves all of them from the same handlers.
type Protocol int

const (
	// ProtocolGRPC is gRPC over HTTP/2 (h2c for http:// URLs): the default.
	ProtocolGRPC Protocol = iota
	// ProtocolConnect is the Connect protocol with binary protobuf messages.
	ProtocolConnect
	// ProtocolGRPCWeb is gRPC-Web, the protocol browsers use.
	ProtocolGRPCWeb
)

// String returns the protocol's name: "grpc", "connect" or "grpc-web".
func (p Protocol) String() string {
	switch p {
	case ProtocolGRPC:
		return "grpc"
	case ProtocolConnect:
		return "connect"
	case ProtocolGRPCWeb:
		return "grpc-web"
	}
	return "unknown"
}

// Option configures a [Client].
type Option interface {
	applyToClient(*clientConfig)
}

type optionFunc func(*clientConfig)

func (f optionFunc) applyToClient(c *clientConfig) { f(c) }

// clientConfig is what the options set.
type clientConfig struct {
	token      string
	protocol   Protocol
	httpClient *http.Client
	tlsConfig  *tls.Config
	retry      RetryPolicy

	tracerProvider trace.TracerProvider
	propagator     propagation.TextMapPropagator
}

// WithToken authenticates every call and stream with `Authorization: Bearer
// token`.
func WithToken(token string) Option {
	return optionFunc(func(c *clientConfig) { c.token = token })
}

// WithProtocol chooses the wire protocol; the default is [ProtocolGRPC].
func WithProtocol(p Protocol) Option {
	return optionFunc(func(c *clientConfig) { c.protocol = p })
}

// WithHTTPClient replaces the default HTTP client. gRPC needs one that speaks
// HTTP/2: for http:// URLs that means HTTP/2 with prior knowledge (h2c). The
// client should have no overall Timeout, which would cut long streams; use
// contexts instead.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(cfg *clientConfig) { cfg.httpClient = c })
}

// WithTLSConfig sets the TLS configuration of the default HTTP client for
// https:// URLs, such as RootCAs to trust a private CA instead of the system's
// roots, or client certificates. The client still negotiates HTTP/2 by ALPN
// (falling back to HTTP/1.1, on which gRPC does not run). It is not used for
// http:// URLs, nor with [WithHTTPClient].
func WithTLSConfig(c *tls.Config) Option {
	return optionFunc(func(cfg *clientConfig) { cfg.tlsConfig = c })
}

// WithRetry replaces the default [RetryPolicy]. Zero fields take their defaults;
// MaxAttempts 1 turns retries off.
func WithRetry(p RetryPolicy) Option {
	return optionFunc(func(c *clientConfig) { c.retry = p })
}

package server

import (
	"fmt"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// newTracingInterceptor returns the interceptor that gives every call its
// OpenTelemetry span, named after the procedure, with the call's Connect code.
// The span continues the trace of the caller when the request carries one
// (traceparent, with the default propagator): a workflow engine sits inside
// its users' systems, and their traces go on through it. It sits outside the
// call interceptor, so that the call's log line can name the trace and the
// span gets the code the client gets. Metrics are Prometheus's, not its.
func newTracingInterceptor(tp trace.TracerProvider, prop propagation.TextMapPropagator) (connect.Interceptor, error) {
	opts := []otelconnect.Option{otelconnect.WithTrustRemote(), otelconnect.WithoutMetrics()}
	if tp != nil {
		opts = append(opts, otelconnect.WithTracerProvider(tp))
	}
	if prop != nil {
		opts = append(opts, otelconnect.WithPropagator(prop))
	}
	i, err := otelconnect.NewInterceptor(opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing interceptor: %w", err)
	}
	return i, nil
}

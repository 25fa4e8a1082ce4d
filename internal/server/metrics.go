package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/metrics"
	"github.com/switchyard/switchyard/internal/service"
)

// MetricsPath is where the main listener serves Prometheus metrics, to admin
// tokens.
const MetricsPath = "/metrics"

// metricsInterceptor records every call in the RPC metrics. It sits outside
// the call interceptor, so it sees the Connect code the client gets.
type metricsInterceptor struct {
	m *metrics.Metrics
}

func (i metricsInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		res, err := next(ctx, req)
		i.m.ObserveRPC(req.Spec().Procedure, protocolOf(ctx, req.Peer().Protocol), codeOf(err), time.Since(start))
		return res, err
	}
}

func (i metricsInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i metricsInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		i.m.ObserveRPC(conn.Spec().Procedure, protocolOf(ctx, conn.Peer().Protocol), codeOf(err), time.Since(start))
		return err
	}
}

func codeOf(err error) string {
	if err == nil {
		return "ok"
	}
	return connect.CodeOf(err).String()
}

// metricsEndpoint serves m to callers with an admin token: 401 without a
// valid token, 429 over the token's rate limit, 403 for another role.
func metricsEndpoint(a *auth.Authenticator, l *auth.Limiter, m *metrics.Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r.Context(), r.Header.Get("Authorization"))
		var limited *auth.RateLimitError
		if err == nil {
			err = l.Allow(r.Context(), p)
		}
		if err == nil {
			err = auth.AuthorizeMetrics(p)
		}
		switch {
		case errors.As(err, &limited):
			w.Header().Set("Retry-After", service.RetryAfter(limited.RetryAfter))
			http.Error(w, limited.Error(), http.StatusTooManyRequests)
			return
		case errors.Is(err, auth.ErrUnauthenticated):
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchyard"`)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		case errors.Is(err, auth.ErrPermissionDenied):
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		case err != nil:
			http.Error(w, "cannot check the token now; retry", http.StatusServiceUnavailable)
			return
		}
		m.Handler().ServeHTTP(w, r)
	})
}

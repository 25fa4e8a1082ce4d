package auth

import (
	"context"

	"connectrpc.com/connect"
)

// Interceptor authenticates every call it wraps and puts the [Principal] in the
// call's context; onError turns a failure into the call's error.
type Interceptor struct {
	auth    *Authenticator
	onError func(ctx context.Context, err error) error
}

// NewInterceptor returns an interceptor that authenticates with a. onError
// converts authentication failures (and database errors met on the way) into
// Connect errors.
func NewInterceptor(a *Authenticator, onError func(ctx context.Context, err error) error) *Interceptor {
	return &Interceptor{auth: a, onError: onError}
}

// WrapUnary implements [connect.Interceptor].
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		p, err := i.auth.Authenticate(ctx, req.Header().Get("Authorization"))
		if err != nil {
			return nil, i.onError(ctx, err)
		}
		return next(WithPrincipal(ctx, p), req)
	}
}

// WrapStreamingClient implements [connect.Interceptor]; clients are not wrapped.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements [connect.Interceptor].
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		p, err := i.auth.Authenticate(ctx, conn.RequestHeader().Get("Authorization"))
		if err != nil {
			return i.onError(ctx, err)
		}
		return next(WithPrincipal(ctx, p), conn)
	}
}

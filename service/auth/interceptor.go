package auth

import (
	"context"

	"connectrpc.com/connect"
)

// Interceptor authenticates every call it wraps and puts the [Principal] in the
// call's context. Its failures wrap [ErrUnauthenticated] (or are database
// errors); an outer interceptor turns them into Connect errors, as it does every
// handler's.
type Interceptor struct {
	auth *Authenticator
}

// NewInterceptor returns an interceptor that authenticates with a.
func NewInterceptor(a *Authenticator) *Interceptor {
	return &Interceptor{auth: a}
}

// WrapUnary implements [connect.Interceptor].
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		p, err := i.auth.Authenticate(ctx, req.Header().Get("Authorization"))
		if err != nil {
			return nil, err
		}
		if err := authorize(p, req.Spec().Procedure); err != nil {
			return nil, err
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
			return err
		}
		if err := authorize(p, conn.Spec().Procedure); err != nil {
			return err
		}
		return next(WithPrincipal(ctx, p), conn)
	}
}

package auth

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
)

// Interceptor authenticates every call it wraps, spends one call of the
// token's rate limit, checks the role table, and puts the [Principal] in the
// call's context. A stream counts once, when it opens. Its failures wrap
// [ErrUnauthenticated] or [ErrPermissionDenied], are a [*RateLimitError], or
// are database errors; an outer interceptor turns them into Connect errors, as
// it does every handler's.
type Interceptor struct {
	auth   *Authenticator
	limits *Limiter
}

// NewInterceptor returns an interceptor that authenticates with a and limits
// with l (nil means no rate limits).
func NewInterceptor(a *Authenticator, l *Limiter) *Interceptor {
	return &Interceptor{auth: a, limits: l}
}

// admit returns the principal of a call to procedure with header, or why the
// call may not go on.
func (i *Interceptor) admit(ctx context.Context, header http.Header, procedure string) (*Principal, error) {
	p, err := i.auth.Authenticate(ctx, header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	if err := i.limits.Allow(ctx, p); err != nil {
		return nil, err
	}
	if err := authorize(p, procedure); err != nil {
		return nil, err
	}
	return p, nil
}

// WrapUnary implements [connect.Interceptor].
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		p, err := i.admit(ctx, req.Header(), req.Spec().Procedure)
		if err != nil {
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
		p, err := i.admit(ctx, conn.RequestHeader(), conn.Spec().Procedure)
		if err != nil {
			return err
		}
		return next(WithPrincipal(ctx, p), conn)
	}
}

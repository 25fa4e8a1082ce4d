package sdk

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
)

// Default retry settings, used for the zero fields of a [RetryPolicy].
const (
	// DefaultMaxAttempts is the default number of attempts, the first included.
	DefaultMaxAttempts = 5
	// DefaultInitialBackoff is the default cap of the first wait.
	DefaultInitialBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff is the default cap of every wait.
	DefaultMaxBackoff = 5 * time.Second
)

// RetryPolicy says how a [Client] retries calls that failed with `unavailable`
// or `resource_exhausted`, or on the way (a connection refused, reset or cut
// mid-answer, which connect-go reports as `unavailable`, `canceled`,
// `unknown` or `internal` without a server's answer, or a server's
// `deadline_exceeded`): up to MaxAttempts attempts in all, waiting a random
// time between zero and InitialBackoff·2ⁿ (at most MaxBackoff) before retry n+1
// ("full jitter"), and at least as long as the server's RetryInfo asks, even
// past MaxBackoff (a call over a rate limit says when the next one is allowed;
// an earlier retry would only be refused again). Every call the client makes
// is safe to repeat (its writes carry an idempotency key chosen before the
// first attempt). No other error is retried (nor a server certificate the
// client rejected, nor a call whose own context ended), and no wait outlives
// the call's context.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt; 1 means no retries, 0 means
	// [DefaultMaxAttempts].
	MaxAttempts int
	// InitialBackoff caps the first wait; 0 means [DefaultInitialBackoff].
	InitialBackoff time.Duration
	// MaxBackoff caps every wait but the server's RetryInfo; 0 means
	// [DefaultMaxBackoff].
	MaxBackoff time.Duration
}

// withDefaults fills in the zero (or negative) fields, and raises MaxBackoff
// to InitialBackoff.
func (p RetryPolicy) withDefaults() RetryPolicy {
	p.MaxAttempts = cmp.Or(max(p.MaxAttempts, 0), DefaultMaxAttempts)
	p.InitialBackoff = cmp.Or(max(p.InitialBackoff, 0), DefaultInitialBackoff)
	p.MaxBackoff = max(cmp.Or(max(p.MaxBackoff, 0), DefaultMaxBackoff), p.InitialBackoff)
	return p
}

// ceiling is the longest wait before retry n+1 (n from 0).
func (p RetryPolicy) ceiling(n int) time.Duration {
	d := p.InitialBackoff
	for range n {
		if d >= p.MaxBackoff/2 {
			return p.MaxBackoff
		}
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

// backoff returns a full-jitter wait before retry n+1, raised to the delay the
// server advised in err, if any.
func (p RetryPolicy) backoff(n int, err error) time.Duration {
	return max(rand.N(p.ceiling(n)+1), retryDelay(err))
}

// transient reports whether a call that failed with err may succeed if made
// again while ctx, the caller's own context, lasts: `unavailable` (the server
// or its database is down or overloaded, or the connection failed),
// `resource_exhausted` (a limit that may clear), and the failures of a
// connection that broke or of a call that took too long to answer. connect-go reports a connection reset as `canceled` and a broken
// response (EOF) as `unknown` or `internal` ("incomplete envelope"): these are
// transient unless the caller's own context ended (its `canceled`) or the
// `unknown` or `internal` came from a server.
func transient(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) {
		return false
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeResourceExhausted, connect.CodeCanceled, connect.CodeDeadlineExceeded:
		return true
	case connect.CodeUnknown, connect.CodeInternal:
		return !connect.IsWireError(err)
	}
	return false
}

// retryDelay returns the delay a google.rpc.RetryInfo detail of err asks for.
func retryDelay(err error) time.Duration {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return 0
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if ri, ok := v.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// retry calls call until it succeeds, fails with an error that is not
// [transient], or has been attempted p.MaxAttempts times, sleeping between
// attempts. When ctx ends during a wait, the last error is returned joined with
// the context's.
func retry(ctx context.Context, p RetryPolicy, call func(context.Context) error) error {
	for n := 0; ; n++ {
		err := call(ctx)
		if err == nil || !transient(ctx, err) || n+1 >= p.MaxAttempts {
			return err
		}
		if serr := sleep(ctx, p.backoff(n, err)); serr != nil {
			return errors.Join(err, serr)
		}
	}
}

// sleep waits for d or until ctx ends, returning the context's error then.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// invoke makes one unary call of rpc with req (nil means an empty request) under
// the client's [RetryPolicy] and returns the answer's message; an error says
// what the call was for.
func invoke[Req, Resp any](ctx context.Context, c *Client, what string, rpc func(context.Context, *connect.Request[Req]) (*connect.Response[Resp], error), req *Req) (*Resp, error) {
	if req == nil {
		req = new(Req)
	}
	var res *connect.Response[Resp]
	err := retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = rpc(ctx, connect.NewRequest(req))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return res.Msg, nil
}
